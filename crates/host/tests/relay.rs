//! The relay's routing rules and limits, with an in-process enclave (test-double
//! attestation: this file tests the host, not attestation).

use rand_core::OsRng;
use sc_boundary::InProcess;
use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
use sc_host::{ConnId, EvictHook, Host, HostError, HostLimits, Routed, SessionRoutes};
use sc_protocol::{ClientConfig, ClientHandshake, Session, UnixTime};
use sc_test_support::double;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

fn now() -> UnixTime {
    double::NOW
}

struct Fixture {
    host: Arc<Host>,
    sessions: Arc<SessionManager>,
    client: Arc<ClientConfig>,
    /// The host's clock: it stands still unless a test moves it.
    start: Instant,
}

impl Fixture {
    /// The host's time `after` its start (it never moves by itself).
    fn at(&self, after: Duration) -> Instant {
        self.start + after
    }
}

fn fixture(limits: HostLimits) -> Fixture {
    let sessions = Arc::new(SessionManager::new(double::enclave(), None, EnclaveLimits::default()));
    let mut service = ChannelService::new(sessions.clone(), Arc::new(now));
    service.register(1, Arc::new(|_, r: &[u8]| r.to_vec()));
    let start = Instant::now();
    let host = Arc::new(Host::with_clock(
        Arc::new(InProcess::new(Arc::new(service))),
        limits,
        Arc::new(move || start),
    ));
    let client = double::client();
    Fixture {
        host,
        sessions,
        client,
        start,
    }
}

