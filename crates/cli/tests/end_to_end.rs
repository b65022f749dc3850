//! The three roles end to end: real TCP on loopback, the real enclave process.

mod common;

use common::*;
use sc_client::{Client, ClientError, TcpClient};
use sc_protocol::io::read_message;
use sc_protocol::{AttestationError, Error};
use std::io::Write;
use std::net::TcpStream;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn end_to_end_through_the_full_stack() {
    let s = stack();
    let mut c = TcpClient::connect(s.addr, s.client(), TIMEOUT).unwrap();
    let claims = c.client().peer_claims().unwrap();
    assert_eq!(
        claims.measurement,
        sc_attestation::measure_file(&enclave_exe()).unwrap()
    );
    assert!(claims.simulated);
    assert_eq!(c.request(b"1, 2, 3, 4").unwrap(), b"count=4 mean=2.50 max=4.00");
    assert_eq!(c.request(b"10").unwrap(), b"count=1 mean=10.00 max=10.00");
    assert!(eventually(TIMEOUT, || s.host.counts() == (1, 0)));
    c.close().unwrap();
    assert!(
        eventually(TIMEOUT, || s.host.counts() == (0, 0)),
        "finish drops the session at the host"
    );
}

#[test]
fn reply_fed_from_inside_the_send_hook_on_the_same_thread() {
    let s = stack();
    let stream = Arc::new(Mutex::new(TcpStream::connect(s.addr).unwrap()));
    let me: Arc<OnceLock<Weak<Client>>> = Arc::new(OnceLock::new());
    let (hook_stream, hook_me) = (stream.clone(), me.clone());
    let hook = move |m: &[u8]| -> std::io::Result<()> {
        let mut st = hook_stream.lock().unwrap();
        st.write_all(m)?;
        if m[0] == 0x01 {
            // ClientHello: read the reply right here and feed it back, on this thread.
            let reply = read_message(&mut *st, 1 << 20)?.expect("reply");
            let client = hook_me.get().and_then(Weak::upgrade).expect("client");
            client.callback(&reply).expect("callback");
        }
        Ok(())
    };
    let client = Arc::new(Client::new(s.client(), Box::new(hook), TIMEOUT));
    me.set(Arc::downgrade(&client)).unwrap();
    let started = Instant::now();
    client.init().unwrap();
    assert!(started.elapsed() < Duration::from_secs(2), "no polling delay");
    let record = client.encrypt(b"5,6").unwrap();
    let mut st = stream.lock().unwrap();
    st.write_all(&record).unwrap();
    let reply = read_message(&mut *st, 1 << 20).unwrap().unwrap();
    drop(st);
    assert_eq!(client.decrypt(&reply).unwrap(), b"count=2 mean=5.50 max=6.00");
}

