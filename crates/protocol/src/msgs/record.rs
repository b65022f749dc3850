//! The record header: `u64 session_id | u32 epoch | u64 sequence`, after the frame header.
//! Frame header and record header together (26 bytes) are the AEAD's associated data.

use super::frame::FRAME_HEADER_LEN;
use crate::codec::{DecodeError, Reader};

/// Frame header plus record header: the bytes before the ciphertext.
pub const RECORD_HEADER_LEN: usize = FRAME_HEADER_LEN + 20;

/// The authenticated, unencrypted fields of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Session the record belongs to.
    pub session_id: u64,
    /// Key epoch (0 after the handshake, +1 per key update).
    pub epoch: u32,
    /// Per-direction sequence number; it never repeats and never resets.
    pub sequence: u64,
}

impl RecordHeader {
    /// Writes the 20 header bytes into `out`.
    pub fn write(&self, out: &mut [u8; 20]) {
        out[..8].copy_from_slice(&self.session_id.to_be_bytes());
        out[8..12].copy_from_slice(&self.epoch.to_be_bytes());
        out[12..].copy_from_slice(&self.sequence.to_be_bytes());
    }

    /// Reads the header from the start of a record body.
    pub fn read(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        Ok(RecordHeader {
            session_id: r.u64("record session id")?,
            epoch: r.u32("record epoch")?,
            sequence: r.u64("record sequence")?,
        })
    }
}
