//! Handshake message bodies: ClientHello, ServerHello, ClientFinished.

use super::extension::{Extension, read_extensions, write_extensions};
use super::{MAX_EVIDENCE_LEN, MAX_FINISHED_LEN, MAX_PUBLIC_KEY_LEN, MAX_SIGNATURE_LEN};
use crate::codec::{Codec, DecodeError, EncodeError, LengthPrefix, Reader, len_as};
use alloc::vec::Vec;

const MAX_VERSIONS: usize = 16;
const MAX_SUITES: usize = 64;
const MAX_MODES: usize = 8;
const MAX_KEY_SHARES: usize = 4;

/// A key-exchange public key for one group: `u16 group | u16 len | key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyShare<'a> {
    /// Group code.
    pub group: u16,
    /// Public key bytes.
    pub key: &'a [u8],
}

impl<'a> Codec<'a> for KeyShare<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.group.to_be_bytes());
        LengthPrefix::U16.put(out, self.key)
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(KeyShare {
            group: r.u16("key share group")?,
            key: r.vec(LengthPrefix::U16, 1, MAX_PUBLIC_KEY_LEN, "key share")?,
        })
    }
}

/// Reads a list of `count_prefix`-counted fixed-width items.
fn read_list<'a, T>(
    r: &mut Reader<'a>,
    max: usize,
    what: &'static str,
    mut item: impl FnMut(&mut Reader<'a>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, DecodeError> {
    let n = usize::from(r.u8(what)?);
    if n == 0 {
        return Err(DecodeError::TooShort(what));
    }
    if n > max {
        return Err(DecodeError::TooLong {
            field: what,
            len: n,
            max,
        });
    }
    (0..n).map(|_| item(r)).collect()
}

/// Writes a one-byte count then each item, or fails if there are more than 255.
fn write_list<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut item: impl FnMut(&mut Vec<u8>, &T) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    out.push(len_as::<u8>(items.len())?);
    items.iter().try_for_each(|i| item(out, i))
}

/// The client's offer. Everything in it is covered by the transcript hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// Offered protocol versions (raw codes), preferred first.
    pub versions: Vec<u16>,
    /// Offered cipher suites (raw codes), preferred first.
    pub suites: Vec<u16>,
    /// Accepted binding modes (raw codes), preferred first.
    pub binding_modes: Vec<u8>,
    /// Fresh client randomness: the per-session challenge to the enclave.
    pub nonce: [u8; 32],
    /// One key share per offered group.
    pub key_shares: Vec<KeyShare<'a>>,
    /// Extensions (unknown ones are ignored by the enclave).
    pub extensions: Vec<Extension<'a>>,
}

impl<'a> Codec<'a> for ClientHello<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        write_list(out, &self.versions, |o, v| {
            o.extend_from_slice(&v.to_be_bytes());
            Ok(())
        })?;
        write_list(out, &self.suites, |o, s| {
            o.extend_from_slice(&s.to_be_bytes());
            Ok(())
        })?;
        write_list(out, &self.binding_modes, |o, m| {
            o.push(*m);
            Ok(())
        })?;
        out.extend_from_slice(&self.nonce);
        write_list(out, &self.key_shares, |o, k| k.encode(o))?;
        write_extensions(out, &self.extensions)
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(ClientHello {
            versions: read_list(r, MAX_VERSIONS, "versions", |r| r.u16("version"))?,
            suites: read_list(r, MAX_SUITES, "suites", |r| r.u16("suite"))?,
            binding_modes: read_list(r, MAX_MODES, "binding modes", |r| r.u8("binding mode"))?,
            nonce: r.array("client nonce")?,
            key_shares: read_list(r, MAX_KEY_SHARES, "key shares", KeyShare::read)?,
            extensions: read_extensions(r)?,
        })
    }
}

/// The enclave identity public key in a ServerHello: `u16 scheme | u16 len | key`, where
/// scheme 0 with an empty key means "none" (per-session binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentityKeyField<'a> {
    /// Signature scheme code (0: none).
    pub scheme: u16,
    /// Public key bytes (empty when scheme is 0).
    pub key: &'a [u8],
}

impl<'a> Codec<'a> for IdentityKeyField<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.scheme.to_be_bytes());
        LengthPrefix::U16.put(out, self.key)
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let scheme = r.u16("identity key scheme")?;
        let key = r.vec(LengthPrefix::U16, 0, MAX_PUBLIC_KEY_LEN, "identity key")?;
        if (scheme == 0) != key.is_empty() {
            return Err(DecodeError::IllegalValue("identity key"));
        }
        Ok(IdentityKeyField { scheme, key })
    }
}

