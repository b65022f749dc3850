//! What a Close or an EndOfStream record says (their plaintext): how many of the peer's
//! records the sender had accepted when it ended, and for a Close, why it ended.
//!
//! ```text
//! Close:       u64 received | u8 reason
//! EndOfStream: u64 received
//! ```
//! `received` is the count of the peer's records the sender accepted, in sequence, before
//! this one (the peer's sequence numbers `0..received`), so 0 means none. Why: an end that
//! names what it covers proves both what arrived and what did not, so a client can resend
//! exactly the requests above it and nothing the enclave may have run (docs/PROTOCOL.md §10).

use crate::codec::{DecodeError, Reader};

/// Why a session ended, as the Close's sender says (wire `u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The sender's application ended the session (`0`).
    Normal,
    /// The host asked the enclave to end the session: it drains, restarts or lost the
    /// client's connection (`1`).
    Shutdown,
    /// The sender received a record it could not accept in sequence (a gap, a reordering
    /// or a duplicate that did not resolve in time) (`2`).
    SequenceError,
    /// The service behind the enclave (a tunnel's backend) failed, refused or reset (`3`).
    BackendFailed,
    /// The session was idle past its limit or outlived its lifetime (`4`).
    Expired,
    /// The sender ran out of a resource it needs for the session (`5`).
    InternalError,
    /// A code this implementation does not know; reported, not refused.
    Unknown(u8),
}

impl CloseReason {
    /// Wire code.
    pub fn code(self) -> u8 {
        match self {
            CloseReason::Normal => 0,
            CloseReason::Shutdown => 1,
            CloseReason::SequenceError => 2,
            CloseReason::BackendFailed => 3,
            CloseReason::Expired => 4,
            CloseReason::InternalError => 5,
            CloseReason::Unknown(c) => c,
        }
    }

    /// From a wire code (unknown codes kept as [`CloseReason::Unknown`]).
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => CloseReason::Normal,
            1 => CloseReason::Shutdown,
            2 => CloseReason::SequenceError,
            3 => CloseReason::BackendFailed,
            4 => CloseReason::Expired,
            5 => CloseReason::InternalError,
            c => CloseReason::Unknown(c),
        }
    }
}

impl core::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CloseReason::Normal => f.write_str("ended by the peer"),
            CloseReason::Shutdown => f.write_str("the server is shutting down or lost the connection"),
            CloseReason::SequenceError => f.write_str("records were lost, reordered or duplicated on the way"),
            CloseReason::BackendFailed => f.write_str("the service behind the enclave failed"),
            CloseReason::Expired => f.write_str("the session was idle too long or expired"),
            CloseReason::InternalError => f.write_str("the peer had an internal error"),
            CloseReason::Unknown(c) => write!(f, "reason code {c}"),
        }
    }
}

/// The plaintext of a Close record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseBody {
    /// The peer's records the sender accepted before its Close.
    pub received: u64,
    /// Why it closed.
    pub reason: CloseReason,
}

/// Length of a Close plaintext.
pub const CLOSE_BODY_LEN: usize = 9;
/// Length of an EndOfStream plaintext.
pub const END_OF_STREAM_BODY_LEN: usize = 8;

impl CloseBody {
    /// The 9 plaintext bytes.
    pub fn encode(&self) -> [u8; CLOSE_BODY_LEN] {
        let mut out = [0u8; CLOSE_BODY_LEN];
        out[..8].copy_from_slice(&self.received.to_be_bytes());
        out[8] = self.reason.code();
        out
    }

    /// Reads a Close plaintext (exactly 9 bytes).
    pub fn decode(plaintext: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(plaintext);
        let received = r.u64("close received count")?;
        let reason = CloseReason::from_code(r.u8("close reason")?);
        r.expect_end("close")?;
        Ok(Self { received, reason })
    }
}

/// Reads an EndOfStream plaintext (exactly 8 bytes): the sender's received count.
pub fn decode_end_of_stream(plaintext: &[u8]) -> Result<u64, DecodeError> {
    let mut r = Reader::new(plaintext);
    let received = r.u64("end of stream received count")?;
    r.expect_end("end of stream")?;
    Ok(received)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_round_trips_and_refuses_other_lengths() {
        for code in 0..=255u8 {
            let body = CloseBody {
                received: 0x0102_0304_0506_0708,
                reason: CloseReason::from_code(code),
            };
            assert_eq!(body.reason.code(), code);
            assert_eq!(CloseBody::decode(&body.encode()).unwrap(), body);
        }
        assert!(CloseBody::decode(&[0; 8]).is_err());
        assert!(CloseBody::decode(&[0; 10]).is_err());
        assert!(CloseBody::decode(&[]).is_err());
        assert_eq!(decode_end_of_stream(&7u64.to_be_bytes()).unwrap(), 7);
        assert!(decode_end_of_stream(&[0; 9]).is_err());
        assert!(decode_end_of_stream(&[]).is_err());
    }
}
