//! Identity-key binding mode on the enclave side: evidence is produced once and refreshed
//! on an interval, so that quote generation (milliseconds on real hardware) stays off the
//! handshake path while clients still see evidence younger than their policy's maximum age.

use sc_protocol::{Attester, AttesterError, EnclaveConfig, IdentityCredential, UnixTime};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct State {
    credential: Arc<IdentityCredential>,
    attested_at: UnixTime,
}

/// An enclave identity key whose evidence is refreshed every `interval`.
pub struct RefreshingIdentity {
    attester: Arc<dyn Attester>,
    interval: Duration,
    state: Mutex<State>,
}

impl fmt::Debug for RefreshingIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingIdentity")
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl RefreshingIdentity {
    /// Creates the key from `seed` (32 bytes from the enclave's RNG) and attests it at `now`.
    pub fn new(
        seed: [u8; 32],
        attester: Arc<dyn Attester>,
        interval: Duration,
        now: UnixTime,
    ) -> Result<Self, AttesterError> {
        let credential = Arc::new(IdentityCredential::new(seed, attester.as_ref())?);
        Ok(Self {
            attester,
            interval,
            state: Mutex::new(State {
                credential,
                attested_at: now,
            }),
        })
    }

    /// The credential to use at `now`, re-attesting the same key first if the evidence is
    /// `interval` old. Concurrent callers wait for one re-attestation.
    pub fn current(&self, now: UnixTime) -> Result<Arc<IdentityCredential>, AttesterError> {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if now.since(state.attested_at) >= self.interval {
            state.credential = Arc::new(state.credential.reattest(self.attester.as_ref())?);
            state.attested_at = now;
        }
        Ok(state.credential.clone())
    }

    /// `base` with the current credential installed.
    pub fn enclave_config(&self, base: &EnclaveConfig, now: UnixTime) -> Result<EnclaveConfig, AttesterError> {
        Ok(base.with_identity(self.current(now)?))
    }
}
