//! Handshake behaviour: success in every suite and mode, negotiation, failure modes.

use sc_protocol::msgs::{Alert, AlertCode};
use sc_protocol::testing::TestDoubleAttester;
use sc_protocol::{
    AttestationError, BindingMode, CipherSuite, ClientConfig, ClientHandshake, ConfigError, EnclaveConfig,
    EnclaveHandshake, Error, PlatformId, SessionLimits,
};
use sc_test_support::double::*;
use sc_test_support::pair::*;
use std::sync::Arc;
use std::time::Duration;

#[test]
fn every_suite_and_mode_handshakes_then_carries_records_both_ways() {
    for &suite in CipherSuite::ALL {
        for mode in ALL_MODES {
            let (mut c, mut e, _) = Pair::new(suite, mode).handshake();
            assert_eq!(c.suite(), suite);
            assert_eq!(c.id(), e.id());
            let claims = c.peer_claims().expect("client keeps the enclave's claims");
            assert_eq!(claims.measurement, MEASUREMENT);
            assert_eq!(claims.platform, PlatformId::TEST_DOUBLE);
            for i in 0..5u8 {
                let msg = vec![i; 100 * usize::from(i)];
                let r = c.seal(NOW, &msg).unwrap();
                assert_eq!(e.open(NOW, &r).unwrap(), msg);
                let r = e.seal(NOW, &msg).unwrap();
                assert_eq!(c.open(NOW, &r).unwrap(), msg);
            }
        }
    }
}

#[test]
fn client_may_send_data_together_with_its_finished() {
    let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession);
    let mut crng = rng(1);
    let mut erng = rng(2);
    let (hs, ch) = ClientHandshake::start(pair.client.clone(), &mut crng, NOW).unwrap();
    let (pending, sh) = EnclaveHandshake::accept(&pair.enclave, 9, &ch, &mut erng, NOW).unwrap();
    let mut est = hs.read_server_hello(&sh, NOW).unwrap();
    // One round trip done: the client seals before the enclave has seen its Finished.
    let early = est.session.seal(NOW, b"first request").unwrap();
    let mut e = pending.read_client_finished(&est.client_finished, NOW).unwrap();
    assert_eq!(e.open(NOW, &early).unwrap(), b"first request");
}

#[test]
fn enclave_picks_its_preferred_common_suite_and_mode() {
    let client = client_config(CipherSuite::ALL, &ALL_MODES, SessionLimits::default());
    let enclave = EnclaveConfig::builder()
        .attester(attester())
        .identity(Arc::new(
            sc_protocol::IdentityCredential::new([1; 32], attester().as_ref()).unwrap(),
        ))
        .suites(&[
            CipherSuite::X25519ChaCha20Poly1305Sha256,
            CipherSuite::X25519Aes256GcmSha256,
        ])
        .binding_modes(&[BindingMode::PerSession, BindingMode::IdentityKey])
        .build()
        .unwrap();
    let (hs, ch) = ClientHandshake::start(client, &mut rng(1), NOW).unwrap();
    let (p, sh) = EnclaveHandshake::accept(&enclave, 5, &ch, &mut rng(2), NOW).unwrap();
    let est = hs.read_server_hello(&sh, NOW).unwrap();
    assert_eq!(est.session.suite(), CipherSuite::X25519ChaCha20Poly1305Sha256);
    p.read_client_finished(&est.client_finished, NOW).unwrap();
}

#[test]
fn negotiation_failures_are_typed() {
    let limits = SessionLimits::default();
    let start = |suites: &[CipherSuite], modes: &[BindingMode]| {
        ClientHandshake::start(client_config(suites, modes, limits), &mut rng(1), NOW)
            .unwrap()
            .1
    };
    let only_chacha = EnclaveConfig::builder()
        .attester(attester())
        .suites(&[CipherSuite::X25519ChaCha20Poly1305Sha256])
        .build()
        .unwrap();
    let ch = start(&[CipherSuite::X25519Aes256GcmSha256], &ALL_MODES);
    let err = EnclaveHandshake::accept(&only_chacha, 1, &ch, &mut rng(2), NOW).unwrap_err();
    assert_eq!(err, Error::NoCommonSuite);
    assert_eq!(err.alert_code(), AlertCode::NoCommonSuite);

    let ch = start(CipherSuite::ALL, &[BindingMode::IdentityKey]);
    let err = EnclaveHandshake::accept(&only_chacha, 1, &ch, &mut rng(2), NOW).unwrap_err();
    assert_eq!(err, Error::NoCommonBindingMode);
}

