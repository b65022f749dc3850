//! What the CLI says when a user steps off the happy path: each message names the thing it
//! is about (file, address, token) and nothing is left half done.

#[path = "common/serve_process.rs"]
mod serve_process;

use serve_process::{ServeProcess, spawn_reading_first_line};
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn root_key(dir: &std::path::Path) -> String {
    let path = dir.join("root.key");
    sc_attestation::sim::SimRoot::from_secret([7; 32]).write(&path).unwrap();
    path.display().to_string()
}

#[test]
fn serve_never_overwrites_a_file_and_names_a_taken_address() {
    let dir = tempfile::tempdir().unwrap();
    let root = root_key(dir.path());
    // --policy-out naming an existing file (here the root key itself): refused, kept.
    let before = std::fs::read(&root).unwrap();
    let o = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--sim-root",
        &root,
        "--policy-out",
        &root,
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exists: not overwriting it"), "{}", stderr(&o));
    assert_eq!(std::fs::read(&root).unwrap(), before);
    // An address in use: named, and nothing written.
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let policy = dir.path().join("policy.toml");
    let o = run(&[
        "serve",
        "--listen",
        &addr,
        "--sim-root",
        &root,
        "--policy-out",
        &policy.display().to_string(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(&format!("cannot listen on {addr}: ")),
        "{}",
        stderr(&o)
    );
    assert!(!policy.exists());
}

#[test]
fn serve_exits_when_the_enclave_program_cannot_start() {
    let dir = tempfile::tempdir().unwrap();
    let root = root_key(dir.path());
    let policy = dir.path().join("policy.toml");
    let o = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--sim-root",
        &root,
        "--enclave",
        "/bin/false",
        "--policy-out",
        &policy.display().to_string(),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("the enclave program /bin/false exited at start (exit status: 1)"),
        "{}",
        stderr(&o)
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("listening"));
    assert!(!policy.exists());
}

/// The policy `serve` writes pins what the running enclave attests (verified under the
/// root key first), not the file it was told to start: a wrapper script that execs the
/// real program gets the real program's measurement, so clients are not refused.
#[test]
fn serve_writes_the_policy_for_what_the_enclave_attests() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = root_key(dir.path());
    let policy = dir.path().join("policy.toml");
    let wrapper = dir.path().join("enclave.sh");
    let exe = env!("CARGO_BIN_EXE_secure-channel");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec {exe} enclave \"$@\"\n")).unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (mut serve, line) = spawn_reading_first_line(
        std::process::Command::new(exe)
            .args(["serve", "--listen", "127.0.0.1:0", "--sim-root", &root, "--enclave"])
            .arg(&wrapper)
            .arg("--policy-out")
            .arg(&policy)
            .stderr(std::process::Stdio::null()),
    );
    let addr = line
        .strip_prefix("listening on ")
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    let text = std::fs::read_to_string(&policy).unwrap();
    let real = hex::encode(sc_attestation::measure_file(std::path::Path::new(exe)).unwrap());
    let script = hex::encode(sc_attestation::measure_file(&wrapper).unwrap());
    assert!(text.contains(&real) && !text.contains(&script), "{text}");
    let o = run(&[
        "connect",
        "--addr",
        &addr,
        "--policy",
        &policy.display().to_string(),
        "--data",
        "1,2,3",
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("count=3"), "{}", stderr(&o));
    serve.kill().unwrap();
    serve.wait().unwrap();
}

/// `serve --attester configfs-tsm` passes the choice to the enclave program; outside a TEE
/// guest it cannot attest, and says where it looked and what to check, and serve stops.
#[test]
fn serve_runs_a_hardware_attester_and_reports_why_it_cannot_start() {
    let o = run(&["serve", "--listen", "127.0.0.1:0", "--attester", "configfs-tsm"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("/sys/kernel/config/tsm/report"), "{err}");
    assert!(err.contains("is configfs mounted at /sys/kernel/config"), "{err}");
    assert!(err.contains("exited at start"), "{err}");
    let o = run(&["serve", "--listen", "127.0.0.1:0"]);
    assert!(
        stderr(&o).contains("the simulated attester needs --sim-root FILE"),
        "{}",
        stderr(&o)
    );
    let o = run(&["serve", "--attester", "sgx-magic"]);
    assert!(stderr(&o).contains("unknown attester \"sgx-magic\""), "{}", stderr(&o));
}

#[test]
fn connect_checks_the_dataset_and_names_its_files() {
    let o = run(&["connect", "--data", "1,b,3"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("\"b\" in the dataset is not a number"),
        "{}",
        stderr(&o)
    );
    let o = run(&["connect", "--data", ",,"]);
    assert!(stderr(&o).contains("the dataset is empty"), "{}", stderr(&o));
    let o = run(&["connect", "--data", "1", "--policy", "/nonexistent/policy.toml"]);
    assert!(
        stderr(&o).contains("cannot read the client policy /nonexistent/policy.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn connect_says_what_it_attested_and_reads_data_from_stdin() {
    let server = ServeProcess::start(&[]);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, &server.policy).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["connect", "--addr", &server.addr.to_string(), "--policy"])
        .arg(&policy)
        .args(["--data-file", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"1 2\n3,-4\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{text} {}", stderr(&o));
    assert!(
        text.contains("attested: simulated (0x0001) enclave, measurement ")
            && text.contains("(SIMULATED: no hardware root of trust), session 0x"),
        "{text}"
    );
    assert!(text.contains("count=4 mean=0.50 max=3.00"), "{text}");
    // --result-only: the result alone.
    let o = run(&[
        "connect",
        "--addr",
        &server.addr.to_string(),
        "--policy",
        &policy.display().to_string(),
        "--data=-1,5",
        "--result-only",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "count=2 mean=2.00 max=5.00\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn missing_files_are_named() {
    let o = run(&["measure", "/nonexistent/enclave"]);
    assert!(
        stderr(&o).contains("/nonexistent/enclave: No such file or directory"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "allow_simulated = true\n[simulated]\nroot_public_key = \"00\"\n",
    )
    .unwrap();
    let o = run(&[
        "verify",
        "--evidence",
        "/nonexistent/ev.bin",
        "--policy",
        "/nonexistent/p.toml",
    ]);
    assert!(stderr(&o).contains("/nonexistent/p.toml"), "{}", stderr(&o));
}

#[test]
fn the_internal_enclave_verb_is_not_in_the_help() {
    let o = run(&["--help"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("serve") && text.contains("connect"), "{text}");
    assert!(!text.contains("\n  enclave "), "{text}");
}

/// `serve` logs each connection's handshake outcome at info (rate-limited, see
/// sc-host's outcome log).
#[test]
fn serve_logs_each_handshake_outcome() {
    let server = ServeProcess::start(&[]);
    let mut client =
        sc_client::TcpClient::connect(server.addr, server.config(), std::time::Duration::from_secs(10)).unwrap();
    client.request(b"1,2").unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.log_contains("session established") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        server.log_contains("session established"),
        "{}",
        server.log.lock().unwrap()
    );
    // Garbage where a ClientHello should be.
    let mut s = std::net::TcpStream::connect(server.addr).unwrap();
    s.write_all(&[0x53, 0x43, 0x01, 0x01, 0, 0, 0, 4, 1, 2, 3, 4]).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !server.log_contains("handshake refused") && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        server.log_contains("handshake refused"),
        "{}",
        server.log.lock().unwrap()
    );
}
