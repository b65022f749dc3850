//! # libusecure_channel.so: the untrusted host's C interface
//!
//! The original's server-host functions (`secure_channel_host.h`) over [`sc_host`]. The
//! host relays ciphertext between clients and the enclave and never holds a key.
//!
//! Where the original loads an SGX or TrustZone enclave, [`cc_enclave_create`] starts the
//! enclave *program* (a C program linked with `libtsecure_channel.a`, or any program
//! speaking the boundary protocol) as a separate process from its path, with the same
//! signature. Application calls, which the original generates from an EDL file, go through
//! [`cc_sec_chl_svr_enclave_call`] with a function number: ciphertext in, ciphertext out.
//!
//! [`cc_sec_chl_svr_callback`] is safe to call from many threads at once (one connection
//! per thread). After [`cc_sec_chl_svr_init`] the enclave process is supervised (restarted
//! within a second of a crash; its sessions are gone and clients handshake again),
//! handshakes unfinished after 10 s and sessions idle for 5 minutes are dropped, and the
//! enclave process (first start and every restart) gets its boundary and stdio only,
//! none of the application's other descriptors.
//!
//! ```no_run
//! use usecure_channel::*;
//! use sc_ffi_common::status::cc_enclave_result_t;
//! let mut enclave = cc_enclave_t::default();
//! let path = c"/usr/libexec/my-enclave";
//! let rc = unsafe {
//!     cc_enclave_create(path.as_ptr(), AUTO_ENCLAVE_TYPE, 0, 0, std::ptr::null(), 0, &mut enclave)
//! };
//! assert_eq!(rc, cc_enclave_result_t::CC_SUCCESS);
//! let mut server = cc_sec_chl_svr_ctx_t::new(&mut enclave);
//! assert_eq!(unsafe { cc_sec_chl_svr_init(&mut server) }, cc_enclave_result_t::CC_SUCCESS);
//! ```

mod errors;
mod server;

use errors::host_error;
use sc_ffi_common::buffer::{Output, input, input_or_empty};
use sc_ffi_common::conn::{ConnKit, cc_conn_kit_t};
use sc_ffi_common::guard::guarded;
use sc_ffi_common::registry::Registry;
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use sc_host::Routed;
use server::Server;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::path::Path;
use std::sync::Arc;

/// A started enclave. Zero it before [`cc_enclave_create`]; only the library writes it.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Default)]
pub struct cc_enclave {
    /// Library handle of the running enclave (0: none).
    pub handle: u64,
}

/// The enclave context by its short name.
#[allow(non_camel_case_types)]
pub type cc_enclave_t = cc_enclave;

/// The kind of enclave (`enclave_type_t`), with the original's values. Every kind starts
/// the program at the path as a separate process. (An integer type, not a C enum: a value
/// outside the enum from C must not be undefined behaviour here.)
#[allow(non_camel_case_types)]
pub type enclave_type_t = u32;
/// Intel SGX (original value; here: a separate process like every kind).
pub const SGX_ENCLAVE_TYPE: enclave_type_t = 0;
/// GlobalPlatform TEE / iTrustee (original value; here: a separate process).
pub const GP_ENCLAVE_TYPE: enclave_type_t = 1;
/// Penglai (original value; here: a separate process).
pub const PENGLAI_ENCLAVE_TYPE: enclave_type_t = 2;
/// Let the library choose (the original's default and value).
pub const AUTO_ENCLAVE_TYPE: enclave_type_t = 3;
/// One past the last kind.
pub const ENCLAVE_TYPE_MAX: enclave_type_t = 4;

/// The original's debug flag for `cc_enclave_create` (accepted, not interpreted: the
/// simulated TEE has no debug mode, and real TEEs take it from the image).
pub const SECGEAR_DEBUG_FLAG: u32 = 0x0000_0001;

/// An enclave feature setting (accepted for source compatibility; not interpreted).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct enclave_features_t {
    /// The feature's kind.
    pub setting_type: u32,
    /// The feature's settings.
    pub feature_desc: *mut c_void,
}

/// The original's timer state in the server context. Kept so that the context has the
/// original's layout and code that names `ctx.timer` compiles; the library keeps its timer
/// internally and never reads or writes this.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct sec_chl_timer_t {
    /// Unused.
    pub timerfd: c_int,
    /// Unused.
    pub eventfd: c_int,
}

/// The server: set `enclave_ctx`, then call [`cc_sec_chl_svr_init`]. The layout is the
/// original's.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct cc_sec_chl_svr_ctx {
    /// The enclave sessions live in (from [`cc_enclave_create`]).
    pub enclave_ctx: *mut cc_enclave_t,
    /// Not used by this library (see [`sec_chl_timer_t`]).
    pub timer: sec_chl_timer_t,
    /// Set by init, cleared by fini.
    pub is_init: bool,
}

impl cc_sec_chl_svr_ctx {
    /// A context for `enclave`, not yet initialised.
    pub fn new(enclave: *mut cc_enclave_t) -> Self {
        Self {
            enclave_ctx: enclave,
            timer: sec_chl_timer_t {
                timerfd: -1,
                eventfd: -1,
            },
            is_init: false,
        }
    }
}

