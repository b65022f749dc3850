//! The host under hostile load: a real `secure-channel serve` process, real TCP on
//! loopback, attackers from distinct 127.0.0.x sources. Every loop is bounded in count and
//! time; these tests assert behaviour (refusals, deadlines, recovery), never speed.

#[path = "common/serve_process.rs"]
mod serve_process;

use sc_client::{ClientError, TcpClient};
use sc_protocol::msgs::{AlertCode, MessageType, frame_header};
use serve_process::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn legit_request(server: &ServeProcess) -> Result<Vec<u8>, ClientError> {
    let mut c = TcpClient::connect(server.addr, server.config(), Duration::from_secs(10))?;
    let reply = c.request(b"1,2,3")?;
    c.close()?;
    Ok(reply)
}

#[test]
fn unfinished_hello_flood_from_many_sources_leaves_room_and_recovers() {
    let server = ServeProcess::start(&[
        "--max-pending",
        "48",
        "--max-pending-per-source",
        "8",
        "--handshake-timeout",
        "2s",
    ]);
    let config = server.config();
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    let (fds, threads) = (server.fds(), server.threads());

    // 10 sources x 10 unfinished hellos: 8 pending handshakes allowed per source, 48 in all.
    let mut flood: Vec<TcpStream> = Vec::new();
    for i in 0..100 {
        let mut s = connect_from(source(i % 10), server.addr).unwrap();
        s.write_all(&client_hello(&config)).unwrap();
        flood.push(s);
    }
    // During the flood a legitimate client from its own address is served.
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");

    // Over its share, a source is told the server is busy; over the table, the heaviest
    // source's oldest handshake is evicted with the busy alert; the rest get their
    // ServerHello and then, unfinished, the timeout alert at the handshake deadline.
    // Nobody gets a bare close.
    let started = Instant::now();
    let (mut busy, mut timed_out) = (0, 0);
    for s in &mut flood {
        match refusal(s, Duration::from_secs(6)) {
            (Some(AlertCode::Busy), true) => busy += 1,
            (None, false) => match refusal(s, Duration::from_secs(6)) {
                // That was the ServerHello; then the deadline, or an eviction.
                (Some(AlertCode::Timeout), true) => timed_out += 1,
                (Some(AlertCode::Busy), true) => busy += 1,
                other => panic!("after the ServerHello: {other:?}"),
            },
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(busy + timed_out, 100);
    assert!(
        busy >= 20 + 32,
        "20 over their source's share, 32 over the table: {busy}"
    );
    assert!((1..=48).contains(&timed_out), "{timed_out}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    drop(flood);
    assert!(
        within(Duration::from_secs(6), || server.fds() <= fds
            && server.threads() <= threads + 2),
        "descriptors {} (baseline {fds}), threads {} (baseline {threads})",
        server.fds(),
        server.threads()
    );
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
}

#[test]
fn a_full_pending_table_evicts_the_oldest_handshake() {
    // One slot per source would refuse the legitimate client's source only if it were
    // already holding one; a full table evicts the oldest instead of refusing.
    let server = ServeProcess::start(&["--max-pending", "4", "--handshake-timeout", "20s"]);
    let config = server.config();
    // One after the other, each holding its slot (its ServerHello arrived) before the next.
    let mut held: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut s = connect_from(source(i), server.addr).unwrap();
            s.write_all(&client_hello(&config)).unwrap();
            assert_eq!(
                refusal(&mut s, Duration::from_secs(5)).0,
                None,
                "a ServerHello, not an alert"
            );
            s
        })
        .collect();
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    // The oldest was evicted with a busy alert, long before its 20 s deadline; the others
    // keep their slots.
    assert_eq!(
        refusal(&mut held[0], Duration::from_secs(5)),
        (Some(AlertCode::Busy), true)
    );
    assert_eq!(refusal(&mut held[1], Duration::from_millis(300)), (None, false));
}

#[test]
fn held_frame_headers_cost_no_memory_and_are_dropped_at_the_frame_deadline() {
    let server = ServeProcess::start(&["--frame-timeout", "2s", "--handshake-timeout", "8s"]);
    let rss = server.rss_kib();
    // 1,000 connections announce a ~1 MiB frame and send no body. Before the handshake
    // (500 of them) such a header is refused at once, unread.
    let mut early: Vec<TcpStream> = (0..500)
        .map(|i| {
            let mut s = connect_from(source(i % 10), server.addr).unwrap();
            s.write_all(&frame_header(MessageType::ClientHello, 1 << 20)).unwrap();
            s
        })
        .collect();
    for s in &mut early {
        assert_eq!(refusal(s, Duration::from_secs(2)), (Some(AlertCode::DecodeError), true));
    }
    // After it (the other 500), a record header is admitted, but its body is read only
    // as it arrives.
    let config = server.config();
    let mut held: Vec<TcpStream> = (0..500)
        .map(|i| established(&config, source(i % 10), server.addr))
        .collect();
    let sent_at = Instant::now();
    for s in &mut held {
        s.write_all(&frame_header(MessageType::ApplicationData, (1 << 20) - 64))
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown_mib = server.rss_kib().saturating_sub(rss) / 1024;
    assert!(grown_mib < 64, "RSS grew by {grown_mib} MiB for 500 held 1 MiB headers");
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    // Each is closed at its frame deadline, with the timeout alert.
    for s in &mut held {
        assert_eq!(refusal(s, Duration::from_secs(5)), (Some(AlertCode::Timeout), true));
    }
    assert!(sent_at.elapsed() < Duration::from_secs(8), "{:?}", sent_at.elapsed());
}

#[test]
fn slowloris_and_idle_connections_are_closed_at_their_deadlines() {
    let server = ServeProcess::start(&[
        "--frame-timeout",
        "1s",
        "--handshake-timeout",
        "3s",
        "--idle-timeout",
        "2s",
    ]);
    let config = server.config();
    // Slowloris: a hello trickled a byte every 200 ms, closed one frame deadline after its
    // first byte, long before the hello could be complete.
    let hello = client_hello(&config);
    let mut slow = connect_from(source(0), server.addr).unwrap();
    let started = Instant::now();
    let mut sent = 0;
    for b in &hello[..20] {
        if slow.write_all(&[*b]).is_err() {
            break;
        }
        sent += 1;
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(sent < 20, "the trickle was cut off");
    let (alert, ended) = refusal(&mut slow, Duration::from_secs(2));
    assert!(ended && matches!(alert, Some(AlertCode::Timeout) | None));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // Silent before the handshake: the handshake deadline.
    let mut silent = connect_from(source(1), server.addr).unwrap();
    let started = Instant::now();
    assert_eq!(
        refusal(&mut silent, Duration::from_secs(6)),
        (Some(AlertCode::Timeout), true)
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(7),
        "{took:?}"
    );

    // Idle after the handshake: the idle timeout, without an alert (it is established).
    let mut idle = TcpClient::connect(server.addr, config, Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    idle.set_request_timeout(Some(Duration::from_secs(6))).unwrap();
    assert!(matches!(idle.recv(), Err(ClientError::ConnectionClosed)));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[test]
fn the_listener_survives_descriptor_exhaustion() {
    // 64 descriptors, and a connection cap set above them on purpose: accepts then fail
    // with EMFILE, which the accept loop must survive.
    let server = ServeProcess::start_with_fd_limit(Some(64), &["--max-connections", "1000"]);
    let mut hogs = Vec::new();
    for _ in 0..100 {
        match TcpStream::connect(server.addr) {
            Ok(s) => hogs.push(s),
            Err(_) => break,
        }
    }
    assert!(
        within(Duration::from_secs(5), || server.log_contains("accept failed")),
        "the failure is logged"
    );
    // Still listening: once descriptors free up, clients are served (the backlog too).
    drop(hogs);
    let mut served = false;
    for _ in 0..50 {
        if legit_request(&server).is_ok() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served, "log: {}", server.log.lock().unwrap());
}

#[test]
fn refused_clients_are_told_the_server_is_busy() {
    let server = ServeProcess::start(&["--max-connections-per-source", "2"]);
    let holders: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(server.addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let err = TcpClient::connect(server.addr, server.config(), Duration::from_secs(5)).unwrap_err();
    assert!(matches!(err, ClientError::ServerBusy), "{err:?}");
    assert!(err.to_string().starts_with("server busy"), "{err}");
    drop(holders);
    assert!(within(Duration::from_secs(6), || legit_request(&server).is_ok()));
}

#[test]
fn the_cli_client_names_the_cause() {
    let server = ServeProcess::start(&["--max-connections-per-source", "1"]);
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, &server.policy).unwrap();
    let connect = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_secure-channel"))
            .args(["connect", "--addr", &server.addr.to_string(), "--data", "1,2"])
            .arg("--policy")
            .arg(&policy)
            .args(extra)
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let holder = TcpStream::connect(server.addr).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (ok, stderr) = connect(&[]);
    assert!(!ok && stderr.contains("server busy"), "{stderr}");
    drop(holder);
    assert!(within(Duration::from_secs(6), || connect(&[]).0));
}

/// A relay that passes the handshake through and swallows every data record: the server
/// never answers a request.
fn swallowing_relay(to: std::net::SocketAddr) -> std::net::SocketAddr {
    use sc_protocol::io::read_message;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut client, _) = listener.accept().unwrap();
        let mut server = TcpStream::connect(to).unwrap();
        let hello = read_message(&mut client, 1 << 21).unwrap().unwrap();
        server.write_all(&hello).unwrap();
        let reply = read_message(&mut server, 1 << 21).unwrap().unwrap();
        client.write_all(&reply).unwrap();
        while let Ok(Some(m)) = read_message(&mut client, 1 << 21) {
            if m[0] != MessageType::ApplicationData.code() {
                server.write_all(&m).unwrap();
            }
        }
    });
    addr
}

#[test]
fn a_request_the_server_never_answers_times_out() {
    let server = ServeProcess::start(&[]);
    let relay = swallowing_relay(server.addr);
    let mut c = TcpClient::connect(relay, server.config(), Duration::from_secs(5)).unwrap();
    c.set_request_timeout(Some(Duration::from_millis(500))).unwrap();
    let started = Instant::now();
    let err = c.request(b"1,2").unwrap_err();
    assert!(matches!(err, ClientError::RequestTimeout(_)), "{err:?}");
    assert!(err.to_string().starts_with("request timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn the_enclave_drops_a_half_finished_handshake_at_the_host_deadline() {
    // The enclave in this process (its session table is then observable); the server and
    // the sockets are the real ones.
    use sc_enclave::program::{ProgramOptions, build_service};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.key");
    let sim = sc_attestation::sim::SimRoot::from_secret([7; 32]);
    sim.write(&root).unwrap();
    let service = build_service(&ProgramOptions::new(&root), |_| {}).unwrap();
    let sessions = service.sessions().clone();
    let transport = std::sync::Arc::new(sc_boundary::InProcess::new(std::sync::Arc::new(service)));
    let host = std::sync::Arc::new(sc_host::Host::new(
        transport,
        sc_host::HostLimits {
            handshake_timeout: Duration::from_secs(1),
            ..sc_host::HostLimits::default()
        },
    ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    sc_host::spawn_server(host.clone(), listener).unwrap();
    let exe = std::env::current_exe().unwrap();
    let config = sc_test_support::sim::client(sim.public_key(), &[sc_attestation::measure_file(&exe).unwrap()]);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&client_hello(&config)).unwrap();
    assert_eq!(refusal(&mut s, Duration::from_secs(5)), (None, false), "a ServerHello");
    assert_eq!(sessions.pending_handshakes(), 1);
    assert_eq!(host.counts(), (0, 1));
    let started = Instant::now();
    assert_eq!(
        refusal(&mut s, Duration::from_secs(5)),
        (Some(AlertCode::Timeout), true)
    );
    assert!(
        within(Duration::from_secs(2), || sessions.pending_handshakes() == 0
            && host.counts() == (0, 0)),
        "enclave {} pending, host {:?}",
        sessions.pending_handshakes(),
        host.counts()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}
