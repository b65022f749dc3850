//! The package's exceptions (defined in Python, `secure_channel/_errors.py`, so that each
//! also derives from the built-in exception Python code catches for its kind) and the
//! mapping from the Rust crates' typed errors to them. Every message keeps its causes.

use crate::claims::Claims;
use pyo3::prelude::*;
use sc_client::ClientError;
use sc_host::HostError;
use sc_protocol::{ErrorChain, RecordError};

pyo3::import_exception!(secure_channel._errors, SecureChannelError);
pyo3::import_exception!(secure_channel._errors, PolicyError);
pyo3::import_exception!(secure_channel._errors, AttestationRejected);
pyo3::import_exception!(secure_channel._errors, ServerBusy);
pyo3::import_exception!(secure_channel._errors, HandshakeTimeout);
pyo3::import_exception!(secure_channel._errors, RequestTimeout);
pyo3::import_exception!(secure_channel._errors, ConnectionClosed);
pyo3::import_exception!(secure_channel._errors, SessionClosed);
pyo3::import_exception!(secure_channel._errors, StreamEnded);
pyo3::import_exception!(secure_channel._errors, EnclaveUnavailable);
pyo3::import_exception!(secure_channel._errors, ProtocolError);

/// `AttestationRejected(message, reason, claims)`.
pub(crate) fn rejected(py: Python<'_>, reason: &dyn std::error::Error, claims: Option<sc_protocol::Claims>) -> PyErr {
    let reason = ErrorChain(reason).to_string();
    let claims = claims.and_then(|c| Py::new(py, Claims::from(c)).ok());
    AttestationRejected::new_err((format!("attestation rejected: {reason}"), reason, claims))
}

/// The exception for a client failure; `stated` are the claims of evidence that was
/// refused, as it stated them.
pub(crate) fn client_error(py: Python<'_>, e: ClientError, stated: Option<sc_protocol::Claims>) -> PyErr {
    let text = ErrorChain(&e).to_string();
    match e {
        ClientError::Handshake(sc_protocol::Error::Attestation(a)) => rejected(py, &a, stated),
        ClientError::ServerBusy => ServerBusy::new_err(text),
        ClientError::HandshakeTimeout => HandshakeTimeout::new_err(text),
        ClientError::RequestTimeout(_) => RequestTimeout::new_err(text),
        ClientError::ConnectionClosed | ClientError::Connection(_) | ClientError::Send(_) => {
            ConnectionClosed::new_err(text)
        }
        ClientError::SessionClosed { received, reason } => {
            SessionClosed::new_err((text, received, close_reason(reason)))
        }
        ClientError::Record(RecordError::StreamEnded) => StreamEnded::new_err(text),
        ClientError::Record(RecordError::Closed) => SessionClosed::new_err(text),
        ClientError::EnclaveUnavailable => EnclaveUnavailable::new_err(text),
        ClientError::Protocol(_)
        | ClientError::Record(_)
        | ClientError::Handshake(_)
        | ClientError::UnexpectedReply => ProtocolError::new_err(text),
        _ => SecureChannelError::new_err(text),
    }
}

/// A Close reason as Python sees it.
fn close_reason(reason: sc_protocol::msgs::CloseReason) -> String {
    use sc_protocol::msgs::CloseReason as R;
    match reason {
        R::Normal => "normal".into(),
        R::Shutdown => "shutdown".into(),
        R::SequenceError => "sequence_error".into(),
        R::BackendFailed => "backend_failed".into(),
        R::Expired => "expired".into(),
        R::InternalError => "internal_error".into(),
        other => format!("unknown({})", other.code()),
    }
}

/// The exception for a host failure.
pub(crate) fn host_error(e: HostError) -> PyErr {
    let text = ErrorChain(&e).to_string();
    match e {
        HostError::TooManySessions
        | HostError::TooManyPending
        | HostError::TooManyConnections
        | HostError::SourceLimit { .. } => ServerBusy::new_err(text),
        HostError::Boundary(_) => EnclaveUnavailable::new_err(text),
        HostError::Malformed(_)
        | HostError::TooLarge { .. }
        | HostError::OutOfPlace(_)
        | HostError::UnknownSession
        | HostError::UnknownConnection => ProtocolError::new_err(text),
        _ => SecureChannelError::new_err(text),
    }
}

/// `PolicyError` with every cause.
pub(crate) fn policy_error(e: &dyn std::error::Error) -> PyErr {
    PolicyError::new_err(ErrorChain(e).to_string())
}
