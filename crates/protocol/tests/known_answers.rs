//! Known-answer vectors: fixed randomness and time give exact bytes for every handshake
//! message and a few records. The expected file, `tests/vectors/v2.txt`, is described in
//! docs/PROTOCOL.md ("Test vectors"); regenerate it after a deliberate wire change with
//! `SC_UPDATE_VECTORS=1 cargo test -p sc-protocol --test known_answers`.

use rand_core::RngCore;
use sc_protocol::binding::identity_key_report_data;
use sc_protocol::msgs::CloseReason;
use sc_protocol::{BindingMode, CipherSuite, IdentityCredential, SignatureScheme};
use sc_test_support::double::*;
use sc_test_support::pair::*;
use std::fmt::Write;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v2.txt");

/// Which extension a case negotiates besides the defaults.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    Acknowledgements,
    Streams,
}

fn case(out: &mut String, suite: CipherSuite, mode: BindingMode, extra: Extra) {
    let mut pair = Pair::new(suite, mode);
    let (acknowledged, streams) = (extra == Extra::Acknowledgements, extra == Extra::Streams);
    if extra != Extra::None {
        pair.client = std::sync::Arc::new(
            sc_protocol::ClientConfig::builder()
                .verifier(verifier())
                .suites(&[suite])
                .binding_modes(&[mode])
                .acknowledgements(acknowledged)
                .streams(streams)
                .build()
                .unwrap(),
        );
    }
    if streams {
        pair.enclave = sc_protocol::EnclaveConfig::builder()
            .attester(attester())
            .binding_modes(&[mode])
            .streams(true)
            .build()
            .unwrap();
    }
    let (mut c, mut e, t) = pair.handshake();
    // Reproduce the draws the handshakes made, in the documented order.
    let mut crng = rng(pair.seed);
    let mut erng = rng(pair.seed + 1000);
    let draw = |r: &mut rand_chacha::ChaCha20Rng| {
        let mut b = [0u8; 32];
        r.fill_bytes(&mut b);
        hex::encode(b)
    };
    let identity = IdentityCredential::new([0x33; 32], attester().as_ref()).unwrap();
    writeln!(out, "[case]").unwrap();
    writeln!(out, "suite = {:#06x} ({suite:?})", suite.code()).unwrap();
    writeln!(out, "binding_mode = {} ({mode:?})", mode.code()).unwrap();
    writeln!(out, "acknowledgements = {}", u8::from(acknowledged)).unwrap();
    writeln!(out, "streams = {}", u8::from(streams)).unwrap();
    writeln!(out, "now_ms = {}", NOW.as_millis()).unwrap();
    writeln!(out, "session_id = {:#018x}", pair.session_id).unwrap();
    writeln!(out, "client_nonce = {}", draw(&mut crng)).unwrap();
    writeln!(out, "client_x25519_private = {}", draw(&mut crng)).unwrap();
    writeln!(out, "enclave_nonce = {}", draw(&mut erng)).unwrap();
    writeln!(out, "enclave_x25519_private = {}", draw(&mut erng)).unwrap();
    writeln!(out, "test_double_key = {}", hex::encode(KEY)).unwrap();
    writeln!(out, "test_double_measurement = {}", hex::encode(MEASUREMENT)).unwrap();
    if mode == BindingMode::IdentityKey {
        writeln!(out, "identity_ed25519_seed = {}", hex::encode([0x33; 32])).unwrap();
        writeln!(out, "identity_public_key = {}", hex::encode(identity.public_key())).unwrap();
        let rd = identity_key_report_data(SignatureScheme::Ed25519, &identity.public_key());
        writeln!(out, "identity_report_data = {}", hex::encode(rd)).unwrap();
    }
    writeln!(out, "client_hello = {}", hex::encode(&t.client_hello)).unwrap();
    writeln!(out, "server_hello = {}", hex::encode(&t.server_hello)).unwrap();
    writeln!(out, "client_finished = {}", hex::encode(&t.client_finished)).unwrap();
    // Each record is opened by its receiver as soon as it is sealed, in the order shown:
    // the ends then say how much each side had received (and the opens prove the vectors
    // are records, not bytes nobody can parse).
    let mut records: Vec<(&str, Vec<u8>)> = Vec::new();
    let to_enclave = |name, record: Vec<u8>, e: &mut sc_protocol::Session, records: &mut Vec<_>| {
        let mut buf = record.clone();
        let opened = e.open_in_place(NOW, &mut buf).unwrap();
        records.push((name, record));
        format!("{opened:?}")
    };
    let opened = to_enclave(
        "client_record_0",
        c.seal(NOW, b"hello enclave").unwrap(),
        &mut e,
        &mut records,
    );
    assert_eq!(
        opened,
        format!("{:?}", sc_protocol::Incoming::Data(&mut b"hello enclave".to_vec()))
    );
    to_enclave("client_record_1", c.seal(NOW, b"").unwrap(), &mut e, &mut records);
    if acknowledged {
        // On an acknowledged session the enclave's first record is its SessionAck.
        let ack = e.seal_ack(NOW).unwrap();
        c.open_ack(NOW, &ack).unwrap();
        records.push(("enclave_session_ack", ack));
    }
    let enclave_record = e.seal(NOW, b"hello client").unwrap();
    assert_eq!(c.open(NOW, &enclave_record).unwrap(), b"hello client");
    records.push(("enclave_record_0", enclave_record));
    if streams {
        // Half-closes both ways; the client's Close follows its EndOfStream.
        let client_eos = c.seal_end_of_stream(NOW).unwrap();
        let opened = to_enclave("client_end_of_stream", client_eos, &mut e, &mut records);
        assert_eq!(
            opened,
            format!("{:?}", sc_protocol::Incoming::EndOfStream { received: 1 })
        );
        let enclave_eos = e.seal_end_of_stream(NOW).unwrap();
        assert_eq!(c.open(NOW, &enclave_eos), Err(sc_protocol::RecordError::StreamEnded));
        records.push(("enclave_end_of_stream", enclave_eos));
    }
    let close = c.seal_close(NOW, CloseReason::Normal).unwrap();
    let opened = to_enclave("client_close", close, &mut e, &mut records);
    assert!(opened.starts_with("Close("), "{opened}");
    if acknowledged {
        // The enclave's answer to the client's Close.
        let close = e.seal_close(NOW, CloseReason::Normal).unwrap();
        assert!(matches!(
            c.open(NOW, &close),
            Err(sc_protocol::RecordError::PeerClosed(_))
        ));
        records.push(("enclave_close", close));
    }
    for (name, r) in &records {
        writeln!(out, "{name} = {}", hex::encode(r)).unwrap();
    }
    writeln!(out).unwrap();
}

