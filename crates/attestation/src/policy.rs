//! Reference-value policy: what a client accepts, per platform.
//!
//! File format (TOML; unknown keys are errors so that a typo cannot weaken a policy):
//!
//! ```toml
//! # Accept simulated evidence at all (development only). Default: false.
//! allow_simulated = true
//!
//! [simulated]
//! root_public_key = "<64 hex>"        # trust anchor: `secure-channel sim-root create` prints it
//! measurements = ["<64 hex>"]         # accepted enclave measurements (`secure-channel measure`)
//! signers = ["<64 hex>"]              # optional: accepted signer ids (any, if absent)
//! min_security_version = 1            # optional
//! allow_debug = false                 # default false
//! max_evidence_age_secs = 3600        # optional: reject older evidence
//! basevalues = "trusted_tas.txt"      # optional: original `taid img_hash mem_hash` file,
//!                                     # relative to the policy file
//! ```
//!
//! Hardware platforms have their own sections, documented with their verifiers:
//! `[sgx]` and `[tdx]` ([`crate::platforms::dcap_policy`]) and `[sev_snp]`
//! ([`crate::platforms::snp_policy`]). Paths in a policy are relative to the policy file.

use crate::basevalue::{BaseValue, BaseValueError, parse_basevalues};
use crate::platforms::dcap_policy::{DcapPolicy, SgxSection, TdxSection};
use crate::platforms::snp_policy::{SnpPolicy, SnpSection};
use sc_protocol::{AttestationError, Claims, UnixTime};
use serde::Deserialize;
use std::path::Path;
use std::time::Duration;

/// What a policy accepts on one platform.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceValues {
    /// Accepted primary measurements.
    pub measurements: Vec<Vec<u8>>,
    /// Accepted original-format reference values (image hash, memory hash).
    pub basevalues: Vec<BaseValue>,
    /// Accepted signers; empty accepts any.
    pub signers: Vec<Vec<u8>>,
    /// Lowest accepted security version.
    pub min_security_version: Option<u64>,
    /// Whether debug enclaves are accepted.
    pub allow_debug: bool,
    /// Oldest accepted evidence.
    pub max_evidence_age: Option<Duration>,
}

impl ReferenceValues {
    /// Checks verified claims against these values. Each failure is its own error.
    pub fn appraise(&self, claims: &Claims, now: UnixTime) -> Result<(), AttestationError> {
        let by_list = self.measurements.contains(&claims.measurement);
        let by_basevalue = self.basevalues.iter().any(|b| {
            b.img_hash[..] == claims.measurement[..]
                && claims
                    .extra_measurements
                    .iter()
                    .filter(|(name, _)| name == "mem_hash")
                    .all(|(_, v)| v[..] == b.mem_hash[..])
        });
        if !(by_list || by_basevalue) {
            return Err(AttestationError::WrongMeasurement);
        }
        if !self.signers.is_empty() && !claims.signer.as_ref().is_some_and(|s| self.signers.contains(s)) {
            return Err(AttestationError::WrongSigner);
        }
        if claims.debug && !self.allow_debug {
            return Err(AttestationError::DebugNotAllowed);
        }
        if let Some(min) = self.min_security_version {
            let found = claims.security_version.unwrap_or(0);
            if found < min {
                return Err(AttestationError::SecurityVersionTooLow { found, min });
            }
        }
        if let Some(max) = self.max_evidence_age {
            let issued = claims.issued_at.ok_or(AttestationError::malformed(
                "evidence has no issue time but the policy limits its age",
            ))?;
            let age = now.since(issued);
            if age > max {
                return Err(AttestationError::Stale { age, max });
            }
        }
        Ok(())
    }
}

/// Policy for the simulated platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPolicy {
    /// The simulated root key the client trusts.
    pub root_public_key: [u8; 32],
    /// Accepted values.
    pub reference: ReferenceValues,
}

/// A whole client policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Accept simulated evidence at all.
    pub allow_simulated: bool,
    /// The simulated platform's section.
    pub simulated: Option<SimulatedPolicy>,
    /// Intel SGX (DCAP).
    pub sgx: Option<DcapPolicy>,
    /// Intel TDX (DCAP).
    pub tdx: Option<DcapPolicy>,
    /// AMD SEV-SNP.
    pub sev_snp: Option<SnpPolicy>,
}

