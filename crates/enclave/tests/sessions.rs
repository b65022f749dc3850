//! The enclave's session manager: handshakes, records by session id, limits, expiry.
//! Attestation is the test double here (this file tests session management).

use sc_boundary::ChannelOutcome;
use sc_enclave::{EnclaveError, EnclaveLimits, SessionManager};
use sc_protocol::codec::Codec;
use sc_protocol::msgs::{Alert, AlertCode};
use sc_protocol::{ClientHandshake, Error, Session};
use sc_test_support::double::{self, NOW};
use std::sync::Arc;
use std::time::Duration;

fn manager(limits: EnclaveLimits) -> SessionManager {
    SessionManager::new(double::enclave(), None, limits)
}

fn hello(seed: u64) -> (ClientHandshake, Vec<u8>) {
    ClientHandshake::start(double::client(), &mut double::rng(seed), NOW).unwrap()
}

fn establish(m: &SessionManager, seed: u64) -> Session {
    let (hs, ch) = hello(seed);
    let ChannelOutcome::Accepted { server_hello: sh, .. } = m.handle_channel(&ch, NOW).unwrap() else {
        panic!()
    };
    let est = hs.read_server_hello(&sh, NOW).unwrap();
    assert_eq!(
        m.handle_channel(&est.client_finished, NOW).unwrap(),
        ChannelOutcome::Established { ack: None }
    );
    est.session
}

#[test]
fn records_by_session_id_in_both_directions() {
    let m = manager(EnclaveLimits::default());
    let mut s = establish(&m, 1);
    let id = s.id();
    for i in 0..3u8 {
        let r = s.seal(NOW, &[i; 100]).unwrap();
        assert_eq!(m.decrypt(id, &r, NOW).unwrap(), vec![i; 100]);
        let back = m.encrypt(id, &[i + 10; 5], NOW).unwrap();
        assert_eq!(s.open(NOW, &back).unwrap(), vec![i + 10; 5]);
    }
    assert_eq!(
        m.decrypt(id ^ 1, &s.seal(NOW, b"x").unwrap(), NOW),
        Err(EnclaveError::UnknownSession)
    );
    assert_eq!(m.encrypt(12345, b"x", NOW), Err(EnclaveError::UnknownSession));
}

#[test]
fn at_capacity_the_client_gets_a_busy_alert() {
    let m = manager(EnclaveLimits {
        max_pending: 1,
        ..EnclaveLimits::default()
    });
    let (_, ch1) = hello(1);
    assert!(matches!(
        m.handle_channel(&ch1, NOW).unwrap(),
        ChannelOutcome::Accepted { .. }
    ));
    let (hs2, ch2) = hello(2);
    let ChannelOutcome::Refused { alert } = m.handle_channel(&ch2, NOW).unwrap() else {
        panic!()
    };
    let body = &alert[sc_protocol::msgs::FRAME_HEADER_LEN..];
    assert_eq!(Alert::read_exact(body, "alert").unwrap().code, AlertCode::Busy);
    assert_eq!(
        hs2.read_server_hello(&alert, NOW).unwrap_err(),
        Error::PeerAlert(AlertCode::Busy)
    );
    assert_eq!(m.pending_handshakes(), 1);
}

#[test]
fn idle_sessions_and_stale_handshakes_expire() {
    let m = manager(EnclaveLimits {
        idle_timeout: Duration::from_secs(60),
        ..EnclaveLimits::default()
    });
    let s = establish(&m, 1);
    let (_, ch) = hello(2);
    m.handle_channel(&ch, NOW).unwrap();
    assert_eq!((m.open_sessions(), m.pending_handshakes()), (1, 1));
    assert_eq!(m.expire(NOW.saturating_add(Duration::from_secs(10))), 0);
    // The handshake deadline (30 s) passes first, then the idle timeout.
    assert_eq!(m.expire(NOW.saturating_add(Duration::from_secs(31))), 1);
    assert_eq!(m.expire(NOW.saturating_add(Duration::from_secs(61))), 1);
    assert_eq!((m.open_sessions(), m.pending_handshakes()), (0, 0));
    assert_eq!(m.encrypt(s.id(), b"x", NOW), Err(EnclaveError::UnknownSession));
}

