//! Alerts: unprotected notices that a handshake failed. Body: `u64 session_id | u16 code`.
//!
//! An alert is a hint for a faster, clearer failure; it is never trusted to change state
//! beyond ending the handshake it names (the host could forge one, which is only the
//! denial of service the host can always do).

use super::frame::{FRAME_HEADER_LEN, MessageType, frame_header};
use crate::codec::{Codec, DecodeError, EncodeError, Reader};
use alloc::vec::Vec;

/// Why a handshake was abandoned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AlertCode {
    /// No more specific reason applies.
    HandshakeFailure,
    /// A message could not be decoded.
    DecodeError,
    /// A message arrived that the state did not expect.
    UnexpectedMessage,
    /// No protocol version in common.
    ProtocolVersion,
    /// No cipher suite in common.
    NoCommonSuite,
    /// No binding mode in common.
    NoCommonBindingMode,
    /// The client sent no key share for the selected suite's group, or an invalid one.
    BadKeyShare,
    /// Key confirmation (Finished) failed.
    BadFinished,
    /// The enclave could not produce evidence.
    AttestationUnavailable,
    /// The enclave is at its limit of pending handshakes or sessions.
    Busy,
    /// The handshake took too long.
    Timeout,
    /// The session id is unknown to the enclave.
    UnknownSession,
    /// An internal error (randomness failure and the like).
    InternalError,
    /// The host cannot reach the enclave (it exited, hung or is restarting). Sent by the
    /// host, which is why it is unauthenticated like every alert.
    EnclaveUnavailable,
    /// A code this implementation does not know.
    Unknown(u16),
}

impl AlertCode {
    /// Wire code.
    pub fn code(self) -> u16 {
        match self {
            AlertCode::HandshakeFailure => 1,
            AlertCode::DecodeError => 2,
            AlertCode::UnexpectedMessage => 3,
            AlertCode::ProtocolVersion => 4,
            AlertCode::NoCommonSuite => 5,
            AlertCode::NoCommonBindingMode => 6,
            AlertCode::BadKeyShare => 7,
            AlertCode::BadFinished => 8,
            AlertCode::AttestationUnavailable => 9,
            AlertCode::Busy => 10,
            AlertCode::Timeout => 11,
            AlertCode::UnknownSession => 12,
            AlertCode::InternalError => 13,
            AlertCode::EnclaveUnavailable => 14,
            AlertCode::Unknown(c) => c,
        }
    }

    /// Decodes a wire code; unknown codes are kept, not rejected.
    pub fn from_code(code: u16) -> Self {
        match code {
            1 => AlertCode::HandshakeFailure,
            2 => AlertCode::DecodeError,
            3 => AlertCode::UnexpectedMessage,
            4 => AlertCode::ProtocolVersion,
            5 => AlertCode::NoCommonSuite,
            6 => AlertCode::NoCommonBindingMode,
            7 => AlertCode::BadKeyShare,
            8 => AlertCode::BadFinished,
            9 => AlertCode::AttestationUnavailable,
            10 => AlertCode::Busy,
            11 => AlertCode::Timeout,
            12 => AlertCode::UnknownSession,
            13 => AlertCode::InternalError,
            14 => AlertCode::EnclaveUnavailable,
            c => AlertCode::Unknown(c),
        }
    }
}

/// An alert message body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Alert {
    /// The session the alert concerns (0 before one was assigned).
    pub session_id: u64,
    /// The reason.
    pub code: AlertCode,
}

/// An alert body's length: session id and code.
const ALERT_LEN: usize = 8 + 2;

impl Alert {
    /// The whole frame.
    pub fn to_frame(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FRAME_HEADER_LEN + ALERT_LEN);
        out.extend_from_slice(&frame_header(MessageType::Alert, ALERT_LEN as u32));
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.session_id.to_be_bytes());
        out.extend_from_slice(&self.code.code().to_be_bytes());
    }
}

impl<'a> Codec<'a> for Alert {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.write(out);
        Ok(())
    }

    fn read(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Ok(Alert {
            session_id: r.u64("alert session id")?,
            code: AlertCode::from_code(r.u16("alert code")?),
        })
    }
}
