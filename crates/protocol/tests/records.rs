//! Record protection against an adversarial network: replay, reflection, cross-session,
//! truncation, old records, reordering; key update; close; expiry.

use sc_protocol::msgs::RECORD_HEADER_LEN;
use sc_protocol::{
    BindingMode, CipherSuite, Incoming, KeyUpdateLimits, REPLAY_WINDOW, RecordError, Session, SessionLimits,
};
use sc_test_support::double::*;
use sc_test_support::pair::*;
use std::time::Duration;

fn pair() -> (Session, Session) {
    let (c, e, _) = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession).handshake();
    (c, e)
}

#[test]
fn replayed_record_is_rejected_and_session_survives() {
    let (mut c, mut e) = pair();
    let r = c.seal(NOW, b"pay 10").unwrap();
    assert_eq!(e.open(NOW, &r).unwrap().unwrap(), b"pay 10");
    assert_eq!(e.open(NOW, &r), Err(RecordError::Replayed));
    let r2 = c.seal(NOW, b"next").unwrap();
    assert_eq!(e.open(NOW, &r2).unwrap().unwrap(), b"next");
}

#[test]
fn reflected_record_is_rejected() {
    let (mut c, _e) = pair();
    let r = c.seal(NOW, b"to the enclave").unwrap();
    // The host sends the client's own record back to it: different direction keys.
    assert_eq!(c.open(NOW, &r), Err(RecordError::Authentication));
}

#[test]
fn record_from_another_session_is_rejected() {
    let (mut c1, mut e1) = pair();
    let other = Pair {
        seed: 8,
        session_id: 77,
        ..Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession)
    };
    let (mut c2, _e2, _) = other.handshake();
    let r = c2.seal(NOW, b"session two").unwrap();
    assert_eq!(e1.open(NOW, &r), Err(RecordError::WrongSession));
    // Even with the session id rewritten to match, the keys differ.
    let mut forged = r.clone();
    forged[6..14].copy_from_slice(&e1.id().to_be_bytes());
    assert_eq!(e1.open(NOW, &forged), Err(RecordError::Authentication));
    let ok = c1.seal(NOW, b"one").unwrap();
    assert_eq!(e1.open(NOW, &ok).unwrap().unwrap(), b"one");
}

#[test]
fn truncated_and_modified_records_are_rejected() {
    let (mut c, mut e) = pair();
    let r = c.seal(NOW, b"0123456789").unwrap();
    for cut in 0..r.len() {
        assert!(
            matches!(e.open(NOW, &r[..cut]), Err(RecordError::Decode(_))),
            "cut at {cut}"
        );
    }
    for byte in 0..r.len() {
        let mut m = r.clone();
        m[byte] ^= 0x01;
        assert!(e.open(NOW, &m).is_err(), "flip in byte {byte} accepted");
    }
    assert_eq!(e.open(NOW, &r).unwrap().unwrap(), b"0123456789");
}

#[test]
fn reordering_inside_the_window_is_accepted_older_is_rejected() {
    let (mut c, mut e) = pair();
    let records: Vec<Vec<u8>> = (0..REPLAY_WINDOW + 10)
        .map(|i| c.seal(NOW, &i.to_be_bytes()).unwrap())
        .collect();
    let newest = records.len() - 1;
    assert!(e.open(NOW, &records[newest]).is_ok());
    // Everything within the window below the newest opens, in reverse order.
    for i in (newest + 1 - REPLAY_WINDOW as usize..newest).rev() {
        let p = e.open(NOW, &records[i]).unwrap().unwrap();
        assert_eq!(p, (i as u64).to_be_bytes());
    }
    assert_eq!(
        e.open(NOW, &records[newest - REPLAY_WINDOW as usize]),
        Err(RecordError::TooOld)
    );
    assert_eq!(e.open(NOW, &records[0]), Err(RecordError::TooOld));
}

#[test]
fn key_update_in_both_directions_with_traffic_continuing() {
    let limits = SessionLimits {
        key_update: KeyUpdateLimits {
            max_records: 3,
            max_bytes: 1 << 20,
        },
        ..SessionLimits::default()
    };
    let (mut c, mut e, _) = Pair::with_limits(
        CipherSuite::X25519ChaCha20Poly1305Sha256,
        BindingMode::IdentityKey,
        limits,
    )
    .handshake();
    for i in 0..20u32 {
        let r = c.seal(NOW, &i.to_be_bytes()).unwrap();
        assert_eq!(e.open(NOW, &r).unwrap().unwrap(), i.to_be_bytes());
        let r = e.seal(NOW, &i.to_be_bytes()).unwrap();
        assert_eq!(c.open(NOW, &r).unwrap().unwrap(), i.to_be_bytes());
    }
    assert_eq!(c.send_epoch(), 6);
    assert_eq!(e.recv_epoch(), 6);
    assert_eq!(e.send_epoch(), 6);
    assert_eq!(c.recv_epoch(), 6);
}

