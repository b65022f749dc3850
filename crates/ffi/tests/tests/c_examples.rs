//! The C examples, compiled with the system C compiler against the three libraries, run
//! end to end over real TCP on loopback: the C host server (a thread per connection)
//! starts the C enclave program as its own process; C clients attest it, send private
//! data and decrypt the result.

use sc_ffi_tests::{Server, build_examples, sim_setup};
use std::path::Path;
use std::process::{Command, Output};

const DATA: &str = "3,1,4,1,5,9,2,6";
const RESULT: &str = "client: result: count=8 mean=3.88 max=9.00";

fn server(bin: &Path, root: &Path, connections: usize, wrap: &[&str]) -> Server {
    let mut cmd = match wrap.split_first() {
        Some((tool, args)) => {
            let mut c = Command::new(tool);
            c.args(args).arg(bin.join("server"));
            c
        }
        None => Command::new(bin.join("server")),
    };
    cmd.arg(bin.join("enclave"))
        .arg("0")
        .arg(connections.to_string())
        .env("SECURE_CHANNEL_SIM_ROOT", root);
    Server::start(cmd).expect("server starts")
}

fn client(bin: &Path, name: &str, port: u16, policy: &Path, wrap: &[&str]) -> Output {
    let mut cmd = match wrap.split_first() {
        Some((tool, args)) => {
            let mut c = Command::new(tool);
            c.args(args).arg(bin.join(name));
            c
        }
        None => Command::new(bin.join(name)),
    };
    cmd.arg(port.to_string())
        .arg(policy)
        .arg(DATA)
        .output()
        .expect("client runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn c_clients_attest_the_c_enclave_through_the_c_host() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    // A policy for another enclave build: the same root, a different measurement.
    let wrong = dir.path().join("wrong.toml");
    let other = sc_ffi_tests::policy_text(
        &sc_attestation::sim::SimRoot::read(&root).unwrap().public_key(),
        [0xab; 32],
    );
    std::fs::write(&wrong, other).unwrap();

    let s = server(&bin, &root, 4, &[]);
    for name in ["client", "client_recv_thread"] {
        let out = client(&bin, name, s.port, &policy, &[]);
        assert!(out.status.success(), "{name}: {}", text(&out));
        assert!(text(&out).contains(RESULT), "{name}: {}", text(&out));
        assert!(
            text(&out).contains("the enclave's attestation is SIMULATED"),
            "{name}: {}",
            text(&out)
        );
    }
    // The wrong policy refuses the enclave with the policy-rejected code, at init; the C
    // program names the code with cc_sec_chl_strerror and reads the detail with
    // cc_sec_chl_last_error (the presented measurement beside the accepted one).
    for name in ["client", "client_recv_thread"] {
        let out = client(&bin, name, s.port, &wrong, &[]);
        assert!(!out.status.success());
        let t = text(&out);
        assert!(
            t.contains("init failed: CC_ERROR_SEC_CHL_POLICY_REJECTED: "),
            "{name}: {t}"
        );
        assert!(
            t.contains("detail: handshake failed: attestation rejected: measurement is not in the policy: presented "),
            "{name}: {t}"
        );
        assert!(
            t.contains(&format!("the policy accepts {}", "ab".repeat(32))),
            "{name}: {t}"
        );
    }
    let (status, rest) = s.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(rest.contains("served 4 connections, fini 0x0, destroy 0x0"), "{rest}");
}

#[test]
fn many_c_clients_at_once_on_the_threaded_c_host() {
    const CLIENTS: usize = 24;
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let s = server(&bin, &root, CLIENTS, &[]);
    let children: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let name = if i % 2 == 0 { "client" } else { "client_recv_thread" };
            Command::new(bin.join(name))
                .arg(s.port.to_string())
                .arg(&policy)
                .arg(format!("{i},{}", i * 2))
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        let expected = format!("count=2 mean={:.2} max={:.2}", i as f64 * 1.5, i as f64 * 2.0);
        assert!(
            out.status.success() && text(&out).contains(&expected),
            "client {i}: {}",
            text(&out)
        );
    }
    let (status, rest) = s.wait().unwrap();
    assert!(status.success(), "{rest}");
}

/// valgrind on the host server and both clients (memory errors and leaks fail the run),
/// and the enclave program built with AddressSanitizer and UBSan.
#[test]
fn c_examples_are_clean_under_valgrind_and_sanitizers() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "-fsanitize=address,undefined -fno-omit-frame-pointer").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let valgrind = [
        "valgrind",
        "-q",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite,indirect",
        "--error-exitcode=99",
    ];
    let s = server(&bin, &root, 2, &valgrind);
    for name in ["client", "client_recv_thread"] {
        let out = client(&bin, name, s.port, &policy, &valgrind);
        assert!(out.status.success(), "{name} under valgrind: {}", text(&out));
        assert!(text(&out).contains(RESULT), "{name}: {}", text(&out));
    }
    let (status, rest) = s.wait().unwrap();
    assert!(status.success(), "server under valgrind: {status:?} {rest}");
}

