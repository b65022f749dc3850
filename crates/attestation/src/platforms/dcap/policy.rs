//! The `[sgx]` and `[tdx]` policy sections.
//!
//! ```toml
//! [sgx]
//! mrenclaves = ["<64 hex>"]             # accepted MRENCLAVE values
//! mrsigners = ["<64 hex>"]              # optional: accepted MRSIGNER values (any, if absent)
//! min_isv_svn = 1                       # optional
//! allow_debug = false                   # default false
//! accepted_tcb_statuses = ["UpToDate"]  # default; "Revoked" is never accepted
//! accepted_advisories = []              # advisory ids tolerated (e.g. "INTEL-SA-00615")
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
//! mrtds = ["<96 hex>"]                  # accepted MRTD values
//! rtmr0 = ["<96 hex>"]                  # optional, rtmr0..rtmr3: accepted values (any, if absent)
//! # allow_debug, accepted_tcb_statuses, accepted_advisories, root_ca, collateral_dir as above
//! ```

use super::collateral::Collateral;
use super::service::DcapService;
use crate::appraisal::ReferenceValues;
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
    /// TDX: accepted values of RTMR0..RTMR3 (an empty list accepts any).
    pub rtmrs: [Vec<Vec<u8>>; 4],
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
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(input.invalid(format!("collateral_service: {url:?} is not an http(s) URL")));
    }
    let cache = match cache {
        Some(dir) => crate::policy_file::resolve(input.base_dir, dir),
        None => crate::fetch::default_cache_dir().join("dcap"),
    };
    let timeout = timeout_secs.map_or(crate::fetch::DEFAULT_TIMEOUT, std::time::Duration::from_secs);
    Ok(Some(DcapService::new(
        url,
        crate::fetch::Http::new(timeout),
        crate::fetch::DiskCache::new(cache),
    )))
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
    match read_tdx(input)? {
        (policy, None) => Ok(Arc::new(policy)),
        (_, Some(_)) => Err(input.invalid("pcrs: only in [azure_tdx], where a vTPM has PCRs")),
    }
}

/// Reads a section with `[tdx]`'s fields and an optional `pcrs` table (`[azure_tdx]` is
/// this plus its vTPM's PCRs).
pub(crate) fn read_tdx(input: &SectionInput<'_>) -> Result<(DcapPolicy, Option<PcrTable>), PolicyError> {
    let mut section = input.parse::<TdxSection>()?;
    let pcrs = section.pcrs.take();
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
                ..ReferenceValues::default()
            },
            rtmrs: Default::default(),
            accepted_tcb_statuses: statuses(input, self.accepted_tcb_statuses)?,
            accepted_advisories: self.accepted_advisories,
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
                ..ReferenceValues::default()
            },
            rtmrs: [
                hex_values(self.rtmr0),
                hex_values(self.rtmr1),
                hex_values(self.rtmr2),
                hex_values(self.rtmr3),
            ],
            accepted_tcb_statuses: statuses(input, self.accepted_tcb_statuses)?,
            accepted_advisories: self.accepted_advisories,
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
