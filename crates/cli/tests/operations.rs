//! Running `serve` as an operator does: a configuration file, the operations endpoint
//! scraped during real sessions, real signals (SIGTERM, SIGINT, SIGHUP), and the enclave
//! program running apart from the host over a socket.

#[path = "common/serve_process.rs"]
mod serve_process;

use sc_client::{ClientError, ClientTimeouts, TcpClient};
use sc_protocol::io::read_message;
use sc_protocol::msgs::{AlertCode, Frame, MessageType};
use serve_process::{ServeProcess, client_hello, connect_from, refusal, sample, spawn_reading_first_line, within};
use std::io::Write;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_secure-channel");

fn client(s: &ServeProcess) -> TcpClient {
    TcpClient::connect_with(s.addr, s.config(), ClientTimeouts::default()).unwrap()
}

#[test]
fn check_config_prints_the_effective_configuration_or_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.key");
    sc_attestation::sim::SimRoot::from_secret([7; 32]).write(&root).unwrap();
    let config = dir.path().join("serve.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:7300\"\n[enclave]\nsim_root = \"root.key\"\n[limits]\nmax_pending = 11\n\
         [log]\nformat = \"json\"\n[shutdown]\ndrain_timeout = \"7s\"\n",
    )
    .unwrap();
    let out = Command::new(EXE)
        .args(["serve", "--check-config", "--config"])
        .arg(&config)
        .args(["--max-sessions", "99"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in [
        "# configuration OK",
        "listen = \"127.0.0.1:7300\"",
        "max_pending = 11",
        "max_sessions = 99",
        "format = \"json\"",
        "drain_timeout = \"7s\"",
        &format!("sim_root = \"{}\"", root.display()),
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:7300\"\n[limits]\nmax_pending = 11\nmax_sesions = 3\n",
    )
    .unwrap();
    let out = Command::new(EXE)
        .args(["serve", "--check-config", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("max_sesions") && err.contains("line 4"), "{err}");
}

#[test]
fn metrics_and_health_follow_real_sessions() {
    let s = ServeProcess::start(&["--metrics-listen", "127.0.0.1:0"]);
    assert_eq!(s.ops_get("/healthz").0, 200);
    assert_eq!(s.ops_get("/readyz"), (200, "ready\n".into()));
    let before = s.ops_get("/metrics").1;
    let mut c = client(&s);
    for _ in 0..3 {
        assert!(c.request(b"1,2,3").unwrap().starts_with(b"count=3"));
    }
    let during = s.ops_get("/metrics").1;
    assert_eq!(sample(&during, "sc_sessions"), 1.0, "{during}");
    assert_eq!(sample(&during, "sc_connections"), 1.0);
    c.close().unwrap();
    // A second client that the host refuses at the frame header (another wire version).
    let mut bad = connect_from(Ipv4Addr::LOCALHOST, s.addr).unwrap();
    let mut hello = client_hello(&s.config());
    hello[1] ^= 0xff;
    bad.write_all(&hello).unwrap();
    assert_eq!(
        refusal(&mut bad, Duration::from_secs(5)).0,
        Some(AlertCode::ProtocolVersion)
    );
    let after = |m: &str| {
        let now = s.ops_get("/metrics").1;
        sample(&now, m) - sample(&before, m)
    };
    assert!(within(Duration::from_secs(5), || after(
        "sc_handshakes_total{outcome=\"protocol_version\"}"
    ) == 1.0));
    let now = s.ops_get("/metrics").1;
    let delta = |m: &str| sample(&now, m) - sample(&before, m);
    assert_eq!(delta("sc_handshakes_total{outcome=\"established\"}"), 1.0, "{now}");
    assert_eq!(delta("sc_handshake_duration_seconds_count"), 1.0);
    assert_eq!(delta("sc_boundary_calls_total{call=\"app\",result=\"ok\"}"), 3.0);
    assert!(delta("sc_relayed_bytes_total{direction=\"to_enclave\"}") > 3.0 * 5.0);
    assert!(delta("sc_relayed_bytes_total{direction=\"to_client\"}") > 3.0 * 10.0);
    assert!(within(Duration::from_secs(5), || {
        let m = s.ops_get("/metrics").1;
        sample(&m, "sc_sessions") == 0.0 && sample(&m, "sc_connections") == 0.0
    }));
    assert!(now.ends_with("# EOF\n"));
}

/// SIGTERM and SIGINT alike: not ready, no new connections, the handshake in progress
/// finishes, the established session gets its reply and then the enclave's Close, and
/// the process exits 0.
#[test]
fn sigterm_and_sigint_drain_then_exit_zero() {
    for signal in ["TERM", "INT"] {
        let mut s = ServeProcess::start(&["--metrics-listen", "127.0.0.1:0", "--drain-timeout", "20s"]);
        let config = s.config();
        let mut c = client(&s);
        // A handshake half done: ServerHello received, ClientFinished not yet sent.
        let mut half = connect_from(Ipv4Addr::LOCALHOST, s.addr).unwrap();
        let (hs, hello) =
            sc_protocol::ClientHandshake::start(config.clone(), &mut rand_core::OsRng, sc_protocol::UnixTime::now())
                .unwrap();
        half.write_all(&hello).unwrap();
        let server_hello = read_message(&mut half, 1 << 21).unwrap().unwrap();
        let est = hs
            .read_server_hello(&server_hello, sc_protocol::UnixTime::now())
            .unwrap();
        // A request on its way as the signal comes.
        c.send(b"4,5,6").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        s.signal(signal);
        assert!(
            within(Duration::from_secs(5), || s.ops_get("/readyz").0 == 503),
            "{signal}: still ready"
        );
        assert_eq!(s.ops_get("/readyz").1, "draining\n");
        // New clients are no longer accepted.
        assert!(within(Duration::from_secs(5), || std::net::TcpStream::connect(s.addr).is_err()));
        // The session gets its reply, then the enclave's Close.
        let reply = c.recv();
        assert!(
            matches!(&reply, Ok(r) if r.starts_with(b"count=3")),
            "{signal}: {reply:?}"
        );
        let next = c.recv();
        assert!(
            matches!(next, Err(ClientError::SessionClosed { .. })),
            "{signal}: {next:?}"
        );
        // The half-done handshake finishes: no alert comes back, and then the stream ends.
        half.write_all(&est.client_finished).unwrap();
        half.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        while let Ok(Some(m)) = read_message(&mut half, 1 << 21) {
            let f = Frame::parse(&m, 1 << 21).unwrap();
            assert_ne!(f.msg_type, MessageType::Alert, "{signal}: the handshake was refused");
        }
        let status = s.exit_within(Duration::from_secs(20)).expect("serve did not exit");
        assert!(status.success(), "{signal}: {status}");
        assert!(s.log_contains("drained"), "{}", s.log.lock().unwrap());
        assert!(s.log_contains("enclave program stopped"));
    }
}

/// SIGHUP: the file is read again and new limits apply; a file that no longer parses is
/// refused and the old configuration kept.
#[test]
fn sighup_reloads_limits_and_keeps_the_old_configuration_on_error() {
    let s = ServeProcess::start_with_config("[limits]\nmax_connections_per_source = 8\n", &[]);
    let config = s.dir.path().join("serve.toml");
    let _first = client(&s);
    let _second = client(&s);
    std::fs::write(&config, "[limits]\nmax_connections_per_source = 1\n").unwrap();
    s.signal("HUP");
    assert!(within(Duration::from_secs(5), || s.log_contains("configuration reloaded")));
    // One source now holds more than its share: the next connection is refused as busy.
    let mut third = connect_from(Ipv4Addr::LOCALHOST, s.addr).unwrap();
    assert_eq!(refusal(&mut third, Duration::from_secs(5)).0, Some(AlertCode::Busy));
    std::fs::write(&config, "[limits]\nmax_conections_per_source = 4\n").unwrap();
    s.signal("HUP");
    assert!(within(Duration::from_secs(5), || s.log_contains("configuration refused")));
    let mut fourth = connect_from(Ipv4Addr::LOCALHOST, s.addr).unwrap();
    assert_eq!(
        refusal(&mut fourth, Duration::from_secs(5)).0,
        Some(AlertCode::Busy),
        "the old limit stays"
    );
}

/// `secure-channel enclave --listen ADDR` as its own process and `serve --enclave ADDR`:
/// sessions work; when the enclave goes away the host is not ready and clients get a typed
/// error; when it is back the host reconnects by itself and is ready again.
fn remote_enclave_round_trip(address: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.key");
    sc_attestation::sim::SimRoot::from_secret([0x42; 32])
        .write(&root)
        .unwrap();
    let start_enclave = || {
        let (e, line) = spawn_reading_first_line(
            Command::new(EXE)
                .args(["enclave", "--sim-root"])
                .arg(&root)
                .args(["--listen", address])
                .stderr(Stdio::null()),
        );
        assert!(line.starts_with("enclave listening on "), "{line}");
        e
    };
    let mut enclave = start_enclave();
    let s = ServeProcess::start(&["--enclave", address, "--metrics-listen", "127.0.0.1:0"]);
    let mut c = client(&s);
    assert!(c.request(b"1,2").unwrap().starts_with(b"count=2"));
    enclave.kill().unwrap();
    enclave.wait().unwrap();
    assert!(within(Duration::from_secs(5), || s.ops_get("/readyz").0 == 503));
    assert!(c.request(b"1,2").is_err(), "a request without an enclave");
    let refused = TcpClient::connect_with(s.addr, s.config(), ClientTimeouts::default());
    assert!(
        matches!(refused, Err(ClientError::EnclaveUnavailable)),
        "{:?}",
        refused.err()
    );
    let mut back = start_enclave();
    assert!(
        within(Duration::from_secs(40), || s.ops_get("/readyz").0 == 200),
        "not ready again"
    );
    let mut c = client(&s);
    assert!(c.request(b"5").unwrap().starts_with(b"count=1"));
    let m = s.ops_get("/metrics").1;
    assert!(sample(&m, "sc_enclave_restarts_total") >= 1.0, "{m}");
    back.kill().unwrap();
    back.wait().unwrap();
}

#[test]
fn an_enclave_apart_over_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    remote_enclave_round_trip(&format!("unix://{}", dir.path().join("enclave.sock").display()));
}

#[test]
fn an_enclave_apart_over_tcp() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    remote_enclave_round_trip(&format!("tcp://127.0.0.1:{port}"));
}

/// Over vsock where the kernel offers local vsock (CID 1, the vsock_loopback module);
/// elsewhere the test says so and returns.
#[test]
fn an_enclave_apart_over_vsock_where_the_kernel_offers_it() {
    if !std::path::Path::new("/sys/module/vsock_loopback").exists() {
        eprintln!("vsock: this kernel has no vsock_loopback module loaded; skipped");
        return;
    }
    let port = 20_000 + (std::process::id() % 10_000);
    remote_enclave_round_trip(&format!("vsock://1:{port}"));
}
