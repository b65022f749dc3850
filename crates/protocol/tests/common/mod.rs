//! Shared test fixtures: deterministic randomness, test-double attestation, and a driver
//! that runs a handshake in memory.
#![allow(dead_code)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
use sc_protocol::{
    BindingMode, CipherSuite, ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, IdentityCredential,
    Session, SessionLimits, UnixTime,
};
use std::sync::Arc;

pub const KEY: [u8; 32] = [0x11; 32];
pub const MEASUREMENT: [u8; 32] = [0x22; 32];
pub const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub fn attester() -> Arc<TestDoubleAttester> {
    let a = TestDoubleAttester::new(KEY, MEASUREMENT);
    a.set_time(NOW);
    Arc::new(a)
}

pub fn verifier() -> Arc<TestDoubleVerifier> {
    Arc::new(TestDoubleVerifier::new(KEY, &[MEASUREMENT]))
}

pub fn client_config(suites: &[CipherSuite], modes: &[BindingMode], limits: SessionLimits) -> Arc<ClientConfig> {
    Arc::new(
        ClientConfig::builder()
            .verifier(verifier())
            .suites(suites)
            .binding_modes(modes)
            .limits(limits)
            .build()
            .unwrap(),
    )
}

pub fn enclave_config(modes: &[BindingMode], limits: SessionLimits) -> EnclaveConfig {
    let attester = attester();
    let identity = IdentityCredential::new([0x33; 32], attester.as_ref()).unwrap();
    EnclaveConfig::builder()
        .attester(attester)
        .identity(Arc::new(identity))
        .binding_modes(modes)
        .limits(limits)
        .build()
        .unwrap()
}

/// The three handshake messages of one run.
#[derive(Clone, Debug)]
pub struct Transcript {
    pub client_hello: Vec<u8>,
    pub server_hello: Vec<u8>,
    pub client_finished: Vec<u8>,
}

/// A client/enclave pair with fixed parameters; every run with the same seed is identical.
pub struct Pair {
    pub client: Arc<ClientConfig>,
    pub enclave: EnclaveConfig,
    pub seed: u64,
    pub session_id: u64,
}

impl Pair {
    pub fn new(suite: CipherSuite, mode: BindingMode) -> Self {
        Self::with_limits(suite, mode, SessionLimits::default())
    }

    pub fn with_limits(suite: CipherSuite, mode: BindingMode, limits: SessionLimits) -> Self {
        Self {
            client: client_config(&[suite], &[mode], limits),
            enclave: enclave_config(&[mode], limits),
            seed: 7,
            session_id: 0x0102_0304_0506_0708,
        }
    }

    /// A full handshake; returns (client session, enclave session, messages).
    pub fn handshake(&self) -> (Session, Session, Transcript) {
        self.run(|_, m| m.to_vec(), |_, m| m.to_vec(), |_, m| m.to_vec())
            .unwrap()
    }

    /// A handshake whose three messages pass through the given tamper functions (the
    /// untrusted host). Returns the first error from either side.
    pub fn run(
        &self,
        ch: impl Fn(usize, &[u8]) -> Vec<u8>,
        sh: impl Fn(usize, &[u8]) -> Vec<u8>,
        cf: impl Fn(usize, &[u8]) -> Vec<u8>,
    ) -> Result<(Session, Session, Transcript), sc_protocol::Error> {
        let mut crng = rng(self.seed);
        let mut erng = rng(self.seed + 1000);
        let (hs, client_hello) = ClientHandshake::start(self.client.clone(), &mut crng, NOW)?;
        let (pending, server_hello) =
            EnclaveHandshake::accept(&self.enclave, self.session_id, &ch(0, &client_hello), &mut erng, NOW)?;
        let established = hs.read_server_hello(&sh(1, &server_hello), NOW)?;
        let enclave = pending.read_client_finished(&cf(2, &established.client_finished), NOW)?;
        Ok((
            established.session,
            enclave,
            Transcript {
                client_hello,
                server_hello,
                client_finished: established.client_finished,
            },
        ))
    }
}

pub const ALL_MODES: [BindingMode; 2] = [BindingMode::PerSession, BindingMode::IdentityKey];
