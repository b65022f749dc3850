//! # sc-boundary: the narrow call interface between the host (REE) and the enclave (TEE)
//!
//! The contract (every call, answer and refusal code) is in one module, re-exported here:
//! [`Request`], [`Response`], [`ChannelOutcome`], [`ErrorCode`].
//!
//! Like ECALLs: the host can only *ask* the enclave to handle a channel message, to run an
//! application function on a ciphertext record, or to drop a session. Everything that
//! crosses is either a protocol frame or ciphertext; no call returns plaintext or keys.
//!
//! Two transports implement [`EnclaveTransport`]:
//! * [`InProcess`]: a direct call into an [`EnclaveService`] (tests, simple embedding);
//! * [`ChildProcess`]: the enclave as its own executable, started from a path, speaking
//!   length-prefixed frames over its stdin/stdout ([`serve`] is the enclave's side). This is
//!   the development stand-in for a real TEE and the shape of a confidential-VM or SGX
//!   library-OS deployment. If the process dies, every pending and later call fails at
//!   once with [`BoundaryError::EnclaveExited`];
//! * [`remote::RemoteEnclave`]: an enclave program running apart (a confidential VM over
//!   vsock; Unix or TCP sockets in development), with the same frames.
//!
//! ```
//! use std::sync::Arc;
//! use sc_boundary::{ChannelOutcome, EnclaveService, EnclaveTransport, InProcess, Request, Response};
//!
//! /// Refuses every handshake message, echoing it back as the "alert".
//! struct Refuser;
//! impl EnclaveService for Refuser {
//!     fn call(&self, request: Request) -> Response {
//!         match request {
//!             Request::Channel { message } => Response::Channel(ChannelOutcome::Refused { alert: message }),
//!             _ => Response::Done,
//!         }
//!     }
//! }
//! let enclave = InProcess::new(Arc::new(Refuser));
//! let answer = enclave.call(Request::Channel { message: b"frame".to_vec() })?;
//! assert_eq!(answer, Response::Channel(ChannelOutcome::Refused { alert: b"frame".to_vec() }));
//! # Ok::<(), sc_boundary::BoundaryError>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod call;
mod child;
mod push;
pub mod remote;
mod reply;
mod serve;
mod stream;
mod wire;

pub use call::{
    CallError, ChannelOutcome, ErrorCode, MAX_CALL_LEN, ONE_WAY, PUSH_WINDOW, ProbeEvidence, Push, PushSink, Request,
    Response,
};
pub use child::ChildProcess;
pub use push::Pusher;
pub use reply::Reply;
pub use serve::{serve, serve_pushing};
pub use stream::{Deadlines, StreamTransport};

use std::sync::Arc;

/// The enclave side: handles one call. Implementations must be safe to call from several
/// threads at once.
pub trait EnclaveService: Send + Sync + 'static {
    /// Handles `request`; failures are reported as [`Response::Error`].
    fn call(&self, request: Request) -> Response;

    /// Handles `request`, answering through `reply` now or later, from any thread. A call
    /// that must wait for something outside the enclave (a backend that does not read)
    /// then holds no worker thread, so the enclave keeps serving every other call. The
    /// transports call this; the default answers at once with [`EnclaveService::call`].
    fn call_later(&self, request: Request, reply: Reply) {
        reply.send(self.call(request));
    }
}

/// The host side: how calls reach the enclave.
pub trait EnclaveTransport: Send + Sync {
    /// Sends one call without waiting for its answer, so that a relay can keep several in
    /// flight (pipelining); [`PendingCall::wait`] collects the answer.
    fn submit(&self, request: Request) -> Result<PendingCall, BoundaryError>;

    /// Sends one call whose answer nobody needs (telling the enclave to forget a session),
    /// without waiting for the enclave. The default waits for the answer; transports that
    /// can send a call without one override it.
    fn notify(&self, request: Request) -> Result<(), BoundaryError> {
        self.call(request).map(drop)
    }

    /// Makes one call and waits for its answer.
    fn call(&self, request: Request) -> Result<Response, BoundaryError> {
        self.submit(request)?.wait()
    }

    /// Where records the enclave pushes on its own go from now on ([`Push`]). The
    /// default drops them (a transport to an enclave that never pushes).
    fn set_push_sink(&self, sink: PushSink) {
        let _ = sink;
    }
}

/// A call that has been sent; [`PendingCall::wait`] blocks until its answer.
pub struct PendingCall(Box<dyn FnOnce() -> Result<Response, BoundaryError> + Send>);

impl PendingCall {
    /// A call whose answer is already known.
    pub fn ready(answer: Result<Response, BoundaryError>) -> Self {
        Self(Box::new(move || answer))
    }

    /// A call answered by running `wait`.
    pub fn later(wait: impl FnOnce() -> Result<Response, BoundaryError> + Send + 'static) -> Self {
        Self(Box::new(wait))
    }

    /// Waits for the answer.
    pub fn wait(self) -> Result<Response, BoundaryError> {
        (self.0)()
    }
}

impl std::fmt::Debug for PendingCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PendingCall")
    }
}

/// A call could not be completed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BoundaryError {
    /// The enclave process exited or crashed, or the link to a remote enclave dropped;
    /// restart or reconnect to continue.
    #[error("enclave exited or its link dropped")]
    EnclaveExited,
    /// The enclave did not answer in time.
    #[error("enclave call timed out")]
    Timeout,
    /// A frame crossing the boundary was malformed.
    #[error("malformed boundary frame: {0}")]
    Malformed(&'static str),
    /// The enclave program at an address could not be reached.
    #[error("cannot reach the enclave at {address}")]
    Unreachable {
        /// The address.
        address: String,
        /// The operating system's error.
        #[source]
        cause: sc_protocol::OtherError,
    },
    /// The enclave process (or a thread of the transport) could not be started.
    #[error("cannot start {what}")]
    Spawn {
        /// What could not be started (the program's path).
        what: String,
        /// The operating system's error.
        #[source]
        cause: sc_protocol::OtherError,
    },
}

/// Calls an [`EnclaveService`] in the same process.
pub struct InProcess<S: EnclaveService> {
    service: Arc<S>,
    sink: Arc<std::sync::RwLock<Option<PushSink>>>,
}

impl<S: EnclaveService> InProcess<S> {
    /// Wraps `service`.
    pub fn new(service: Arc<S>) -> Self {
        Self {
            service,
            sink: Arc::default(),
        }
    }

    /// Wraps the service `make` builds with the [`Pusher`] that delivers its pushes to
    /// the host's sink ([`EnclaveTransport::set_push_sink`]).
    pub fn pushing(make: impl FnOnce(Pusher) -> Arc<S>) -> Self {
        let sink: Arc<std::sync::RwLock<Option<PushSink>>> = Arc::default();
        Self {
            service: make(Pusher::direct(sink.clone())),
            sink,
        }
    }
}

impl<S: EnclaveService> std::fmt::Debug for InProcess<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess")
    }
}

impl<S: EnclaveService> EnclaveTransport for InProcess<S> {
    fn submit(&self, request: Request) -> Result<PendingCall, BoundaryError> {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        self.service.call_later(
            request,
            Reply::new(move |r| {
                let _ = answer.send(r);
            }),
        );
        // A reply always answers (a dropped one with an error), so the wait ends.
        Ok(PendingCall::later(move || {
            answered.recv().map_err(|_| BoundaryError::EnclaveExited)
        }))
    }

    fn set_push_sink(&self, sink: PushSink) {
        *self.sink.write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }
}
