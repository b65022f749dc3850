//! Known-answer vectors: fixed randomness and time give exact bytes for every handshake
//! message and a few records. The expected file, `tests/vectors/v1.txt`, is described in
//! docs/PROTOCOL.md ("Test vectors"); regenerate it after a deliberate wire change with
//! `SC_UPDATE_VECTORS=1 cargo test -p sc-protocol --test known_answers`.

use rand_core::RngCore;
use sc_protocol::binding::identity_key_report_data;
use sc_protocol::{BindingMode, CipherSuite, IdentityCredential, SignatureScheme};
use sc_test_support::double::*;
use sc_test_support::pair::*;
use std::fmt::Write;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/v1.txt");

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
    // On an acknowledged session the enclave's first record is its SessionAck.
    let ack = acknowledged.then(|| e.seal_ack(NOW).unwrap());
    let mut records = vec![
        ("client_record_0", c.seal(NOW, b"hello enclave").unwrap()),
        ("client_record_1", c.seal(NOW, b"").unwrap()),
        ("enclave_record_0", e.seal(NOW, b"hello client").unwrap()),
    ];
    if streams {
        // Half-closes both ways; the client's Close follows its EndOfStream.
        records.push(("client_end_of_stream", c.seal_end_of_stream(NOW).unwrap()));
        records.push(("enclave_end_of_stream", e.seal_end_of_stream(NOW).unwrap()));
    }
    records.push(("client_close", c.seal_close(NOW).unwrap()));
    if let Some(ack) = &ack {
        records.insert(2, ("enclave_session_ack", ack.clone()));
        // The enclave's answer to the client's Close.
        records.push(("enclave_close", e.seal_close(NOW).unwrap()));
    }
    for (name, r) in &records {
        writeln!(out, "{name} = {}", hex::encode(r)).unwrap();
    }
    // The vectors must also open: a file of bytes nobody can parse would prove nothing.
    assert_eq!(e.open(NOW, &records[0].1).unwrap().unwrap(), b"hello enclave");
    if let Some(ack) = &ack {
        c.open_ack(NOW, ack).unwrap();
    }
    let enclave_record = &records.iter().find(|(n, _)| *n == "enclave_record_0").unwrap().1;
    assert_eq!(c.open(NOW, enclave_record).unwrap().unwrap(), b"hello client");
    if streams {
        let find = |name: &str| records.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        let mut client_eos = find("client_end_of_stream");
        assert_eq!(
            e.open_in_place(NOW, &mut client_eos).unwrap(),
            sc_protocol::Incoming::EndOfStream
        );
        let mut enclave_eos = find("enclave_end_of_stream");
        assert_eq!(
            c.open_in_place(NOW, &mut enclave_eos).unwrap(),
            sc_protocol::Incoming::EndOfStream
        );
    }
    writeln!(out).unwrap();
}

#[test]
fn handshake_and_records_match_the_checked_in_vectors() {
    let mut out = String::from(
        "# sc-protocol wire version 1 / protocol version 1 known-answer vectors.\n\
         # Records: client_record_0 = \"hello enclave\", client_record_1 = \"\",\n\
         # enclave_record_0 = \"hello client\", client_close = Close record; with acknowledgements,\n\
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
    let expected = std::fs::read_to_string(VECTORS).expect("tests/vectors/v1.txt is checked in");
    for (i, (got, want)) in out.lines().zip(expected.lines()).enumerate() {
        assert_eq!(got, want, "vector line {} differs", i + 1);
    }
    assert_eq!(out.lines().count(), expected.lines().count());
}
