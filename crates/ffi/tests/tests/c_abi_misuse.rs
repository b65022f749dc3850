//! The C functions called directly with bad input: NULL pointers, zero lengths, short
//! buffers, unknown session ids, calls before init, double fini. Each returns a result
//! code and nothing crashes. The client's channel runs against an in-process enclave
//! (simulated attestation) through a Rust send hook.
#![allow(unsafe_code)] // this file calls the C ABI

#[path = "support/inproc.rs"]
mod inproc;

use csecure_channel::*;
use inproc::{failing_hook, fixture, hook_returning_count_plus_header, hook_returning_zero, hook_that_calls_fini};
use sc_ffi_common::status::cc_enclave_result_t::*;
use sc_host::Routed;
use sc_protocol::Session;
use std::ffi::{CString, c_int, c_void};
use std::ptr::{null, null_mut};
use usecure_channel::*;

/// This thread's last error text, read through the C function.
fn last_error() -> String {
    let mut buf = [0 as std::ffi::c_char; 256];
    // SAFETY: `buf` has 256 writable bytes.
    let n = unsafe { sc_ffi_common::last_error::cc_sec_chl_last_error(buf.as_mut_ptr(), buf.len()) };
    let text: Vec<u8> = buf[..n.min(255)].iter().map(|&c| c as u8).collect();
    String::from_utf8(text).unwrap()
}

#[test]
fn client_calls_before_init_and_with_bad_arguments_return_codes() {
    let mut f = fixture();
    let mut len = 64usize;
    let mut buf = [0u8; 64];
    // SAFETY: every pointer below is NULL, or live with the length passed.
    unsafe {
        assert_eq!(
            cc_sec_chl_client_init(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, null_mut()),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &mut *f.ctx, null()),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_MAX, &mut *f.ctx, f.policy.as_ptr()),
            CC_ERROR_BAD_PARAMETERS
        );
        let missing = CString::new("/nonexistent/policy.toml").unwrap();
        assert_eq!(
            cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &mut *f.ctx, missing.as_ptr()),
            CC_ERROR_SEC_CHL_POLICY_INVALID
        );
        // The last error says which file and why; a parameter failure says what the code means.
        assert!(last_error().contains("/nonexistent/policy.toml") && last_error().contains("No such file"));
        assert_eq!(
            cc_sec_chl_client_init(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, null_mut()),
            CC_ERROR_BAD_PARAMETERS
        );
        assert!(
            last_error().starts_with("CC_ERROR_BAD_PARAMETERS: "),
            "{}",
            last_error()
        );
        let mut no_kit = cc_sec_chl_ctx_t::default();
        assert_eq!(
            cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &mut no_kit, f.policy.as_ptr()),
            CC_ERROR_SEC_CHL_INVALID_CONN
        );
        assert_eq!(
            cc_sec_chl_client_callback(&mut *f.ctx, buf.as_mut_ptr().cast(), 8),
            CC_ERROR_SEC_CHL_NOTREADY
        );
        assert_eq!(
            cc_sec_chl_client_callback(&mut *f.ctx, null_mut(), 8),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_client_callback(null_mut(), buf.as_mut_ptr().cast(), 8),
            CC_ERROR_BAD_PARAMETERS
        );
        assert!(!cc_sec_chl_client_msg_expects_reply(null(), 0));
        cc_sec_chl_client_fini(null_mut());
        cc_sec_chl_client_fini(&mut *f.ctx);
    }
    assert_eq!(f.encrypt(b"x", buf.as_mut_ptr(), &mut len), CC_ERROR_SEC_CHL_NOTREADY);
    assert_eq!(f.encrypt(b"", buf.as_mut_ptr(), &mut len), CC_ERROR_BAD_PARAMETERS);
    assert_eq!(
        f.decrypt(&buf, buf.clone().as_mut_ptr(), &mut len),
        CC_ERROR_SEC_CHL_NOTREADY
    );
    // A forged handle in the context is refused, not dereferenced.
    f.ctx.handle = 0x1234 as *mut cc_sec_chl_handle_t;
    assert_eq!(f.encrypt(b"x", buf.as_mut_ptr(), &mut len), CC_ERROR_SEC_CHL_NOTREADY);
    // A hook that fails fails init with the send code.
    f.ctx.handle = null_mut();
    f.ctx.conn_kit.send = Some(failing_hook);
    assert_eq!(f.init(), CC_ERROR_SEC_CHL_SEND_MSG);
    assert!(f.ctx.handle.is_null(), "a failed init leaves no state behind");
}