fn reply(r: Result<Routed, HostError>) -> Vec<u8> {
    match r.unwrap() {
        Routed::Reply(m) => m,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// A full handshake through the host on `conn`.
fn establish(f: &Fixture, conn: ConnId) -> Session {
    let (hs, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    let server_hello = reply(f.host.handle(conn, &hello));
    let est = hs.read_server_hello(&server_hello, now()).unwrap();
    assert_eq!(f.host.handle(conn, &est.client_finished).unwrap(), Routed::Nothing);
    est.session
}

#[test]
fn relays_data_and_close() {
    let f = fixture(HostLimits::default());
    let conn = f.host.connect();
    let mut s = establish(&f, conn);
    assert_eq!(f.host.counts(), (1, 0));
    let r = reply(f.host.handle(conn, &s.seal(now(), b"echo me").unwrap()));
    assert_eq!(s.open(now(), &r).unwrap(), b"echo me");
    assert_eq!(
        f.host
            .handle(
                conn,
                &s.seal_close(now(), sc_protocol::msgs::CloseReason::Normal).unwrap()
            )
            .unwrap(),
        Routed::Closed
    );
    assert_eq!(f.host.counts(), (0, 0));
    assert_eq!(f.sessions.open_sessions(), 0, "close reached the enclave");
}

#[test]
fn size_limits_are_typed() {
    let f = fixture(HostLimits {
        max_message: 200,
        max_client_hello: 50,
        ..HostLimits::default()
    });
    let conn = f.host.connect();
    assert!(matches!(
        f.host.handle(conn, &[0u8; 201]),
        Err(HostError::TooLarge { len: 201, max: 200 })
    ));
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    assert!(matches!(
        f.host.handle(conn, &hello),
        Err(HostError::TooLarge { max: 50, .. })
    ));
    assert!(matches!(f.host.handle(conn, b"garbage"), Err(HostError::Malformed(_))));
}

#[test]
fn pending_and_session_limits_are_typed() {
    let f = fixture(HostLimits {
        max_pending: 1,
        max_sessions: 1,
        ..HostLimits::default()
    });
    let (a, b) = (f.host.connect(), f.host.connect());
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    reply(f.host.handle(a, &hello));
    // The table is full: the oldest pending handshake (a's) makes room, at the enclave too.
    reply(f.host.handle(b, &hello));
    assert!(!f.host.knows(a), "a was evicted");
    assert_eq!(f.sessions.pending_handshakes(), 1);
    f.host.disconnect(b);
    let b = f.host.connect();
    establish(&f, b);
    let c = f.host.connect();
    assert_eq!(f.host.handle(c, &hello), Err(HostError::TooManySessions));
}

fn hook(flag: &Arc<AtomicUsize>) -> EvictHook {
    let flag = flag.clone();
    Arc::new(move || {
        flag.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn per_source_shares_refuse_and_a_full_table_evicts_the_oldest_handshake() {
    let f = fixture(HostLimits {
        max_pending: 3,
        max_pending_per_source: 2,
        max_connections: 3,
        max_connections_per_source: 3,
        ..HostLimits::default()
    });
    let (one, two): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
    let evicted = Arc::new(AtomicUsize::new(0));
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    let a = f.host.accept(one, hook(&evicted)).unwrap();
    let b = f.host.accept(one, hook(&evicted)).unwrap();
    let c = f.host.accept(one, hook(&evicted)).unwrap();
    assert_eq!(
        f.host.accept(one, hook(&evicted)).unwrap_err(),
        HostError::SourceLimit { what: "connections" }
    );
    reply(f.host.handle(a, &hello));
    reply(f.host.handle(b, &hello));
    let refused = f.host.handle(c, &hello).unwrap_err();
    assert_eq!(
        refused,
        HostError::SourceLimit {
            what: "pending handshakes"
        }
    );
    assert!(refused.is_busy());
    // Another source: the connection table is full (3), so the oldest handshake (a) goes.
    let d = f.host.accept(two, hook(&evicted)).unwrap();
    assert_eq!(evicted.load(Ordering::SeqCst), 1);
    assert!(!f.host.knows(a));
    assert_eq!(
        f.sessions.pending_handshakes(),
        1,
        "a's half-finished handshake was dropped"
    );
    reply(f.host.handle(d, &hello));
    assert_eq!(f.host.counts(), (0, 2));
    // Every connection established: nothing to evict, so the next one is refused.
    let g = fixture(HostLimits {
        max_connections: 1,
        ..HostLimits::default()
    });
    let e = g.host.accept(two, hook(&evicted)).unwrap();
    establish(&g, e);
    assert_eq!(
        g.host.accept(one, hook(&evicted)).unwrap_err(),
        HostError::TooManyConnections
    );
}

#[test]
fn handshakes_past_their_deadline_are_swept_with_the_enclave_state() {
    let f = fixture(HostLimits {
        handshake_timeout: Duration::from_secs(10),
        ..HostLimits::default()
    });
    let evicted = Arc::new(AtomicUsize::new(0));
    let a = f.host.accept("127.0.0.2".parse().unwrap(), hook(&evicted)).unwrap();
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    reply(f.host.handle(a, &hello));
    let b = f.host.connect();
    establish(&f, b);
    // Exactly at the deadline the handshake is still on time; a nanosecond later it is not.
    assert_eq!(f.host.expire(f.at(Duration::from_secs(10))), 0);
    assert_eq!(
        f.host.expire(f.at(Duration::from_secs(10) + Duration::from_nanos(1))),
        1
    );
    assert_eq!(evicted.load(Ordering::SeqCst), 1, "its server was told");
    assert_eq!(f.sessions.pending_handshakes(), 0);
    assert_eq!(f.host.counts(), (1, 0), "the established session stays");
}

#[test]
fn out_of_place_messages_are_refused() {
    let f = fixture(HostLimits::default());
    let (a, b) = (f.host.connect(), f.host.connect());
    let mut sa = establish(&f, a);
    let _sb = establish(&f, b);
    // Data on a connection that has no session yet.
    let fresh = f.host.connect();
    let record = sa.seal(now(), b"x").unwrap();
    assert!(matches!(f.host.handle(fresh, &record), Err(HostError::OutOfPlace(_))));
    // A's record sent on B's connection (cross-wiring by a client).
    assert!(matches!(f.host.handle(b, &record), Err(HostError::OutOfPlace(_))));
    // A second ClientHello on an established connection.
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    assert!(matches!(f.host.handle(a, &hello), Err(HostError::OutOfPlace(_))));
    // Unknown connection.
    f.host.disconnect(fresh);
    assert_eq!(f.host.handle(fresh, &hello), Err(HostError::UnknownConnection));
}

#[test]
fn idle_connections_expire_and_fini_destroys_every_session() {
    let f = fixture(HostLimits {
        idle_timeout: Duration::from_secs(60),
        ..HostLimits::default()
    });
    let (a, b) = (f.host.connect(), f.host.connect());
    establish(&f, a);
    establish(&f, b);
    assert_eq!(
        f.host.expire(f.at(Duration::from_secs(60) - Duration::from_nanos(1))),
        0
    );
    assert_eq!(f.host.expire(f.at(Duration::from_secs(60))), 2);
    assert_eq!(f.sessions.open_sessions(), 0, "expiry dropped the enclave sessions too");

    let (c, d) = (f.host.connect(), f.host.connect());
    establish(&f, c);
    establish(&f, d);
    assert_eq!(f.sessions.open_sessions(), 2);
    f.host.fini();
    assert_eq!(f.host.counts(), (0, 0));
    assert_eq!(f.sessions.open_sessions(), 0);
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    assert_eq!(
        f.host.handle(c, &hello),
        Err(HostError::UnknownConnection),
        "fini forgot every connection"
    );
}

/// Answers every channel message with a refusal (a stand-in enclave for ordering only: no
/// attestation here), but only when the test lets it: each call reports that it arrived
/// and then waits for a release, so the test decides the interleaving, not sleeps.
struct GatedEnclave {
    arrived: Mutex<mpsc::Sender<()>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl sc_boundary::EnclaveService for GatedEnclave {
    fn call(&self, _: sc_boundary::Request) -> sc_boundary::Response {
        self.arrived.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        let alert = sc_protocol::msgs::Alert {
            session_id: 0,
            code: sc_protocol::msgs::AlertCode::Busy,
        };
        sc_boundary::Response::Channel(sc_boundary::ChannelOutcome::Refused {
            alert: alert.to_frame(),
        })
    }
}

#[test]
fn concurrent_hellos_share_the_pending_limit() {
    let (arrived_tx, arrived) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let enclave = GatedEnclave {
        arrived: Mutex::new(arrived_tx),
        release: Mutex::new(release_rx),
    };
    let host = Arc::new(Host::new(
        Arc::new(InProcess::new(Arc::new(enclave))),
        HostLimits {
            max_pending: 1,
            ..HostLimits::default()
        },
    ));
    let f = fixture(HostLimits::default());
    let (_, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    let send_hello = |host: Arc<Host>, hello: Vec<u8>| {
        std::thread::spawn(move || {
            let conn = host.connect();
            host.handle(conn, &hello)
        })
    };
    // The first hello is at the enclave, holding the only slot.
    let first = send_hello(host.clone(), hello.clone());
    arrived.recv().unwrap();
    assert_eq!(host.counts(), (0, 1));
    // The second takes that slot (nothing else to evict) and reaches the enclave too.
    let second = send_hello(host.clone(), hello);
    arrived.recv().unwrap();
    assert_eq!(host.counts(), (0, 1), "one slot, now the second hello's");
    release.send(()).unwrap();
    release.send(()).unwrap();
    // Exactly one of them is answered: the first's answer is dropped.
    assert_eq!(
        first.join().unwrap(),
        Err(HostError::UnknownConnection),
        "evicted while at the enclave"
    );
    assert!(matches!(second.join().unwrap(), Ok(Routed::Reply(_))));
    assert_eq!(host.counts(), (0, 0), "the refusal released the slot");
}

/// A full handshake through session routes (no connection in sight).
fn establish_routed(f: &Fixture, routes: &SessionRoutes) -> Session {
    let (hs, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    let server_hello = reply(routes.handle(&hello));
    let est = hs.read_server_hello(&server_hello, now()).unwrap();
    assert_eq!(routes.handle(&est.client_finished).unwrap(), Routed::Nothing);
    est.session
}

#[test]
fn session_routes_find_each_session_by_its_id() {
    let f = fixture(HostLimits::default());
    let routes = SessionRoutes::new(f.host.clone());
    let mut a = establish_routed(&f, &routes);
    let mut b = establish_routed(&f, &routes);
    assert_eq!((routes.len(), f.host.counts()), (2, (2, 0)));
    for (s, text) in [(&mut b, &b"to b"[..]), (&mut a, &b"to a"[..])] {
        let r = reply(routes.handle(&s.seal(now(), text).unwrap()));
        assert_eq!(s.open(now(), &r).unwrap(), text);
    }
    // A second ClientFinished for an open session is out of place, as on a connection.
    let (hs, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
    let est = hs.read_server_hello(&reply(routes.handle(&hello)), now()).unwrap();
    let mut forged = est.client_finished.clone();
    forged[6..14].copy_from_slice(&a.id().to_be_bytes());
    assert!(matches!(routes.handle(&forged), Err(HostError::OutOfPlace(_))));
    // Close ends the route; the session is gone from the enclave too.
    let late = a.seal(now(), b"late").unwrap();
    reply(routes.handle(&late));
    let close = a.seal_close(now(), sc_protocol::msgs::CloseReason::Normal).unwrap();
    assert_eq!(routes.handle(&close).unwrap(), Routed::Closed);
    assert_eq!(routes.handle(&late).unwrap_err(), HostError::UnknownSession);
    let mut unknown = b.seal(now(), b"x").unwrap();
    unknown[6..14].copy_from_slice(&999u64.to_be_bytes());
    assert_eq!(routes.handle(&unknown).unwrap_err(), HostError::UnknownSession);
    assert!(routes.drop_session(b.id()));
    assert!(!routes.drop_session(b.id()));
    assert_eq!(f.sessions.open_sessions(), 0);
    // The unfinished handshake expires at the host's handshake deadline.
    assert_eq!(routes.len(), 1);
    assert_eq!(routes.expire(f.at(Duration::from_secs(10))), 0);
    assert_eq!(
        routes.expire(f.at(Duration::from_secs(10) + Duration::from_nanos(1))),
        1
    );
    assert!(routes.is_empty());
    assert!(matches!(routes.handle(b"junk"), Err(HostError::Malformed(_))));
}

#[test]
fn acknowledged_sessions_get_their_finished_and_close_answered() {
    let f = fixture(HostLimits::default());
    let client = Arc::new(double::client_builder().acknowledgements(true).build().unwrap());
    // Through a connection: the SessionAck is relayed and the channel is open.
    let conn = f.host.connect();
    let (hs, hello) = ClientHandshake::start(client.clone(), &mut OsRng, now()).unwrap();
    let mut est = hs
        .read_server_hello(&reply(f.host.handle(conn, &hello)), now())
        .unwrap();
    let ack = reply(f.host.handle(conn, &est.client_finished));
    est.session.open_ack(now(), &ack).unwrap();
    assert_eq!(f.host.counts(), (1, 0));
    let r = reply(f.host.handle(conn, &est.session.seal(now(), b"x").unwrap()));
    assert_eq!(est.session.open(now(), &r).unwrap(), b"x");

    // Through session routes (the C interface): the Close is answered with the enclave's.
    let routes = SessionRoutes::new(f.host.clone());
    let (hs, hello) = ClientHandshake::start(client, &mut OsRng, now()).unwrap();
    let mut est = hs.read_server_hello(&reply(routes.handle(&hello)), now()).unwrap();
    let ack = reply(routes.handle(&est.client_finished));
    est.session.open_ack(now(), &ack).unwrap();
    let close = est
        .session
        .seal_close(now(), sc_protocol::msgs::CloseReason::Normal)
        .unwrap();
    match routes.handle(&close).unwrap() {
        Routed::ClosedWithReply(answer) => assert!(matches!(
            est.session.open(now(), &answer),
            Err(sc_protocol::RecordError::PeerClosed(_))
        )),
        other => panic!("expected the enclave's close, got {other:?}"),
    }
    assert!(routes.is_empty());
    assert_eq!(
        f.sessions.open_sessions(),
        1,
        "only the first connection's session is left"
    );
}

/// Found by the host_relay fuzz target: handshakes admitted while there was room for
/// sessions (the check was at the ClientHello) all finished, and the host held more
/// sessions than `max_sessions`. The check is now made again, atomically, when a
/// ClientFinished goes to the enclave.
#[test]
fn handshakes_admitted_with_room_cannot_finish_past_the_session_limit() {
    let f = fixture(HostLimits {
        max_sessions: 2,
        max_pending: 4,
        ..HostLimits::default()
    });
    // Four handshakes answered while no session is open.
    let pending: Vec<_> = (0..4)
        .map(|_| {
            let conn = f.host.connect();
            let (hs, hello) = ClientHandshake::start(f.client.clone(), &mut OsRng, now()).unwrap();
            let est = hs
                .read_server_hello(&reply(f.host.handle(conn, &hello)), now())
                .unwrap();
            (conn, est)
        })
        .collect();
    assert_eq!(f.host.counts(), (0, 4));
    let mut finished = 0;
    for (conn, est) in &pending {
        match f.host.handle(*conn, &est.client_finished) {
            Ok(Routed::Nothing) => finished += 1,
            Err(HostError::TooManySessions) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(finished, 2);
    assert_eq!(f.host.counts().0, 2);
    assert!(f.sessions.open_sessions() <= 2, "{}", f.sessions.open_sessions());
}