#[test]
fn handshake_and_records_match_the_checked_in_vectors() {
    let mut out = String::from(
        "# sc-protocol wire version 1 / protocol version 2 known-answer vectors.\n\
         # Records: client_record_0 = \"hello enclave\", client_record_1 = \"\",\n\
         # enclave_record_0 = \"hello client\", client_close = Close record (u64 received | u8 reason); with acknowledgements,\n\
         # enclave_session_ack = SessionAck record, enclave_close = the enclave's Close record;\n\
         # with streams, client_end_of_stream and enclave_end_of_stream are EndOfStream records.\n\
         # See docs/PROTOCOL.md.\n\n",
    );
    case(
        &mut out,
        CipherSuite::X25519Aes256GcmSha256,
        BindingMode::PerSession,
        Extra::None,
    );
    case(
        &mut out,
        CipherSuite::X25519Aes256GcmSha256,
        BindingMode::IdentityKey,
        Extra::None,
    );
    case(
        &mut out,
        CipherSuite::X25519ChaCha20Poly1305Sha256,
        BindingMode::PerSession,
        Extra::None,
    );
    case(
        &mut out,
        CipherSuite::X25519Aes256GcmSha384,
        BindingMode::IdentityKey,
        Extra::None,
    );
    case(
        &mut out,
        CipherSuite::X25519Aes256GcmSha256,
        BindingMode::PerSession,
        Extra::Acknowledgements,
    );
    case(
        &mut out,
        CipherSuite::X25519ChaCha20Poly1305Sha256,
        BindingMode::PerSession,
        Extra::Streams,
    );
    if std::env::var_os("SC_UPDATE_VECTORS").is_some() {
        std::fs::write(VECTORS, &out).unwrap();
    }
    let expected = std::fs::read_to_string(VECTORS).expect("tests/vectors/v2.txt is checked in");
    for (i, (got, want)) in out.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "vector line {} differs", i + 1);
    }
    assert_eq!(out.lines().count(), expected.lines().count());
}
