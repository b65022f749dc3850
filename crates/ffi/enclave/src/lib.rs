//! # libtsecure_channel.a: the enclave runtime for C programs
//!
//! A C enclave program registers its application functions, then hands control to
//! [`cc_sec_chl_enclave_run`], which attests, holds every session and serves the host's
//! calls until the host goes away. Inside a function, [`cc_sec_chl_enclave_decrypt`] and
//! [`cc_sec_chl_enclave_encrypt`] work by session id, as in the original.
//!
//! The program is started by the host (`cc_enclave_create` in `libusecure_channel.so`)
//! with the boundary on its standard input and output. The runtime moves the boundary to
//! private descriptors and points standard output at standard error, so a `printf` in
//! enclave code cannot corrupt the channel.
//!
//! The environment variable `SECURE_CHANNEL_ATTESTER` chooses the attester: `configfs-tsm`
//! (TDX, SEV-SNP, Arm CCA confidential VMs), `gramine` (SGX under Gramine), or `simulated`
//! (the default): the program's measurement is then the SHA-256 of its executable, signed
//! with the simulated root key named by `SECURE_CHANNEL_SIM_ROOT`
//! (`secure-channel sim-root create`).
//!
//! ```no_run
//! use tsecure_channel::*;
//! use std::ffi::c_void;
//! // An application function: decrypt the request, encrypt a reply.
//! unsafe extern "C" fn echo(id: usize, input: *const c_void, len: usize, out: *mut c_void, out_len: *mut usize) -> i32 {
//!     let mut plain = [0u8; 256];
//!     let mut plain_len = plain.len();
//!     // SAFETY: buffers as the runtime passed them.
//!     unsafe {
//!         let rc = cc_sec_chl_enclave_decrypt(id, input as *mut c_void, len, plain.as_mut_ptr().cast(), &mut plain_len);
//!         if rc != 0 { return rc; }
//!         cc_sec_chl_enclave_encrypt(id, plain.as_mut_ptr().cast(), plain_len, out, out_len)
//!     }
//! }
//! // SAFETY: `echo` matches the function prototype.
//! unsafe { cc_sec_chl_enclave_register(1, Some(echo)) };
//! std::process::exit(unsafe { cc_sec_chl_enclave_run() });
//! ```

mod functions;
mod runtime;
mod streams;

pub use streams::cc_sec_chl_stream_event_t;

use sc_enclave::EnclaveError;
use sc_ffi_common::buffer::{Output, input};
use sc_ffi_common::guard::guarded;
use sc_ffi_common::status::{self, cc_enclave_result_t, cc_enclave_result_t::*};
use sc_protocol::{Session, UnixTime};
use std::ffi::{c_int, c_void};

/// An application function: a client record of `session_id` in `input`; the answer for
/// the host goes to `output` (room for `*output_len` bytes; set `*output_len` to the
/// length written). Return 0 on success, anything else to fail the call. Functions run
/// concurrently on the runtime's worker threads: they must be thread-safe (no `strtok`,
/// no unguarded globals).
#[allow(non_camel_case_types)]
pub type cc_sec_chl_enclave_fn_t = Option<
    unsafe extern "C" fn(
        session_id: usize,
        input: *const c_void,
        input_len: usize,
        output: *mut c_void,
        output_len: *mut usize,
    ) -> c_int,
>;

/// Runs `f` guarded; the result as the C `int` these functions return.
fn int_result(f: impl FnOnce() -> Result<(), cc_enclave_result_t>) -> c_int {
    guarded(|| f().err().unwrap_or(CC_SUCCESS)) as u32 as c_int
}

pub(crate) fn enclave_error(e: &EnclaveError) -> cc_enclave_result_t {
    let code = match e {
        EnclaveError::UnknownSession => CC_ERROR_SEC_CHL_INVALID_SESSION,
        EnclaveError::Record(r) => status::record_error(r),
        _ => CC_ERROR_GENERIC,
    };
    sc_ffi_common::last_error::failed(code, e)
}

/// An application function that is given plaintext: the request of `session_id`, already
/// decrypted and authenticated by the runtime (in the order the client sent it), in
/// `request`; its answer's plaintext goes to `reply` (room for `*reply_len` bytes; set
/// `*reply_len` to the length written, 0 for no answer), and the runtime encrypts it for
/// the session. Return 0 on success, anything else to fail the call. Thread-safe, as
/// [`cc_sec_chl_enclave_fn_t`].
#[allow(non_camel_case_types)]
pub type cc_sec_chl_enclave_plain_fn_t = Option<
    unsafe extern "C" fn(
        session_id: usize,
        request: *const c_void,
        request_len: usize,
        reply: *mut c_void,
        reply_len: *mut usize,
    ) -> c_int,
