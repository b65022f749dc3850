//! The keys of one direction in one epoch, and the step to the next epoch.
//!
//! ```text
//! key_e    = Expand-Label(secret_e, "key", "", key_len)
//! iv_e     = Expand-Label(secret_e, "iv", "", 12)
//! secret_e+1 = Expand-Label(secret_e, "traffic upd", "", H)
//! nonce    = iv_e XOR (0^32 | u64 sequence)
//! ```
//!
//! The AEAD's expanded key schedule (544 bytes for AES-256-GCM in ring) is built on first
//! use and can be dropped with [`EpochKeys::park`], so that a table of a million idle
//! sessions holds only the 32 raw key bytes per direction.

use crate::crypto::key_schedule::{Prk, derive_secret};
use crate::crypto::secret::Secret;
use crate::error::RecordError;
use crate::suite::{AeadAlgorithm, CipherSuite};
use alloc::boxed::Box;
use ring::aead;
use zeroize::Zeroizing;

pub(crate) struct EpochKeys {
    pub(crate) epoch: u32,
    algorithm: AeadAlgorithm,
    key: Zeroizing<[u8; 32]>,
    iv: Zeroizing<[u8; aead::NONCE_LEN]>,
    secret: Secret,
    expanded: Option<Box<aead::LessSafeKey>>,
}

impl EpochKeys {
    pub(crate) fn new(suite: CipherSuite, epoch: u32, secret: Secret) -> Self {
        let algorithm = suite.aead();
        let prk = Prk::new(suite.hash(), &secret);
        let mut key = Zeroizing::new([0u8; 32]);
        prk.expand_label(b"key", b"", &mut key[..algorithm.key_len()]);
        let mut iv = Zeroizing::new([0u8; aead::NONCE_LEN]);
        prk.expand_label(b"iv", b"", &mut iv[..]);
        Self {
            epoch,
            algorithm,
            key,
            iv,
            secret,
            expanded: None,
        }
    }

    /// The expanded AEAD key, built now if parked.
    fn aead(&mut self) -> &aead::LessSafeKey {
        let (algorithm, key) = (self.algorithm, &self.key);
        self.expanded.get_or_insert_with(|| {
            // The key length comes from the algorithm itself, so construction cannot fail.
            let unbound = aead::UnboundKey::new(algorithm.ring(), &key[..algorithm.key_len()])
                .unwrap_or_else(|_| unreachable!("key length matches the algorithm"));
            Box::new(aead::LessSafeKey::new(unbound))
        })
    }

    /// Drops the expanded key schedule; the next operation rebuilds it.
    pub(crate) fn park(&mut self) {
        self.expanded = None;
    }

    fn nonce(&self, sequence: u64) -> aead::Nonce {
        let mut n = *self.iv;
        for (b, s) in n[4..].iter_mut().zip(sequence.to_be_bytes()) {
            *b ^= s;
        }
        aead::Nonce::assume_unique_for_key(n)
    }

    /// Encrypts `payload` in place; returns the tag.
    pub(crate) fn seal(&mut self, sequence: u64, aad: &[u8], payload: &mut [u8]) -> Result<aead::Tag, RecordError> {
        let nonce = self.nonce(sequence);
        self.aead()
            .seal_in_place_separate_tag(nonce, aead::Aad::from(aad), payload)
            .map_err(|_| RecordError::TooLarge {
                len: payload.len(),
                max: crate::msgs::MAX_RECORD_PLAINTEXT,
            })
    }

    /// Decrypts `ciphertext` (with its tag) in place; returns the plaintext.
    pub(crate) fn open<'a>(
        &mut self,
        sequence: u64,
        aad: &[u8],
        ciphertext: &'a mut [u8],
    ) -> Result<&'a mut [u8], RecordError> {
        let nonce = self.nonce(sequence);
        self.aead()
            .open_in_place(nonce, aead::Aad::from(aad), ciphertext)
            .map_err(|_| RecordError::Authentication)
    }

    /// Reports this epoch's traffic secret and key to a key log.
    pub(crate) fn log(&self, log: &dyn crate::config::KeyLog, session_id: u64, c2e: bool) {
        let (secret_label, key_label) = if c2e {
            ("c2e_traffic_secret", "c2e_key")
        } else {
            ("e2c_traffic_secret", "e2c_key")
        };
        log.log(session_id, secret_label, self.secret.as_bytes());
        log.log(session_id, key_label, &self.key[..self.algorithm.key_len()]);
    }

    /// The keys of the following epoch, or `None` when epochs are exhausted.
    pub(crate) fn next(&self, suite: CipherSuite) -> Option<Self> {
        let epoch = self.epoch.checked_add(1)?;
        let secret = derive_secret(suite.hash(), &self.secret, b"traffic upd", b"");
        Some(Self::new(suite, epoch, secret))
    }
}
