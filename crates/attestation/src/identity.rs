//! Identity-key binding mode on the enclave side: evidence is produced once and refreshed
//! on an interval, so that quote generation (milliseconds on real hardware) stays off the
//! handshake path while clients still see evidence younger than their policy's maximum age.
//!
//! The handshake path only reads the current credential. When it finds the credential due
//! (`interval` old), it starts one re-attestation on a thread of its own and goes on with
//! the current credential; the new one replaces it when ready. Why: re-attesting under a
//! lock on the handshake path stalled every handshake for the length of a quote.

use sc_protocol::{Attester, AttesterError, IdentityCredential, UnixTime};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

struct Current {
    credential: Arc<IdentityCredential>,
    attested_at: UnixTime,
}

struct Inner {
    attester: Arc<dyn Attester>,
    interval: Duration,
    current: RwLock<Current>,
    refreshing: AtomicBool,
}

/// An enclave identity key whose evidence is refreshed every `interval`.
#[derive(Clone)]
pub struct RefreshingIdentity {
    inner: Arc<Inner>,
}

impl fmt::Debug for RefreshingIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshingIdentity")
            .field("interval", &self.inner.interval)
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
            inner: Arc::new(Inner {
                attester,
                interval,
                current: RwLock::new(Current {
                    credential,
                    attested_at: now,
                }),
                refreshing: AtomicBool::new(false),
            }),
        })
    }

    /// The credential to use at `now`. If it is due for refresh, a re-attestation of the
    /// same key starts in the background (one at a time); this call never waits for it.
    pub fn current(&self, now: UnixTime) -> Arc<IdentityCredential> {
        let (credential, due) = {
            let c = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
            (c.credential.clone(), now.since(c.attested_at) >= self.inner.interval)
        };
        if due && !self.inner.refreshing.swap(true, Ordering::AcqRel) {
            let inner = self.inner.clone();
            let spawned = std::thread::Builder::new()
                .name("sc-identity-refresh".into())
                .spawn(move || {
                    if let Err(e) = inner.refresh(now) {
                        tracing::warn!(error = %sc_protocol::ErrorChain(&e), "identity evidence refresh failed; retrying at the next handshake");
                    }
                });
            if spawned.is_err() {
                self.inner.refreshing.store(false, Ordering::Release);
            }
        }
        credential
    }

    /// Re-attests the key now and waits for it (startup, tests, or a caller with its own
    /// schedule).
    pub fn refresh(&self, now: UnixTime) -> Result<(), AttesterError> {
        self.inner.refreshing.store(true, Ordering::Release);
        self.inner.refresh(now)
    }

    /// The attester the key's evidence comes from.
    pub fn attester(&self) -> Arc<dyn Attester> {
        self.inner.attester.clone()
    }

    /// When the current evidence was produced.
    pub fn attested_at(&self) -> UnixTime {
        self.inner.current.read().unwrap_or_else(|p| p.into_inner()).attested_at
    }
}

impl Inner {
    /// Attests without holding the lock, then installs the result; clears the in-flight
    /// flag either way.
    fn refresh(&self, now: UnixTime) -> Result<(), AttesterError> {
        let old = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .credential
            .clone();
        let result = old.reattest(self.attester.as_ref()).map(|credential| {
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = Current {
                credential: Arc::new(credential),
                attested_at: now,
            };
        });
        self.refreshing.store(false, Ordering::Release);
        result
    }
}