/// The server context by its short name.
#[allow(non_camel_case_types)]
pub type cc_sec_chl_svr_ctx_t = cc_sec_chl_svr_ctx;

/// One client connection: the server and the way to answer this client.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct cc_sec_chl_conn_ctx {
    /// The initialised server.
    pub svr_ctx: *mut cc_sec_chl_svr_ctx_t,
    /// This client's connection and send hook.
    pub conn_kit: cc_conn_kit_t,
}

/// The connection context by its short name.
#[allow(non_camel_case_types)]
pub type cc_sec_chl_conn_ctx_t = cc_sec_chl_conn_ctx;

static ENCLAVES: Registry<Server> = Registry::new();

fn into_code(r: Result<(), cc_enclave_result_t>) -> cc_enclave_result_t {
    r.err().unwrap_or(CC_SUCCESS)
}

/// The enclave behind `enclave`.
///
/// # Safety
/// `enclave` is NULL or readable.
unsafe fn server_of(enclave: *const cc_enclave_t) -> Result<Arc<Server>, cc_enclave_result_t> {
    // SAFETY: the caller guarantees `enclave` is NULL or valid for reads.
    let enclave = unsafe { enclave.as_ref() }.ok_or(CC_ERROR_BAD_PARAMETERS)?;
    ENCLAVES.get(enclave.handle).ok_or(CC_ERROR_SEC_CHL_NOTREADY)
}

/// `svr.is_init`, read as a byte so that a garbage value is not undefined behaviour.
///
/// # Safety
/// `svr` points to a readable server context.
unsafe fn is_init(svr: *const cc_sec_chl_svr_ctx_t) -> bool {
    // SAFETY: the field is within a readable struct; any byte value is a valid u8.
    unsafe { std::ptr::addr_of!((*svr).is_init).cast::<u8>().read() != 0 }
}

/// Starts the enclave program at `path` as a separate process and fills `enclave`.
/// `type`, `version`, `flags` and `features` are accepted for source compatibility with
/// the original and not interpreted.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `enclave` is NULL or writable; `features` is unused.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_enclave_create(
    path: *const c_char,
    r#type: enclave_type_t,
    version: u32,
    flags: u32,
    features: *const enclave_features_t,
    features_count: u32,
    enclave: *mut cc_enclave_t,
) -> cc_enclave_result_t {
    let _ = (r#type, version, flags, features, features_count);
    guarded(|| {
        // SAFETY: the caller guarantees `enclave` is NULL or valid for writes.
        let Some(enclave) = (unsafe { enclave.as_mut() }) else {
            return CC_ERROR_BAD_PARAMETERS;
        };
        if path.is_null() {
            return CC_ERROR_BAD_PARAMETERS;
        }
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let Ok(path) = (unsafe { CStr::from_ptr(path) }).to_str() else {
            return CC_ERROR_BAD_PARAMETERS;
        };
        match Server::start(Path::new(path)) {
            Ok(server) => {
                enclave.handle = ENCLAVES.insert(server);
                CC_SUCCESS
            }
            Err(_) => CC_ERROR_SEC_CHL_ENCLAVE_START,
        }
    })
}

/// Stops the enclave process (every session in it ends) and clears `enclave`.
///
/// # Safety
/// `enclave` is NULL or valid for reads and writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_enclave_destroy(enclave: *mut cc_enclave_t) -> cc_enclave_result_t {
    guarded(|| {
        // SAFETY: the caller guarantees `enclave` is NULL or valid for reads and writes.
        let Some(enclave) = (unsafe { enclave.as_mut() }) else {
            return CC_ERROR_BAD_PARAMETERS;
        };
        let server = ENCLAVES.remove(enclave.handle);
        enclave.handle = 0;
        match server {
            Some(s) => {
                // The process stops when the last reference to the server goes.
                s.fini();
                CC_SUCCESS
            }
            None => CC_ERROR_SEC_CHL_NOTREADY,
        }
    })
}

/// Calls application function `function_id` in the enclave with a client record of
/// session `session_id`; the enclave's answer (normally a record for the client) goes to
/// `output`. The input may be empty (`input` NULL, `input_len` 0), and an empty answer
/// needs no buffer (`output` may be NULL). If the answer does not fit (`output` NULL or
/// `*output_len` too small), returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
/// length in `*output_len`; the function has then run and its answer is lost, so size the
/// buffer for the largest answer.
///
/// This replaces the original's generated ECALLs; it has its own name because the
/// original's `cc_enclave_call_function` is the generated-code ABI, with another signature.
///
/// # Safety
/// `enclave` is NULL or readable; `input` is NULL or `input_len` readable bytes;
/// `output_len` is NULL or valid for reads and writes; `output` is NULL or writable for
/// `*output_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_svr_enclave_call(
    enclave: *mut cc_enclave_t,
    function_id: u32,
    session_id: usize,
    input: *const c_void,
    input_len: usize,
    output: *mut c_void,
    output_len: *mut usize,
) -> cc_enclave_result_t {
    guarded(|| {
        into_code((|| {
            // SAFETY: forwarded from this function's contract.
            let record = unsafe { input_or_empty(input, input_len) }?;
            // SAFETY: forwarded from this function's contract.
            let mut out = unsafe { Output::new(output, output_len) }?;
            // SAFETY: forwarded from this function's contract.
            let server = unsafe { server_of(enclave) }?;
            let answer = server
                .host()
                .app_call(session_id as u64, function_id, record)
                .map_err(|e| host_error(&e))?;
            out.room(answer.len())?.copy_from_slice(&answer);
            out.done(answer.len());
            Ok(())
        })())
    })
}