#[test]
fn client_rejects_selections_it_did_not_offer() {
    // An enclave that prefers SHA-384 faces a client that offered it; then the host
    // rewrites the client's offer so the enclave picks a suite the client never offered.
    let client = client_config(
        &[CipherSuite::X25519Aes256GcmSha256],
        &ALL_MODES,
        SessionLimits::default(),
    );
    let enclave = enclave_config(&ALL_MODES, SessionLimits::default());
    let (hs, mut ch) = ClientHandshake::start(client, &mut rng(1), NOW).unwrap();
    // ClientHello body: versions (1 + 2), suites count at offset 6+3, first suite at 6+4.
    assert_eq!(&ch[10..12], &[0, 1]);
    ch[11] = 3; // AES-256-GCM-SHA384
    let (_, sh) = EnclaveHandshake::accept(&enclave, 1, &ch, &mut rng(2), NOW).unwrap();
    assert_eq!(
        hs.read_server_hello(&sh, NOW).unwrap_err(),
        Error::NotOffered("cipher suite")
    );
}

#[test]
fn wrong_measurement_and_untrusted_key_are_rejected() {
    let other = Arc::new(TestDoubleAttester::new(KEY, [0x99; 32]));
    other.set_time(NOW);
    let forged_root = Arc::new(TestDoubleAttester::new([0x55; 32], MEASUREMENT));
    for (attester, want) in [
        (
            other,
            AttestationError::WrongMeasurement(sc_protocol::Mismatch::of_bytes(&[0x99; 32], [&MEASUREMENT[..]])),
        ),
        (forged_root, AttestationError::UntrustedRoot { cause: None }),
    ] {
        let enclave = EnclaveConfig::builder().attester(attester).build().unwrap();
        let client = client_config(CipherSuite::ALL, &ALL_MODES, SessionLimits::default());
        let (hs, ch) = ClientHandshake::start(client, &mut rng(1), NOW).unwrap();
        let (_, sh) = EnclaveHandshake::accept(&enclave, 1, &ch, &mut rng(2), NOW).unwrap();
        assert_eq!(hs.read_server_hello(&sh, NOW).unwrap_err(), Error::Attestation(want));
    }
}

#[test]
fn evidence_replayed_from_another_handshake_is_rejected() {
    // A man in the middle runs its own key exchange but replays the genuine enclave's
    // per-session evidence from an earlier handshake: the binding exposes it.
    let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession);
    let (_, _, old) = pair.handshake();
    let attacker = Pair {
        seed: 99,
        ..Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession)
    };
    let (hs, ch) = ClientHandshake::start(attacker.client.clone(), &mut rng(4242), NOW).unwrap();
    let (_, mut sh) = EnclaveHandshake::accept(&attacker.enclave, pair.session_id, &ch, &mut rng(5), NOW).unwrap();
    // Swap in the old evidence (same length, same position: both come from the same attester).
    let ev = |m: &[u8]| m.windows(4).position(|w| w == b"TDBL").unwrap();
    let (at_new, at_old) = (ev(&sh), ev(&old.server_hello));
    let len = 4 + 32 + 64 + 8 + 1 + 32;
    sh[at_new..at_new + len].copy_from_slice(&old.server_hello[at_old..at_old + len]);
    let err = hs.read_server_hello(&sh, NOW).unwrap_err();
    assert_eq!(err, Error::Attestation(AttestationError::ReportDataMismatch));
}

#[test]
fn client_without_verifier_refuses_to_start() {
    let err = ClientConfig::builder().build().err().unwrap();
    assert_eq!(err, ConfigError::NoVerifier);
    assert!(err.to_string().contains("verifier"));
    let err = EnclaveConfig::builder().build().err().unwrap();
    assert_eq!(err, ConfigError::NoBindingModes);
    let err = EnclaveConfig::builder()
        .attester(attester())
        .binding_modes(&[BindingMode::IdentityKey])
        .build()
        .err()
        .unwrap();
    assert!(matches!(
        err,
        ConfigError::MissingCredential(BindingMode::IdentityKey, _)
    ));
}