#[test]
fn any_non_negative_hook_result_is_success_as_in_the_original() {
    for hook in [hook_returning_zero, hook_returning_count_plus_header] {
        let mut f = fixture();
        f.ctx.conn_kit.send = Some(hook);
        assert_eq!(f.init(), CC_SUCCESS);
        let mut out = vec![0u8; 256];
        let mut len = out.len();
        assert_eq!(f.encrypt(b"hello", out.as_mut_ptr(), &mut len), CC_SUCCESS);
        // SAFETY: the fixture's context, initialised above and not used afterwards.
        unsafe { cc_sec_chl_client_fini(&mut *f.ctx) };
    }
}

#[test]
fn fini_during_init_ends_it_at_once() {
    let mut f = fixture();
    f.ctx.conn_kit.send = Some(hook_that_calls_fini);
    let started = std::time::Instant::now();
    assert_eq!(f.init(), CC_ERROR_SEC_CHL_CLOSED);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(f.ctx.handle.is_null());
}

#[test]
fn client_channel_follows_the_length_convention_and_reports_each_failure() {
    let mut f = fixture();
    assert_eq!(f.init(), CC_SUCCESS);
    assert_ne!(f.ctx.session_id, 0);
    assert_eq!(f.init(), CC_ERROR_BAD_PARAMETERS, "init twice without fini");

    // Size query, then too small, then right.
    let plain = b"the data owner's secret";
    let mut len = 0usize;
    assert_eq!(f.encrypt(plain, null_mut(), &mut len), CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH);
    assert_eq!(len, Session::record_len(plain.len()));
    let mut record = vec![0u8; len];
    let mut short = len - 1;
    assert_eq!(
        f.encrypt(plain, record.as_mut_ptr(), &mut short),
        CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH
    );
    assert_eq!(short, len);
    // SAFETY: a live context and plaintext; NULL length pointer.
    let rc = unsafe {
        cc_sec_chl_client_encrypt(
            &mut *f.ctx,
            plain.as_ptr() as *mut c_void,
            plain.len(),
            record.as_mut_ptr().cast(),
            null_mut(),
        )
    };
    assert_eq!(rc, CC_ERROR_BAD_PARAMETERS);
    let mut big = len + 100;
    assert_eq!(f.encrypt(plain, record.as_mut_ptr(), &mut big), CC_SUCCESS);
    assert_eq!(big, len);

    // Through the enclave's function 1 (uppercase) and back.
    let reply = match f.wire.routes.handle(&record).unwrap() {
        Routed::Reply(r) => r,
        other => panic!("{other:?}"),
    };
    let mut need = 0usize;
    assert_eq!(
        f.decrypt(&reply, null_mut(), &mut need),
        CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH
    );
    assert_eq!(need, plain.len());
    let mut out = vec![0u8; need];
    // A flipped byte fails authentication and does not consume the record.
    let mut flipped = reply.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert_eq!(
        f.decrypt(&flipped, out.as_mut_ptr(), &mut need),
        CC_ERROR_SEC_CHL_DECRYPT
    );
    assert_eq!(
        f.decrypt(&reply[..10], out.as_mut_ptr(), &mut need),
        CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID
    );
    assert_eq!(f.decrypt(&reply, out.as_mut_ptr(), &mut need), CC_SUCCESS);
    assert_eq!(&out[..need], &plain.to_ascii_uppercase()[..]);
    assert_eq!(
        f.decrypt(&reply, out.as_mut_ptr(), &mut need),
        CC_ERROR_SEC_CHL_REPLAYED
    );
    // Our own record reflected back (the other direction's keys) is refused. (Sealed at a
    // sequence number the enclave has not used yet, so that authentication, not the replay
    // window, is what refuses it: the enclave's records so far are its SessionAck and one
    // reply.)
    let mut reflected = vec![0u8; Session::record_len(plain.len())];
    let mut rlen = reflected.len();
    assert_eq!(f.encrypt(plain, reflected.as_mut_ptr(), &mut rlen), CC_SUCCESS);
    rlen = reflected.len();
    assert_eq!(f.encrypt(plain, reflected.as_mut_ptr(), &mut rlen), CC_SUCCESS);
    assert_eq!(
        f.decrypt(&reflected, out.as_mut_ptr(), &mut need),
        CC_ERROR_SEC_CHL_DECRYPT
    );

    // Fini tells the enclave; afterwards the context is refused; a second fini is harmless.
    assert_eq!(f.wire.sessions.open_sessions(), 1);
    // SAFETY: a live context.
    unsafe { cc_sec_chl_client_fini(&mut *f.ctx) };
    assert_eq!(f.wire.sessions.open_sessions(), 0, "fini reached the enclave");
    assert!(f.ctx.handle.is_null() && f.ctx.session_id == 0);
    let mut len = 100;
    assert_eq!(
        f.encrypt(plain, record.as_mut_ptr(), &mut len),
        CC_ERROR_SEC_CHL_NOTREADY
    );
    // SAFETY: a live context.
    unsafe { cc_sec_chl_client_fini(&mut *f.ctx) };
}