>;

/// Registers application function `function_id` (the number the host calls it by), in
/// the original shape: it gets the client's record as the host passed it, unauthenticated,
/// and must call [`cc_sec_chl_enclave_decrypt`] before it trusts or acts on anything (the
/// host chose those bytes); [`cc_sec_chl_enclave_register_plain`] does that for it.
/// Register before [`cc_sec_chl_enclave_run`]; registering a number again replaces it.
///
/// # Safety
/// `function` is NULL or a function with the prototype of [`cc_sec_chl_enclave_fn_t`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_register(function_id: u32, function: cc_sec_chl_enclave_fn_t) -> c_int {
    int_result(|| {
        let f = function.ok_or(CC_ERROR_BAD_PARAMETERS)?;
        runtime::register(function_id, functions::CFunction::Record(f))
    })
}

/// Registers application function `function_id` given plaintext only (see
/// [`cc_sec_chl_enclave_plain_fn_t`]): the runtime opens each client record, in sequence,
/// before the function runs, and a record that does not authenticate never reaches it.
/// Register before [`cc_sec_chl_enclave_run`]; registering a number again replaces it.
///
/// # Safety
/// `function` is NULL or a function with the prototype of [`cc_sec_chl_enclave_plain_fn_t`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_register_plain(
    function_id: u32,
    function: cc_sec_chl_enclave_plain_fn_t,
) -> c_int {
    int_result(|| {
        let f = function.ok_or(CC_ERROR_BAD_PARAMETERS)?;
        runtime::register(function_id, functions::CFunction::Plain(f))
    })
}

/// Attests and serves the host until it closes the boundary. Returns 0 then, or a
/// `cc_enclave_result_t` code when the runtime cannot start (no simulated root key,
/// already running, no boundary on standard input and output).
#[unsafe(no_mangle)]
pub extern "C" fn cc_sec_chl_enclave_run() -> c_int {
    int_result(runtime::run)
}

/// Encrypts `plain` for session `session_id` into `encrypt`. If `encrypt` is NULL or
/// `*encrypt_len` too small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
/// length in `*encrypt_len`. 0 on success.
///
/// # Safety
/// `plain` is NULL or `plain_len` readable bytes; `encrypt_len` is NULL or valid for reads
/// and writes; `encrypt` is NULL or writable for `*encrypt_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_encrypt(
    session_id: usize,
    plain: *mut c_void,
    plain_len: usize,
    encrypt: *mut c_void,
    encrypt_len: *mut usize,
) -> c_int {
    int_result(|| {
        // SAFETY: forwarded from this function's contract.
        let plaintext = unsafe { input(plain, plain_len) }?;
        // SAFETY: forwarded from this function's contract.
        let mut out = unsafe { Output::new(encrypt, encrypt_len) }?;
        let sessions = runtime::sessions().ok_or(CC_ERROR_SEC_CHL_NOTREADY)?;
        let room = out.room(Session::record_len(plaintext.len()))?;
        let n = sessions
            .encrypt_into(session_id as u64, plaintext, room, UnixTime::now())
            .map_err(|e| enclave_error(&e))?;
        out.done(n);
        Ok(())
    })
}

/// Decrypts the record `encrypt` of session `session_id` into `plain`. If `plain` is NULL
/// or `*plain_len` too small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
/// length in `*plain_len` (the record is not consumed). 0 on success.
///
/// # Safety
/// `encrypt` is NULL or `encrypt_len` readable bytes; `plain_len` is NULL or valid for
/// reads and writes; `plain` is NULL or writable for `*plain_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_decrypt(
    session_id: usize,
    encrypt: *mut c_void,
    encrypt_len: usize,
    plain: *mut c_void,
    plain_len: *mut usize,
) -> c_int {
    int_result(|| {
        // SAFETY: forwarded from this function's contract.
        let record = unsafe { input(encrypt, encrypt_len) }?;
        // SAFETY: forwarded from this function's contract.
        let mut out = unsafe { Output::new(plain, plain_len) }?;
        let sessions = runtime::sessions().ok_or(CC_ERROR_SEC_CHL_NOTREADY)?;
        let needed = record
            .len()
            .checked_sub(Session::record_len(0))
            .ok_or(CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID)?;
        let room = out.room(needed)?;
        let plaintext = sessions
            .decrypt_in_place(session_id as u64, record.to_vec(), UnixTime::now())
            .map_err(|e| enclave_error(&e))?;
        room[..plaintext.len()].copy_from_slice(&plaintext);
        out.done(plaintext.len());
        Ok(())
    })
}

