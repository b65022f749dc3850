//! Calling the program's C application functions: the answer buffer each worker thread
//! keeps, and the mark that says a thread is running enclave code for a boundary call.

use sc_enclave::{AppCall, EnclaveError};
use std::cell::RefCell;
use std::ffi::{c_int, c_void};

/// A registered C application function (see `cc_sec_chl_enclave_fn_t`).
pub(crate) type CFunction = unsafe extern "C" fn(usize, *const c_void, usize, *mut c_void, *mut usize) -> c_int;

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

/// Calls a C function with the record and a buffer for its answer.
pub(crate) fn call_c(function: CFunction, call: AppCall<'_>) -> Result<Vec<u8>, EnclaveError> {
    on_worker(|| call_c_on_worker(function, call))
}

fn call_c_on_worker(function: CFunction, call: AppCall<'_>) -> Result<Vec<u8>, EnclaveError> {
    ANSWER.with(|answer| {
        let mut answer = answer.borrow_mut();
        // Capacity only: pages the function never writes are never touched, so the room
        // costs address space, not memory.
        answer.clear();
        answer.reserve(ANSWER_ROOM);
        let room = answer.capacity();
        let mut len = room;
        // SAFETY: the function has the registered prototype; the input pointer covers the
        // record's bytes and the output pointer `room` writable bytes of capacity, both
        // alive for the call; `len` is a valid, writable usize.
        let rc = unsafe {
            function(
                call.session_id as usize,
                call.record.as_ptr().cast(),
                call.record.len(),
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
