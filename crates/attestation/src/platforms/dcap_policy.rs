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
//! collateral_dir = "collateral"         # optional: QuoteCollateralV3 JSON files, used when
//!                                       # the evidence carries none
//!
//! [tdx]
//! mrtds = ["<96 hex>"]                  # accepted MRTD values
//! rtmr0 = ["<96 hex>"]                  # optional, rtmr0..rtmr3: accepted values (any, if absent)
//! # allow_debug, accepted_tcb_statuses, accepted_advisories, root_ca, collateral_dir as above
//! ```

use super::dcap::parse_collateral;
use crate::policy::{Hex, PolicyError, ReferenceValues, read_relative};
use dcap_qvl::QuoteCollateralV3;
use sc_protocol::TcbStatus;
use serde::Deserialize;
use std::path::Path;

/// What a policy accepts from one DCAP platform.
#[derive(Debug, Clone, Default)]
pub struct DcapPolicy {
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
    /// Offline collateral for evidence that carries none.
    pub collateral: Vec<QuoteCollateralV3>,
}

fn default_statuses() -> Vec<String> {
    vec!["UpToDate".into()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SgxSection {
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
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TdxSection {
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
    allow_debug: bool,
    #[serde(default = "default_statuses")]
    accepted_tcb_statuses: Vec<String>,
    #[serde(default)]
    accepted_advisories: Vec<String>,
    root_ca: Option<String>,
    collateral_dir: Option<String>,
}

/// The accepted statuses, by name; an unknown name or `Revoked` is an error (a typo must not
/// silently narrow or widen what is accepted).
fn statuses(names: Vec<String>) -> Result<Vec<TcbStatus>, PolicyError> {
    names
        .into_iter()
        .map(|n| match TcbStatus::from_name(&n) {
            TcbStatus::Unknown(_) => Err(PolicyError::Invalid {
                line: 0,
                message: format!(
                    "accepted_tcb_statuses: unknown status {n:?} (known: UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)"
                ),
            }),
            TcbStatus::Revoked => Err(PolicyError::Invalid {
                line: 0,
                message: "accepted_tcb_statuses: Revoked can never be accepted".into(),
            }),
            s => Ok(s),
        })
        .collect()
}

fn bytes<const N: usize>(v: Vec<Hex<N>>) -> Vec<Vec<u8>> {
    v.into_iter().map(|h| h.0.to_vec()).collect()
}

/// Reads every `*.json` file in `dir` as collateral.
fn load_collateral(base: Option<&Path>, dir: Option<&str>) -> Result<Vec<QuoteCollateralV3>, PolicyError> {
    let Some(dir) = dir else { return Ok(Vec::new()) };
    let dir = base.unwrap_or(Path::new(".")).join(dir);
    let io = |source| PolicyError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| {
            let text = std::fs::read(f).map_err(|source| PolicyError::Io {
                path: f.display().to_string(),
                source,
            })?;
            parse_collateral(&text).map_err(|e| PolicyError::Invalid {
                line: 0,
                message: format!("collateral {}: {e}", f.display()),
            })
        })
        .collect()
}

fn root(base: Option<&Path>, root_ca: Option<&str>) -> Result<Option<Vec<u8>>, PolicyError> {
    root_ca.map(|p| read_relative(base, p)).transpose()
}

impl SgxSection {
    pub(crate) fn resolve(self, base: Option<&Path>) -> Result<DcapPolicy, PolicyError> {
        Ok(DcapPolicy {
            reference: ReferenceValues {
                measurements: bytes(self.mrenclaves),
                signers: bytes(self.mrsigners),
                min_security_version: self.min_isv_svn.map(u64::from),
                allow_debug: self.allow_debug,
                ..ReferenceValues::default()
            },
            rtmrs: Default::default(),
            accepted_tcb_statuses: statuses(self.accepted_tcb_statuses)?,
            accepted_advisories: self.accepted_advisories,
            root_ca_der: root(base, self.root_ca.as_deref())?,
            collateral: load_collateral(base, self.collateral_dir.as_deref())?,
        })
    }
}

impl TdxSection {
    pub(crate) fn resolve(self, base: Option<&Path>) -> Result<DcapPolicy, PolicyError> {
        Ok(DcapPolicy {
            reference: ReferenceValues {
                measurements: bytes(self.mrtds),
                allow_debug: self.allow_debug,
                ..ReferenceValues::default()
            },
            rtmrs: [
                bytes(self.rtmr0),
                bytes(self.rtmr1),
                bytes(self.rtmr2),
                bytes(self.rtmr3),
            ],
            accepted_tcb_statuses: statuses(self.accepted_tcb_statuses)?,
            accepted_advisories: self.accepted_advisories,
            root_ca_der: root(base, self.root_ca.as_deref())?,
            collateral: load_collateral(base, self.collateral_dir.as_deref())?,
        })
    }
}