/// Attestation evidence: `u16 platform | u32 len | bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvidenceField<'a> {
    /// Platform code.
    pub platform: u16,
    /// Evidence bytes in the platform's own format.
    pub bytes: &'a [u8],
}

impl<'a> Codec<'a> for EvidenceField<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.platform.to_be_bytes());
        LengthPrefix::U32.put(out, self.bytes)
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(EvidenceField {
            platform: r.u16("evidence platform")?,
            bytes: r.vec(LengthPrefix::U32, 1, MAX_EVIDENCE_LEN, "evidence")?,
        })
    }
}

/// The enclave's reply, in the order its sections are hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello<'a> {
    /// Session id assigned by the enclave.
    pub session_id: u64,
    /// Selected protocol version.
    pub version: u16,
    /// Selected cipher suite.
    pub suite: u16,
    /// Selected binding mode.
    pub binding_mode: u8,
    /// Fresh enclave randomness.
    pub nonce: [u8; 32],
    /// Enclave key share for the selected suite's group.
    pub key_share: KeyShare<'a>,
    /// Identity public key (identity-key mode) or none.
    pub identity_key: IdentityKeyField<'a>,
    /// Attestation evidence.
    pub evidence: EvidenceField<'a>,
    /// Extensions (the client rejects any it did not ask for).
    pub extensions: Vec<Extension<'a>>,
    /// Identity-key signature over the transcript (empty in per-session mode).
    pub signature: &'a [u8],
    /// Enclave Finished: HMAC over the transcript.
    pub finished: &'a [u8],
}

/// Byte offsets of the ServerHello body's sections, which delimit the transcript hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerHelloOffsets {
    /// Start of the evidence section (per-session report data covers what precedes it).
    pub evidence: usize,
    /// Start of the signature section (the identity signature covers what precedes it).
    pub signature: usize,
    /// Start of the finished section (the enclave Finished covers what precedes it).
    pub finished: usize,
}

impl<'a> ServerHello<'a> {
    /// Writes the parameter section (session id through identity key).
    pub fn encode_params(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.session_id.to_be_bytes());
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.suite.to_be_bytes());
        out.push(self.binding_mode);
        out.extend_from_slice(&self.nonce);
        self.key_share.encode(out)?;
        self.identity_key.encode(out)
    }

    /// Writes the evidence and extensions sections.
    pub fn encode_evidence_and_extensions(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.evidence.encode(out)?;
        write_extensions(out, &self.extensions)
    }

    /// Writes the signature section.
    pub fn encode_signature(signature: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        LengthPrefix::U16.put(out, signature)
    }

    /// Writes the finished section.
    pub fn encode_finished(finished: &[u8], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        LengthPrefix::U8.put(out, finished)
    }

    /// Reads a whole body, returning the section offsets the transcript needs.
    pub fn read_with_offsets(body: &'a [u8]) -> Result<(Self, ServerHelloOffsets), DecodeError> {
        let mut r = Reader::new(body);
        let session_id = r.u64("session id")?;
        let version = r.u16("selected version")?;
        let suite = r.u16("selected suite")?;
        let binding_mode = r.u8("selected binding mode")?;
        let nonce = r.array("server nonce")?;
        let key_share = KeyShare::read(&mut r)?;
        let identity_key = IdentityKeyField::read(&mut r)?;
        let evidence_at = r.position();
        let evidence = EvidenceField::read(&mut r)?;
        let extensions = read_extensions(&mut r)?;
        let signature_at = r.position();
        let signature = r.vec(LengthPrefix::U16, 0, MAX_SIGNATURE_LEN, "signature")?;
        let finished_at = r.position();
        let finished = r.vec(LengthPrefix::U8, 1, MAX_FINISHED_LEN, "server finished")?;
        r.expect_end("server hello")?;
        Ok((
            ServerHello {
                session_id,
                version,
                suite,
                binding_mode,
                nonce,
                key_share,
                identity_key,
                evidence,
                extensions,
                signature,
                finished,
            },
            ServerHelloOffsets {
                evidence: evidence_at,
                signature: signature_at,
                finished: finished_at,
            },
        ))
    }
}

/// The client's key confirmation: `u64 session_id | u8 len | verify_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientFinished<'a> {
    /// Session id from the ServerHello.
    pub session_id: u64,
    /// HMAC over the whole transcript.
    pub verify_data: &'a [u8],
}

impl<'a> Codec<'a> for ClientFinished<'a> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.session_id.to_be_bytes());
        LengthPrefix::U8.put(out, self.verify_data)
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(ClientFinished {
            session_id: r.u64("session id")?,
            verify_data: r.vec(LengthPrefix::U8, 1, MAX_FINISHED_LEN, "client finished")?,
        })
    }
}
