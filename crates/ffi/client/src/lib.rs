//! # libcsecure_channel.so: the client's C interface
//!
//! The original secure channel's client functions (`secure_channel_client.h`) over
//! [`sc_client::Client`]. The application owns the connection: it fills
//! `ctx.conn_kit` with its send hook and connection, calls [`cc_sec_chl_client_init`], and
//! feeds every channel message it receives to [`cc_sec_chl_client_callback`], either from
//! inside its send hook or from a separate receive thread. Init waits on a condition
//! variable for the reply (at most 10 seconds), never polling.
//!
//! The enclave's evidence is checked against a verifier policy (docs/ATTESTATION.md):
//! [`cc_sec_chl_client_init_with_policy`] takes its path; plain [`cc_sec_chl_client_init`]
//! reads the file named by the environment variable `SECURE_CHANNEL_POLICY`, else
//! `/etc/secure-channel/policy.toml`. Without a readable policy, init fails with
//! `CC_ERROR_SEC_CHL_POLICY_INVALID`: nothing is trusted by default.
//!
//! Every function checks its pointers and lengths, returns a result code for bad input,
//! and contains panics; `ctx->handle` is a checked handle, so a stale or doubly finished
//! context is refused, not dereferenced.
//!
//! ```no_run
//! use csecure_channel::*;
//! use sc_ffi_common::status::cc_enclave_result_t;
//! // What a C program does, written in Rust: no connection here, so init refuses the kit.
//! let mut ctx = cc_sec_chl_ctx_t::default();
//! let rc = unsafe { cc_sec_chl_client_init(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &mut ctx) };
//! assert_eq!(rc, cc_enclave_result_t::CC_ERROR_SEC_CHL_INVALID_CONN);
//! ```

mod errors;

use errors::client_error;
use sc_attestation::{Policy, PolicyError, VerifierRegistry};
use sc_client::Client;
use sc_ffi_common::buffer::{Output, input};
use sc_ffi_common::conn::{ConnKit, cc_conn_kit_t};
use sc_ffi_common::guard::{guarded, guarded_value, guarded_void};
use sc_ffi_common::last_error;
use sc_ffi_common::registry::Registry;
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use sc_protocol::{CipherSuite, ClientConfig, Session};
use std::ffi::{CStr, c_char, c_void};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The client's channel state (opaque to C).
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct cc_sec_chl_handle {
    _private: [u8; 0],
}

/// The opaque handle type of `cc_sec_chl_ctx_t::handle`.
#[allow(non_camel_case_types)]
pub type cc_sec_chl_handle_t = cc_sec_chl_handle;

/// One client channel. The caller fills `conn_kit` (and optionally `uuid`); init fills
/// `session_id` and `handle`. Zero it before first use.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug)]
pub struct cc_sec_chl_ctx {
    /// The session id, set by a successful init (0 before).
    pub session_id: usize,
    /// The application's connection and send hook.
    pub conn_kit: cc_conn_kit_t,
    /// Library state; set by init, cleared by fini.
    pub handle: *mut cc_sec_chl_handle_t,
    /// The server TA's identity, when the application uses one (not interpreted here:
    /// the verifier policy names the accepted enclaves).
    pub uuid: *mut c_char,
}

impl Default for cc_sec_chl_ctx {
    fn default() -> Self {
        Self {
            session_id: 0,
            conn_kit: cc_conn_kit_t {
                send: None,
                conn: std::ptr::null_mut(),
            },
            handle: std::ptr::null_mut(),
            uuid: std::ptr::null_mut(),
        }
    }
}

/// The client context by its short name.
#[allow(non_camel_case_types)]
pub type cc_sec_chl_ctx_t = cc_sec_chl_ctx;

