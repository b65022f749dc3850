//! The client-side verifier: a registry of platform verifiers under one policy.

use crate::platforms::dcap::DcapVerifier;
use crate::platforms::snp::SnpVerifier;
use crate::platforms::virtcca::VirtCcaVerifier;
use crate::policy::{Policy, PolicyError, ReferenceValues};
use crate::sim;
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime, Verifier};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq;

/// Verifies one platform's evidence (format, signatures, chain to a trusted root) and
/// appraises it against that platform's reference values.
pub trait PlatformVerifier: Send + Sync {
    /// Checks `evidence` (and its collateral, if any) at `now`, returning its claims.
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError>;
}

/// Remembers evidence whose signature already verified, keyed by its SHA-256. In the
/// identity-key mode every client of an enclave receives the same cached evidence, so its
/// signature (the costly part) is checked once; the policy appraisal (measurements, age...)
/// still runs on every use. Bounded: cleared when full.
struct VerifiedCache {
    entries: Mutex<HashMap<[u8; 32], Claims>>,
}

const CACHE_ENTRIES: usize = 256;

impl VerifiedCache {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get_or_verify(
        &self,
        evidence: &[u8],
        verify: impl FnOnce() -> Result<Claims, AttestationError>,
    ) -> Result<Claims, AttestationError> {
        let mut key = [0u8; 32];
        key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, evidence).as_ref());
        if let Some(c) = self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(c.clone());
        }
        let claims = verify()?;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(key, claims.clone());
        Ok(claims)
    }
}

/// The simulated platform's verifier.
struct SimulatedVerifier {
    root_public_key: [u8; 32],
    reference: ReferenceValues,
    allowed: bool,
    cache: VerifiedCache,
}

impl PlatformVerifier for SimulatedVerifier {
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError> {
        if !self.allowed {
            return Err(AttestationError::SimulatedNotAllowed);
        }
        let claims = self.cache.get_or_verify(evidence.bytes, || {
            sim::verify_evidence(&self.root_public_key, evidence.bytes)
        })?;
        self.reference.appraise(&claims, now)?;
        Ok(claims)
    }
}

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
    /// Registers a verifier for every platform the policy has a section for. A policy that
    /// accepts nothing is refused ([`PolicyError::Empty`]).
    pub fn from_policy(policy: &Policy) -> Result<Self, PolicyError> {
        let mut platforms: HashMap<PlatformId, Arc<dyn PlatformVerifier>> = HashMap::new();
        if let Some(s) = &policy.simulated {
            platforms.insert(
                PlatformId::SIMULATED,
                Arc::new(SimulatedVerifier {
                    root_public_key: s.root_public_key,
                    reference: s.reference.clone(),
                    allowed: policy.allow_simulated,
                    cache: VerifiedCache::new(),
                }),
            );
        }
        if let Some(p) = &policy.sgx {
            platforms.insert(
                PlatformId::SGX_DCAP,
                Arc::new(DcapVerifier::new(PlatformId::SGX_DCAP, p.clone())),
            );
        }
        if let Some(p) = &policy.tdx {
            platforms.insert(
                PlatformId::TDX_DCAP,
                Arc::new(DcapVerifier::new(PlatformId::TDX_DCAP, p.clone())),
            );
        }
        if let Some(p) = &policy.sev_snp {
            platforms.insert(PlatformId::SEV_SNP, Arc::new(SnpVerifier::new(p.clone())));
        }
        if platforms.is_empty() {
            return Err(PolicyError::Empty);
        }
        // Never accepts; registered so that such evidence is refused with its reason.
        platforms.insert(PlatformId::ARM_CCA, Arc::new(VirtCcaVerifier));
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
