//! C host programs built with the system compiler against the host library: the enclave
//! process inherits none of the application's descriptors (crates/ffi/tests/c/fd_hygiene.c),
//! and a host written in the original example's style compiles and runs unchanged.

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

/// A host written in the original example's style (its headers, names, flags, the timer
/// field of the server context, the inline connection-kit check) compiles without a
/// warning, links and runs; the server context has the original's layout (24 bytes).
#[test]
fn an_original_style_host_compiles_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, _) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let program = build_host_test_program(dir.path(), "original_style_host").unwrap();
    let out = Command::new(&program)
        .arg(bin.join("enclave"))
        .env("SECURE_CHANNEL_SIM_ROOT", &root)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        text.contains("ok: original-style host ran (context 24 bytes)"),
        "{text}"
    );
}
