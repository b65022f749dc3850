//! Record protection against an adversarial network: replay, reflection, cross-session,
//! truncation, drops, reordering (records are accepted strictly in sequence); key update;
//! ends that say what they received; expiry.

use sc_protocol::msgs::{CloseBody, CloseReason, RECORD_HEADER_LEN};
use sc_protocol::{BindingMode, CipherSuite, Incoming, KeyUpdateLimits, RecordError, Session, SessionLimits};
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
    assert_eq!(e.open(NOW, &r).unwrap(), b"pay 10");
    assert_eq!(
        e.open(NOW, &r),
        Err(RecordError::OutOfSequence {
            expected: 1,
            received: 0
        })
    );
    let r2 = c.seal(NOW, b"next").unwrap();
    assert_eq!(e.open(NOW, &r2).unwrap(), b"next");
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
    assert_eq!(e1.open(NOW, &ok).unwrap(), b"one");
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
    assert_eq!(e.open(NOW, &r).unwrap(), b"0123456789");
}

#[test]
fn gaps_and_reordering_are_refused_and_the_expected_record_still_opens() {
    let (mut c, mut e) = pair();
    let records: Vec<Vec<u8>> = (0..4u64).map(|i| c.seal(NOW, &i.to_be_bytes()).unwrap()).collect();
    // A host that drops record 0 or swaps 0 and 1: record 1 is refused, nothing changes.
    for _ in 0..2 {
        assert_eq!(
            e.open(NOW, &records[1]),
            Err(RecordError::OutOfSequence {
                expected: 0,
                received: 1
            })
        );
    }
    assert_eq!(e.received(), 0);
    assert_eq!(e.open(NOW, &records[0]).unwrap(), 0u64.to_be_bytes());
    // Far ahead (a dropped run) or behind (a replay): refused.
    assert!(matches!(
        e.open(NOW, &records[3]),
        Err(RecordError::OutOfSequence {
            expected: 1,
            received: 3
        })
    ));
    assert!(matches!(
        e.open(NOW, &records[0]),
        Err(RecordError::OutOfSequence {
            expected: 1,
            received: 0
        })
    ));
    for (i, r) in records.iter().enumerate().skip(1) {
        assert_eq!(e.open(NOW, r).unwrap(), (i as u64).to_be_bytes());
    }
    assert_eq!(e.received(), 4);
}

#[test]
fn a_forged_record_in_a_slot_does_not_take_the_genuine_ones_place() {
    let (mut c, mut e) = pair();
    let genuine = c.seal(NOW, b"genuine").unwrap();
    let mut forged = genuine.clone();
    *forged.last_mut().unwrap() ^= 0x80;
    assert_eq!(e.open(NOW, &forged), Err(RecordError::Authentication));
    assert_eq!(e.received(), 0);
    assert_eq!(e.open(NOW, &genuine).unwrap(), b"genuine");
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
        assert_eq!(e.open(NOW, &r).unwrap(), i.to_be_bytes());
        let r = e.seal(NOW, &i.to_be_bytes()).unwrap();
        assert_eq!(c.open(NOW, &r).unwrap(), i.to_be_bytes());
    }
    assert_eq!(c.send_epoch(), 6);
    assert_eq!(e.recv_epoch(), 6);
    assert_eq!(e.send_epoch(), 6);
    assert_eq!(c.recv_epoch(), 6);
}

#[test]
fn byte_limit_triggers_key_update_and_reordering_across_it_is_refused() {
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
    // Out of order across the update: refused; in order: the receiver follows the update.
    assert!(matches!(e.open(NOW, &b), Err(RecordError::OutOfSequence { .. })));
    assert_eq!(e.open(NOW, &a).unwrap(), vec![1; 600]);
    assert_eq!(e.open(NOW, &b).unwrap(), vec![2; 600]);
    assert_eq!(e.recv_epoch(), 1);
    assert_eq!(e.open(NOW, &d).unwrap(), vec![3; 10]);
    assert!(matches!(e.open(NOW, &a), Err(RecordError::OutOfSequence { .. })));
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
    let r1 = c.seal(NOW, b"e1").unwrap();
    let r2 = c.seal(NOW, b"e2").unwrap();
    assert_eq!(e.open(NOW, &r0).unwrap(), b"e0");
    // Record 1 with its epoch rewritten two ahead (the right number, a jump): refused
    // before any key is derived; then the genuine one opens.
    let mut jumped = r1.clone();
    jumped[14..18].copy_from_slice(&3u32.to_be_bytes());
    assert_eq!(e.open(NOW, &jumped), Err(RecordError::BadEpoch));
    assert_eq!(e.open(NOW, &r1).unwrap(), b"e1");
    // Back to an earlier epoch: refused too.
    let mut back = r2.clone();
    back[14..18].copy_from_slice(&0u32.to_be_bytes());
    assert_eq!(e.open(NOW, &back), Err(RecordError::BadEpoch));
    assert_eq!(e.open(NOW, &r2).unwrap(), b"e2");
}

