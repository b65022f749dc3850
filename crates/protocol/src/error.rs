//! Error types. Every failure is a named variant; none carries secret material.

use crate::attestation::{AttestationError, AttesterError};
use crate::codec::{DecodeError, EncodeError};
use crate::msgs::{AlertCode, MessageType};

/// A handshake failed. The handshake state is consumed; start a new one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message was malformed.
    #[error("malformed message: {0}")]
    Decode(#[from] DecodeError),
    /// A message of the wrong type for this state.
    #[error("unexpected {got:?} message, expected {expected:?}")]
    UnexpectedMessage {
        /// What the state machine waits for.
        expected: MessageType,
        /// What arrived.
        got: MessageType,
    },
    /// The peer reported a failure with an alert.
    #[error("peer aborted the handshake: {0:?}")]
    PeerAlert(AlertCode),
    /// No protocol version in common.
    #[error("no protocol version in common")]
    NoCommonVersion,
    /// No cipher suite in common.
    #[error("no cipher suite in common")]
    NoCommonSuite,
    /// No binding mode in common (or the enclave has no credential for the common ones).
    #[error("no attestation binding mode in common")]
    NoCommonBindingMode,
    /// The peer selected something the client did not offer: a downgrade attempt or a bug.
    #[error("peer selected a {0} that was not offered")]
    NotOffered(&'static str),
    /// The client sent no key share for the selected group.
    #[error("no key share for the selected group")]
    MissingKeyShare,
    /// A key share is malformed or yields a non-contributory (all-zero) secret.
    #[error("invalid key share")]
    BadKeyShare,
    /// A field is inconsistent with the selected parameters (named).
    #[error("illegal parameter: {0}")]
    IllegalParameter(&'static str),
    /// The ServerHello carries an extension the client did not ask for.
    #[error("unsolicited extension 0x{0:04x}")]
    UnsolicitedExtension(u16),
    /// The attestation evidence was rejected by the verifier.
    #[error("attestation rejected: {0}")]
    Attestation(#[from] AttestationError),
    /// Verified evidence does not bind this handshake (replayed or cross-wired evidence).
    #[error("evidence report data does not bind this handshake")]
    ReportDataMismatch,
    /// The identity-key signature over the transcript is invalid.
    #[error("identity signature over the transcript is invalid")]
    BadSignature,
    /// Key confirmation failed: the peers do not share the transcript or the key.
    #[error("finished verification failed")]
    BadFinished,
    /// The enclave's acknowledgement of the ClientFinished (acknowledged sessions) was
    /// refused.
    #[error("the enclave's acknowledgement was refused: {0}")]
    Acknowledgement(#[source] RecordError),
    /// A message names a session other than this handshake's.
    #[error("message for another session")]
    WrongSession,
    /// The handshake exceeded its time limit.
    #[error("handshake timed out")]
    Timeout,
    /// The enclave could not produce evidence.
    #[error("attester failed: {0}")]
    AttesterFailed(#[source] AttesterError),
    /// The injected random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// A message of ours could not be encoded (a field too long for its length prefix:
    /// oversize evidence or extensions from the attester).
    #[error("cannot encode the message: {0}")]
    Encode(#[from] EncodeError),
}

impl Error {
    /// The alert an enclave sends its client for this failure.
    pub fn alert_code(&self) -> AlertCode {
        match self {
            Error::Decode(_) => AlertCode::DecodeError,
            Error::UnexpectedMessage { .. } => AlertCode::UnexpectedMessage,
            Error::NoCommonVersion => AlertCode::ProtocolVersion,
            Error::NoCommonSuite => AlertCode::NoCommonSuite,
            Error::NoCommonBindingMode => AlertCode::NoCommonBindingMode,
            Error::MissingKeyShare | Error::BadKeyShare => AlertCode::BadKeyShare,
            Error::BadFinished => AlertCode::BadFinished,
            Error::WrongSession => AlertCode::UnknownSession,
            Error::Timeout => AlertCode::Timeout,
            Error::AttesterFailed(_) => AlertCode::AttestationUnavailable,
            Error::Random | Error::Encode(_) => AlertCode::InternalError,
            _ => AlertCode::HandshakeFailure,
        }
    }
}

/// A record could not be sealed or opened. The session stays usable unless the variant
/// says otherwise ([`RecordError::Expired`], [`RecordError::Closed`],
/// [`RecordError::KeyUpdateExhausted`]); a rejected record changes no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The record is malformed.
    #[error("malformed record: {0}")]
    Decode(#[from] DecodeError),
    /// The frame is not a record (handshake or alert frame).
    #[error("{0:?} is not a record")]
    NotARecord(MessageType),
    /// A record of this type is not expected here (a SessionAck where data was expected,
    /// data where the SessionAck was, an acknowledgement that was not asked for).
    #[error("unexpected {0:?} record")]
    UnexpectedRecord(MessageType),
    /// The record belongs to another session.
    #[error("record for another session")]
    WrongSession,
    /// The record is not the next one in sequence: an earlier one was lost or held back
    /// (`received > expected`), or this one was replayed or reordered
    /// (`received < expected`). Records are accepted strictly in order; the expected
    /// record is still accepted if it comes.
    #[error(
        "record out of sequence: expected number {expected}, got {received} (records were lost, reordered or replayed on the way)"
    )]
    OutOfSequence {
        /// The sequence number the next record must carry.
        expected: u64,
        /// The number this record carried.
        received: u64,
    },
    /// A Close or EndOfStream that authenticated but is malformed, or claims more of our
    /// records than we sent: a broken peer.
    #[error("malformed Close or EndOfStream from the peer")]
    BadEnd,
    /// The peer closed the session (its Close authenticated): what it received of ours,
    /// and why it closed.
    #[error("the peer closed the session ({}; it had received {} of our records)", .0.reason, .0.received)]
    PeerClosed(crate::msgs::CloseBody),
    /// The record's key epoch is neither current, previous nor next.
    #[error("record from an unknown key epoch")]
    BadEpoch,
    /// Authentication failed: tampered, reflected or forged.
    #[error("record authentication failed")]
    Authentication,
    /// The plaintext exceeds the configured record size.
    #[error("record plaintext of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Requested or received size.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The caller's output buffer is too small.
    #[error("output buffer too small: {needed} bytes needed")]
    OutputTooSmall {
        /// Bytes the output needs.
        needed: usize,
    },
    /// The caller's buffer lacks room for the record header.
    #[error("buffer must start with RECORD_HEADER_LEN reserved bytes")]
    MissingHeaderRoom,
    /// The session outlived its configured lifetime.
    #[error("session expired")]
    Expired,
    /// The session was closed in this direction.
    #[error("session closed")]
    Closed,
    /// This direction's stream was ended (EndOfStream sent or received): no more data
    /// goes this way, while the session stays open for the other direction and Close.
    #[error("the stream in this direction has ended")]
    StreamEnded,
    /// Sequence numbers or key epochs are used up; the session must end.
    #[error("key update or sequence space exhausted")]
    KeyUpdateExhausted,
}

/// A configuration is unusable. Messages say what to configure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No verifier: the client cannot authenticate an enclave, so it refuses to start.
    #[error(
        "no attestation verifier configured: set one with ClientConfigBuilder::verifier (there is no channel without attestation)"
    )]
    NoVerifier,
    /// An empty suite list.
    #[error("no cipher suites configured")]
    NoSuites,
    /// An empty binding-mode list.
    #[error("no binding modes configured")]
    NoBindingModes,
    /// The enclave lacks the credential a configured binding mode needs.
    #[error("binding mode {0:?} needs {1}")]
    MissingCredential(crate::BindingMode, &'static str),
    /// A limit is zero or above the protocol maximum (named).
    #[error("invalid limit: {0}")]
    InvalidLimit(&'static str),
}
