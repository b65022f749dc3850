//! The enclave's answer to boundary calls: channel messages go to the session manager,
//! application calls are decrypted, handed to a registered function, and the result is
//! encrypted for the same session. A session's application calls run one at a time in
//! the order the client sent them ([`crate::order`]), so its replies are sealed in the
//! order of its requests, and the n-th reply answers the n-th request.

use crate::error::{EnclaveError, refusal};
use crate::order::Waiting;
use crate::sessions::SessionManager;
use sc_boundary::{EnclaveService, Reply, Request, Response};
use sc_protocol::UnixTime;
use sc_protocol::msgs::CloseReason;
use std::collections::HashMap;
use std::sync::Arc;

/// An application function: session id and request plaintext in, reply plaintext out.
pub type AppFunction = Arc<dyn Fn(u64, &[u8]) -> Vec<u8> + Send + Sync>;

/// An application function that handles the ciphertext itself: it gets the call and
/// returns the bytes for the host (normally a record it encrypted with
/// [`SessionManager::encrypt`]). This is how the C interface's functions work: they call
/// `cc_sec_chl_enclave_decrypt` and `cc_sec_chl_enclave_encrypt` themselves.
pub type RecordFunction = Arc<dyn Fn(AppCall<'_>) -> Result<Vec<u8>, EnclaveError> + Send + Sync>;

/// One application call as a [`RecordFunction`] sees it.
#[derive(Debug)]
pub struct AppCall<'a> {
    /// The enclave's sessions.
    pub sessions: &'a SessionManager,
    /// The session the host named.
    pub session_id: u64,
    /// The client's record, as the host passed it (still encrypted).
    pub record: Vec<u8>,
    /// The time of the call.
    pub now: UnixTime,
}

/// The enclave program's service: sessions plus application functions.
pub struct ChannelService {
    sessions: Arc<SessionManager>,
    functions: HashMap<u32, RecordFunction>,
    clock: Arc<dyn Fn() -> UnixTime + Send + Sync>,
}

impl std::fmt::Debug for ChannelService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut ids: Vec<_> = self.functions.keys().collect();
        ids.sort_unstable();
        f.debug_struct("ChannelService")
            .field("sessions", &self.sessions)
            .field("functions", &ids)
            .finish()
    }
}

impl ChannelService {
    /// A service over `sessions`, reading time from `clock`.
    pub fn new(sessions: Arc<SessionManager>, clock: Arc<dyn Fn() -> UnixTime + Send + Sync>) -> Self {
        Self {
            sessions,
            functions: HashMap::new(),
            clock,
        }
    }

    /// Registers application function `id`: the service decrypts the request, calls
    /// `function` with the plaintext and encrypts its reply for the same session.
    pub fn register(&mut self, id: u32, function: AppFunction) -> &mut Self {
        self.register_record_function(
            id,
            Arc::new(move |call: AppCall<'_>| {
                let request = call.sessions.decrypt_in_place(call.session_id, call.record, call.now)?;
                let reply = function(call.session_id, &request);
                call.sessions.encrypt(call.session_id, &reply, call.now)
            }),
        )
    }

    /// Registers application function `id` that decrypts and encrypts by itself.
    pub fn register_record_function(&mut self, id: u32, function: RecordFunction) -> &mut Self {
        self.functions.insert(id, function);
        self
    }

    /// The session manager (for encrypt/decrypt by session id from enclave code).
    pub fn sessions(&self) -> &Arc<SessionManager> {
        &self.sessions
    }

    fn app_call(&self, session_id: u64, function: u32, record: Vec<u8>) -> Result<Vec<u8>, EnclaveError> {
        let now = (self.clock)();
        let f = self
            .functions
            .get(&function)
            .ok_or(EnclaveError::NoSuchFunction(function))?;
        // Application code never runs for a session that does not exist.
        if !self.sessions.is_open(session_id) {
            return Err(EnclaveError::UnknownSession);
        }
        f(AppCall {
            sessions: &self.sessions,
            session_id,
            record,
            now,
        })
    }
}

/// Runs `start`, which answers through the [`Reply`] it is given (now or from another
/// thread), and waits for the answer, at most `limit` (`None`: as long as it takes): for
/// callers of [`EnclaveService::call`] on calls that are answered later. Why a limit: a
/// record that waits for a missing earlier one must not hold a synchronous caller (an
/// in-process host's thread) longer than the enclave waits for the gap to fill.
pub(crate) fn wait_for(limit: Option<std::time::Duration>, start: impl FnOnce(Reply)) -> Response {
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    start(Reply::new(move |r| {
        let _ = answer.send(r);
    }));
    match limit {
        None => answered.recv().unwrap_or_else(|_| error(EnclaveError::UnknownSession)),
        Some(limit) => match answered.recv_timeout(limit) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                error(EnclaveError::Unexpected("an earlier record of the session never came"))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => error(EnclaveError::UnknownSession),
        },
    }
}

/// A refusal: its code, and its text with every cause (the host logs it; C callers read
/// it as the last error).
fn error(e: EnclaveError) -> Response {
    refusal(&e)
}

impl ChannelService {
    /// Runs application call `record` for `function` in its session's order, answering
    /// through `reply` (now, or later from the call that handles the record before it).
    fn app_in_order(&self, session_id: u64, function: u32, record: Vec<u8>, reply: Reply) {
        let now = (self.clock)();
        let w = Waiting {
            function,
            record,
            reply,
        };
        self.sessions.in_order(session_id, w, now, |function, record| {
            match self.app_call(session_id, function, record) {
                Ok(record) => Response::App { record },
                Err(e) => error(e),
            }
        });
    }
}

impl EnclaveService for ChannelService {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } => match self.sessions.handle_channel(&message, (self.clock)()) {
                Ok(outcome) => Response::Channel(outcome),
                Err(e) => error(e),
            },
            // Answered in the session's order; a caller that needs the answer here waits.
            Request::App {
                session_id,
                function,
                record,
            } => wait_for(Some(self.sessions.order_wait()), |reply| {
                self.app_in_order(session_id, function, record, reply)
            }),
            Request::CloseSession { session_id } => {
                self.sessions.remove(session_id);
                Response::Done
            }
            // This service answers requests and pushes nothing, so room for pushes is moot.
            Request::Credit { .. } => Response::Done,
            Request::EndSession { session_id } => {
                match self
                    .sessions
                    .end_session(session_id, (self.clock)(), CloseReason::Shutdown)
                {
                    Ok(reply) => Response::Channel(sc_boundary::ChannelOutcome::Closed { reply }),
                    Err(e) => error(e),
                }
            }
            Request::Evidence { nonce } => match self.sessions.probe_evidence(&nonce) {
                Ok(evidence) => Response::Evidence(evidence),
                Err(e) => error(e),
            },
        }
    }

    fn call_later(&self, request: Request, reply: Reply) {
        match request {
            Request::App {
                session_id,
                function,
                record,
            } => self.app_in_order(session_id, function, record, reply),
            other => reply.send(self.call(other)),
        }
    }
}
