//! The `[sev_snp]` policy section.
//!
//! ```toml
//! [sev_snp]
//! measurements = ["<96 hex>"]            # accepted launch measurements (at least one, unless
//!                                        # allow_unpinned_workload = true)
//! host_data = ["<64 hex>"]               # optional: accepted HOST_DATA
//! id_key_digest = ["<96 hex>"]           # optional: also author_key_digest
//! vmpl = [0]                             # optional: accepted VMPLs
//! min_guest_svn = 1                      # optional
//! allow_debug = false                    # default false (guest policy bit 19)
//! guest_policies = ["0x30000"]           # optional: accepted guest policy values (any, if absent)
//! min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }   # optional
//! signing_keys = ["vcek", "vlek"]        # default both
//! ca_chain = "ask_ark_asvk.pem"          # optional: ASK/ASVK and ARK certificates; its ARKs
//!                                        # are trusted. Default: AMD's Milan, Genoa and Turin
//!                                        # ARK and ASK built into the sev crate.
//! vek_dir = "vcek"                       # optional: VCEK/VLEK certificates (DER or PEM) for
//!                                        # evidence that carries none; a VCEK is found by
//!                                        # the report's chip id
//! kds_url = "https://kdsintf.amd.com"    # optional, opt-in: fetch VCEKs and AMD chains from
//!                                        # this AMD KDS-compatible base URL (see `kds`)
//! kds_cache = "cache"                    # optional (default $XDG_CACHE_HOME/secure-channel/kds)
//! kds_product = "Milan"                  # optional: for reports that do not name their CPU
//! fetch_timeout_secs = 10                # optional: time limit of each fetch
//! ```

use super::certs::{Cert, builtin};
use super::kds::KdsService;
use crate::appraisal::{ReferenceValues, Required};
use crate::platform::{PlatformPolicy, SectionInput};
use crate::policy_file::{Hex, PcrTable, PolicyError, files_in, hex_values};
use sc_protocol::ErrorChain;
use serde::Deserialize;
use std::sync::Arc;

/// Which key signed a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyType {
    /// Versioned Chip Endorsement Key (per chip and TCB).
    Vcek,
    /// Versioned Loaded Endorsement Key (per cloud provider).
    Vlek,
}

impl KeyType {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Vcek => "VCEK",
            KeyType::Vlek => "VLEK",
        }
    }
}

/// Minimum TCB components.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MinTcb {
    /// PSP bootloader SVN.
    pub bootloader: u8,
    /// PSP OS SVN.
    pub tee: u8,
    /// SNP firmware SVN.
    pub snp: u8,
    /// Microcode patch level.
    pub microcode: u8,
}

/// What a policy accepts from SEV-SNP.
#[derive(Debug, Clone)]
pub struct SnpPolicy {
    /// Measurements, minimum guest SVN, debug.
    pub reference: ReferenceValues,
    /// Accepted guest policy values (empty: any).
    pub guest_policies: Vec<u64>,
    /// Minimum reported TCB.
    pub min_tcb: Option<MinTcb>,
    /// Accepted signing key types.
    pub signing_keys: Vec<KeyType>,
    /// ARKs and intermediates (ASK, ASVK) to build chains from.
    pub certificates: Vec<Cert>,
    /// SHA-256 fingerprints of the trusted ARKs.
    pub trusted_arks: Vec<[u8; 32]>,
    /// Endorsement key certificates held offline (`vek_dir`).
    pub endorsement_keys: Vec<Cert>,
    /// The KDS to fetch VCEKs and chains from, when the policy names one.
    pub kds: Option<KdsService>,
}