/// Starts serving: supervision of the enclave process and idle-session expiry. A second
/// init of the same context is a successful no-op.
///
/// # Safety
/// `ctx` is NULL or valid for reads and writes; its `enclave_ctx` is NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_svr_init(ctx: *mut cc_sec_chl_svr_ctx_t) -> cc_enclave_result_t {
    guarded(|| {
        if ctx.is_null() {
            return CC_ERROR_BAD_PARAMETERS;
        }
        // SAFETY: non-NULL, and readable per the contract.
        if unsafe { is_init(ctx) } {
            return CC_SUCCESS;
        }
        // SAFETY: non-NULL and valid for reads and writes per the contract.
        let ctx = unsafe { &mut *ctx };
        // SAFETY: `enclave_ctx` is NULL or readable per the contract.
        match unsafe { server_of(ctx.enclave_ctx) } {
            Ok(server) => {
                server.serve();
                ctx.is_init = true;
                CC_SUCCESS
            }
            Err(CC_ERROR_SEC_CHL_NOTREADY) => CC_ERROR_SEC_CHL_SVR_INIT,
            Err(e) => e,
        }
    })
}

/// Destroys every session and stops serving. Fini of a context that is not initialised
/// returns `CC_ERROR_SEC_CHL_NOTREADY`.
///
/// # Safety
/// `ctx` is NULL or valid for reads and writes; its `enclave_ctx` is NULL or readable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_svr_fini(ctx: *mut cc_sec_chl_svr_ctx_t) -> cc_enclave_result_t {
    guarded(|| {
        if ctx.is_null() {
            return CC_ERROR_BAD_PARAMETERS;
        }
        // SAFETY: non-NULL, and readable per the contract.
        if !unsafe { is_init(ctx) } {
            // Nothing to stop: success, as in the original.
            return CC_SUCCESS;
        }
        // SAFETY: non-NULL and valid for reads and writes per the contract.
        let ctx = unsafe { &mut *ctx };
        ctx.is_init = false;
        // SAFETY: `enclave_ctx` is NULL or readable per the contract.
        match unsafe { server_of(ctx.enclave_ctx) } {
            Ok(server) => {
                server.fini();
                CC_SUCCESS
            }
            Err(e) => e,
        }
    })
}

/// Handles one channel message from a client and answers it through
/// `ctx->conn_kit.send`. Thread-safe: call it from each connection's thread.
///
/// # Safety
/// `ctx` is NULL or readable, with `svr_ctx` NULL or readable and its `enclave_ctx` NULL
/// or readable; `buf` is NULL or `buf_len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_svr_callback(
    ctx: *mut cc_sec_chl_conn_ctx_t,
    buf: *mut c_void,
    buf_len: usize,
) -> cc_enclave_result_t {
    guarded(|| {
        into_code((|| {
            // SAFETY: the caller guarantees `ctx` is NULL or readable.
            let ctx = unsafe { ctx.as_ref() }.ok_or(CC_ERROR_BAD_PARAMETERS)?;
            if ctx.svr_ctx.is_null() {
                return Err(CC_ERROR_BAD_PARAMETERS);
            }
            // SAFETY: non-NULL, and readable per the contract.
            if !unsafe { is_init(ctx.svr_ctx) } {
                return Err(CC_ERROR_SEC_CHL_NOTREADY);
            }
            let kit = ConnKit::new(&ctx.conn_kit).ok_or(CC_ERROR_SEC_CHL_INVALID_CONN)?;
            // SAFETY: forwarded from this function's contract.
            let message = unsafe { input(buf, buf_len) }?;
            // SAFETY: `svr_ctx` is non-NULL and readable; `enclave_ctx` NULL or readable.
            let server = unsafe { server_of((*ctx.svr_ctx).enclave_ctx) }?;
            let reply = match server.routes().handle(message).map_err(|e| host_error(&e))? {
                Routed::Reply(m) | Routed::ClosedWithReply(m) => Some(m),
                Routed::Pending(p) => Some(p.wait().map_err(|e| host_error(&e))?),
                Routed::Nothing | Routed::Closed => None,
            };
            // An empty reply (a stream session's record that the enclave answered with
            // nothing) sends nothing.
            if let Some(m) = reply.filter(|m| !m.is_empty()) {
                kit.send(&m)
                    .map_err(|e| sc_ffi_common::last_error::failed(CC_ERROR_SEC_CHL_SEND_MSG, &e))?;
            }
            Ok(())
        })())
    })
}
