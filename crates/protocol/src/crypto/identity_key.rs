//! Ed25519 for the enclave identity key (identity-key binding mode).

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// Signs `message` with the seed's key.
pub(crate) fn sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    key.sign(message).to_bytes()
}

/// Strict verification (rejects malleable and small-order encodings).
pub(crate) fn verify(public: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Ok(public), Ok(signature)) = (<[u8; 32]>::try_from(public), <[u8; 64]>::try_from(signature)) else {
        return false;
    };
    let Ok(key) = VerifyingKey::from_bytes(&public) else {
        return false;
    };
    key.verify_strict(message, &Signature::from_bytes(&signature)).is_ok()
}