/// A stream event hook: session `session_id` opened or closed
/// ([`cc_sec_chl_stream_event_t`]). It runs on one of the runtime's worker threads while
/// the boundary waits for it: return quickly (start a thread to push a long stream).
#[allow(non_camel_case_types)]
pub type cc_sec_chl_enclave_stream_fn_t =
    Option<unsafe extern "C" fn(session_id: usize, event: cc_sec_chl_stream_event_t)>;

/// Offers stream sessions to clients that ask for them: both sides may then send
/// whenever they like, each may end its direction (a half-close), and the enclave pushes
/// records with [`cc_sec_chl_enclave_push`] without waiting for a request. A stream
/// session's records reach the registered function in the order the client sent them,
/// one at a time; an empty answer (`*output_len = 0`) relays nothing. `on_event` (may be
/// NULL) is told when a stream session opens and closes. Call before
/// [`cc_sec_chl_enclave_run`].
///
/// # Safety
/// `on_event` is NULL or a function with the prototype of
/// [`cc_sec_chl_enclave_stream_fn_t`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_streams(on_event: cc_sec_chl_enclave_stream_fn_t) -> c_int {
    int_result(|| {
        if runtime::is_running() {
            return Err(CC_ERROR_SEC_CHL_SVR_ALREADY_INIT);
        }
        streams::offer(on_event);
        Ok(())
    })
}

/// Encrypts `data` for the client of stream session `session_id` and pushes it to the
/// host, which relays it (as records of at most 60 KiB). Each record goes once the host
/// has granted room for it (its client read what came before), so this waits while the
/// client does not read, until it does or the session ends. Called from an application
/// function or a stream event hook it does not wait: all of `data` goes if there is room
/// for it now, or nothing does and it returns `CC_ERROR_SEC_CHL_NO_ROOM` (the host's
/// grants need a free worker thread). 0 on success; `CC_ERROR_SEC_CHL_INVALID_SESSION`
/// when the session is not an open stream session (ended, or not a stream).
///
/// # Safety
/// `data` is NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_enclave_push(session_id: usize, data: *const c_void, len: usize) -> c_int {
    int_result(|| {
        // SAFETY: forwarded from this function's contract.
        let data = unsafe { input(data.cast_mut(), len) }?;
        on_streams(|streams, wait| {
            if wait {
                streams.send(session_id as u64, data)
            } else {
                streams.try_send(session_id as u64, data)
            }
        })
    })
}

/// Ends the enclave's direction of stream session `session_id` (a half-close): the client
/// reads the end of the stream and may still send. Waits for room like
/// [`cc_sec_chl_enclave_push`] (and likewise never inside a function or the hook).
#[unsafe(no_mangle)]
pub extern "C" fn cc_sec_chl_enclave_end_stream(session_id: usize) -> c_int {
    int_result(|| {
        on_streams(|streams, wait| {
            if wait {
                streams.end_stream(session_id as u64)
            } else {
                streams.try_end_stream(session_id as u64)
            }
        })
    })
}

/// Ends stream session `session_id` from the enclave: its Close goes to the client and
/// the session is gone (the event hook is not told: the program ended it).
#[unsafe(no_mangle)]
pub extern "C" fn cc_sec_chl_enclave_end_session(session_id: usize) -> c_int {
    int_result(|| {
        on_streams(|streams, _| streams.end_session(session_id as u64, sc_protocol::msgs::CloseReason::Normal))
    })
}

/// Runs `f` on the running streams, telling it whether it may wait for room: not on a
/// runtime worker (a function or the event hook), whose waiting the host's grants of room
/// would need a free worker to end.
fn on_streams(
    f: impl FnOnce(&sc_enclave::streams::Streams, bool) -> Result<(), sc_enclave::streams::StreamError>,
) -> Result<(), cc_enclave_result_t> {
    let streams = streams::running()?;
    f(&streams, !functions::is_on_worker()).map_err(|e| streams::stream_error(&e))
}
