//! Full handshake CPU (client + enclave together) with test-double attestation, per
//! binding mode and suite.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
use sc_protocol::{
    BindingMode, CipherSuite, ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, EphemeralKeys,
    IdentityCredential, UnixTime,
};
use std::hint::black_box;
use std::sync::Arc;

const NOW: UnixTime = UnixTime::from_secs(1_790_000_000);

fn handshake(c: &mut Criterion) {
    let mut g = c.benchmark_group("handshake_client_plus_enclave");
    let attester = Arc::new(TestDoubleAttester::new([1; 32], [2; 32]));
    let identity = Arc::new(IdentityCredential::new([3; 32], attester.as_ref()).unwrap());
    use BindingMode::{IdentityKey, PerSession};
    use CipherSuite::{X25519Aes256GcmSha256 as AesGcm, X25519ChaCha20Poly1305Sha256 as ChaCha};
    use EphemeralKeys::{Injected, SystemRng};
    for (name, mode, suite, keys) in [
        ("per_session_aes256gcm_sha256", PerSession, AesGcm, Injected),
        ("identity_key_aes256gcm_sha256", IdentityKey, AesGcm, Injected),
        ("identity_key_system_rng_keys", IdentityKey, AesGcm, SystemRng),
        ("per_session_chacha20poly1305", PerSession, ChaCha, Injected),
    ] {
        let verifier = Arc::new(TestDoubleVerifier::new([1; 32], &[[2; 32]]));
        let client = Arc::new(
            ClientConfig::builder()
                .verifier(verifier)
                .binding_modes(&[mode])
                .suites(&[suite])
                .ephemeral_keys(keys)
                .build()
                .unwrap(),
        );
        let enclave = EnclaveConfig::builder()
            .attester(attester.clone())
            .identity(identity.clone())
            .ephemeral_keys(keys)
            .build()
            .unwrap();
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        g.bench_function(name, |b| {
            b.iter(|| {
                let (hs, ch) = ClientHandshake::start(client.clone(), &mut rng, NOW).unwrap();
                let (p, sh) = EnclaveHandshake::accept(&enclave, 1, &ch, &mut rng, NOW).unwrap();
                let est = hs.read_server_hello(&sh, NOW).unwrap();
                black_box(p.read_client_finished(&est.client_finished, NOW).unwrap());
                black_box(est.session);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