#[test]
fn sixty_four_concurrent_blocking_clients() {
    let s = stack();
    let config = s.client();
    let threads: Vec<_> = (0..64)
        .map(|i| {
            let (addr, config) = (s.addr, config.clone());
            std::thread::spawn(move || {
                let mut c = TcpClient::connect(addr, config, TIMEOUT).unwrap();
                for j in 0..5 {
                    let reply = c.request(format!("{i},{j}").as_bytes()).unwrap();
                    let max = i.max(j);
                    assert!(String::from_utf8(reply).unwrap().ends_with(&format!("max={max}.00")));
                }
                c.close().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(eventually(TIMEOUT, || s.host.counts() == (0, 0)));
}

#[test]
fn client_whose_policy_does_not_match_refuses_the_channel() {
    let s = stack();
    // The right root (the stack's seed), the wrong measurement.
    let wrong = sim::client(s.root_public_key, &[[0xee; 32]]);
    match TcpClient::connect(s.addr, wrong, TIMEOUT) {
        Err(ClientError::Handshake(Error::Attestation(AttestationError::WrongMeasurement(_)))) => {}
        other => panic!("expected a measurement rejection, got {other:?}"),
    }
}

#[test]
fn enclave_killed_mid_session_fails_fast_and_restarts() {
    let s = stack();
    let mut c = TcpClient::connect(s.addr, s.client(), TIMEOUT).unwrap();
    assert_eq!(c.request(b"1").unwrap(), b"count=1 mean=1.00 max=1.00");
    let session = c.client().session_id().unwrap();
    let record = c.client().encrypt(b"2").unwrap();

    let pid = s.child.pid();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let killed = Instant::now();
    // A call through the dead enclave fails with a typed error, fast.
    let err = s
        .host
        .app_call(session, 1, &record)
        .expect_err("a dead enclave answered");
    assert!(killed.elapsed() < Duration::from_secs(1), "took {:?}", killed.elapsed());
    assert!(
        matches!(
            err,
            sc_host::HostError::Boundary(sc_boundary::BoundaryError::EnclaveExited)
        ) || matches!(err, sc_host::HostError::Enclave(_)),
        "{err:?}"
    );
    // The client's next request fails with a typed error, not wrong plaintext.
    assert!(c.request(b"3").is_err());

    // The supervisor restarts the enclave; new sessions work.
    assert!(eventually(Duration::from_secs(5), || {
        TcpClient::connect(s.addr, s.client(), TIMEOUT)
            .and_then(|mut c| c.request(b"7,8"))
            .is_ok_and(|r| r == b"count=2 mean=7.50 max=8.00")
    }));
}

#[test]
fn handshake_fails_fast_when_the_server_hangs_up() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        drop(conn);
    });
    let started = Instant::now();
    let err = TcpClient::connect(addr, sim::client([1; 32], &[[0; 32]]), TIMEOUT).unwrap_err();
    assert!(matches!(err, ClientError::ConnectionClosed), "{err:?}");
    assert_eq!(err.to_string(), "connection closed by the host");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
}

#[test]
fn sixty_four_concurrent_async_clients() {
    let s = stack();
    let config = s.client();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let addr = s.addr;
        let tasks: Vec<_> = (0..64u32)
            .map(|i| {
                let config = config.clone();
                tokio::spawn(async move {
                    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
                    let mut c = sc_client::AsyncClient::connect(stream, config, TIMEOUT).await.unwrap();
                    assert!(c.peer_claims().unwrap().simulated);
                    for j in 0..5u32 {
                        let reply = c.request(format!("{i},{j}").as_bytes()).await.unwrap();
                        assert!(
                            String::from_utf8(reply)
                                .unwrap()
                                .ends_with(&format!("max={}.00", i.max(j)))
                        );
                    }
                    c.close().await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert!(eventually(TIMEOUT, || s.host.counts() == (0, 0)));
}

#[test]
fn pipelined_calls_can_be_waited_in_any_order() {
    use sc_boundary::{EnclaveTransport, Request, Response};
    let s = stack();
    let mut c = TcpClient::connect(s.addr, s.client(), TIMEOUT).unwrap();
    // One request through the host first: the ClientFinished is then known to have arrived
    // (calls made directly to the enclave below could otherwise overtake it).
    c.request(b"0").unwrap();
    let session_id = c.client().session_id().unwrap();
    let pending: Vec<_> = (0..16u32)
        .map(|i| {
            let record = c.client().encrypt(i.to_string().as_bytes()).unwrap();
            s.child
                .submit(Request::App {
                    session_id,
                    function: 1,
                    record,
                })
                .unwrap()
        })
        .collect();
    // Wait newest first: answers to earlier calls are dispatched by whoever reads them.
    let mut answers: Vec<_> = pending.into_iter().rev().map(|p| p.wait().unwrap()).collect();
    answers.reverse();
    // The replies are sealed in the order of the requests (the enclave runs a session's
    // calls in sequence), so they open in that order.
    for (i, answer) in answers.into_iter().enumerate() {
        let Response::App { record } = answer else {
            panic!("no reply record: {answer:?}")
        };
        let reply = c.client().decrypt(&record).unwrap();
        assert_eq!(reply, format!("count=1 mean={i}.00 max={i}.00").into_bytes());
    }
}

#[test]
fn pipelined_records_through_the_host_come_back_in_order() {
    let s = stack();
    let mut c = TcpClient::connect(s.addr, s.client(), TIMEOUT).unwrap();
    for i in 0..40u32 {
        c.send(format!("{i}, {}", i + 1).as_bytes()).unwrap();
    }
    for i in 0..40u32 {
        assert_eq!(
            c.recv().unwrap(),
            format!("count=2 mean={i}.50 max={}.00", i + 1).into_bytes()
        );
    }
    c.close().unwrap();
    assert!(eventually(TIMEOUT, || s.host.counts() == (0, 0)));
}

#[test]
fn a_refused_record_in_the_pipeline_does_not_strand_the_connection() {
    use sc_protocol::{ClientHandshake, UnixTime};
    let s = stack();
    let mut stream = TcpStream::connect(s.addr).unwrap();
    let now = UnixTime::now();
    let (hs, hello) = ClientHandshake::start(s.client(), &mut rand_core::OsRng, now).unwrap();
    stream.write_all(&hello).unwrap();
    let reply = read_message(&mut stream, 1 << 20).unwrap().unwrap();
    let mut est = hs.read_server_hello(&reply, now).unwrap();
    // Finished, a forged record, a valid record and Close, in one write: the host has both
    // records in flight when the enclave refuses the first, and then meets the Close. The
    // valid record waits for the genuine first one, which never comes: within the
    // enclave's order wait (5 s) it answers with its Close and the session ends.
    let mut burst = est.client_finished.clone();
    let mut forged = est.session.seal(now, b"1").unwrap();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    burst.extend_from_slice(&forged);
    burst.extend_from_slice(&est.session.seal(now, b"2").unwrap());
    burst.extend_from_slice(
        &est.session
            .seal_close(now, sc_protocol::msgs::CloseReason::Normal)
            .unwrap(),
    );
    stream.write_all(&burst).unwrap();
    assert!(
        eventually(Duration::from_secs(40), || s.host.counts() == (0, 0)),
        "the connection thread must finish and drop the session: {:?}",
        s.host.counts()
    );
}

#[test]
fn one_way_calls_leave_no_answers_to_fill_the_boundary() {
    use sc_boundary::{EnclaveTransport, Request};
    let s = stack();
    // 100,000 answers would fill the boundary socket many times over, and nobody reads
    // answers to calls nobody waits for: with answers, these writes would stall for ever.
    let child = s.child.clone();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for id in 0..100_000u64 {
            child.notify(Request::CloseSession { session_id: id + 1 }).unwrap();
        }
        let _ = done.send(());
    });
    assert!(
        finished.recv_timeout(Duration::from_secs(30)).is_ok(),
        "one-way calls stalled the boundary"
    );
    // Calls and their answers still pair up.
    let mut c = TcpClient::connect(s.addr, s.client(), TIMEOUT).unwrap();
    assert_eq!(c.request(b"2,4").unwrap(), b"count=2 mean=3.00 max=4.00");
}

fn acknowledging(s: &Stack) -> Arc<sc_protocol::ClientConfig> {
    Arc::new(s.client_builder().acknowledgements(true).build().unwrap())
}

#[test]
fn acknowledged_clients_over_the_real_stack() {
    let s = stack();
    // Blocking: the TCP client's hook reads the SessionAck as well.
    let mut c = TcpClient::connect(s.addr, acknowledging(&s), TIMEOUT).unwrap();
    assert!(!c.client().awaits_reply());
    assert_eq!(c.request(b"1,2").unwrap(), b"count=2 mean=1.50 max=2.00");
    c.close().unwrap();
    // Async.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(s.addr).await.unwrap();
        let mut c = sc_client::AsyncClient::connect(stream, acknowledging(&s), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(c.request(b"4").await.unwrap(), b"count=1 mean=4.00 max=4.00");
        c.close().await.unwrap();
    });
}

/// A host that drops the enclave's SessionAck: both clients give up within their one
/// handshake deadline (bounded by twice it: the deadline once restarted per step).
#[test]
fn a_dropped_session_ack_times_out_within_the_handshake_deadline() {
    use sc_test_support::relay::{Tamper, relay};
    let s = stack();
    let addr = relay(s.addr, Tamper::Nothing, Tamper::Drop(0));
    let deadline = Duration::from_millis(400);
    let started = std::time::Instant::now();
    let err = TcpClient::connect(addr, acknowledging(&s), deadline).unwrap_err();
    assert!(matches!(err, ClientError::HandshakeTimeout), "{err:?}");
    assert!(started.elapsed() < 2 * deadline, "{:?}", started.elapsed());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        let err = sc_client::AsyncClient::connect(stream, acknowledging(&s), deadline)
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::HandshakeTimeout), "{err:?}");
        assert!(started.elapsed() < 2 * deadline, "{:?}", started.elapsed());
    });
}

#[test]
fn a_caller_may_submit_more_than_the_boundary_holds_before_it_waits() {
    use sc_boundary::{EnclaveTransport, Request};
    let s = stack();
    // 50,000 calls answered with an error each (no such session): megabytes of answers,
    // far more than the boundary socket holds, all submitted before any is waited for.
    // Nobody else is reading answers, so the submitter must drain them itself.
    let child = s.child.clone();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let pending: Vec<_> = (0..50_000u64)
            .map(|i| {
                child
                    .submit(Request::App {
                        session_id: i + 1,
                        function: 1,
                        record: vec![0; 32],
                    })
                    .unwrap()
            })
            .collect();
        let answered = pending.into_iter().filter_map(|p| p.wait().ok()).count();
        let _ = done.send(answered);
    });
    let answered = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("submitting before waiting deadlocked the boundary");
    assert_eq!(answered, 50_000);
}
