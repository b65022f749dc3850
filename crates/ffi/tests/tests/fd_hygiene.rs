//! The enclave process gets only its boundary and stdio, whatever the C host application
//! has open: checked from C (crates/ffi/tests/c/fd_hygiene.c) on the first start and after
//! a kill and the supervisor's restart.

use sc_ffi_tests::{build_examples, build_host_test_program, sim_setup};
use std::process::Command;

#[test]
fn the_enclave_inherits_none_of_the_host_applications_sockets() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, _) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let program = build_host_test_program(dir.path(), "fd_hygiene").unwrap();
    let out = Command::new(&program)
        .arg(bin.join("enclave"))
        .env("SECURE_CHANNEL_SIM_ROOT", &root)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok: enclave"), "{text}");
}
