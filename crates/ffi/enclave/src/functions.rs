//! Calling the program's C application functions: the answer buffer each worker thread
//! keeps, and the mark that says a thread is running enclave code for a boundary call.
//! A function registered for records gets the client's record as the host passed it and
//! must decrypt it first; one registered for plaintext gets only what authenticated.

use sc_enclave::{AppCall, EnclaveError};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};

/// The C prototype of both kinds of application function (see `cc_sec_chl_enclave_fn_t`
/// and `cc_sec_chl_enclave_plain_fn_t`).
pub(crate) type CFn = unsafe extern "C" fn(usize, *const c_void, usize, *mut c_void, *mut usize) -> c_int;

/// A registered C application function and what it is given.
#[derive(Clone, Copy)]
pub(crate) enum CFunction {
    /// The client's record as the host passed it (the original shape: the function
    /// decrypts and encrypts itself, and must decrypt before it trusts anything).
    Record(CFn),
    /// The request's plaintext, authenticated by the runtime; its answer is encrypted by
    /// the runtime.
    Plain(CFn),
}

/// Room given to a function for its answer: the largest answer the boundary carries.
const ANSWER_ROOM: usize = sc_protocol::msgs::MAX_FRAME_BODY;

thread_local! {
    /// Each worker thread's answer buffer, allocated once.
    static ANSWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// Whether this thread is running enclave code for a boundary call (a function or a
    /// stream event).
    static ON_WORKER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs enclave code `f` for a boundary call, marked as such: a push from it must not
/// wait for room, because the host's grant of room is itself a call that needs a free
/// worker (with every worker waiting, nobody would read it).
pub(crate) fn on_worker<R>(f: impl FnOnce() -> R) -> R {
    let before = ON_WORKER.with(|w| w.replace(true));
    let r = f();
    ON_WORKER.with(|w| w.set(before));
    r
}

/// Whether the calling thread runs enclave code for a boundary call.
pub(crate) fn is_on_worker() -> bool {
    ON_WORKER.with(|w| w.get())
}

/// Calls a C function for one client record: the record itself, or (plaintext functions)
/// what it carries once it authenticated, with the answer encrypted for the session.
pub(crate) fn call_c(function: CFunction, call: AppCall<'_>) -> Result<Vec<u8>, EnclaveError> {
    match function {
        CFunction::Record(f) => on_worker(|| call_c_on_worker(f, call.session_id, &call.record)),
        CFunction::Plain(f) => {
            let (sessions, id, now) = (call.sessions, call.session_id, call.now);
            // Nothing reaches the function before the record opened in sequence.
            let request = sessions.decrypt_in_place(id, call.record, now)?;
            let answer = on_worker(|| call_c_on_worker(f, id, &request))?;
            sessions.encrypt(id, &answer, now)
        }
    }
}

/// Calls a plaintext function with stream data that authenticated; its answer (if any)
/// encrypted for the session.
pub(crate) fn call_plain_on_data(
    f: CFn,
    sessions: &sc_enclave::SessionManager,
    id: u64,
    data: &[u8],
) -> Result<Vec<u8>, EnclaveError> {
    let answer = on_worker(|| call_c_on_worker(f, id, data))?;
    if answer.is_empty() {
        return Ok(answer);
    }
    sessions.encrypt(id, &answer, sc_protocol::UnixTime::now())
}

fn call_c_on_worker(function: CFn, session_id: u64, input: &[u8]) -> Result<Vec<u8>, EnclaveError> {
    ANSWER.with(|answer| {
        let mut answer = answer.borrow_mut();
        // Capacity only: pages the function never writes are never touched, so the room
        // costs address space, not memory.
        answer.clear();
        answer.reserve(ANSWER_ROOM);
        let room = answer.capacity();
        let mut len = room;
        // SAFETY: the function has the registered prototype; the input pointer covers the
        // input's bytes and the output pointer `room` writable bytes of capacity, both
        // alive for the call; `len` is a valid, writable usize.
        let rc = unsafe {
            function(
                session_id as usize,
                input.as_ptr().cast(),
                input.len(),
                answer.as_mut_ptr().cast(),
                &mut len,
            )
        };
        match rc {
            0 if len <= room => {
                // SAFETY: the function reported success with `len <= capacity` bytes
                // written, which its contract requires to be initialised.
                unsafe { answer.set_len(len) };
                Ok(answer.to_vec())
            }
            0 => Err(EnclaveError::Application(-1)),
            rc => Err(EnclaveError::Application(rc)),
        }
    })
}