/// A policy could not be loaded. Messages name the line and the field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read.
    #[error("policy {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// TOML syntax or a field's value is wrong.
    #[error("policy line {line}: {message}")]
    Invalid {
        /// 1-based line (0 when unknown).
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The referenced basevalue file is malformed.
    #[error("policy basevalue file {path}: {source}")]
    BaseValue {
        /// The file.
        path: String,
        /// The error, with its line and field.
        source: BaseValueError,
    },
    /// The policy accepts nothing, so no channel could ever start.
    #[error("the policy accepts no platform: add a [sgx], [tdx] or [sev_snp] section (or [simulated] for development)")]
    Empty,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    allow_simulated: bool,
    simulated: Option<SimulatedSection>,
    sgx: Option<SgxSection>,
    tdx: Option<TdxSection>,
    sev_snp: Option<SnpSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SimulatedSection {
    root_public_key: Hex<32>,
    measurements: Vec<Hex<32>>,
    #[serde(default)]
    signers: Vec<Hex<32>>,
    min_security_version: Option<u64>,
    #[serde(default)]
    allow_debug: bool,
    max_evidence_age_secs: Option<u64>,
    basevalues: Option<String>,
}

/// `N` bytes written as `2N` hex digits.
pub(crate) struct Hex<const N: usize>(pub(crate) [u8; N]);

impl<'de, const N: usize> Deserialize<'de> for Hex<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; N];
        hex::decode_to_slice(s.trim(), &mut out)
            .map_err(|_| serde::de::Error::custom(format!("expected {} hex digits", 2 * N)))?;
        Ok(Hex(out))
    }
}

/// Reads a file named in a policy, relative to the policy's directory.
pub(crate) fn read_relative(base: Option<&Path>, path: &str) -> Result<Vec<u8>, PolicyError> {
    let path = base.unwrap_or(Path::new(".")).join(path);
    std::fs::read(&path).map_err(|source| PolicyError::Io {
        path: path.display().to_string(),
        source,
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Policy {
    /// Reads a policy file; a `basevalues` path is resolved relative to it.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, path.parent())
    }

    /// Parses policy text. `base_dir` resolves a relative `basevalues` path (none: the
    /// current directory).
    pub fn from_toml(text: &str, base_dir: Option<&Path>) -> Result<Self, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| PolicyError::Invalid {
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(0),
            message: e.message().to_string(),
        })?;
        let simulated = match file.simulated {
            None => None,
            Some(s) => {
                let basevalues = match &s.basevalues {
                    None => Vec::new(),
                    Some(p) => {
                        let path = base_dir.unwrap_or(Path::new(".")).join(p);
                        let text = std::fs::read_to_string(&path).map_err(|source| PolicyError::Io {
                            path: path.display().to_string(),
                            source,
                        })?;
                        parse_basevalues(&text).map_err(|source| PolicyError::BaseValue {
                            path: path.display().to_string(),
                            source,
                        })?
                    }
                };
                Some(SimulatedPolicy {
                    root_public_key: s.root_public_key.0,
                    reference: ReferenceValues {
                        measurements: s.measurements.into_iter().map(|m| m.0.to_vec()).collect(),
                        basevalues,
                        signers: s.signers.into_iter().map(|m| m.0.to_vec()).collect(),
                        min_security_version: s.min_security_version,
                        allow_debug: s.allow_debug,
                        max_evidence_age: s.max_evidence_age_secs.map(Duration::from_secs),
                    },
                })
            }
        };
        let policy = Policy {
            allow_simulated: file.allow_simulated,
            simulated,
            sgx: file.sgx.map(|s| s.resolve(base_dir)).transpose()?,
            tdx: file.tdx.map(|s| s.resolve(base_dir)).transpose()?,
            sev_snp: file.sev_snp.map(|s| s.resolve(base_dir)).transpose()?,
        };
        if policy.simulated.is_none() && policy.sgx.is_none() && policy.tdx.is_none() && policy.sev_snp.is_none() {
            return Err(PolicyError::Empty);
        }
        Ok(policy)
    }
}