/// The negotiated algorithm set (`cc_sec_chl_algo_t`).
#[allow(non_camel_case_types)]
pub type cc_sec_chl_algo_t = u32;
/// The original's suite name, kept for source compatibility: X25519 key exchange bound to
/// the enclave's attestation, AES-256-GCM, SHA-256 (the default suite).
pub const CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM: cc_sec_chl_algo_t = 0;
/// X25519, ChaCha20-Poly1305, SHA-256 (for CPUs without AES instructions).
pub const CC_SEC_CHL_ALGO_X25519_CHACHA20_POLY1305: cc_sec_chl_algo_t = 1;
/// X25519, AES-256-GCM, SHA-384.
pub const CC_SEC_CHL_ALGO_X25519_AES_GCM_SHA384: cc_sec_chl_algo_t = 2;
/// One past the last algorithm.
pub const CC_SEC_CHL_ALGO_MAX: cc_sec_chl_algo_t = 3;

/// How long init waits for the server's reply.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// The policy file used when `SECURE_CHANNEL_POLICY` is not set.
const DEFAULT_POLICY: &str = "/etc/secure-channel/policy.toml";

static CLIENTS: Registry<Client> = Registry::new();

fn suite(algo: cc_sec_chl_algo_t) -> Option<CipherSuite> {
    Some(match algo {
        CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM => CipherSuite::X25519Aes256GcmSha256,
        CC_SEC_CHL_ALGO_X25519_CHACHA20_POLY1305 => CipherSuite::X25519ChaCha20Poly1305Sha256,
        CC_SEC_CHL_ALGO_X25519_AES_GCM_SHA384 => CipherSuite::X25519Aes256GcmSha384,
        _ => return None,
    })
}

fn handle_of(ctx: &cc_sec_chl_ctx_t) -> u64 {
    ctx.handle as usize as u64
}

/// The live client behind `ctx`, or NOTREADY.
///
/// # Safety
/// `ctx` is NULL or points to a readable context.
unsafe fn client_of(ctx: *const cc_sec_chl_ctx_t) -> Result<Arc<Client>, cc_enclave_result_t> {
    // SAFETY: the caller guarantees `ctx` is NULL or valid for reads.
    let ctx = unsafe { ctx.as_ref() }.ok_or(CC_ERROR_BAD_PARAMETERS)?;
    CLIENTS.get(handle_of(ctx)).ok_or(CC_ERROR_SEC_CHL_NOTREADY)
}

fn load_verifier(path: &Path) -> Result<Arc<VerifierRegistry>, cc_enclave_result_t> {
    let invalid = |e: PolicyError| last_error::failed(CC_ERROR_SEC_CHL_POLICY_INVALID, &e);
    let policy = Policy::load(path).map_err(invalid)?;
    Ok(Arc::new(VerifierRegistry::from_policy(&policy).map_err(invalid)?))
}

fn into_code(r: Result<(), cc_enclave_result_t>) -> cc_enclave_result_t {
    r.err().unwrap_or(CC_SUCCESS)
}

/// Init with the policy at `policy`.
///
/// # Safety
/// `ctx` is NULL or valid for reads and writes.
unsafe fn init(algo: cc_sec_chl_algo_t, ctx: *mut cc_sec_chl_ctx_t, policy: &Path) -> cc_enclave_result_t {
    // SAFETY: the caller guarantees `ctx` is NULL or valid for reads and writes.
    let Some(ctx) = (unsafe { ctx.as_mut() }) else {
        return CC_ERROR_BAD_PARAMETERS;
    };
    let Some(kit) = ConnKit::new(&ctx.conn_kit) else {
        return CC_ERROR_SEC_CHL_INVALID_CONN;
    };
    let Some(suite) = suite(algo) else {
        return CC_ERROR_BAD_PARAMETERS;
    };
    if CLIENTS.get(handle_of(ctx)).is_some() {
        // Initialised and not finished: refuse rather than leak or reuse the channel.
        return CC_ERROR_BAD_PARAMETERS;
    }
    into_code((|| {
        let config = ClientConfig::builder()
            .verifier(load_verifier(policy)?)
            .suites(&[suite])
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            .accept_evidence_collateral(true)
            // The original's clients read one reply after every message they send.
            .acknowledgements(true)
            .build()
            .map_err(|e| last_error::failed(CC_ERROR_SEC_CHL_POLICY_INVALID, &e))?;
        let hook = move |m: &[u8]| kit.send(m);
        let handle = CLIENTS.insert(Client::new(Arc::new(config), Box::new(hook), INIT_TIMEOUT));
        // Published before anything is sent: the reply may come back on another thread,
        // and the callback finds the client through this field.
        ctx.handle = handle as usize as *mut cc_sec_chl_handle_t;
        let result = CLIENTS.get(handle).map(|c| {
            c.init()
                .map(|()| (c.session_id(), c.peer_claims().is_some_and(|p| p.simulated)))
        });
        match result {
            Some(Ok((Some(id), simulated))) => {
                ctx.session_id = id as usize;
                if simulated {
                    // Said on stderr, once per channel: a C program has no other place
                    // where its user would see it.
                    eprintln!(
                        "secure channel client: session {id:#x}: the enclave's attestation is SIMULATED (a development stand-in with no hardware root of trust)"
                    );
                }
                Ok(())
            }
            other => {
                CLIENTS.remove(handle);
                ctx.handle = std::ptr::null_mut();
                Err(match other {
                    Some(Err(e)) => client_error(&e),
                    _ => CC_ERROR_GENERIC,
                })
            }
        }
    })())
}

