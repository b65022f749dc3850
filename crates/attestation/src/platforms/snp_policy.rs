//! The `[sev_snp]` policy section.
//!
//! ```toml
//! [sev_snp]
//! measurements = ["<96 hex>"]            # accepted launch measurements
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
//! ```

use super::snp_certs::{Cert, builtin};
use crate::policy::{Hex, PolicyError, ReferenceValues, read_relative};
use serde::Deserialize;
use std::path::Path;

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
}

fn both_keys() -> Vec<KeyType> {
    vec![KeyType::Vcek, KeyType::Vlek]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnpSection {
    measurements: Vec<Hex<48>>,
    min_guest_svn: Option<u32>,
    #[serde(default)]
    allow_debug: bool,
    #[serde(default)]
    guest_policies: Vec<String>,
    min_tcb: Option<MinTcb>,
    #[serde(default = "both_keys")]
    signing_keys: Vec<KeyType>,
    ca_chain: Option<String>,
    vek_dir: Option<String>,
}

/// Every certificate in the files of `dir` (files that hold none are skipped).
fn load_dir(base: Option<&Path>, dir: Option<&str>) -> Result<Vec<Cert>, PolicyError> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let dir = base.unwrap_or(Path::new(".")).join(dir);
    let entries = std::fs::read_dir(&dir).map_err(|source| PolicyError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut certs = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).map_err(|source| PolicyError::Io {
            path: f.display().to_string(),
            source,
        })?;
        certs.extend(Cert::parse_all(&bytes).unwrap_or_default());
    }
    Ok(certs)
}

fn parse_u64(s: &str) -> Option<u64> {
    match s.trim().strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.trim().parse().ok(),
    }
}

impl SnpSection {
    pub(crate) fn resolve(self, base: Option<&Path>) -> Result<SnpPolicy, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid { line: 0, message };
        let guest_policies = self
            .guest_policies
            .iter()
            .map(|p| parse_u64(p).ok_or_else(|| invalid(format!("sev_snp.guest_policies: {p:?} is not a number"))))
            .collect::<Result<_, _>>()?;
        let certificates = match &self.ca_chain {
            Some(path) => {
                let bytes = read_relative(base, path)?;
                Cert::parse_all(&bytes).map_err(|e| invalid(format!("sev_snp.ca_chain {path}: {e}")))?
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
                measurements: self.measurements.into_iter().map(|h| h.0.to_vec()).collect(),
                min_security_version: self.min_guest_svn.map(u64::from),
                allow_debug: self.allow_debug,
                ..ReferenceValues::default()
            },
            guest_policies,
            min_tcb: self.min_tcb,
            signing_keys: self.signing_keys,
            certificates,
            trusted_arks,
            endorsement_keys: load_dir(base, self.vek_dir.as_deref())?,
        })
    }
}
