//! Configurations with the protocol core's test-double attestation: a fixed HMAC key and
//! measurement, a fixed time, seeded randomness. Everything is deterministic. (A test
//! double stands in for TEE hardware, which cannot run here; it is not attestation.)

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
use sc_protocol::{
    BindingMode, CipherSuite, ClientConfig, ClientConfigBuilder, EnclaveConfig, IdentityCredential, SessionLimits,
    UnixTime,
};
use std::sync::Arc;

/// The test double's key (what stands for the hardware root).
pub const KEY: [u8; 32] = [0x11; 32];
/// The enclave's measurement.
pub const MEASUREMENT: [u8; 32] = [0x22; 32];
/// The time every test double reads.
pub const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);
/// Both binding modes.
pub const ALL_MODES: [BindingMode; 2] = [BindingMode::PerSession, BindingMode::IdentityKey];

/// A generator seeded with `seed`.
pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

/// An attester for [`MEASUREMENT`] whose evidence is issued at [`NOW`].
pub fn attester() -> Arc<TestDoubleAttester> {
    let a = TestDoubleAttester::new(KEY, MEASUREMENT);
    a.set_time(NOW);
    Arc::new(a)
}

/// A verifier accepting [`MEASUREMENT`] under [`KEY`].
pub fn verifier() -> Arc<TestDoubleVerifier> {
    Arc::new(TestDoubleVerifier::new(KEY, &[MEASUREMENT]))
}

/// A client builder verifying with [`verifier`] (defaults otherwise), for tests that set more.
pub fn client_builder() -> ClientConfigBuilder {
    ClientConfig::builder().verifier(verifier())
}

/// A client with the default suites, modes and limits.
pub fn client() -> Arc<ClientConfig> {
    Arc::new(client_builder().build().expect("test client config"))
}

/// A client offering `suites` and `modes`, with `limits`.
pub fn client_config(suites: &[CipherSuite], modes: &[BindingMode], limits: SessionLimits) -> Arc<ClientConfig> {
    Arc::new(
        client_builder()
            .suites(suites)
            .binding_modes(modes)
            .limits(limits)
            .build()
            .expect("test client config"),
    )
}

/// An enclave with per-session evidence only (defaults otherwise).
pub fn enclave() -> EnclaveConfig {
    EnclaveConfig::builder()
        .attester(attester())
        .build()
        .expect("test enclave config")
}

/// An enclave with both credentials (per-session evidence and an identity key), accepting
/// `modes`, with `limits`.
pub fn enclave_config(modes: &[BindingMode], limits: SessionLimits) -> EnclaveConfig {
    let attester = attester();
    let identity = IdentityCredential::new([0x33; 32], attester.as_ref()).expect("test identity");
    EnclaveConfig::builder()
        .attester(attester)
        .identity(Arc::new(identity))
        .binding_modes(modes)
        .limits(limits)
        .build()
        .expect("test enclave config")
}