#[test]
fn host_calls_with_bad_arguments_before_init_and_after_fini_return_codes() {
    let dir = tempfile::tempdir().unwrap();
    let bin = sc_ffi_tests::build_examples(dir.path(), "").unwrap();
    let (root, _policy) = sc_ffi_tests::sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    // SAFETY: sets a variable no other test in this file reads or writes.
    unsafe { std::env::set_var("SECURE_CHANNEL_SIM_ROOT", &root) };
    let path = CString::new(bin.join("enclave").to_str().unwrap()).unwrap();
    let mut enclave = cc_enclave_t::default();
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    // SAFETY: every pointer below is NULL, or live with the length passed.
    unsafe {
        assert_eq!(
            cc_enclave_create(null(), AUTO_ENCLAVE_TYPE, 0, 0, null(), 0, &mut enclave),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_enclave_create(path.as_ptr(), AUTO_ENCLAVE_TYPE, 0, 0, null(), 0, null_mut()),
            CC_ERROR_BAD_PARAMETERS
        );
        let missing = CString::new("/nonexistent/enclave").unwrap();
        assert_eq!(
            cc_enclave_create(missing.as_ptr(), AUTO_ENCLAVE_TYPE, 0, 0, null(), 0, &mut enclave),
            CC_ERROR_SEC_CHL_ENCLAVE_START
        );
        assert_eq!(cc_sec_chl_svr_init(null_mut()), CC_ERROR_BAD_PARAMETERS);
        let mut unstarted = cc_sec_chl_svr_ctx_t::new(&mut enclave);
        assert_eq!(cc_sec_chl_svr_init(&mut unstarted), CC_ERROR_SEC_CHL_SVR_INIT);
        assert_eq!(
            cc_enclave_create(path.as_ptr(), AUTO_ENCLAVE_TYPE, 0, 0, null(), 0, &mut enclave),
            CC_SUCCESS
        );

        let mut server = cc_sec_chl_svr_ctx_t::new(&mut enclave);
        let mut conn = cc_sec_chl_conn_ctx_t {
            svr_ctx: &mut server,
            conn_kit: sc_ffi_common::conn::cc_conn_kit_t {
                send: Some(failing_hook),
                conn: buf.as_mut_ptr().cast(),
            },
        };
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, buf.as_mut_ptr().cast(), 8),
            CC_ERROR_SEC_CHL_NOTREADY
        );
        assert_eq!(
            cc_sec_chl_svr_fini(&mut server),
            CC_SUCCESS,
            "fini before init succeeds, as in the original"
        );
        assert_eq!(cc_sec_chl_svr_init(&mut server), CC_SUCCESS);
        assert_eq!(cc_sec_chl_svr_init(&mut server), CC_SUCCESS, "a second init is a no-op");
        assert_eq!(
            cc_sec_chl_svr_callback(null_mut(), buf.as_mut_ptr().cast(), 8),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, null_mut(), 8),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, buf.as_mut_ptr().cast(), 0),
            CC_ERROR_BAD_PARAMETERS
        );
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, buf.as_mut_ptr().cast(), 8),
            CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID
        );
        conn.conn_kit.conn = null_mut();
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, buf.as_mut_ptr().cast(), 8),
            CC_ERROR_SEC_CHL_INVALID_CONN
        );

        // An application call for a session that does not exist.
        let rc = cc_sec_chl_svr_enclave_call(
            &mut enclave,
            1,
            12345,
            buf.as_ptr().cast(),
            40,
            buf.as_mut_ptr().cast(),
            &mut len,
        );
        assert_eq!(rc, CC_ERROR_SEC_CHL_INVALID_SESSION);
        let rc = cc_sec_chl_svr_enclave_call(&mut enclave, 1, 12345, null(), 40, buf.as_mut_ptr().cast(), &mut len);
        assert_eq!(rc, CC_ERROR_BAD_PARAMETERS, "NULL input of 40 bytes");
        // An empty input (NULL, 0) and no output buffer are valid arguments: the call
        // reaches the enclave, which refuses the unknown session.
        let rc = cc_sec_chl_svr_enclave_call(&mut enclave, 1, 12345, null(), 0, null_mut(), &mut len);
        assert_eq!(rc, CC_ERROR_SEC_CHL_INVALID_SESSION);
        let rc = cc_sec_chl_svr_enclave_call(
            &mut enclave,
            1,
            12345,
            buf.as_ptr().cast(),
            40,
            buf.as_mut_ptr().cast(),
            null_mut(),
        );
        assert_eq!(rc, CC_ERROR_BAD_PARAMETERS);

        assert_eq!(cc_sec_chl_svr_fini(&mut server), CC_SUCCESS);
        assert_eq!(cc_sec_chl_svr_fini(&mut server), CC_SUCCESS, "a double fini is a no-op");
        assert_eq!(cc_enclave_destroy(&mut enclave), CC_SUCCESS);
        assert_eq!(
            cc_enclave_destroy(&mut enclave),
            CC_ERROR_SEC_CHL_NOTREADY,
            "double destroy"
        );
        assert_eq!(cc_enclave_destroy(null_mut()), CC_ERROR_BAD_PARAMETERS);
        // A context still marked initialised over a destroyed enclave.
        (*conn.svr_ctx).is_init = true;
        conn.conn_kit.conn = buf.as_mut_ptr().cast();
        assert_eq!(
            cc_sec_chl_svr_callback(&mut conn, buf.as_mut_ptr().cast(), 8),
            CC_ERROR_SEC_CHL_NOTREADY
        );
    }
}

