//! Arbitrary bytes into every parser and every state: typed errors, never a panic.

use proptest::prelude::*;
use sc_protocol::codec::Codec;
use sc_protocol::msgs::{Alert, ClientFinished, ClientHello, Frame, MAX_FRAME_BODY, ServerHello};
use sc_protocol::testing::TestDoubleVerifier;
use sc_protocol::{BindingMode, CipherSuite, ClientHandshake, EnclaveHandshake, Evidence, PlatformId, Verifier};
use sc_test_support::double::*;
use sc_test_support::pair::*;

fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    // Mostly-valid inputs reach deeper than random noise: mutate a real message.
    let len = base.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 1..8),
        0..=len + 8,
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(edits, cut, tail)| {
            let mut m = base.clone();
            for (i, b) in edits {
                m[i] = b;
            }
            m.truncate(cut);
            m.extend(tail);
            m
        })
}

fn transcript() -> Transcript {
    Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::IdentityKey)
        .handshake()
        .2
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Frame::parse(&bytes, MAX_FRAME_BODY);
        let _ = ClientHello::read_exact(&bytes, "ch");
        let _ = ServerHello::read_with_offsets(&bytes);
        let _ = ClientFinished::read_exact(&bytes, "cf");
        let _ = Alert::read_exact(&bytes, "alert");
        let _ = sc_protocol::msgs::RecordHeader::read(&bytes);
        let v = TestDoubleVerifier::new(KEY, &[MEASUREMENT]);
        let _ = v.verify(&Evidence::new(PlatformId::TEST_DOUBLE, &bytes), &[0; 64], NOW);
    }

    #[test]
    fn enclave_accept_never_panics(m in mutated(transcript().client_hello)) {
        let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::IdentityKey);
        let _ = EnclaveHandshake::accept(&pair.enclave, 1, &m, &mut rng(1), NOW);
    }

    #[test]
    fn client_read_server_hello_never_panics(m in mutated(transcript().server_hello)) {
        let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::IdentityKey);
        let (hs, _) = ClientHandshake::start(pair.client.clone(), &mut rng(pair.seed), NOW).unwrap();
        let r = hs.read_server_hello(&m, NOW);
        // Only the untouched message may succeed.
        prop_assert!(r.is_err() || m == transcript().server_hello);
    }

    #[test]
    fn enclave_read_client_finished_never_panics(m in mutated(transcript().client_finished)) {
        let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::IdentityKey);
        let (hs, ch) = ClientHandshake::start(pair.client.clone(), &mut rng(pair.seed), NOW).unwrap();
        let (p, sh) = EnclaveHandshake::accept(&pair.enclave, pair.session_id, &ch, &mut rng(pair.seed + 1000), NOW).unwrap();
        let good = hs.read_server_hello(&sh, NOW).unwrap().client_finished;
        let r = p.read_client_finished(&m, NOW);
        prop_assert!(r.is_err() || m == good);
    }

    #[test]
    fn session_open_never_panics_and_never_accepts_forgeries(
        m in mutated({
            let (mut c, _, _) = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession).handshake();
            c.seal(NOW, b"a record of some length").unwrap()
        }),
        noise in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let (mut c, mut e, _) = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession).handshake();
        let genuine = c.seal(NOW, b"a record of some length").unwrap();
        prop_assert!(e.open(NOW, &noise).is_err());
        match e.open(NOW, &m) {
            Ok(p) => { prop_assert_eq!(&m, &genuine); prop_assert_eq!(p, b"a record of some length".to_vec()); }
            Err(_) => prop_assert_ne!(&m, &genuine),
        }
    }
}
