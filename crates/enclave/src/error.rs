//! Why the enclave refused a call ([`EnclaveError`]), and the refusal as the boundary's
//! answer. Its own module because every part of the enclave names it (the session table,
//! the in-order queue, the services).

use sc_boundary::{CallError, ErrorCode, Response};

/// Why the enclave refused a call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EnclaveError {
    /// No session with this id (never existed, closed, or expired).
    #[error("unknown session")]
    UnknownSession,
    /// Session or pending-handshake capacity reached.
    #[error("enclave at capacity")]
    Busy,
    /// The handshake failed.
    #[error("handshake failed: {0}")]
    Handshake(#[from] sc_protocol::Error),
    /// A record was rejected.
    #[error("record rejected: {0}")]
    Record(#[from] sc_protocol::RecordError),
    /// The message is not one the channel handles here (named).
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
    /// No application function has this number.
    #[error("no application function {0}")]
    NoSuchFunction(u32),
    /// An application function reported failure with this code.
    #[error("application function failed with code {0}")]
    Application(i32),
    /// Evidence could not be produced (or this enclave has no attester).
    #[error("cannot attest: {0}")]
    Attestation(#[source] sc_protocol::AttesterError),
}

impl EnclaveError {
    /// The boundary's code for this refusal (its text travels beside it).
    pub fn code(&self) -> ErrorCode {
        match self {
            EnclaveError::UnknownSession => ErrorCode::UnknownSession,
            EnclaveError::Busy => ErrorCode::Busy,
            EnclaveError::Handshake(_) => ErrorCode::Handshake,
            EnclaveError::Record(_) => ErrorCode::Record,
            EnclaveError::Unexpected(_) => ErrorCode::UnexpectedMessage,
            EnclaveError::NoSuchFunction(_) => ErrorCode::NoSuchFunction,
            EnclaveError::Application(_) => ErrorCode::Application,
            EnclaveError::Attestation(_) => ErrorCode::Attestation,
        }
    }
}

/// A refusal as the boundary's answer: its code, and its text with every cause.
pub(crate) fn refusal(e: &EnclaveError) -> Response {
    Response::Error(CallError::new(e.code(), sc_protocol::ErrorChain(e).to_string()))
}
