//! The C entry points that take bytes, called through their exported functions: the
//! client's callback, decrypt and reply check on a client whose channel is established
//! with an in-process enclave (the ABI tests' fixture), and the server callback and the
//! enclave's decrypt on contexts that are not running (their logic is fuzzed through the
//! host_relay and record_open targets; starting an enclave process per input is too slow).
//! Nothing may crash or unwind; every call returns a code.
#![no_main]
#![allow(unsafe_code)]

#[path = "../../crates/ffi/tests/tests/support/inproc.rs"]
mod inproc;

use arbitrary::Arbitrary;
use csecure_channel::*;
use libfuzzer_sys::fuzz_target;
use sc_ffi_common::status::cc_enclave_result_t::*;
use std::ffi::c_void;
use std::ptr::null_mut;
use usecure_channel::*;

#[derive(Arbitrary, Debug)]
enum Op {
    Callback(Vec<u8>),
    Decrypt { record: Vec<u8>, room: u16 },
    DecryptOwn { len: u8, flip: Option<(u16, u8)> },
    ExpectsReply(Vec<u8>),
    ServerCallback(Vec<u8>),
    EnclaveDecrypt { session: u64, record: Vec<u8> },
}

thread_local! {
    /// One established client for the whole run (a handshake per input would make the
    /// target a handshake benchmark). Nothing the inputs can do closes it: they cannot
    /// forge the enclave's records.
    static FIXTURE: std::cell::RefCell<Option<inproc::Fixture>> = const { std::cell::RefCell::new(None) };
}

fuzz_target!(|ops: Vec<Op>| {
    FIXTURE.with(|cell| {
        let mut cell = cell.borrow_mut();
        let f = cell.get_or_insert_with(|| {
            let mut f = inproc::fixture();
            assert_eq!(f.init(), CC_SUCCESS);
            f
        });
        run(f, &ops);
    })
});

fn run(f: &mut inproc::Fixture, ops: &[Op]) {
    for op in ops.iter().take(16) {
        match op {
            Op::Callback(bytes) => {
                let mut b = bytes.clone();
                // SAFETY: a live context and a buffer of b.len() bytes.
                let _ = unsafe { cc_sec_chl_client_callback(&mut *f.ctx, b.as_mut_ptr().cast(), b.len()) };
            }
            Op::Decrypt { record, room } => {
                let mut out = vec![0u8; usize::from(*room)];
                let mut len = out.len();
                let _ = f.decrypt(record, out.as_mut_ptr(), &mut len);
                assert!(len <= record.len().max(out.len()));
            }
            Op::DecryptOwn { len, flip } => {
                // A record the enclave really sealed for this session, maybe edited.
                let plain = vec![*len; usize::from(*len)];
                let session = f.ctx.session_id as u64;
                let Ok(genuine) = f.wire.sessions.encrypt(session, &plain, sc_protocol::UnixTime::now()) else {
                    continue;
                };
                let mut record = genuine.clone();
                if let Some((at, bit)) = flip {
                    let i = usize::from(*at) % record.len();
                    record[i] ^= 1 << (bit % 8);
                }
                let mut out = vec![0u8; record.len()];
                let mut n = out.len();
                let rc = f.decrypt(&record, out.as_mut_ptr(), &mut n);
                if flip.is_some() {
                    assert_ne!(rc, CC_SUCCESS, "an edited record was accepted");
                    // Records are accepted strictly in sequence: the refused edit took no
                    // place, and the genuine record still decrypts after it.
                    n = out.len();
                    let rc = f.decrypt(&genuine, out.as_mut_ptr(), &mut n);
                    assert_eq!(rc, CC_SUCCESS, "the genuine record was lost to an edited one");
                } else {
                    assert_eq!(rc, CC_SUCCESS);
                }
                assert_eq!(&out[..n], &plain[..]);
            }
            Op::ExpectsReply(bytes) => {
                // SAFETY: a buffer of bytes.len() bytes.
                let _ = unsafe { cc_sec_chl_client_msg_expects_reply(bytes.as_ptr().cast(), bytes.len()) };
            }
            Op::ServerCallback(bytes) => {
                let mut svr = cc_sec_chl_svr_ctx_t::new(null_mut());
                let mut conn = cc_sec_chl_conn_ctx_t {
                    svr_ctx: &mut svr,
                    conn_kit: f.ctx.conn_kit,
                };
                let mut b = bytes.clone();
                // SAFETY: live contexts and a buffer of b.len() bytes.
                let rc = unsafe { cc_sec_chl_svr_callback(&mut conn, b.as_mut_ptr().cast(), b.len()) };
                assert_ne!(rc, CC_SUCCESS, "a server that was never initialised answered");
            }
            Op::EnclaveDecrypt { session, record } => {
                let mut out = [0u8; 64];
                let mut len = out.len();
                let mut r = record.clone();
                // SAFETY: live buffers of the lengths passed.
                let rc = unsafe {
                    tsecure_channel::cc_sec_chl_enclave_decrypt(
                        *session as usize,
                        r.as_mut_ptr() as *mut c_void,
                        r.len(),
                        out.as_mut_ptr().cast(),
                        &mut len,
                    )
                };
                assert_ne!(rc, 0, "no enclave runtime runs here");
            }
        }
    }
}