#[test]
fn handshakes_time_out_on_both_sides() {
    let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::IdentityKey);
    let (hs, ch) = ClientHandshake::start(pair.client.clone(), &mut rng(1), NOW).unwrap();
    let (p, sh) = EnclaveHandshake::accept(&pair.enclave, 1, &ch, &mut rng(2), NOW).unwrap();
    let late = NOW.saturating_add(Duration::from_secs(31));
    let deadline = hs.deadline();
    assert_eq!(deadline, NOW.saturating_add(Duration::from_secs(30)));
    let est = hs.read_server_hello(&sh, NOW).unwrap();
    assert_eq!(
        p.read_client_finished(&est.client_finished, late).unwrap_err(),
        Error::Timeout
    );

    let (hs, _) = ClientHandshake::start(pair.client.clone(), &mut rng(1), NOW).unwrap();
    assert_eq!(hs.read_server_hello(&sh, late).unwrap_err(), Error::Timeout);
}

#[test]
fn alerts_surface_as_peer_alerts_and_wrong_types_as_unexpected() {
    let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession);
    let (hs, ch) = ClientHandshake::start(pair.client.clone(), &mut rng(1), NOW).unwrap();
    let alert = Alert {
        session_id: 0,
        code: AlertCode::Busy,
    }
    .to_frame();
    assert_eq!(
        hs.read_server_hello(&alert, NOW).unwrap_err(),
        Error::PeerAlert(AlertCode::Busy)
    );
    let (hs, _) = ClientHandshake::start(pair.client.clone(), &mut rng(1), NOW).unwrap();
    assert!(matches!(
        hs.read_server_hello(&ch, NOW).unwrap_err(),
        Error::UnexpectedMessage { .. }
    ));
}

#[test]
fn identity_credential_reattests_the_same_key() {
    let a = attester();
    let c1 = sc_protocol::IdentityCredential::new([3; 32], a.as_ref()).unwrap();
    a.set_time(NOW.saturating_add(Duration::from_secs(60)));
    let c2 = c1.reattest(a.as_ref()).unwrap();
    assert_eq!(c1.public_key(), c2.public_key());
    assert_ne!(c1.evidence(), c2.evidence());
    // Debug shows the public key but never the secret seed.
    let debug = format!("{c1:?}");
    assert!(debug.contains(&format!("{:?}", c1.public_key())));
    assert!(!debug.contains(&format!("{:?}", [3u8; 32])));
}

#[test]
fn key_log_reports_both_directions_secrets_and_keys() {
    use std::sync::Mutex;
    #[derive(Default)]
    struct Log(Mutex<Vec<(u64, &'static str, Vec<u8>)>>);
    impl sc_protocol::KeyLog for Log {
        fn log(&self, session_id: u64, label: &'static str, secret: &[u8]) {
            self.0.lock().unwrap().push((session_id, label, secret.to_vec()));
        }
    }
    let log = Arc::new(Log::default());
    let client = Arc::new(
        ClientConfig::builder()
            .verifier(verifier())
            .suites(&[CipherSuite::X25519Aes256GcmSha384])
            .key_log(log.clone())
            .build()
            .unwrap(),
    );
    let enclave = enclave_config(&ALL_MODES, SessionLimits::default());
    let (hs, ch) = ClientHandshake::start(client, &mut rng(1), NOW).unwrap();
    let (_, sh) = EnclaveHandshake::accept(&enclave, 42, &ch, &mut rng(2), NOW).unwrap();
    hs.read_server_hello(&sh, NOW).unwrap();
    let entries = log.0.lock().unwrap();
    let labels: Vec<_> = entries.iter().map(|(id, l, s)| (*id, *l, s.len())).collect();
    assert_eq!(
        labels,
        [
            (42, "c2e_traffic_secret", 48),
            (42, "c2e_key", 32),
            (42, "e2c_traffic_secret", 48),
            (42, "e2c_key", 32)
        ]
    );
    assert_ne!(entries[1].2, entries[3].2, "directional keys differ");
}

#[test]
fn system_rng_keys_interoperate_with_injected_keys() {
    use sc_protocol::EphemeralKeys;
    for (c, e) in [
        (EphemeralKeys::SystemRng, EphemeralKeys::SystemRng),
        (EphemeralKeys::SystemRng, EphemeralKeys::Injected),
        (EphemeralKeys::Injected, EphemeralKeys::SystemRng),
    ] {
        let client = Arc::new(
            ClientConfig::builder()
                .verifier(verifier())
                .ephemeral_keys(c)
                .build()
                .unwrap(),
        );
        let enclave = EnclaveConfig::builder()
            .attester(attester())
            .ephemeral_keys(e)
            .build()
            .unwrap();
        let (hs, ch) = ClientHandshake::start(client, &mut rng(1), NOW).unwrap();
        let (p, sh) = EnclaveHandshake::accept(&enclave, 3, &ch, &mut rng(2), NOW).unwrap();
        let mut est = hs.read_server_hello(&sh, NOW).unwrap();
        let mut s = p.read_client_finished(&est.client_finished, NOW).unwrap();
        let r = est.session.seal(NOW, b"ok").unwrap();
        assert_eq!(s.open(NOW, &r).unwrap(), b"ok");
        // System keys are fresh each time: the same injected seed gives another ClientHello.
        if c == EphemeralKeys::SystemRng {
            let again = ClientConfig::builder()
                .verifier(verifier())
                .ephemeral_keys(c)
                .build()
                .unwrap();
            let (_, ch2) = ClientHandshake::start(Arc::new(again), &mut rng(1), NOW).unwrap();
            assert_ne!(ch, ch2);
        }
    }
}

fn acknowledging_client() -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder()
            .verifier(verifier())
            .acknowledgements(true)
            .build()
            .unwrap(),
    )
}

