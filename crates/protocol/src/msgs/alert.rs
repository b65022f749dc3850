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

    /// The name docs/PROTOCOL.md gives the code (`busy`, `handshake_failure`...);
    /// `unknown` for codes this implementation does not know. For logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            AlertCode::HandshakeFailure => "handshake_failure",
            AlertCode::DecodeError => "decode_error",
            AlertCode::UnexpectedMessage => "unexpected_message",
            AlertCode::ProtocolVersion => "protocol_version",
            AlertCode::NoCommonSuite => "no_common_suite",
            AlertCode::NoCommonBindingMode => "no_common_binding_mode",
            AlertCode::BadKeyShare => "bad_key_share",
            AlertCode::BadFinished => "bad_finished",
            AlertCode::AttestationUnavailable => "attestation_unavailable",
            AlertCode::Busy => "busy",
            AlertCode::Timeout => "timeout",
            AlertCode::UnknownSession => "unknown_session",
            AlertCode::InternalError => "internal_error",
            AlertCode::EnclaveUnavailable => "enclave_unavailable",
            AlertCode::Unknown(_) => "unknown",
        }
    }

    /// The code of an alert frame (header included), if `frame` is one.
    pub fn of_frame(frame: &[u8]) -> Option<Self> {
        let body = frame.get(FRAME_HEADER_LEN..)?;
        if frame.first() != Some(&MessageType::Alert.code()) || body.len() != ALERT_LEN {
            return None;
        }
        Some(AlertCode::from_code(u16::from_be_bytes([body[8], body[9]])))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_documented_name_and_frames_are_recognised() {
        for code in 1..=14u16 {
            let c = AlertCode::from_code(code);
            assert_ne!(c.name(), "unknown", "code {code}");
            let frame = Alert { session_id: 7, code: c }.to_frame();
            assert_eq!(AlertCode::of_frame(&frame), Some(c));
        }
        assert_eq!(AlertCode::Busy.name(), "busy");
        assert_eq!(AlertCode::from_code(99).name(), "unknown");
        assert_eq!(
            AlertCode::of_frame(&[0x01, 1, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10]),
            None
        );
        assert_eq!(AlertCode::of_frame(&[]), None);
    }
}