/// Runs the whole handshake through the send hook, checking the enclave against the
/// default verifier policy (`SECURE_CHANNEL_POLICY`, else
/// `/etc/secure-channel/policy.toml`); returns when the channel is ready or has failed.
///
/// # Safety
/// `ctx` is NULL or points to a context valid for reads and writes until fini, whose
/// `conn_kit` is the application's hook and connection.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_init(
    algo: cc_sec_chl_algo_t,
    ctx: *mut cc_sec_chl_ctx_t,
) -> cc_enclave_result_t {
    guarded(|| {
        let policy = std::env::var_os("SECURE_CHANNEL_POLICY")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY));
        // SAFETY: forwarded from this function's contract.
        unsafe { init(algo, ctx, &policy) }
    })
}

/// Like [`cc_sec_chl_client_init`], checking the enclave against the verifier policy file
/// at `policy_path` (TOML, docs/ATTESTATION.md; it may name a basevalue file of the
/// original's `taid img_hash mem_hash` format).
///
/// # Safety
/// As [`cc_sec_chl_client_init`]; `policy_path` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_init_with_policy(
    algo: cc_sec_chl_algo_t,
    ctx: *mut cc_sec_chl_ctx_t,
    policy_path: *const c_char,
) -> cc_enclave_result_t {
    guarded(|| {
        if policy_path.is_null() {
            return CC_ERROR_BAD_PARAMETERS;
        }
        // SAFETY: non-NULL and NUL-terminated per the contract.
        let path = unsafe { CStr::from_ptr(policy_path) };
        let Ok(path) = path.to_str() else {
            return CC_ERROR_BAD_PARAMETERS;
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { init(algo, ctx, Path::new(path)) }
    })
}

/// Feeds one channel message received from the server during init. Call it from the
/// receive path: inside the send hook or on a receive thread.
///
/// # Safety
/// `ctx` is NULL or a readable context; `buf` is NULL or `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_callback(
    ctx: *mut cc_sec_chl_ctx_t,
    buf: *mut c_void,
    len: usize,
) -> cc_enclave_result_t {
    guarded(|| {
        into_code((|| {
            // SAFETY: forwarded from this function's contract.
            let message = unsafe { input(buf, len) }?;
            // SAFETY: forwarded from this function's contract.
            let client = unsafe { client_of(ctx) }?;
            client.callback(message).map_err(|e| client_error(&e))
        })())
    })
}

/// Encrypts `plain` into `encrypt`. If `encrypt` is NULL or `*encrypt_len` too small,
/// returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed length in `*encrypt_len`.
///
/// # Safety
/// `ctx` is NULL or readable; `plain` is NULL or `plain_len` readable bytes;
/// `encrypt_len` is NULL or valid for reads and writes; `encrypt` is NULL or writable for
/// `*encrypt_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_encrypt(
    ctx: *mut cc_sec_chl_ctx_t,
    plain: *mut c_void,
    plain_len: usize,
    encrypt: *mut c_void,
    encrypt_len: *mut usize,
) -> cc_enclave_result_t {
    guarded(|| {
        into_code((|| {
            // SAFETY: forwarded from this function's contract.
            let plaintext = unsafe { input(plain, plain_len) }?;
            // SAFETY: forwarded from this function's contract.
            let mut out = unsafe { Output::new(encrypt, encrypt_len) }?;
            // SAFETY: forwarded from this function's contract.
            let client = unsafe { client_of(ctx) }?;
            let room = out.room(Session::record_len(plaintext.len()))?;
            let n = client.encrypt_into(plaintext, room).map_err(|e| client_error(&e))?;
            out.done(n);
            Ok(())
        })())
    })
}