fn both_keys() -> Vec<KeyType> {
    vec![KeyType::Vcek, KeyType::Vlek]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnpSection {
    measurements: Vec<Hex<48>>,
    min_guest_svn: Option<u32>,
    #[serde(default)]
    allow_debug: bool,
    #[serde(default)]
    guest_policies: Vec<String>,
    min_tcb: Option<MinTcb>,
    #[serde(default = "both_keys")]
    signing_keys: Vec<KeyType>,
    #[serde(default)]
    allow_unpinned_workload: bool,
    #[serde(default)]
    host_data: Vec<Hex<32>>,
    #[serde(default)]
    id_key_digest: Vec<Hex<48>>,
    #[serde(default)]
    author_key_digest: Vec<Hex<48>>,
    #[serde(default)]
    vmpl: Vec<u32>,
    ca_chain: Option<String>,
    vek_dir: Option<String>,
    kds_url: Option<String>,
    kds_cache: Option<String>,
    kds_product: Option<String>,
    fetch_timeout_secs: Option<u64>,
    /// Only in `[azure_snp]`: the vTPM's PCR reference values.
    #[serde(default)]
    pcrs: Option<PcrTable>,
}

/// Every certificate in the files of `dir`. A file that cannot be read or holds no
/// certificate is an error naming it: skipping it would hide a broken deployment until a
/// report needs the missing key.
fn load_dir(input: &SectionInput<'_>, dir: Option<&str>) -> Result<Vec<Cert>, PolicyError> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let mut certs = Vec::new();
    for f in files_in(input.base_dir, dir)? {
        let bytes = std::fs::read(&f).map_err(|source| PolicyError::Io {
            path: f.display().to_string(),
            source,
        })?;
        let found = Cert::parse_all(&bytes)
            .map_err(|e| input.invalid(format!("vek_dir file {}: {}", f.display(), ErrorChain(&e))))?;
        certs.extend(found);
    }
    Ok(certs)
}

/// Reads the `[sev_snp]` section.
pub(super) fn parse(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    Ok(Arc::new(read(input)?.0))
}

/// Reads a section with `[sev_snp]`'s fields and an optional `pcrs` table (`[azure_snp]`
/// is this plus its vTPM's PCRs).
pub(crate) fn read(input: &SectionInput<'_>) -> Result<(SnpPolicy, Option<PcrTable>), PolicyError> {
    let mut section = input.parse::<SnpSection>()?;
    let pcrs = section.pcrs.take();
    if pcrs.is_some() && input.key != "azure_snp" {
        return Err(input.invalid("pcrs: only in [azure_snp], where a vTPM has PCRs"));
    }
    // What identifies the workload: the launch measurement of a guest of its own; on
    // Azure, where the measurement is the paravisor's, the vTPM's PCRs.
    let (pinned, what) = match input.key {
        "azure_snp" => (
            pcrs.as_ref().is_some_and(|p| !p.is_empty()),
            "no PCR is pinned (pcrs): the measurement is the paravisor's, not the workload's",
        ),
        _ => (
            !section.measurements.is_empty(),
            "no measurement is listed: the policy would accept any guest",
        ),
    };
    if !pinned && !section.allow_unpinned_workload {
        return Err(input.invalid(format!(
            "{what}; pin it (`secure-channel verify` prints the values) or set allow_unpinned_workload = true"
        )));
    }
    Ok((section.resolve(input)?, pcrs))
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.trim().strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.trim().parse().ok(),
    }
}

impl SnpSection {
    /// The KDS the section names, if any.
    fn kds(&self, input: &SectionInput<'_>) -> Result<Option<KdsService>, PolicyError> {
        let Some(url) = &self.kds_url else {
            if self.kds_cache.is_some() || self.kds_product.is_some() || self.fetch_timeout_secs.is_some() {
                return Err(input.invalid("kds_cache, kds_product and fetch_timeout_secs need kds_url"));
            }
            return Ok(None);
        };
        if let Some(p) = self
            .kds_product
            .as_deref()
            .filter(|p| !["Milan", "Genoa", "Turin"].contains(p))
        {
            return Err(input.invalid(format!("kds_product: {p:?} is not Milan, Genoa or Turin")));
        }
        let (http, cache) = crate::fetch::configure(
            "kds_url",
            url,
            self.kds_cache.as_deref(),
            self.fetch_timeout_secs,
            input.base_dir,
            "kds",
        )
        .map_err(|m| input.invalid(m))?;
        Ok(Some(KdsService::new(url, http, cache, self.kds_product.clone())))
    }

    fn resolve(self, input: &SectionInput<'_>) -> Result<SnpPolicy, PolicyError> {
        let kds = self.kds(input)?;
        let invalid = |message: String| input.invalid(message);
        let guest_policies = self
            .guest_policies
            .iter()
            .map(|p| parse_u64(p).ok_or_else(|| invalid(format!("guest_policies: {p:?} is not a number"))))
            .collect::<Result<_, _>>()?;
        let certificates = match &self.ca_chain {
            Some(path) => {
                let bytes = input.read(path)?;
                Cert::parse_all(&bytes).map_err(|e| invalid(format!("ca_chain {path}: {}", ErrorChain(&e))))?
            }
            None => builtin(),
        };
        let trusted_arks = certificates
            .iter()
            .filter(|c| c.is_self_issued())
            .map(Cert::fingerprint)
            .collect();
        Ok(SnpPolicy {
            reference: ReferenceValues {
                measurements: hex_values(self.measurements),
                min_security_version: self.min_guest_svn.map(u64::from),
                allow_debug: self.allow_debug,
                required: vec![
                    Required {
                        field: "host_data".into(),
                        accepted: hex_values(self.host_data),
                    },
                    Required {
                        field: "id_key_digest".into(),
                        accepted: hex_values(self.id_key_digest),
                    },
                    Required {
                        field: "author_key_digest".into(),
                        accepted: hex_values(self.author_key_digest),
                    },
                    Required {
                        field: "vmpl".into(),
                        accepted: self.vmpl.iter().map(|v| v.to_be_bytes().to_vec()).collect(),
                    },
                ],
                ..ReferenceValues::default()
            },
            guest_policies,
            min_tcb: self.min_tcb,
            signing_keys: self.signing_keys,
            certificates,
            trusted_arks,
            endorsement_keys: load_dir(input, self.vek_dir.as_deref())?,
            kds,
        })
    }
}
