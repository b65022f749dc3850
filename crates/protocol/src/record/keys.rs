//! The keys of one direction in one epoch, and the step to the next epoch.
//!
//! ```text
//! key_e    = Expand-Label(secret_e, "key", "", key_len)
//! iv_e     = Expand-Label(secret_e, "iv", "", 12)
//! secret_e+1 = Expand-Label(secret_e, "traffic upd", "", H)
//! nonce    = iv_e XOR (0^32 | u64 sequence)
//! ```

use crate::crypto::key_schedule::{Prk, derive_secret};
use crate::crypto::secret::Secret;
use crate::suite::CipherSuite;
use ring::aead;
use zeroize::Zeroizing;

pub(crate) struct EpochKeys {
    pub(crate) epoch: u32,
    pub(crate) key: aead::LessSafeKey,
    iv: Zeroizing<[u8; aead::NONCE_LEN]>,
    secret: Secret,
}

impl EpochKeys {
    pub(crate) fn new(suite: CipherSuite, epoch: u32, secret: Secret) -> Self {
        let hash = suite.hash();
        let alg = suite.aead();
        let mut key_bytes = Zeroizing::new([0u8; 32]);
        let key_bytes = &mut key_bytes[..alg.key_len()];
        let prk = Prk::new(hash, &secret);
        prk.expand_label(b"key", b"", key_bytes);
        let mut iv = Zeroizing::new([0u8; aead::NONCE_LEN]);
        prk.expand_label(b"iv", b"", &mut iv[..]);
        // Key lengths come from the algorithm itself, so construction cannot fail.
        let unbound = aead::UnboundKey::new(alg.ring(), key_bytes).unwrap_or_else(|_| unreachable!());
        Self {
            epoch,
            key: aead::LessSafeKey::new(unbound),
            iv,
            secret,
        }
    }

    /// Reports this epoch's traffic secret and key to a key log under `prefix` (`c2e`/`e2c`).
    pub(crate) fn log(&self, suite: CipherSuite, log: &dyn crate::config::KeyLog, session_id: u64, c2e: bool) {
        let mut key = Zeroizing::new([0u8; 32]);
        let key = &mut key[..suite.aead().key_len()];
        Prk::new(suite.hash(), &self.secret).expand_label(b"key", b"", key);
        let (secret_label, key_label) = if c2e {
            ("c2e_traffic_secret", "c2e_key")
        } else {
            ("e2c_traffic_secret", "e2c_key")
        };
        log.log(session_id, secret_label, self.secret.as_bytes());
        log.log(session_id, key_label, key);
    }

    /// The keys of the following epoch, or `None` when epochs are exhausted.
    pub(crate) fn next(&self, suite: CipherSuite) -> Option<Self> {
        let epoch = self.epoch.checked_add(1)?;
        let secret = derive_secret(suite.hash(), &self.secret, b"traffic upd", b"");
        Some(Self::new(suite, epoch, secret))
    }

    pub(crate) fn nonce(&self, sequence: u64) -> aead::Nonce {
        let mut n = *self.iv;
        for (b, s) in n[4..].iter_mut().zip(sequence.to_be_bytes()) {
            *b ^= s;
        }
        aead::Nonce::assume_unique_for_key(n)
    }
}
