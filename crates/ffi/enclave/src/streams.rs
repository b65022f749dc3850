//! Stream sessions for C enclave code: the offer (`cc_sec_chl_enclave_streams`), the
//! handler that hands a stream session's records to the registered functions in order and
//! tells the program's event hook when sessions open and close, and the running streams
//! that `cc_sec_chl_enclave_push` and friends send on.

use crate::functions::{self, CFunction};
use sc_boundary::{CallError, Response};
use sc_enclave::streams::{StreamError, StreamHandler, Streams};
use sc_enclave::{AppCall, EnclaveError};
use sc_ffi_common::last_error;
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// What happened to a stream session (the event hook's second argument).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum cc_sec_chl_stream_event_t {
    /// The session was established: pushes may start.
    CC_SEC_CHL_STREAM_OPENED = 1,
    /// The client closed the session, or the host ended it (its client went away, it shut
    /// down). Not reported for sessions the program ended itself.
    CC_SEC_CHL_STREAM_CLOSED = 2,
    /// The client ended its stream (its EndOfStream authenticated): no more data comes
    /// from it, and the program may still push. Reported to programs whose functions were
    /// registered for plaintext (`cc_sec_chl_enclave_register_plain`); a function
    /// registered for records sees the EndOfStream itself, as `CC_ERROR_SEC_CHL_END_OF_STREAM`
    /// from `cc_sec_chl_enclave_decrypt`.
    CC_SEC_CHL_STREAM_CLIENT_ENDED = 3,
}

/// The program's stream event hook (see `cc_sec_chl_enclave_stream_fn_t`).
pub(crate) type EventHook = unsafe extern "C" fn(usize, cc_sec_chl_stream_event_t);

/// Whether the program offers streams, and its hook: `None` until it asks.
static OFFER: Mutex<Option<Option<EventHook>>> = Mutex::new(None);
/// The running runtime's streams (none between runs or without the offer).
static RUNNING: RwLock<Option<Arc<Streams>>> = RwLock::new(None);

pub(crate) fn offer(hook: Option<EventHook>) {
    *OFFER.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
}

/// The offer, if the program made one: `Some(hook)`.
pub(crate) fn offered() -> Option<Option<EventHook>> {
    *OFFER.lock().unwrap_or_else(|p| p.into_inner())
}

/// The streams of the run in progress.
pub(crate) fn running() -> Result<Arc<Streams>, cc_enclave_result_t> {
    RUNNING
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or(CC_ERROR_SEC_CHL_NOTREADY)
}

/// Keeps a run's streams installed for as long as it lives.
pub(crate) struct Installed;

impl Installed {
    pub(crate) fn install(streams: &Arc<Streams>) -> Self {
        *RUNNING.write().unwrap_or_else(|p| p.into_inner()) = Some(streams.clone());
        Installed
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        *RUNNING.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The C code for a stream failure, kept as the last error with its text.
pub(crate) fn stream_error(e: &StreamError) -> cc_enclave_result_t {
    let code = match e {
        StreamError::NotOpen(_) => CC_ERROR_SEC_CHL_INVALID_SESSION,
        StreamError::NoRoom => CC_ERROR_SEC_CHL_NO_ROOM,
        StreamError::Session(e) => return crate::enclave_error(e),
        StreamError::Host(_) => CC_ERROR_SEC_CHL_SEND_MSG,
    };
    last_error::failed(code, e)
}

/// Hands stream sessions' records to the registered C functions.
pub(crate) struct CHandler {
    pub(crate) functions: HashMap<u32, CFunction>,
    pub(crate) hook: Option<EventHook>,
}

impl CHandler {
    fn event(&self, id: u64, event: cc_sec_chl_stream_event_t) {
        if let Some(hook) = self.hook {
            // SAFETY: the hook has the registered prototype; it runs on a boundary worker,
            // marked as such so that a push from it does not wait.
            functions::on_worker(|| unsafe { hook(id as usize, event) });
        }
    }
}

fn refuse(e: &EnclaveError) -> Response {
    Response::Error(CallError::new(e.code(), sc_protocol::ErrorChain(e).to_string()))
}

impl StreamHandler for CHandler {
    fn opened(&self, id: u64, _streams: &Arc<Streams>) {
        self.event(id, cc_sec_chl_stream_event_t::CC_SEC_CHL_STREAM_OPENED);
    }

    /// The function's answer is relayed as a record; an empty answer relays nothing (the
    /// program may answer by pushing instead, or not at all).
    fn record(&self, id: u64, function: u32, record: Vec<u8>, streams: &Arc<Streams>) -> Response {
        let Some(f) = self.functions.get(&function) else {
            return refuse(&EnclaveError::NoSuchFunction(function));
        };
        let call = AppCall {
            sessions: streams.sessions(),
            session_id: id,
            record,
            now: sc_protocol::UnixTime::now(),
        };
        let answer = match *f {
            // A plaintext function is given stream data that authenticated; the client's
            // EndOfStream goes to the event hook only.
            functions::CFunction::Plain(plain) => match streams.sessions().receive(id, call.record, call.now) {
                Ok(Some(data)) => functions::call_plain_on_data(plain, streams.sessions(), id, &data),
                Ok(None) => {
                    self.event(id, cc_sec_chl_stream_event_t::CC_SEC_CHL_STREAM_CLIENT_ENDED);
                    Ok(Vec::new())
                }
                Err(e) => Err(e),
            },
            record => functions::call_c(record, call),
        };
        match answer {
            Ok(answer) if answer.is_empty() => Response::Done,
            Ok(record) => Response::App { record },
            Err(e) => refuse(&e),
        }
    }

    fn closed(&self, id: u64) {
        self.event(id, cc_sec_chl_stream_event_t::CC_SEC_CHL_STREAM_CLOSED);
    }
}