/// The C host supervises the enclave process: killed, it is restarted, and new clients
/// attest the new process.
#[test]
fn the_c_host_restarts_a_killed_enclave() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let s = server(&bin, &root, 0, &[]);
    let first = client(&bin, "client", s.port, &policy, &[]);
    assert!(first.status.success(), "{}", text(&first));

    let enclave_pids = || {
        let out = Command::new("pgrep")
            .arg("-P")
            .arg(s.pid().to_string())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let before = enclave_pids();
    assert_eq!(before.len(), 1, "one enclave process: {before:?}");
    assert!(
        Command::new("kill")
            .arg("-9")
            .arg(&before[0])
            .status()
            .unwrap()
            .success()
    );

    // The supervisor notices within a fraction of a second and starts a new process.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let restarted = loop {
        let now = enclave_pids();
        if now.len() == 1 && now != before {
            break now;
        }
        assert!(std::time::Instant::now() < deadline, "no restart: {now:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let again = client(&bin, "client", s.port, &policy, &[]);
    assert!(
        again.status.success() && text(&again).contains(RESULT),
        "{}",
        text(&again)
    );
    assert_eq!(enclave_pids(), restarted);
}

/// The C enclave takes `--sim-root FILE` like `secure-channel enclave`, so the Rust host
/// (`serve --enclave`, `demo --enclave`, here the shared stack, which starts it as
/// `<program> enclave --sim-root FILE`) can run it; it says on stderr that attestation is
/// simulated, and the C client says so too.
#[test]
fn the_c_enclave_takes_its_root_key_as_an_argument() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let stack = sc_test_support::stack::Stack::start(&bin.join("enclave"));
    let mut client =
        sc_client::TcpClient::connect(stack.addr, stack.client(), std::time::Duration::from_secs(10)).unwrap();
    let reply = client.request(DATA.as_bytes()).unwrap();
    assert_eq!(String::from_utf8_lossy(&reply), "count=8 mean=3.88 max=9.00");
}

/// A C function registered for plaintext (`cc_sec_chl_enclave_register_plain`, function 2
/// of the example) answers the same job as the original shape, and only ever sees what
/// authenticated: a forged record is refused by the runtime before it runs, the genuine
/// record with that number is answered after it, and a reordered pair is put back in the
/// client's order.
#[test]
fn a_plaintext_c_function_is_given_only_authenticated_requests_in_order() {
    use sc_boundary::{EnclaveTransport, Request, Response};
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let mut options = sc_test_support::stack::StackOptions::new(&bin.join("enclave"));
    options.limits.data_function = 2;
    let stack = sc_test_support::stack::Stack::start_with(options);
    let mut client =
        sc_client::TcpClient::connect(stack.addr, stack.client(), std::time::Duration::from_secs(10)).unwrap();
    let reply = client.request(DATA.as_bytes()).unwrap();
    assert_eq!(String::from_utf8_lossy(&reply), "count=8 mean=3.88 max=9.00");
    // As the host: a forged record, then the genuine one and the next, out of order.
    let id = client.client().session_id().unwrap();
    let call = |record: Vec<u8>| {
        stack.child.submit(Request::App {
            session_id: id,
            function: 2,
            record,
        })
    };
    let genuine = client.client().encrypt(b"1,2").unwrap();
    let next = client.client().encrypt(b"5").unwrap();
    let mut forged = genuine.clone();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    let refused = call(forged).unwrap().wait().unwrap();
    assert!(
        matches!(&refused, Response::Error(e) if e.message.contains("authentication")),
        "{refused:?}"
    );
    let later = call(next).unwrap();
    let first = call(genuine).unwrap();
    for (pending, want) in [
        (first, "count=2 mean=1.50 max=2.00"),
        (later, "count=1 mean=5.00 max=5.00"),
    ] {
        let Response::App { record } = pending.wait().unwrap() else {
            panic!("no reply")
        };
        assert_eq!(
            String::from_utf8_lossy(&client.client().decrypt(&record).unwrap()),
            want
        );
    }
}

/// Without a root key the C enclave program says what is missing and exits non-zero at
/// once (the host's supervisor then backs off instead of restarting it forever).
#[test]
fn the_c_enclave_without_a_root_key_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let out = Command::new(bin.join("enclave"))
        .env_remove("SECURE_CHANNEL_SIM_ROOT")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(
        t.contains(
            "the simulated attester needs its root key file: set SECURE_CHANNEL_SIM_ROOT=FILE or pass --sim-root FILE"
        ),
        "{t}"
    );
    assert!(
        t.contains("enclave: runtime failed: CC_ERROR_SEC_CHL_GET_RA_REPORT: "),
        "{t}"
    );
}

/// The C client behind a hostile relay between it and the C host: the enclave's records
/// duplicated, or replaced by a forged Close or EndOfStream. The client fails with a code
/// and never prints a result. (The example client has no deadline of its own, so drops,
/// which leave it waiting, are the Rust and Python clients' tests.)
#[test]
fn the_c_client_refuses_edited_records_from_a_hostile_host() {
    use sc_test_support::relay::{Framing, Tamper, relay_framed};
    let dir = tempfile::tempdir().unwrap();
    let bin = build_examples(dir.path(), "").unwrap();
    let (root, policy) = sim_setup(dir.path(), &bin.join("enclave")).unwrap();
    let s = server(&bin, &root, 4, &[]);
    let target: std::net::SocketAddr = format!("127.0.0.1:{}", s.port).parse().unwrap();
    // The enclave's first record is its SessionAck, the second the result.
    for down in [Tamper::Duplicate(0), Tamper::ForgeClose(1), Tamper::ForgeEndOfStream(1)] {
        let port = relay_framed(target, Framing::Sample, Tamper::Nothing, down).port();
        let out = client(&bin, "client", port, &policy, &["timeout", "30"]);
        let t = text(&out);
        assert!(!out.status.success(), "{down:?}: {t}");
        assert_ne!(out.status.code(), Some(124), "{down:?}: the client hung: {t}");
        assert!(!t.contains("client: result:"), "{down:?}: {t}");
    }
    // Faithful through the same kind of relay: the result.
    let port = relay_framed(target, Framing::Sample, Tamper::Nothing, Tamper::Nothing).port();
    let out = client(&bin, "client", port, &policy, &[]);
    assert!(out.status.success() && text(&out).contains(RESULT), "{}", text(&out));
}
