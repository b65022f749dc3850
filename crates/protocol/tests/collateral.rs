//! The evidence_collateral extension: an enclave's verification collateral reaches the
//! client's verifier when, and only when, the client asked for it.

use sc_protocol::testing::TestDoubleAttester;
use sc_protocol::{
    AttestationError, Attester, AttesterError, BindingMode, Claims, ClientConfig, ClientHandshake, EnclaveConfig,
    EnclaveHandshake, Error, Evidence, IdentityCredential, PlatformId, UnixTime, Verifier,
};
use sc_test_support::double::*;
use std::sync::{Arc, Mutex};

/// The test double with collateral (as an SEV-SNP attester returns its certificate table).
struct WithCollateral(Arc<TestDoubleAttester>, Vec<u8>);

impl Attester for WithCollateral {
    fn platform(&self) -> PlatformId {
        self.0.platform()
    }
    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        self.0.attest(report_data)
    }
    fn attest_with_collateral(&self, report_data: &[u8; 64]) -> Result<(Vec<u8>, Option<Vec<u8>>), AttesterError> {
        Ok((self.0.attest(report_data)?, Some(self.1.clone())))
    }
}

/// The test-double verifier, remembering the collateral it was given.
#[derive(Default)]
struct Recording(Mutex<Vec<Option<Vec<u8>>>>);

impl Verifier for Recording {
    fn verify(&self, e: &Evidence<'_>, expected: &[u8; 64], now: UnixTime) -> Result<Claims, AttestationError> {
        self.0.lock().unwrap().push(e.collateral.map(<[u8]>::to_vec));
        verifier().verify(e, expected, now)
    }
}

fn enclave(collateral: Vec<u8>, mode: BindingMode) -> EnclaveConfig {
    let attester = Arc::new(WithCollateral(attester(), collateral));
    let identity = IdentityCredential::new([0x33; 32], attester.as_ref()).unwrap();
    EnclaveConfig::builder()
        .attester(attester)
        .identity(Arc::new(identity))
        .binding_modes(&[mode])
        .build()
        .unwrap()
}

fn client(recording: Arc<Recording>, accept: bool) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder()
            .verifier(recording)
            .accept_evidence_collateral(accept)
            .build()
            .unwrap(),
    )
}

#[test]
fn collateral_reaches_the_verifier_only_when_asked_for() {
    for mode in [BindingMode::PerSession, BindingMode::IdentityKey] {
        let enclave = enclave(b"certificate table".to_vec(), mode);
        for accept in [true, false] {
            let recording = Arc::new(Recording::default());
            let (hs, ch) = ClientHandshake::start(client(recording.clone(), accept), &mut rng(1), NOW).unwrap();
            let (pending, sh) = EnclaveHandshake::accept(&enclave, 9, &ch, &mut rng(2), NOW).unwrap();
            let est = hs.read_server_hello(&sh, NOW).unwrap();
            pending.read_client_finished(&est.client_finished, NOW).unwrap();
            let expected = accept.then(|| b"certificate table".to_vec());
            assert_eq!(
                *recording.0.lock().unwrap(),
                vec![expected],
                "{mode:?}, accept {accept}"
            );
        }
    }
}

#[test]
fn unrequested_or_oversized_collateral_is_refused() {
    let small = enclave(b"certs".to_vec(), BindingMode::PerSession);
    // A ServerHello made for a client that asked, read by one that did not.
    let (_, asking) = ClientHandshake::start(client(Arc::default(), true), &mut rng(1), NOW).unwrap();
    let (_, sh) = EnclaveHandshake::accept(&small, 9, &asking, &mut rng(2), NOW).unwrap();
    let (plain, _) = ClientHandshake::start(client(Arc::default(), false), &mut rng(1), NOW).unwrap();
    assert!(matches!(
        plain.read_server_hello(&sh, NOW),
        Err(Error::UnsolicitedExtension(4))
    ));
    // Collateral too large for the extension: the enclave says so rather than dropping it.
    let big = enclave(vec![0; 70_000], BindingMode::PerSession);
    let (_, ch) = ClientHandshake::start(client(Arc::default(), true), &mut rng(1), NOW).unwrap();
    let e = EnclaveHandshake::accept(&big, 9, &ch, &mut rng(2), NOW).unwrap_err();
    assert_eq!(
        e,
        Error::AttesterFailed(sc_protocol::AttesterError::new("collateral exceeds 65535 bytes"))
    );
}
