//! How attestation is bound to a handshake (docs/PROTOCOL.md, "Attestation binding").
//!
//! * Per-session: `report_data = SHA-512("sch1 per-session report data" | 0x00 | TH_evidence)`,
//!   where `TH_evidence` hashes the ClientHello (client nonce, key shares, offers) and the
//!   ServerHello up to its evidence (session id, selections, enclave nonce and key share).
//! * Identity key: `report_data = SHA-512("sch1 identity key report data" | 0x00 |
//!   u16 scheme | u16 len | public key)`; the key then signs
//!   `"sch1 enclave transcript signature" | 0x00 | TH_signature` in every handshake.
//! * Evidence probe (the host asking a running enclave for its evidence, to write a policy
//!   or to check readiness): `report_data = SHA-512("sch1 evidence probe" | 0x00 | nonce)`.
//!   The label keeps such evidence from ever matching either handshake binding.
//!
//! SHA-512 is used whatever the suite so that the full 64 bytes of report data carry the
//! binding and cached evidence does not depend on which suite a later client picks.

use crate::attestation::{Attester, AttesterError};
use crate::crypto::identity_key;
use crate::suite::{PlatformId, SignatureScheme};
use alloc::vec::Vec;
use ed25519_dalek::SigningKey;
use ring::digest;

const PER_SESSION_LABEL: &[u8] = b"sch1 per-session report data\0";
const IDENTITY_LABEL: &[u8] = b"sch1 identity key report data\0";
const SIGNATURE_LABEL: &[u8] = b"sch1 enclave transcript signature\0";
const PROBE_LABEL: &[u8] = b"sch1 evidence probe\0";

fn sha512(parts: &[&[u8]]) -> [u8; 64] {
    let mut ctx = digest::Context::new(&digest::SHA512);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 64];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Report data for per-session evidence, from the transcript hash before the evidence.
pub fn per_session_report_data(transcript_hash: &[u8]) -> [u8; 64] {
    sha512(&[PER_SESSION_LABEL, transcript_hash])
}

/// Report data for probe evidence: what an enclave attests when the (untrusted) host asks
/// for its evidence outside a handshake. **Why a label of its own:** the host chooses the
/// nonce, so without it the host could have the enclave attest the report data of a
/// handshake it forges; with it, probe evidence carries a SHA-512 preimage no client
/// ever expects.
pub fn probe_report_data(nonce: &[u8; 32]) -> [u8; 64] {
    sha512(&[PROBE_LABEL, nonce])
}

/// Report data for evidence that binds an identity public key.
pub fn identity_key_report_data(scheme: SignatureScheme, public_key: &[u8]) -> [u8; 64] {
    let scheme = scheme.code().to_be_bytes();
    let len = (public_key.len() as u16).to_be_bytes();
    sha512(&[IDENTITY_LABEL, &scheme, &len, public_key])
}

/// The bytes the identity key signs for one handshake.
pub(crate) fn signature_input(transcript_hash: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_LABEL.len() + transcript_hash.len());
    m.extend_from_slice(SIGNATURE_LABEL);
    m.extend_from_slice(transcript_hash);
    m
}

/// An enclave identity key with evidence binding it: the credential of the identity-key
/// binding mode. Produce it once (attestation is slow on real hardware), refresh it with
/// [`IdentityCredential::reattest`] as the client policy's maximum evidence age requires.
#[derive(Clone)]
pub struct IdentityCredential {
    key: SigningKey,
    platform: PlatformId,
    evidence: Vec<u8>,
    collateral: Option<Vec<u8>>,
}

impl IdentityCredential {
    /// Creates the key from a 32-byte seed (drawn from the enclave's RNG) and attests it.
    pub fn new(seed: [u8; 32], attester: &dyn Attester) -> Result<Self, AttesterError> {
        let key = SigningKey::from_bytes(&seed);
        Self::attest(key, attester)
    }

    /// New evidence for the same key (for example after the refresh interval).
    pub fn reattest(&self, attester: &dyn Attester) -> Result<Self, AttesterError> {
        Self::attest(self.key.clone(), attester)
    }

    fn attest(key: SigningKey, attester: &dyn Attester) -> Result<Self, AttesterError> {
        let report_data = identity_key_report_data(SignatureScheme::Ed25519, key.verifying_key().as_bytes());
        let (evidence, collateral) = attester.attest_with_collateral(&report_data)?;
        Ok(Self {
            key,
            platform: attester.platform(),
            evidence,
            collateral,
        })
    }

    /// The signature scheme of the key.
    pub fn scheme(&self) -> SignatureScheme {
        SignatureScheme::Ed25519
    }

    /// The public key, as sent in the ServerHello.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The platform of the evidence.
    pub fn platform(&self) -> PlatformId {
        self.platform
    }

    /// The evidence binding the key.
    pub fn evidence(&self) -> &[u8] {
        &self.evidence
    }

    /// Verification collateral the attester gave with the evidence, if any.
    pub fn collateral(&self) -> Option<&[u8]> {
        self.collateral.as_deref()
    }

    pub(crate) fn sign_transcript(&self, transcript_hash: &[u8]) -> [u8; 64] {
        identity_key::sign(&self.key, &signature_input(transcript_hash))
    }
}

impl core::fmt::Debug for IdentityCredential {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityCredential")
            .field("public_key", &self.public_key())
            .field("platform", &self.platform)
            .field("evidence_len", &self.evidence.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three report data forms never coincide for the same 32 input bytes: probe
    /// evidence (host-chosen nonce) cannot stand in for either handshake binding.
    #[test]
    fn probe_report_data_is_apart_from_both_handshake_bindings() {
        let input = [0x42u8; 32];
        let probe = probe_report_data(&input);
        assert_ne!(probe, per_session_report_data(&input));
        assert_ne!(probe, identity_key_report_data(SignatureScheme::Ed25519, &input));
        assert_ne!(probe, probe_report_data(&[0x43; 32]));
        // Pinned: a change of label is a protocol change (docs/PROTOCOL.md §8.3).
        let mut expected = digest::Context::new(&digest::SHA512);
        expected.update(b"sch1 evidence probe\0");
        expected.update(&input);
        assert_eq!(&probe[..], expected.finish().as_ref());
    }
}
