//! The host library keeps supervising the right enclave process across fini and a second
//! init: after a restart, fini and init again, the restarted process is the one watched
//! (and restarted when it dies), not the first one. Its own test binary, so that this
//! process's children are exactly the enclave processes started here.
#![allow(unsafe_code)] // calls the C ABI

use sc_ffi_common::status::cc_enclave_result_t::CC_SUCCESS;
use std::ffi::CString;
use std::process::Command;
use std::time::{Duration, Instant};
use usecure_channel::*;

fn children() -> Vec<String> {
    let out = Command::new("pgrep")
        .arg("-P")
        .arg(std::process::id().to_string())
        .output()
        .unwrap();
    let mut pids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    pids.sort();
    pids
}

fn kill(pid: &str) {
    assert!(Command::new("kill").args(["-9", pid]).status().unwrap().success());
}

/// Waits for one enclave process other than `old`.
fn restarted(old: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = children();
        if now.len() == 1 && now[0] != old {
            return now[0].clone();
        }
        assert!(Instant::now() < deadline, "no restart of {old}: {now:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn supervision_follows_restarts_across_fini_and_init() {
    let dir = tempfile::tempdir().unwrap();
    let bin = sc_ffi_tests::build_examples(dir.path(), "").unwrap();
    let (root, _) = sc_ffi_tests::sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    // SAFETY: the only test in this binary; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("SECURE_CHANNEL_SIM_ROOT", &root) };
    let path = CString::new(bin.join("enclave").to_str().unwrap()).unwrap();
    let mut enclave = cc_enclave_t::default();
    // SAFETY: live, NUL-terminated path and a live enclave context.
    let rc = unsafe {
        cc_enclave_create(
            path.as_ptr(),
            AUTO_ENCLAVE_TYPE,
            0,
            0,
            std::ptr::null(),
            0,
            &mut enclave,
        )
    };
    assert_eq!(rc, CC_SUCCESS);
    let mut server = cc_sec_chl_svr_ctx_t::new(&mut enclave);
    // SAFETY: a live server context whose enclave context is live.
    assert_eq!(unsafe { cc_sec_chl_svr_init(&mut server) }, CC_SUCCESS);

    let first = children();
    assert_eq!(first.len(), 1, "{first:?}");
    kill(&first[0]);
    let second = restarted(&first[0]);

    // SAFETY: as above.
    unsafe {
        assert_eq!(cc_sec_chl_svr_fini(&mut server), CC_SUCCESS);
        assert_eq!(cc_sec_chl_svr_init(&mut server), CC_SUCCESS);
    }
    // The new supervisor watches the live process: nothing is restarted meanwhile.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(children(), vec![second.clone()]);
    // And it restarts that one when it dies.
    kill(&second);
    restarted(&second);

    // SAFETY: as above.
    unsafe {
        assert_eq!(cc_sec_chl_svr_fini(&mut server), CC_SUCCESS);
        assert_eq!(cc_enclave_destroy(&mut enclave), CC_SUCCESS);
    }
}
