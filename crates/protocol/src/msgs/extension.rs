//! Extension lists: `u16 total_len`, then entries of `u16 type | u16 len | data`.
//!
//! Extensions are how versions of this protocol grow without a new wire version: evidence
//! collateral and acknowledgements are implemented; client attestation and resumption have
//! codes reserved here.

use crate::codec::{DecodeError, EncodeError, LengthPrefix, Reader};
use alloc::vec::Vec;

/// Extension codes. `EVIDENCE_COLLATERAL` and `ACKNOWLEDGEMENTS` are acted on in version 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtensionType(pub u16);

// Why: this is the registry of code points, reserved ones included; nothing inside the
// crate sends the reserved ones yet (they are public with the `internals` feature).
#[cfg_attr(not(feature = "internals"), allow(dead_code))]
impl ExtensionType {
    /// Reserved: the enclave asks the client for evidence (mutual attestation).
    pub const CLIENT_ATTESTATION_REQUEST: Self = Self(0x0001);
    /// Reserved: client evidence for mutual attestation.
    pub const CLIENT_EVIDENCE: Self = Self(0x0002);
    /// Reserved: a resumption ticket or pre-shared-key identity.
    pub const RESUMPTION: Self = Self(0x0003);
    /// Implemented: empty in a ClientHello (a request), the collateral in a ServerHello.
    pub const EVIDENCE_COLLATERAL: Self = Self(0x0004);
    /// Implemented: empty in a ClientHello (a request) and in the ServerHello (granted):
    /// the enclave then answers the ClientFinished with a SessionAck record and a Close
    /// with its own Close record, for clients that read one reply per message they send.
    pub const ACKNOWLEDGEMENTS: Self = Self(0x0005);
    /// ClientHello, empty: "I read records the enclave sends on its own, and end-of-stream
    /// records". ServerHello, empty, only if requested and the enclave offers streams:
    /// granted. Either side may then send EndOfStream (a half-close), and the enclave may
    /// send data records that answer nothing (a tunnel's backend writing).
    pub const STREAMS: Self = Self(0x0006);
}

/// One extension, borrowing its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension code.
    pub typ: ExtensionType,
    /// Opaque contents.
    pub data: &'a [u8],
}

/// Reads an extension block; duplicate codes are an error.
pub fn read_extensions<'a>(r: &mut Reader<'a>) -> Result<Vec<Extension<'a>>, DecodeError> {
    let block = r.vec(LengthPrefix::U16, 0, usize::from(u16::MAX), "extensions")?;
    let mut inner = Reader::new(block);
    let mut out: Vec<Extension<'a>> = Vec::new();
    while inner.remaining() > 0 {
        let typ = ExtensionType(inner.u16("extension type")?);
        let data = inner.vec(LengthPrefix::U16, 0, usize::from(u16::MAX), "extension data")?;
        if out.iter().any(|e| e.typ == typ) {
            return Err(DecodeError::DuplicateExtension(typ.0));
        }
        out.push(Extension { typ, data });
    }
    Ok(out)
}

/// Writes an extension block, or fails if an extension or the whole block exceeds 65535
/// bytes.
pub fn write_extensions(out: &mut Vec<u8>, exts: &[Extension<'_>]) -> Result<(), EncodeError> {
    let mut block = Vec::new();
    for e in exts {
        block.extend_from_slice(&e.typ.0.to_be_bytes());
        LengthPrefix::U16.put(&mut block, e.data)?;
    }
    LengthPrefix::U16.put(out, &block)
}
