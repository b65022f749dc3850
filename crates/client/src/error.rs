//! Why a client operation failed, with the cause named: a refusal by the server (busy), a
//! deadline (handshake or request), the connection (closed by the host), the enclave
//! (unreachable), the protocol (wire version, frame size) or the handshake itself.

use sc_protocol::RecordError;
use sc_protocol::codec::DecodeError;
use sc_protocol::msgs::AlertCode;
use sc_protocol::msgs::CloseReason;
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
    /// A record was rejected, or cannot be sealed. A record out of sequence
    /// ([`RecordError::OutOfSequence`]) means the host dropped, reordered or replayed
    /// records: the session cannot go on.
    #[error("record error: {0}")]
    Record(#[source] RecordError),
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
    /// The enclave ended the session (its Close authenticated); open a new channel. The
    /// Close says how many of this client's records the enclave had received (its records
    /// numbered `received` and above never arrived, so they did not run) and why it
    /// closed.
    #[error("the server closed the session ({reason}; it had received {received} of our records)")]
    SessionClosed {
        /// How many of this client's records the enclave accepted before its Close.
        received: u64,
        /// Why the enclave closed.
        reason: CloseReason,
    },
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

impl From<RecordError> for ClientError {
    /// The enclave's Close becomes [`ClientError::SessionClosed`] with what it said.
    fn from(e: RecordError) -> Self {
        match e {
            RecordError::PeerClosed(close) => ClientError::SessionClosed {
                received: close.received,
                reason: close.reason,
            },
            other => ClientError::Record(other),
        }
    }
}

impl ClientError {
    /// Whether this error proves that the client's record number `sequence` never reached
    /// the enclave (so a request sent in it did not run and may be sent again): only the
    /// enclave's authenticated Close proves that, and only for records at or above the
    /// count it names.
    pub fn proves_not_received(&self, sequence: u64) -> bool {
        matches!(self, ClientError::SessionClosed { received, .. } if sequence >= *received)
    }

    /// Whether the session cannot go on after this error (a record out of sequence, one
    /// that failed authentication, a broken end, the enclave's Close).
    pub fn ends_session(&self) -> bool {
        matches!(
            self,
            ClientError::SessionClosed { .. }
                | ClientError::Record(
                    RecordError::OutOfSequence { .. }
                        | RecordError::Authentication
                        | RecordError::BadEnd
                        | RecordError::WrongSession
                        | RecordError::Closed
                        | RecordError::Expired
                )
        )
    }
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
