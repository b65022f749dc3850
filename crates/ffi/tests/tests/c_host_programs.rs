//! C host programs built with the system compiler against the host library: the enclave
//! process inherits none of the application's descriptors (crates/ffi/tests/c/fd_hygiene.c),
//! and a host written in the original example's style compiles and runs unchanged.

use sc_ffi_tests::{build_examples, build_host_test_program, sim_setup};
use std::process::Command;

/// Builds the examples and the C host program `name`, runs it with the example enclave
/// program, and returns whether it succeeded and what it printed.
fn run_host_program(name: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, _) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let program = build_host_test_program(dir.path(), name).unwrap();
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
    (out.status.success(), text)
}

#[test]
fn the_enclave_inherits_none_of_the_host_applications_sockets() {
    let (ok, text) = run_host_program("fd_hygiene");
    assert!(ok && text.contains("ok: enclave"), "{text}");
}

/// A host written in the original example's style (its headers, names, flags, the timer
/// field of the server context, the inline connection-kit check) compiles without a
/// warning, links and runs; the server context has the original's layout (24 bytes).
#[test]
fn an_original_style_host_compiles_and_runs() {
    let (ok, text) = run_host_program("original_style_host");
    assert!(
        ok && text.contains("ok: original-style host ran (context 24 bytes)"),
        "{text}"
    );
}

/// The original's same-thread client pattern, from its described behaviour: a hook that
/// reads one reply after every message it sends (the last handshake message and fini's
/// close included) and returns 0 or the bytes written with its own 24-byte header, against
/// a host written the same way. Both complete init, the request, the reply and fini.
#[test]
fn original_pattern_client_and_host_run_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let server = build_host_test_program(dir.path(), "original_server").unwrap();
    let client = sc_ffi_tests::build_test_program(dir.path(), "original_client", "csecure_channel").unwrap();
    let mut cmd = Command::new(&server);
    cmd.arg(bin.join("enclave"))
        .arg("2")
        .env("SECURE_CHANNEL_SIM_ROOT", &root);
    let running = sc_ffi_tests::Server::start(cmd).unwrap();
    for mode in ["zero", "count_plus_header"] {
        // Bounded: a client waiting for an answer that never comes would block for ever.
        let out = Command::new("timeout")
            .arg("30")
            .arg(&client)
            .arg(running.port.to_string())
            .arg(&policy)
            .arg("3,1,4,1,5")
            .arg(mode)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{mode}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("result: count=5 mean=2.80 max=5.00"), "{mode}: {text}");
        assert!(text.contains("done"), "{mode}: fini returned: {text}");
    }
    let (status, rest) = running.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(!rest.contains("refused"), "{rest}");
}
