//! Appraisal shared by every platform: verified claims against reference values
//! (measurements, signers, security version, debug mode, evidence age).

use crate::basevalue::BaseValue;
use sc_protocol::{AttestationError, Claims, UnixTime};
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
