//! Appraisal shared by every platform: verified claims against reference values
//! (measurements, signers, security version, debug mode, evidence age and issue time, and
//! any named claim a policy pins: RTMRs, HOST_DATA, PCRs...).

use crate::basevalue::BaseValue;
use sc_protocol::{AttestationError, Claims, Mismatch, UnixTime};
use std::time::Duration;

/// Clock skew tolerated between the attester and the verifier, unless the policy says.
pub const DEFAULT_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// A named claim the policy pins to a set of values (an empty set pins nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required {
    /// The claim's name, as in [`Claims::extra_measurements`] ("rtmr1", "host_data").
    pub field: String,
    /// The accepted values.
    pub accepted: Vec<Vec<u8>>,
}

/// Checks every pinned claim: it must be present with an accepted value.
pub fn check_required(required: &[Required], claims: &Claims) -> Result<(), AttestationError> {
    for r in required.iter().filter(|r| !r.accepted.is_empty()) {
        let value = claims
            .extra_measurements
            .iter()
            .find(|(name, _)| *name == r.field)
            .map(|(_, v)| v.as_slice());
        if !value.is_some_and(|v| r.accepted.iter().any(|a| a[..] == *v)) {
            let mut mismatch = Mismatch::of_bytes(value.unwrap_or_default(), r.accepted.iter().map(Vec::as_slice));
            if value.is_none() {
                mismatch.presented = "nothing (the evidence has no such value)".into();
            }
            return Err(AttestationError::PolicyMismatch {
                field: r.field.clone(),
                mismatch,
            });
        }
    }
    Ok(())
}

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
    /// How far in the future an issue time may be (`None`: [`DEFAULT_CLOCK_SKEW`]).
    pub max_clock_skew: Option<Duration>,
    /// Named claims pinned to accepted values.
    pub required: Vec<Required>,
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
            let accepted = self
                .measurements
                .iter()
                .map(Vec::as_slice)
                .chain(self.basevalues.iter().map(|b| &b.img_hash[..]));
            return Err(AttestationError::WrongMeasurement(Mismatch::of_bytes(
                &claims.measurement,
                accepted,
            )));
        }
        if !self.signers.is_empty() && !claims.signer.as_ref().is_some_and(|s| self.signers.contains(s)) {
            return Err(AttestationError::WrongSigner(Mismatch::of_bytes(
                claims.signer.as_deref().unwrap_or_default(),
                self.signers.iter().map(Vec::as_slice),
            )));
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
        if let Some(issued) = claims.issued_at {
            if issued > now.saturating_add(self.max_clock_skew.unwrap_or(DEFAULT_CLOCK_SKEW)) {
                return Err(AttestationError::FromTheFuture { issued, at: now });
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
        check_required(&self.required, claims)
    }
}
