//! HKDF (RFC 5869) with protocol labels, in the style of TLS 1.3's HKDF-Expand-Label:
//!
//! ```text
//! HkdfLabel = u16 length | u8 label_len | "sch1 " + label | u8 context_len | context
//! ```

use super::secret::Secret;
use crate::suite::HashAlgorithm;
use ring::{hkdf, hmac};

/// Prefix of every label, separating this protocol's derivations from any other.
pub(crate) const LABEL_PREFIX: &[u8] = b"sch1 ";

/// HKDF-Extract(salt, ikm) = HMAC(salt, ikm).
pub(crate) fn extract(hash: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Secret {
    let tag = hmac::sign(&hmac::Key::new(hash.hmac(), salt), ikm);
    Secret::from_slice(tag.as_ref())
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// A secret prepared for several expansions (the HMAC key is set up once).
pub(crate) struct Prk(hkdf::Prk);

impl Prk {
    pub(crate) fn new(hash: HashAlgorithm, secret: &Secret) -> Self {
        Self(hkdf::Prk::new_less_safe(hash.hkdf(), secret.as_bytes()))
    }
}

/// HKDF-Expand-Label(secret, label, context, out.len()).
pub(crate) fn expand_label(hash: HashAlgorithm, secret: &Secret, label: &[u8], context: &[u8], out: &mut [u8]) {
    Prk::new(hash, secret).expand_label(label, context, out);
}

impl Prk {
    /// HKDF-Expand-Label into `out`. Labels and contexts are short protocol constants and
    /// hashes, and outputs at most 64 bytes, so ring's limit (255 * hash length) is never
    /// reached; if it were, `out` would stay zeroed and every later MAC check would fail
    /// closed.
    pub(crate) fn expand_label(&self, label: &[u8], context: &[u8], out: &mut [u8]) {
        let prk = &self.0;
        let len = (out.len() as u16).to_be_bytes();
        let label_len = [(LABEL_PREFIX.len() + label.len()) as u8];
        let context_len = [context.len() as u8];
        let info: [&[u8]; 6] = [&len, &label_len, LABEL_PREFIX, label, &context_len, context];
        if let Ok(okm) = prk.expand(&info, Len(out.len())) {
            let _ = okm.fill(out);
        }
    }

    /// Expand-Label into a new secret of the hash's length.
    pub(crate) fn derive_secret(&self, hash: HashAlgorithm, label: &[u8], context: &[u8]) -> Secret {
        let mut out = Secret::zeroed(hash.output_len());
        self.expand_label(label, context, out.as_mut_bytes());
        out
    }
}

/// HKDF-Expand-Label into a new secret of the hash's length.
pub(crate) fn derive_secret(hash: HashAlgorithm, secret: &Secret, label: &[u8], context: &[u8]) -> Secret {
    let mut out = Secret::zeroed(hash.output_len());
    expand_label(hash, secret, label, context, out.as_mut_bytes());
    out
}

/// HMAC(key, data) as used for Finished verify data.
pub(crate) fn finished_mac(hash: HashAlgorithm, finished_key: &Secret, transcript_hash: &[u8]) -> Secret {
    let tag = hmac::sign(&hmac::Key::new(hash.hmac(), finished_key.as_bytes()), transcript_hash);
    Secret::from_slice(tag.as_ref())
}

/// The handshake's derived secrets, computed once both transcript points are known.
pub(crate) struct HandshakeSecrets {
    hash: HashAlgorithm,
    handshake_secret: Prk,
}

impl HandshakeSecrets {
    /// handshake_secret = HKDF-Extract(salt = "sch1 handshake", ikm = ECDH shared secret).
    pub(crate) fn new(hash: HashAlgorithm, shared: &Secret) -> Self {
        Self {
            hash,
            handshake_secret: Prk::new(hash, &extract(hash, b"sch1 handshake", shared.as_bytes())),
        }
    }

    /// Enclave Finished = HMAC(Expand-Label(hs, "s finished", "", H), TH_finished).
    pub(crate) fn server_finished(&self, th: &[u8]) -> Secret {
        let key = self.handshake_secret.derive_secret(self.hash, b"s finished", b"");
        finished_mac(self.hash, &key, th)
    }

    /// Client Finished = HMAC(Expand-Label(hs, "c finished", "", H), TH_end).
    pub(crate) fn client_finished(&self, th: &[u8]) -> Secret {
        let key = self.handshake_secret.derive_secret(self.hash, b"c finished", b"");
        finished_mac(self.hash, &key, th)
    }

    /// The traffic secrets of epoch 0.
    pub(crate) fn traffic_secrets(&self, th_end: &[u8]) -> TrafficSecrets {
        TrafficSecrets {
            client_to_enclave: self.handshake_secret.derive_secret(self.hash, b"c ap traffic", th_end),
            enclave_to_client: self.handshake_secret.derive_secret(self.hash, b"s ap traffic", th_end),
        }
    }
}

/// The two directions' epoch-0 traffic secrets.
pub(crate) struct TrafficSecrets {
    pub(crate) client_to_enclave: Secret,
    pub(crate) enclave_to_client: Secret,
}
