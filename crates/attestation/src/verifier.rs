//! The client-side verifier: a registry of platform verifiers under one policy.

use crate::platform::PlatformVerifier;
use crate::platforms;
use crate::policy::Policy;
use crate::policy_file::PolicyError;
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime, Verifier};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// Dispatches evidence to the verifier registered for its platform, then checks the report
/// data. Implements the protocol core's [`Verifier`].
#[derive(Clone)]
pub struct VerifierRegistry {
    platforms: HashMap<PlatformId, Arc<dyn PlatformVerifier>>,
}

impl fmt::Debug for VerifierRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ids: Vec<_> = self.platforms.keys().map(|p| p.0).collect();
        ids.sort_unstable();
        f.debug_struct("VerifierRegistry").field("platforms", &ids).finish()
    }
}

impl VerifierRegistry {
    /// A verifier for every platform the policy has a section for (each section builds its
    /// own), and the refusing verifiers of platforms that cannot be configured. A policy
    /// that accepts nothing is refused ([`PolicyError::Empty`]).
    pub fn from_policy(policy: &Policy) -> Result<Self, PolicyError> {
        let mut platforms: HashMap<PlatformId, Arc<dyn PlatformVerifier>> =
            policy.sections().map(|s| (s.platform(), s.verifier())).collect();
        if platforms.is_empty() {
            return Err(PolicyError::Empty);
        }
        for (id, verifier) in platforms::unconfigured() {
            platforms.entry(id).or_insert(verifier);
        }
        Ok(Self { platforms })
    }

    /// Adds or replaces the verifier for `platform` (for platforms supplied by other crates).
    pub fn register(&mut self, platform: PlatformId, verifier: Arc<dyn PlatformVerifier>) {
        self.platforms.insert(platform, verifier);
    }
}

impl Verifier for VerifierRegistry {
    fn verify(
        &self,
        evidence: &Evidence<'_>,
        expected_report_data: &[u8; 64],
        now: UnixTime,
    ) -> Result<Claims, AttestationError> {
        let Some(platform) = self.platforms.get(&evidence.platform) else {
            return Err(if evidence.platform == PlatformId::SIMULATED {
                AttestationError::SimulatedNotAllowed
            } else {
                AttestationError::UnsupportedPlatform(evidence.platform)
            });
        };
        let claims = platform.verify(evidence, now)?;
        if !bool::from(claims.report_data.ct_eq(expected_report_data)) {
            return Err(AttestationError::ReportDataMismatch);
        }
        Ok(claims)
    }
}
