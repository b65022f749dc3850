//! The `[simulated]` policy section and the simulated platform's verifier.
//!
//! ```toml
//! allow_simulated = true              # top level: without it, simulated evidence is refused
//! [simulated]
//! root_public_key = "<64 hex>"        # trust anchor: `secure-channel sim-root create` prints it
//! measurements = ["<64 hex>"]         # accepted enclave measurements (`secure-channel measure`)
//! signers = ["<64 hex>"]              # optional: accepted signer ids (any, if absent)
//! min_security_version = 1            # optional
//! allow_debug = false                 # default false
//! max_evidence_age_secs = 3600        # optional: reject older evidence
//! max_clock_skew_secs = 300           # optional: evidence issued up to this far in the
//!                                     # future is accepted (default 300)
//! basevalues = "trusted_tas.txt"      # optional: original `taid img_hash mem_hash` file
//! ```

use crate::appraisal::ReferenceValues;
use crate::basevalue::parse_basevalues;
use crate::cache::BoundedCache;
use crate::platform::{PlatformPolicy, PlatformVerifier, SectionInput};
use crate::policy_file::{Hex, PolicyError, hex_values, resolve};
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime};
use serde::Deserialize;
use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

/// Policy for the simulated platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPolicy {
    /// Whether simulated evidence is accepted at all (the policy's top-level
    /// `allow_simulated`).
    pub allowed: bool,
    /// The simulated root key the client trusts.
    pub root_public_key: [u8; 32],
    /// Accepted values.
    pub reference: ReferenceValues,
}

impl SimulatedPolicy {
    /// A policy accepting evidence signed by `root_public_key` for any of `measurements`
    /// (simulated evidence allowed; no other constraint). For tests and development.
    pub fn accepting(root_public_key: [u8; 32], measurements: &[[u8; 32]]) -> Self {
        Self {
            allowed: true,
            root_public_key,
            reference: ReferenceValues {
                measurements: measurements.iter().map(|m| m.to_vec()).collect(),
                ..ReferenceValues::default()
            },
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    root_public_key: Hex<32>,
    measurements: Vec<Hex<32>>,
    #[serde(default)]
    signers: Vec<Hex<32>>,
    min_security_version: Option<u64>,
    #[serde(default)]
    allow_debug: bool,
    max_evidence_age_secs: Option<u64>,
    max_clock_skew_secs: Option<u64>,
    basevalues: Option<String>,
}

/// Reads the `[simulated]` section.
pub(crate) fn parse(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    let s: Section = input.parse()?;
    let basevalues = match &s.basevalues {
        None => Vec::new(),
        Some(p) => {
            let path = resolve(input.base_dir, p);
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
    Ok(Arc::new(SimulatedPolicy {
        allowed: input.allow_simulated,
        root_public_key: s.root_public_key.0,
        reference: ReferenceValues {
            measurements: hex_values(s.measurements),
            basevalues,
            signers: hex_values(s.signers),
            min_security_version: s.min_security_version,
            allow_debug: s.allow_debug,
            max_evidence_age: s.max_evidence_age_secs.map(Duration::from_secs),
            max_clock_skew: s.max_clock_skew_secs.map(Duration::from_secs),
            required: Vec::new(),
        },
    }))
}

impl PlatformPolicy for SimulatedPolicy {
    fn platform(&self) -> PlatformId {
        PlatformId::SIMULATED
    }

    fn verifier(&self) -> Arc<dyn PlatformVerifier> {
        Arc::new(SimulatedVerifier {
            policy: self.clone(),
            verified: BoundedCache::new(VERIFIED_CACHE),
        })
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Evidence remembered as verified at most.
const VERIFIED_CACHE: usize = 256;

/// The simulated platform's verifier. It remembers evidence whose signature verified,
/// keyed by its SHA-256: in the identity-key mode every client of an enclave receives the
/// same evidence, so its signature is checked once; the policy appraisal still runs on
/// every use.
struct SimulatedVerifier {
    policy: SimulatedPolicy,
    verified: BoundedCache<[u8; 32], Claims>,
}

impl PlatformVerifier for SimulatedVerifier {
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError> {
        if !self.policy.allowed {
            return Err(AttestationError::SimulatedNotAllowed);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, evidence.bytes).as_ref());
        let claims = self.verified.get_or_try_insert(key, || {
            super::verify_evidence(&self.policy.root_public_key, evidence.bytes)
        })?;
        self.policy.reference.appraise(&claims, now)?;
        Ok(claims)
    }
}
