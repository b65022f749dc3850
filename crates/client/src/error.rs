//! Why a client operation failed, with the cause named: a refusal by the server (busy), a
//! deadline (handshake or request), the connection (closed by the host), the enclave
//! (unreachable), the protocol (wire version, frame size) or the handshake itself.

use sc_protocol::RecordError;
use sc_protocol::codec::DecodeError;
use sc_protocol::msgs::AlertCode;
use std::io::ErrorKind;
use std::time::Duration;

/// Why a client operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The handshake failed (attestation, binding, key confirmation, an alert from the
    /// enclave...).
    #[error("handshake failed: {0}")]
    Handshake(#[source] sc_protocol::Error),
    /// A record was rejected, or cannot be sealed.
    #[error("record error: {0}")]
    Record(#[from] RecordError),
    /// The send hook failed.
    #[error("send hook failed: {0}")]
    Send(#[from] std::io::Error),
    /// The server is at capacity (it answered with the busy alert): try again later.
    #[error("server busy: it refused the connection at its capacity limit; try again later")]
    ServerBusy,
    /// The handshake did not complete within the deadline (ours, or the server's: it
    /// answered with the timeout alert).
    #[error("handshake timed out: no complete answer from the server in time")]
    HandshakeTimeout,
    /// No reply to a request within the request deadline.
    #[error("request timed out: no reply from the server within {0:?}")]
    RequestTimeout(Duration),
    /// The host closed the connection.
    #[error("connection closed by the host")]
    ConnectionClosed,
    /// The host could not reach the enclave (it exited, hung or is restarting).
    #[error("enclave unavailable: the host could not reach it; try again shortly")]
    EnclaveUnavailable,
    /// The server sent something that is not a valid frame for us (another wire version,
    /// an oversize or malformed frame), or refused ours as such.
    #[error("protocol error: {0}")]
    Protocol(#[source] ProtocolError),
    /// The network connection could not be made or failed (TCP helper).
    #[error("connection failed: {0}")]
    Connection(std::io::Error),
    /// The enclave ended the session (it sent Close); open a new channel.
    #[error("the server closed the session")]
    SessionClosed,
    /// The handshake was already started on this client.
    #[error("the handshake was already started on this client")]
    AlreadyStarted,
    /// No channel is established (the handshake has not completed, failed, or the session
    /// was finished).
    #[error("no channel is established")]
    NotEstablished,
    /// A handshake reply arrived while no handshake was waiting for one.
    #[error("a handshake reply arrived while no handshake was waiting for one")]
    UnexpectedReply,
}

/// A wire-level failure, from either side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame from the server could not be read (the version, the length or the body).
    #[error("bad frame from the server: {0}")]
    BadFrame(#[source] DecodeError),
    /// The server refused a frame of ours (the alert's code says why: decode_error for an
    /// oversize or malformed frame, protocol_version for another wire version).
    #[error("the server refused our message ({0:?})")]
    Refused(AlertCode),
}

impl From<sc_protocol::Error> for ClientError {
    /// Alerts that say the host refused service become their own variants.
    fn from(e: sc_protocol::Error) -> Self {
        match e {
            sc_protocol::Error::PeerAlert(AlertCode::Busy) => ClientError::ServerBusy,
            sc_protocol::Error::PeerAlert(AlertCode::Timeout) | sc_protocol::Error::Timeout => {
                ClientError::HandshakeTimeout
            }
            sc_protocol::Error::PeerAlert(AlertCode::EnclaveUnavailable) => ClientError::EnclaveUnavailable,
            sc_protocol::Error::PeerAlert(code @ (AlertCode::DecodeError | AlertCode::ProtocolVersion)) => {
                ClientError::Protocol(ProtocolError::Refused(code))
            }
            sc_protocol::Error::Decode(d) => ClientError::Protocol(ProtocolError::BadFrame(d)),
            other => ClientError::Handshake(other),
        }
    }
}

impl ClientError {
    /// Classifies a failed read from the server: `timed_out` is the error for a read that
    /// hit its deadline.
    pub(crate) fn from_read(e: std::io::Error, timed_out: ClientError) -> ClientError {
        match e.kind() {
            ErrorKind::TimedOut | ErrorKind::WouldBlock => timed_out,
            ErrorKind::UnexpectedEof
            | ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe => ClientError::ConnectionClosed,
            ErrorKind::InvalidData => match decode_error_in(&e) {
                Some(d) => ClientError::Protocol(ProtocolError::BadFrame(d)),
                None => ClientError::Connection(e),
            },
            _ => ClientError::Connection(e),
        }
    }

    /// Whether a failed write means the host had closed the connection.
    pub(crate) fn from_write(e: std::io::Error) -> ClientError {
        match e.kind() {
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
                ClientError::ConnectionClosed
            }
            _ => ClientError::Connection(e),
        }
    }
}

/// The frame decoding error an I/O error from `sc_protocol::io` carries, if any.
pub(crate) fn decode_error_in(e: &std::io::Error) -> Option<DecodeError> {
    e.get_ref().and_then(|i| i.downcast_ref::<DecodeError>()).copied()
}

/// The peer alert `message` carries, if it is an alert frame.
pub(crate) fn peer_alert(message: &[u8]) -> Option<sc_protocol::Error> {
    use sc_protocol::codec::Codec;
    let frame = sc_protocol::msgs::Frame::parse(message, usize::MAX).ok()?;
    if frame.msg_type != sc_protocol::msgs::MessageType::Alert {
        return None;
    }
    let alert = sc_protocol::msgs::Alert::read_exact(frame.body, "alert").ok()?;
    Some(sc_protocol::Error::PeerAlert(alert.code))
}
