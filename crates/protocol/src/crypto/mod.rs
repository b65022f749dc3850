//! Thin wrappers over the crypto crates: secrets that wipe themselves, the labelled key
//! schedule, the transcript hash, X25519 and Ed25519. No primitive is implemented here.

pub(crate) mod identity_key;
pub(crate) mod key_schedule;
pub(crate) mod kx;
pub(crate) mod secret;
pub(crate) mod transcript;