#[test]
fn close_is_authenticated_final_and_says_what_it_received() {
    let (mut c, mut e) = pair();
    let requests: Vec<_> = (0..3u8).map(|i| c.seal(NOW, &[i]).unwrap()).collect();
    // The enclave got requests 0 and 1 (the host kept back 2), then closed.
    for r in &requests[..2] {
        e.open(NOW, r).unwrap();
    }
    let close = e.seal_close(NOW, CloseReason::Shutdown).unwrap();
    assert_eq!(e.seal(NOW, b"after close"), Err(RecordError::Closed));
    let mut forged = close.clone();
    *forged.last_mut().unwrap() ^= 1;
    assert_eq!(c.open(NOW, &forged), Err(RecordError::Authentication));
    let mut buf = close.clone();
    assert_eq!(
        c.open_in_place(NOW, &mut buf).unwrap(),
        Incoming::Close(CloseBody {
            received: 2,
            reason: CloseReason::Shutdown
        })
    );
    assert_eq!(c.open(NOW, &close), Err(RecordError::Closed));
}

#[test]
fn an_end_cannot_claim_records_never_sent() {
    // An enclave that says it received more than the client sent is broken: refused.
    let (mut c, mut e) = pair();
    let (mut c2, mut e2) = pair();
    // The twin client (same keys) sends two; the enclave's Close then claims 2, which
    // the client that sent none refuses, and nothing changes.
    for _ in 0..2 {
        e2.open(NOW, &c2.seal(NOW, b"x").unwrap()).unwrap();
    }
    let claim = e2.seal_close(NOW, CloseReason::Normal).unwrap();
    assert_eq!(c.open(NOW, &claim), Err(RecordError::BadEnd));
    assert_eq!(c.received(), 0);
    let honest = e.seal_close(NOW, CloseReason::Normal).unwrap();
    assert!(matches!(
        c.open(NOW, &honest),
        Err(RecordError::PeerClosed(CloseBody { received: 0, .. }))
    ));
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
        assert_eq!(e.open(NOW, &r).unwrap(), vec![i; 10]);
        assert!(
            matches!(e.open(NOW, &r), Err(RecordError::OutOfSequence { .. })),
            "parking keeps the sequence"
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
    assert_eq!(e.open(NOW, &out[..need]).unwrap(), b"hello");
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
    assert_eq!(e.open(NOW, &data).unwrap(), b"last words");
    assert_eq!(
        e.open_in_place(NOW, &mut eos).unwrap(),
        Incoming::EndOfStream { received: 0 }
    );
    // The enclave still sends, and the client still reads.
    let reply = e.seal(NOW, b"still here").unwrap();
    assert_eq!(c.open(NOW, &reply).unwrap(), b"still here");
    // Then the enclave ends its side too; the convenience `open` reports it as an error.
    let enclave_eos = e.seal_end_of_stream(NOW).unwrap();
    assert_eq!(c.open(NOW, &enclave_eos), Err(RecordError::StreamEnded));
    assert_eq!(e.seal(NOW, b"x"), Err(RecordError::StreamEnded));
    // Close still works both ways after the half-closes.
    let close = c.seal_close(NOW, CloseReason::Normal).unwrap();
    assert_eq!(
        e.open(NOW, &close),
        Err(RecordError::PeerClosed(CloseBody {
            received: 2,
            reason: CloseReason::Normal
        }))
    );
}

#[test]
fn data_after_the_peers_end_of_stream_is_refused() {
    let (mut c, mut e) = stream_pair(true, true);
    let early = c.seal(NOW, b"sent first").unwrap();
    let mut eos = c.seal_end_of_stream(NOW).unwrap();
    // Reordered by the host: the end before the data is out of sequence, refused; in
    // order both are accepted, and nothing after the end.
    assert!(matches!(
        e.open_in_place(NOW, &mut eos.clone()),
        Err(RecordError::OutOfSequence { .. })
    ));
    assert_eq!(e.open(NOW, &early).unwrap(), b"sent first");
    assert_eq!(
        e.open_in_place(NOW, &mut eos.clone()).unwrap(),
        Incoming::EndOfStream { received: 0 }
    );
    let mut after = c2_seal_after_end();
    assert!(e.open_in_place(NOW, &mut after).is_err());
    assert!(e.open_in_place(NOW, &mut eos).is_err());
}

/// Bytes shaped like a data record after an end (it can never be sealed by a client whose
/// stream ended, so a host would have to forge it).
fn c2_seal_after_end() -> Vec<u8> {
    let (mut c, _) = stream_pair(true, true);
    c.seal(NOW, b"a").unwrap();
    c.seal(NOW, b"b").unwrap();
    c.seal(NOW, b"late").unwrap()
}