#[test]
fn bad_client_finished_gets_an_alert_and_no_session() {
    let m = manager(EnclaveLimits::default());
    let (hs, ch) = hello(1);
    let ChannelOutcome::Accepted { server_hello: sh, .. } = m.handle_channel(&ch, NOW).unwrap() else {
        panic!()
    };
    let mut cf = hs.read_server_hello(&sh, NOW).unwrap().client_finished;
    let n = cf.len();
    cf[n - 1] ^= 1;
    let ChannelOutcome::Refused { alert } = m.handle_channel(&cf, NOW).unwrap() else {
        panic!()
    };
    let body = &alert[sc_protocol::msgs::FRAME_HEADER_LEN..];
    assert_eq!(Alert::read_exact(body, "alert").unwrap().code, AlertCode::BadFinished);
    assert_eq!((m.open_sessions(), m.pending_handshakes()), (0, 0));
    assert!(m.handle_channel(b"junk", NOW).is_err());
}

#[test]
fn concurrent_hellos_never_overshoot_the_capacity() {
    let m = Arc::new(manager(EnclaveLimits {
        max_pending: 7,
        max_sessions: 1_000,
        ..EnclaveLimits::default()
    }));
    let accepted: usize = (0..8u64)
        .map(|t| {
            let m = m.clone();
            std::thread::spawn(move || {
                (0..25u64)
                    .filter(|i| {
                        let (_, ch) = hello(t * 100 + i);
                        let outcome = m.handle_channel(&ch, NOW).unwrap();
                        assert!(m.pending_handshakes() <= 7);
                        matches!(outcome, ChannelOutcome::Accepted { .. })
                    })
                    .count()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    assert_eq!(accepted, 7, "exactly the capacity, whatever the interleaving");
    assert_eq!(m.pending_handshakes(), 7);
    // Pending handshakes count against the session limit too.
    let m = manager(EnclaveLimits {
        max_sessions: 2,
        ..EnclaveLimits::default()
    });
    establish(&m, 1);
    let (_, ch) = hello(2);
    assert!(matches!(
        m.handle_channel(&ch, NOW).unwrap(),
        ChannelOutcome::Accepted { .. }
    ));
    let (_, ch) = hello(3);
    assert!(matches!(
        m.handle_channel(&ch, NOW).unwrap(),
        ChannelOutcome::Refused { .. }
    ));
}

#[test]
fn a_seeded_manager_is_reproducible() {
    let run = |seed| {
        let m = manager(EnclaveLimits::default()).with_seed(seed);
        let (_, ch) = hello(1);
        match m.handle_channel(&ch, NOW).unwrap() {
            ChannelOutcome::Accepted {
                session_id,
                server_hello,
            } => (session_id, server_hello),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5).0, run(6).0);
}

#[test]
fn records_of_many_sessions_at_once_stay_with_their_session() {
    // 32 sessions on 32 threads: each session's records are protected under its own lock,
    // looked up under its shard's; every record must come back to its own session.
    let m = Arc::new(manager(EnclaveLimits::default()));
    let sessions: Vec<Session> = (0..32).map(|i| establish(&m, 1000 + i)).collect();
    let threads: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            let m = m.clone();
            std::thread::spawn(move || {
                for i in 0..50u32 {
                    let r = s.seal(NOW, &i.to_be_bytes()).unwrap();
                    assert_eq!(m.decrypt(s.id(), &r, NOW).unwrap(), i.to_be_bytes());
                    let back = m.encrypt(s.id(), &i.to_le_bytes(), NOW).unwrap();
                    assert_eq!(s.open(NOW, &back).unwrap(), i.to_le_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(m.open_sessions(), 32);
}

/// Found by fuzzing (enclave_handshake): a ClientFinished edited to name another session
/// must not touch this one: its handshake stays pending (until its deadline) and no
/// session opens.
#[test]
fn a_finished_naming_another_session_leaves_the_handshake_pending() {
    let m = manager(EnclaveLimits::default());
    let (hs, ch) = hello(1);
    let ChannelOutcome::Accepted { server_hello, .. } = m.handle_channel(&ch, NOW).unwrap() else {
        panic!()
    };
    let est = hs.read_server_hello(&server_hello, NOW).unwrap();
    let mut other = est.client_finished.clone();
    other[6] ^= 0x80;
    assert_eq!(m.handle_channel(&other, NOW), Err(EnclaveError::UnknownSession));
    assert_eq!((m.pending_handshakes(), m.open_sessions()), (1, 0));
    assert!(matches!(
        m.handle_channel(&est.client_finished, NOW),
        Ok(ChannelOutcome::Established { .. })
    ));
    assert_eq!((m.pending_handshakes(), m.open_sessions()), (0, 1));
}
