//! The `[sgx]` and `[tdx]` policy sections.
//!
//! ```toml
//! [sgx]
//! mrenclaves = ["<64 hex>"]             # accepted MRENCLAVE values
//! mrsigners = ["<64 hex>"]              # optional: accepted MRSIGNER values (any, if absent)
//! isv_prod_ids = [0]                    # optional: accepted ISV product ids
//! min_isv_svn = 1                       # optional
//! allow_debug = false                   # default false
//! accepted_tcb_statuses = ["UpToDate"]  # default; "Revoked" is never accepted
//! accepted_advisories = []              # advisory ids tolerated (e.g. "INTEL-SA-00615";
//!                                       # checked for Intel's INTEL-SA-/INTEL-DOC- form)
//! root_ca = "TrustedRootCA.der"         # optional: default is Intel's SGX Root CA
//! collateral_dir = "collateral"         # optional: collateral tried when the evidence carries
//!                                       # none or its own does not verify: dcap-qvl JSON files
//!                                       # and/or Intel PCS/PCCS responses (see `collateral`)
//! collateral_service = "https://api.trustedservices.intel.com"   # optional, opt-in: fetch
//!                                       # collateral from this PCS/PCCS base URL (see `service`)
//! collateral_cache = "cache"            # optional: where fetched collateral is kept (default
//!                                       # $XDG_CACHE_HOME/secure-channel/dcap)
//! fetch_timeout_secs = 10               # optional: time limit of each fetch
//!
//! [tdx]
//! mrtds = ["<96 hex>"]                  # accepted MRTD values (the TD image)
//! rtmr0 = ["<96 hex>"]                  # rtmr0..rtmr3: accepted values (any, if absent); at
//!                                       # least one must be pinned: the RTMRs measure the
//!                                       # workload the image runs
//! allow_unpinned_workload = false       # true: accept any workload of an accepted image
//! mr_config_id = ["<96 hex>"]           # optional: also mr_owner, mr_owner_config
//! td_attributes = ["<16 hex>"]          # optional: also xfam
//! # allow_debug, accepted_tcb_statuses, accepted_advisories, root_ca, collateral_dir,
//! # collateral_service, collateral_cache, fetch_timeout_secs as above
//! ```

use super::collateral::Collateral;
use super::service::DcapService;
use crate::appraisal::{ReferenceValues, Required};
use crate::platform::{PlatformPolicy, SectionInput};
use crate::policy_file::{Hex, PcrTable, PolicyError, hex_values};
use sc_protocol::{PlatformId, TcbStatus};
use serde::Deserialize;
use std::sync::Arc;

/// What a policy accepts from one DCAP platform.
#[derive(Debug, Clone)]
pub struct DcapPolicy {
    /// [`PlatformId::SGX_DCAP`] or [`PlatformId::TDX_DCAP`].
    pub platform: PlatformId,
    /// Measurements (MRENCLAVE or MRTD), signers (MRSIGNER), minimum ISV SVN, debug.
    pub reference: ReferenceValues,
    /// Accepted TCB statuses (never [`TcbStatus::Revoked`]).
    pub accepted_tcb_statuses: Vec<TcbStatus>,
    /// Advisory ids that do not cause rejection.
    pub accepted_advisories: Vec<String>,
    /// The trust anchor (DER); `None` is Intel's SGX Root CA.
    pub root_ca_der: Option<Vec<u8>>,
    /// Offline collateral sets, tried in order after the evidence's own.
    pub collateral: Vec<Collateral>,
    /// The collateral service, when the policy names one.
    pub service: Option<DcapService>,
}

