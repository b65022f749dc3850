//! An established client channel in process: the C client library over a Rust send hook
//! that relays to an in-process enclave (simulated attestation). Shared by the ABI
//! misuse tests and the C-versus-Rust benchmark.
#![allow(dead_code, unsafe_code)] // each user takes what it needs; this calls the C ABI

use csecure_channel::*;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_boundary::InProcess;
use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use sc_host::{Host, HostLimits, Routed, SessionRoutes};
use sc_protocol::{EnclaveConfig, UnixTime};
use std::ffi::{CString, c_int, c_void};
use std::sync::Arc;

const MEASUREMENT: [u8; 32] = [7; 32];

/// The server side of the test: an enclave in process behind session routes.
pub struct Wire {
    pub routes: Arc<SessionRoutes>,
    pub sessions: Arc<SessionManager>,
    pub ctx: *mut cc_sec_chl_ctx_t,
}

/// The send hook: hands the message to the relay and feeds the answer straight back to
/// the client (the same-thread pattern).
unsafe extern "C" fn hook(conn: *mut c_void, buf: *mut c_void, count: usize) -> c_int {
    // SAFETY: `conn` is the `Wire` the test put in the kit; `buf` holds `count` bytes.
    let (wire, message) = unsafe {
        (
            &*(conn as *const Wire),
            std::slice::from_raw_parts(buf as *const u8, count),
        )
    };
    match wire.routes.handle(message) {
        Ok(Routed::Reply(mut reply)) => {
            // SAFETY: `ctx` is the context being initialised; the reply is a live buffer.
            let rc = unsafe { cc_sec_chl_client_callback(wire.ctx, reply.as_mut_ptr().cast(), reply.len()) };
            assert_eq!(rc, CC_SUCCESS);
            count as c_int
        }
        Ok(_) => count as c_int,
        Err(_) => -1,
    }
}

/// The hook as the original examples write it: success is any non-negative value, here
/// the callback's result (0).
pub unsafe extern "C" fn hook_returning_zero(conn: *mut c_void, buf: *mut c_void, count: usize) -> c_int {
    // SAFETY: forwarded as received.
    match unsafe { hook(conn, buf, count) } {
        n if n < 0 => n,
        _ => 0,
    }
}

/// The hook as the original examples write it: the bytes written including a 24-byte
/// message header of its own.
pub unsafe extern "C" fn hook_returning_count_plus_header(conn: *mut c_void, buf: *mut c_void, count: usize) -> c_int {
    // SAFETY: forwarded as received.
    match unsafe { hook(conn, buf, count) } {
        n if n < 0 => n,
        _ => count as c_int + 24,
    }
}

/// A hook whose application gives up during init: it calls fini instead of delivering the
/// ClientHello.
pub unsafe extern "C" fn hook_that_calls_fini(conn: *mut c_void, _: *mut c_void, count: usize) -> c_int {
    // SAFETY: `conn` is the test's `Wire`; its `ctx` is the context being initialised.
    unsafe { cc_sec_chl_client_fini((*(conn as *const Wire)).ctx) };
    count as c_int
}

pub unsafe extern "C" fn failing_hook(_: *mut c_void, _: *mut c_void, _: usize) -> c_int {
    -1
}

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub policy: CString,
    pub wire: Box<Wire>,
    pub ctx: Box<cc_sec_chl_ctx_t>,
}

pub fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = SimRoot::from_secret([3; 32]);
    let policy_path = dir.path().join("policy.toml");
    std::fs::write(&policy_path, sc_ffi_tests::policy_text(&root.public_key(), MEASUREMENT)).unwrap();
    let enclave = SimEnclave {
        measurement: MEASUREMENT,
        signer: [0; 32],
        security_version: 1,
        debug: false,
    };
    let attester = Arc::new(SimAttester::new(root, enclave, system_clock()));
    let config = EnclaveConfig::builder().attester(attester).build().unwrap();
    let sessions = Arc::new(SessionManager::new(config, None, EnclaveLimits::default()));
    let mut service = ChannelService::new(sessions.clone(), Arc::new(UnixTime::now));
    service.register(1, Arc::new(|_, r: &[u8]| r.to_ascii_uppercase()));
    let host = Arc::new(Host::new(
        Arc::new(InProcess::new(Arc::new(service))),
        HostLimits::default(),
    ));
    let mut ctx = Box::new(cc_sec_chl_ctx_t::default());
    let mut wire = Box::new(Wire {
        routes: Arc::new(SessionRoutes::new(host)),
        sessions,
        ctx: &mut *ctx,
    });
    ctx.conn_kit.send = Some(hook);
    ctx.conn_kit.conn = (&mut *wire as *mut Wire).cast();
    Fixture {
        _dir: dir,
        policy: CString::new(policy_path.to_str().unwrap()).unwrap(),
        wire,
        ctx,
    }
}

impl Fixture {
    pub fn init(&mut self) -> cc_enclave_result_t {
        // SAFETY: a live context and a NUL-terminated path.
        unsafe {
            cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &mut *self.ctx, self.policy.as_ptr())
        }
    }

    pub fn encrypt(&mut self, plain: &[u8], out: *mut u8, len: &mut usize) -> cc_enclave_result_t {
        // SAFETY: `plain` is live; `out` is NULL or has `*len` bytes (callers ensure).
        unsafe {
            cc_sec_chl_client_encrypt(
                &mut *self.ctx,
                plain.as_ptr() as *mut c_void,
                plain.len(),
                out.cast(),
                len,
            )
        }
    }

    pub fn decrypt(&mut self, record: &[u8], out: *mut u8, len: &mut usize) -> cc_enclave_result_t {
        // SAFETY: as for `encrypt`.
        unsafe {
            cc_sec_chl_client_decrypt(
                &mut *self.ctx,
                record.as_ptr() as *mut c_void,
                record.len(),
                out.cast(),
                len,
            )
        }
    }
}
