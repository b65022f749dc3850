//! X25519 key exchange, from injected randomness or from the system RNG.
//!
//! Keys from injected bytes (x25519-dalek) keep handshakes reproducible: tests and the
//! known-answer vectors depend on it, and it needs no operating system. ring's X25519 is
//! faster (assembly) but only generates keys from its own system RNG; a configuration may
//! choose it for production ([`crate::EphemeralKeys::SystemRng`]).

use super::secret::Secret;
use ring::agreement;
use x25519_dalek::{PublicKey, StaticSecret};

/// An ephemeral X25519 key pair, used for one exchange and wiped when dropped.
pub(crate) enum EphemeralKey {
    /// From injected bytes. `StaticSecret` only because it can be built from bytes.
    Injected { secret: StaticSecret, public: [u8; 32] },
    /// From ring's system RNG (ring keeps the private key and consumes it when used).
    System {
        key: agreement::EphemeralPrivateKey,
        public: [u8; 32],
    },
}

impl EphemeralKey {
    pub(crate) fn from_random(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Self::Injected { secret, public }
    }

    /// A key from the system RNG; `None` if it is unavailable.
    pub(crate) fn from_system_rng() -> Option<Self> {
        let rng = ring::rand::SystemRandom::new();
        let key = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &rng).ok()?;
        let public = key.compute_public_key().ok()?.as_ref().try_into().ok()?;
        Some(Self::System { key, public })
    }

    pub(crate) fn public(&self) -> &[u8; 32] {
        match self {
            Self::Injected { public, .. } | Self::System { public, .. } => public,
        }
    }

    /// The shared secret with `peer`, or `None` if the share is malformed or of low order
    /// (an all-zero, non-contributory result).
    pub(crate) fn agree(self, peer: &[u8]) -> Option<Secret> {
        match self {
            Self::Injected { secret, .. } => {
                let peer: [u8; 32] = peer.try_into().ok()?;
                let shared = secret.diffie_hellman(&PublicKey::from(peer));
                shared.was_contributory().then(|| Secret::from_slice(shared.as_bytes()))
            }
            Self::System { key, .. } => {
                let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, peer);
                // ring refuses malformed and low-order shares itself.
                agreement::agree_ephemeral(key, &peer, Secret::from_slice).ok()
            }
        }
    }
}