#[test]
fn byte_limit_triggers_key_update_and_reordering_across_it_works() {
    let limits = SessionLimits {
        key_update: KeyUpdateLimits {
            max_records: u64::MAX,
            max_bytes: 1000,
        },
        ..SessionLimits::default()
    };
    let (mut c, mut e, _) =
        Pair::with_limits(CipherSuite::X25519Aes256GcmSha384, BindingMode::PerSession, limits).handshake();
    let a = c.seal(NOW, &[1; 600]).unwrap();
    let b = c.seal(NOW, &[2; 600]).unwrap(); // would cross 1000 bytes: new epoch
    let d = c.seal(NOW, &[3; 10]).unwrap();
    assert_eq!(c.send_epoch(), 1);
    // Deliver across the update out of order: next epoch first, then the old one.
    assert_eq!(e.open(NOW, &b).unwrap().unwrap(), vec![2; 600]);
    assert_eq!(e.open(NOW, &a).unwrap().unwrap(), vec![1; 600]);
    assert_eq!(e.open(NOW, &d).unwrap().unwrap(), vec![3; 10]);
    assert_eq!(e.open(NOW, &a), Err(RecordError::Replayed));
}

#[test]
fn epoch_jumps_are_rejected() {
    let limits = SessionLimits {
        key_update: KeyUpdateLimits {
            max_records: 1,
            max_bytes: u64::MAX,
        },
        ..SessionLimits::default()
    };
    let (mut c, mut e, _) =
        Pair::with_limits(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession, limits).handshake();
    let r0 = c.seal(NOW, b"e0").unwrap();
    let _r1 = c.seal(NOW, b"e1").unwrap();
    let r2 = c.seal(NOW, b"e2").unwrap();
    assert_eq!(e.open(NOW, &r2), Err(RecordError::BadEpoch));
    assert_eq!(e.open(NOW, &r0).unwrap().unwrap(), b"e0");
}

#[test]
fn close_is_authenticated_and_final() {
    let (mut c, mut e) = pair();
    let close = c.seal_close(NOW).unwrap();
    assert_eq!(c.seal(NOW, b"after close"), Err(RecordError::Closed));
    let mut forged = close.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert_eq!(e.open(NOW, &forged), Err(RecordError::Authentication));
    let mut buf = close.clone();
    assert_eq!(e.open_in_place(NOW, &mut buf).unwrap(), Incoming::Close);
    assert_eq!(e.open(NOW, &close), Err(RecordError::Closed));
}

#[test]
fn sessions_expire() {
    let limits = SessionLimits {
        lifetime: Duration::from_secs(60),
        ..SessionLimits::default()
    };
    let (mut c, mut e, _) =
        Pair::with_limits(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession, limits).handshake();
    let r = c.seal(NOW, b"in time").unwrap();
    let later = NOW.saturating_add(Duration::from_secs(60));
    assert!(c.is_expired(later));
    assert_eq!(c.seal(later, b"late"), Err(RecordError::Expired));
    assert_eq!(e.open(later, &r), Err(RecordError::Expired));
}

#[test]
fn size_limits_and_in_place_api() {
    let limits = SessionLimits {
        max_record_plaintext: 100,
        ..SessionLimits::default()
    };
    let (mut c, mut e, _) =
        Pair::with_limits(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession, limits).handshake();
    assert_eq!(
        c.seal(NOW, &[0; 101]),
        Err(RecordError::TooLarge { len: 101, max: 100 })
    );
    let mut short = vec![0u8; RECORD_HEADER_LEN - 1];
    assert_eq!(c.seal_in_place(NOW, &mut short), Err(RecordError::MissingHeaderRoom));
    let mut buf = vec![0u8; RECORD_HEADER_LEN];
    buf.extend_from_slice(b"in place");
    c.seal_in_place(NOW, &mut buf).unwrap();
    assert_eq!(buf.len(), Session::record_len(8));
    match e.open_in_place(NOW, &mut buf).unwrap() {
        Incoming::Data(p) => assert_eq!(p, b"in place"),
        other => panic!("expected data, got {other:?}"),
    }
}

#[test]
fn handshake_frames_are_not_records() {
    let (c, mut e, t) = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession).handshake();
    drop(c);
    assert!(matches!(
        e.open(NOW, &t.client_finished),
        Err(RecordError::NotARecord(_))
    ));
}

