//! X25519 key exchange from injected randomness.

use super::secret::Secret;
use x25519_dalek::{PublicKey, StaticSecret};

/// An ephemeral X25519 key pair. `StaticSecret` is used only because it can be built from
/// injected bytes; the key is still used for one handshake and wiped on drop.
pub(crate) struct EphemeralKey {
    secret: StaticSecret,
    public: [u8; 32],
}

impl EphemeralKey {
    pub(crate) fn from_random(bytes: [u8; 32]) -> Self {
        let secret = StaticSecret::from(bytes);
        let public = PublicKey::from(&secret).to_bytes();
        Self { secret, public }
    }

    pub(crate) fn public(&self) -> &[u8; 32] {
        &self.public
    }

    /// The shared secret with `peer`, or `None` if the share is malformed or of low order
    /// (an all-zero, non-contributory result).
    pub(crate) fn agree(&self, peer: &[u8]) -> Option<Secret> {
        let peer: [u8; 32] = peer.try_into().ok()?;
        let shared = self.secret.diffie_hellman(&PublicKey::from(peer));
        shared.was_contributory().then(|| Secret::from_slice(shared.as_bytes()))
    }
}
