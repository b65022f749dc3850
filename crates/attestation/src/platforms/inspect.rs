//! Reading evidence without verifying it: which platform a file holds, and what it claims.
//! For tools (`secure-channel verify` prints the claims before the verdict, so that a
//! rejected enclave's values can be compared with the policy); never for trust decisions.

use super::ALL;
use sc_protocol::{AttestationError, Claims, PlatformId};

/// The platform whose evidence `bytes` looks like, if any.
pub fn detect(bytes: &[u8]) -> Option<PlatformId> {
    ALL.iter().find_map(|p| (p.detect)(bytes))
}

/// What the evidence claims, parsed but NOT verified.
pub fn describe(platform: PlatformId, bytes: &[u8]) -> Result<Claims, AttestationError> {
    ALL.iter()
        .find_map(|p| (p.describe)(platform, bytes))
        .unwrap_or(Err(AttestationError::UnsupportedPlatform(platform)))
}