#[test]
fn parked_sessions_keep_working_and_are_small() {
    let (mut c, mut e) = pair();
    for i in 0..3u8 {
        c.park();
        e.park();
        let r = c.seal(NOW, &[i; 10]).unwrap();
        e.park();
        assert_eq!(e.open(NOW, &r).unwrap().unwrap(), vec![i; 10]);
        assert_eq!(
            e.open(NOW, &r),
            Err(RecordError::Replayed),
            "parking keeps the replay window"
        );
    }
    // Inline state only: the expanded key schedules live behind pointers.
    assert!(
        std::mem::size_of::<Session>() <= 640,
        "{}",
        std::mem::size_of::<Session>()
    );
}

#[test]
fn seal_into_a_caller_buffer_matches_seal_and_checks_room() {
    let (mut c, mut e) = pair();
    let (mut c2, _) = pair();
    let need = Session::record_len(5);
    let mut small = vec![0u8; need - 1];
    assert_eq!(
        c.seal_into(NOW, b"hello", &mut small),
        Err(RecordError::OutputTooSmall { needed: need })
    );
    // The refusal consumed no sequence number: the next record is byte-identical to
    // what a twin session (same keys, same state) seals with the allocating API.
    let mut out = vec![0xaa; need + 7];
    assert_eq!(c.seal_into(NOW, b"hello", &mut out), Ok(need));
    assert_eq!(out[..need], c2.seal(NOW, b"hello").unwrap()[..]);
    assert!(
        out[need..].iter().all(|&b| b == 0xaa),
        "nothing written past the record"
    );
    assert_eq!(e.open(NOW, &out[..need]).unwrap().unwrap(), b"hello");
}

/// A pair whose client asks for streams (`ask`) and whose enclave offers them (`offer`).
fn stream_pair(ask: bool, offer: bool) -> (Session, Session) {
    let mut p = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession);
    p.client = std::sync::Arc::new(client_builder().streams(ask).build().unwrap());
    p.enclave = sc_protocol::EnclaveConfig::builder()
        .attester(attester())
        .streams(offer)
        .build()
        .unwrap();
    let (c, e, _) = p.handshake();
    (c, e)
}

#[test]
fn streams_are_negotiated_only_when_asked_for_and_offered() {
    for (ask, offer) in [(false, false), (true, false), (false, true), (true, true)] {
        let (mut c, mut e) = stream_pair(ask, offer);
        let both = ask && offer;
        assert_eq!((c.streams(), e.streams()), (both, both), "ask {ask}, offer {offer}");
        if !both {
            // Without the extension there is no half-close on either side.
            assert_eq!(
                c.seal_end_of_stream(NOW),
                Err(RecordError::UnexpectedRecord(
                    sc_protocol::msgs::MessageType::EndOfStream
                ))
            );
            assert!(e.seal_end_of_stream(NOW).is_err());
        }
    }
}

#[test]
fn end_of_stream_half_closes_one_direction_only() {
    let (mut c, mut e) = stream_pair(true, true);
    let data = c.seal(NOW, b"last words").unwrap();
    let mut eos = c.seal_end_of_stream(NOW).unwrap();
    // The client can send no more data, but can still Close.
    assert_eq!(c.seal(NOW, b"more"), Err(RecordError::StreamEnded));
    assert_eq!(e.open(NOW, &data).unwrap().unwrap(), b"last words");
    assert_eq!(e.open_in_place(NOW, &mut eos).unwrap(), Incoming::EndOfStream);
    // The enclave still sends, and the client still reads.
    let reply = e.seal(NOW, b"still here").unwrap();
    assert_eq!(c.open(NOW, &reply).unwrap().unwrap(), b"still here");
    // Then the enclave ends its side too; the convenience `open` reports it as an error.
    let enclave_eos = e.seal_end_of_stream(NOW).unwrap();
    assert_eq!(c.open(NOW, &enclave_eos), Err(RecordError::StreamEnded));
    assert_eq!(e.seal(NOW, b"x"), Err(RecordError::StreamEnded));
    // Close still works both ways after the half-closes.
    let close = c.seal_close(NOW).unwrap();
    assert_eq!(e.open(NOW, &close).unwrap(), None);
}

#[test]
fn data_after_the_peers_end_of_stream_is_refused() {
    let (mut c, mut e) = stream_pair(true, true);
    let early = c.seal(NOW, b"sent first").unwrap();
    let mut eos = c.seal_end_of_stream(NOW).unwrap();
    // Delivered out of order (the host reorders): the stream has ended, so the late data
    // record is refused rather than delivered after the end; a second EndOfStream neither.
    assert_eq!(e.open_in_place(NOW, &mut eos.clone()).unwrap(), Incoming::EndOfStream);
    assert!(matches!(
        e.open(NOW, &early),
        Err(RecordError::UnexpectedRecord(
            sc_protocol::msgs::MessageType::ApplicationData
        ))
    ));
    assert!(e.open_in_place(NOW, &mut eos).is_err());
}