/// Decrypts the record `encrypt` into `plain`. If `plain` is NULL or `*plain_len` too
/// small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed length in
/// `*plain_len` (the record is not consumed).
///
/// # Safety
/// `ctx` is NULL or readable; `encrypt` is NULL or `encrypt_len` readable bytes;
/// `plain_len` is NULL or valid for reads and writes; `plain` is NULL or writable for
/// `*plain_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_decrypt(
    ctx: *mut cc_sec_chl_ctx_t,
    encrypt: *mut c_void,
    encrypt_len: usize,
    plain: *mut c_void,
    plain_len: *mut usize,
) -> cc_enclave_result_t {
    guarded(|| {
        into_code((|| {
            // SAFETY: forwarded from this function's contract.
            let record = unsafe { input(encrypt, encrypt_len) }?;
            // SAFETY: forwarded from this function's contract.
            let mut out = unsafe { Output::new(plain, plain_len) }?;
            // SAFETY: forwarded from this function's contract.
            let client = unsafe { client_of(ctx) }?;
            let needed = record
                .len()
                .checked_sub(Session::record_len(0))
                .ok_or(CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID)?;
            let room = out.room(needed)?;
            let n = client.decrypt_into(record, room).map_err(|e| client_error(&e))?;
            out.done(n);
            Ok(())
        })())
    })
}

/// Whether the channel message the send hook is sending (`buf`, `count`) gets an answer
/// from the server. A hook that reads the answer itself (the same-thread pattern: send,
/// read the reply, call [`cc_sec_chl_client_callback`]) asks this first, so it never waits
/// for an answer that will not come. Every message this library sends gets one: both
/// messages of init (the library asks the enclave to acknowledge its Finished), and fini's
/// close, which the C host library answers with the enclave's own close and
/// `secure-channel serve` with the end of the connection (so a hook must take either as
/// the answer, as the original's same-thread clients do).
///
/// # Safety
/// `buf` is NULL or `count` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_msg_expects_reply(buf: *const c_void, count: usize) -> bool {
    use sc_protocol::msgs::MessageType;
    // Nothing unwinds across the C boundary: a panic here answers "no reply".
    guarded_value(false, || {
        // SAFETY: forwarded from this function's contract.
        let first = unsafe { input(buf, count) }.ok().and_then(|m| m.first().copied());
        matches!(
            first.map(MessageType::from_code),
            Some(Ok(MessageType::ClientHello
                | MessageType::ClientFinished
                | MessageType::Close))
        )
    })
}

/// Tells the server to drop the session (through the send hook), then frees the local
/// state. Safe to call twice, or on a context whose init failed. Called while init waits
/// for the server's reply (from the send hook, or another thread), it makes that init
/// return at once with `CC_ERROR_SEC_CHL_CLOSED`.
///
/// # Safety
/// `ctx` is NULL or valid for reads and writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn cc_sec_chl_client_fini(ctx: *mut cc_sec_chl_ctx_t) {
    guarded_void(|| {
        // SAFETY: the caller guarantees `ctx` is NULL or valid for reads and writes.
        let Some(ctx) = (unsafe { ctx.as_mut() }) else {
            return;
        };
        if let Some(client) = CLIENTS.remove(handle_of(ctx)) {
            // An init still waiting for its reply (fini called from the hook or another
            // thread, or because the connection dropped) returns now, not at its timeout.
            client.connection_lost();
            let _ = client.finish();
        }
        ctx.handle = std::ptr::null_mut();
        ctx.session_id = 0;
    })
}