#[test]
fn enclave_calls_before_the_runtime_runs_return_codes() {
    let mut buf = [0u8; 64];
    let mut len = buf.len();
    // SAFETY: every pointer below is NULL, or live with the length passed.
    unsafe {
        use tsecure_channel::*;
        let code = |rc: c_int| rc as u32;
        assert_eq!(
            code(cc_sec_chl_enclave_register(1, None)),
            CC_ERROR_BAD_PARAMETERS as u32
        );
        assert_eq!(
            code(cc_sec_chl_enclave_encrypt(
                1,
                buf.as_mut_ptr().cast(),
                8,
                buf.as_mut_ptr().cast(),
                &mut len
            )),
            CC_ERROR_SEC_CHL_NOTREADY as u32
        );
        assert_eq!(
            code(cc_sec_chl_enclave_decrypt(
                1,
                buf.as_mut_ptr().cast(),
                40,
                null_mut(),
                &mut len
            )),
            CC_ERROR_SEC_CHL_NOTREADY as u32
        );
        assert_eq!(
            code(cc_sec_chl_enclave_encrypt(
                1,
                null_mut(),
                8,
                buf.as_mut_ptr().cast(),
                &mut len
            )),
            CC_ERROR_BAD_PARAMETERS as u32
        );
        assert_eq!(
            code(cc_sec_chl_enclave_decrypt(
                1,
                buf.as_mut_ptr().cast(),
                40,
                buf.as_mut_ptr().cast(),
                null_mut()
            )),
            CC_ERROR_BAD_PARAMETERS as u32
        );
    }
}