#[test]
fn acknowledgements_answer_the_finished_with_a_session_ack() {
    let enclave = enclave_config(&ALL_MODES, SessionLimits::default());
    let (hs, ch) = ClientHandshake::start(acknowledging_client(), &mut rng(1), NOW).unwrap();
    let (pending, sh) = EnclaveHandshake::accept(&enclave, 9, &ch, &mut rng(2), NOW).unwrap();
    let mut est = hs.read_server_hello(&sh, NOW).unwrap();
    assert!(est.session.acknowledged(), "the enclave granted the request");
    // Data may still go out with the Finished, before the acknowledgement arrives.
    let early = est.session.seal(NOW, b"early").unwrap();
    let mut e = pending.read_client_finished(&est.client_finished, NOW).unwrap();
    assert!(e.acknowledged());
    let ack = e.seal_ack(NOW).unwrap();
    assert_eq!(ack[0], 0x12);
    // Only as a SessionAck: not as data, and a tampered one is refused.
    let mut tampered = ack.clone();
    let n = tampered.len();
    tampered[n - 1] ^= 1;
    assert!(est.session.open_ack(NOW, &tampered).is_err());
    assert!(matches!(
        est.session.open(NOW, &ack),
        Err(sc_protocol::RecordError::UnexpectedRecord(_))
    ));
    est.session.open_ack(NOW, &ack).unwrap();
    assert_eq!(e.open(NOW, &early).unwrap(), b"early");
    // The ack was the enclave's record 0; its data continue the same sequence.
    let reply = e.seal(NOW, b"reply").unwrap();
    assert_eq!(est.session.open(NOW, &reply).unwrap(), b"reply");
    // A replayed ack is refused.
    assert!(est.session.open_ack(NOW, &ack).is_err());
}

#[test]
fn acknowledgements_are_only_sent_and_accepted_when_asked_for() {
    let enclave = enclave_config(&ALL_MODES, SessionLimits::default());
    let plain = client_config(CipherSuite::ALL, &ALL_MODES, SessionLimits::default());
    let (hs, ch) = ClientHandshake::start(plain, &mut rng(1), NOW).unwrap();
    let (pending, sh) = EnclaveHandshake::accept(&enclave, 9, &ch, &mut rng(2), NOW).unwrap();
    let mut est = hs.read_server_hello(&sh, NOW).unwrap();
    assert!(!est.session.acknowledged());
    let mut e = pending.read_client_finished(&est.client_finished, NOW).unwrap();
    assert!(!e.acknowledged());
    assert!(e.seal_ack(NOW).is_err(), "no ack for a client that did not ask");
    // A client that did not ask refuses an acknowledgement (here: a record sealed as one
    // by an enclave session that believes it was asked).
    assert!(est.session.open_ack(NOW, &[0x12, 1, 0, 0, 0, 0]).is_err());
}