fn default_statuses() -> Vec<String> {
    vec!["UpToDate".into()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SgxSection {
    mrenclaves: Vec<Hex<32>>,
    #[serde(default)]
    mrsigners: Vec<Hex<32>>,
    #[serde(default)]
    isv_prod_ids: Vec<u16>,
    min_isv_svn: Option<u16>,
    #[serde(default)]
    allow_debug: bool,
    #[serde(default = "default_statuses")]
    accepted_tcb_statuses: Vec<String>,
    #[serde(default)]
    accepted_advisories: Vec<String>,
    root_ca: Option<String>,
    collateral_dir: Option<String>,
    collateral_service: Option<String>,
    collateral_cache: Option<String>,
    fetch_timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TdxSection {
    mrtds: Vec<Hex<48>>,
    #[serde(default)]
    rtmr0: Vec<Hex<48>>,
    #[serde(default)]
    rtmr1: Vec<Hex<48>>,
    #[serde(default)]
    rtmr2: Vec<Hex<48>>,
    #[serde(default)]
    rtmr3: Vec<Hex<48>>,
    #[serde(default)]
    allow_unpinned_workload: bool,
    #[serde(default)]
    mr_config_id: Vec<Hex<48>>,
    #[serde(default)]
    mr_owner: Vec<Hex<48>>,
    #[serde(default)]
    mr_owner_config: Vec<Hex<48>>,
    #[serde(default)]
    td_attributes: Vec<Hex<8>>,
    #[serde(default)]
    xfam: Vec<Hex<8>>,
    /// Only in `[azure_tdx]`: the vTPM's PCR reference values.
    #[serde(default)]
    pcrs: Option<PcrTable>,
    #[serde(default)]
    allow_debug: bool,
    #[serde(default = "default_statuses")]
    accepted_tcb_statuses: Vec<String>,
    #[serde(default)]
    accepted_advisories: Vec<String>,
    root_ca: Option<String>,
    collateral_dir: Option<String>,
    collateral_service: Option<String>,
    collateral_cache: Option<String>,
    fetch_timeout_secs: Option<u64>,
}

/// A pinned claim.
fn required(field: &str, accepted: Vec<Vec<u8>>) -> Required {
    Required {
        field: field.into(),
        accepted,
    }
}

/// Advisory ids as Intel writes them (`INTEL-SA-00615`, `INTEL-DOC-00123`): a misspelt id
/// would never match and silently refuse, or be a typo for one meant to be tolerated.
fn advisories(input: &SectionInput<'_>, ids: Vec<String>) -> Result<Vec<String>, PolicyError> {
    for id in &ids {
        let digits = id.strip_prefix("INTEL-SA-").or_else(|| id.strip_prefix("INTEL-DOC-"));
        if !digits.is_some_and(|d| d.len() >= 5 && d.bytes().all(|b| b.is_ascii_digit())) {
            return Err(input.invalid(format!(
                "accepted_advisories: {id:?} is not an Intel advisory id (INTEL-SA-NNNNN or INTEL-DOC-NNNNN)"
            )));
        }
    }
    Ok(ids)
}

/// The accepted statuses, by name; an unknown name or `Revoked` is an error (a typo must not
/// silently narrow or widen what is accepted).
fn statuses(input: &SectionInput<'_>, names: Vec<String>) -> Result<Vec<TcbStatus>, PolicyError> {
    names
        .into_iter()
        .map(|n| match TcbStatus::from_name(&n) {
            TcbStatus::Unknown(_) => Err(input.invalid(format!(
                "accepted_tcb_statuses: unknown status {n:?} (known: UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)"
            ))),
            TcbStatus::Revoked => Err(input.invalid("accepted_tcb_statuses: Revoked can never be accepted")),
            s => Ok(s),
        })
        .collect()
}

/// Reads the collateral sets in `dir` (relative to the policy).
fn load_collateral(input: &SectionInput<'_>, dir: Option<&str>) -> Result<Vec<Collateral>, PolicyError> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let path = crate::policy_file::resolve(input.base_dir, dir);
    super::collateral::from_dir(&path).map_err(|e| {
        input.invalid(format!(
            "collateral_dir {}: {}",
            path.display(),
            sc_protocol::ErrorChain(&e)
        ))
    })
}

/// The collateral service the section names, if any.
fn service(
    input: &SectionInput<'_>,
    url: Option<&str>,
    cache: Option<&str>,
    timeout_secs: Option<u64>,
) -> Result<Option<DcapService>, PolicyError> {
    let Some(url) = url else {
        if cache.is_some() || timeout_secs.is_some() {
            return Err(input.invalid("collateral_cache and fetch_timeout_secs need collateral_service"));
        }
        return Ok(None);
    };
    let (http, cache) = crate::fetch::configure("collateral_service", url, cache, timeout_secs, input.base_dir, "dcap")
        .map_err(|m| input.invalid(m))?;
    Ok(Some(DcapService::new(url, http, cache)))
}

fn root(input: &SectionInput<'_>, root_ca: Option<&str>) -> Result<Option<Vec<u8>>, PolicyError> {
    root_ca.map(|p| input.read(p)).transpose()
}

/// Reads the `[sgx]` section.
pub(super) fn parse_sgx(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    Ok(Arc::new(input.parse::<SgxSection>()?.resolve(input)?))
}

/// Reads the `[tdx]` section.
pub(super) fn parse_tdx(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    Ok(Arc::new(read_tdx(input)?.0))
}

/// Reads a section with `[tdx]`'s fields and an optional `pcrs` table (`[azure_tdx]` is
/// this plus its vTPM's PCRs).
pub(crate) fn read_tdx(input: &SectionInput<'_>) -> Result<(DcapPolicy, Option<PcrTable>), PolicyError> {
    let mut section = input.parse::<TdxSection>()?;
    let pcrs = section.pcrs.take();
    if pcrs.is_some() && input.key != "azure_tdx" {
        return Err(input.invalid("pcrs: only in [azure_tdx], where a vTPM has PCRs"));
    }
    // What identifies the workload: the RTMRs on a TD of its own; on Azure, where a
    // paravisor runs in the TD, the vTPM's PCRs.
    let (pinned, what) = match input.key {
        "azure_tdx" => (
            pcrs.as_ref().is_some_and(|p| !p.is_empty()),
            "no PCR is pinned (pcrs): MRTD and the RTMRs are the paravisor's, not the workload's",
        ),
        _ => (
            [&section.rtmr0, &section.rtmr1, &section.rtmr2, &section.rtmr3]
                .iter()
                .any(|r| !r.is_empty()),
            "no RTMR is pinned (rtmr0..rtmr3): MRTD identifies the TD image, not the workload it runs",
        ),
    };
    if !pinned && !section.allow_unpinned_workload {
        return Err(input.invalid(format!(
            "{what}, so this policy would accept any workload; pin them (`secure-channel verify` prints the values) or set allow_unpinned_workload = true"
        )));
    }
    Ok((section.resolve(input)?, pcrs))
}

impl SgxSection {
    fn resolve(self, input: &SectionInput<'_>) -> Result<DcapPolicy, PolicyError> {
        Ok(DcapPolicy {
            platform: PlatformId::SGX_DCAP,
            reference: ReferenceValues {
                measurements: hex_values(self.mrenclaves),
                signers: hex_values(self.mrsigners),
                min_security_version: self.min_isv_svn.map(u64::from),
                allow_debug: self.allow_debug,
                required: vec![Required {
                    field: "isv_prod_id".into(),
                    accepted: self.isv_prod_ids.iter().map(|id| id.to_be_bytes().to_vec()).collect(),
                }],
                ..ReferenceValues::default()
            },
            accepted_tcb_statuses: statuses(input, self.accepted_tcb_statuses)?,
            accepted_advisories: advisories(input, self.accepted_advisories)?,
            root_ca_der: root(input, self.root_ca.as_deref())?,
            collateral: load_collateral(input, self.collateral_dir.as_deref())?,
            service: service(
                input,
                self.collateral_service.as_deref(),
                self.collateral_cache.as_deref(),
                self.fetch_timeout_secs,
            )?,
        })
    }
}

impl TdxSection {
    fn resolve(self, input: &SectionInput<'_>) -> Result<DcapPolicy, PolicyError> {
        Ok(DcapPolicy {
            platform: PlatformId::TDX_DCAP,
            reference: ReferenceValues {
                measurements: hex_values(self.mrtds),
                allow_debug: self.allow_debug,
                required: vec![
                    required("rtmr0", hex_values(self.rtmr0)),
                    required("rtmr1", hex_values(self.rtmr1)),
                    required("rtmr2", hex_values(self.rtmr2)),
                    required("rtmr3", hex_values(self.rtmr3)),
                    required("mr_config_id", hex_values(self.mr_config_id)),
                    required("mr_owner", hex_values(self.mr_owner)),
                    required("mr_owner_config", hex_values(self.mr_owner_config)),
                    required("td_attributes", hex_values(self.td_attributes)),
                    required("xfam", hex_values(self.xfam)),
                ],
                ..ReferenceValues::default()
            },
            accepted_tcb_statuses: statuses(input, self.accepted_tcb_statuses)?,
            accepted_advisories: advisories(input, self.accepted_advisories)?,
            root_ca_der: root(input, self.root_ca.as_deref())?,
            collateral: load_collateral(input, self.collateral_dir.as_deref())?,
            service: service(
                input,
                self.collateral_service.as_deref(),
                self.collateral_cache.as_deref(),
                self.fetch_timeout_secs,
            )?,
        })
    }
}
