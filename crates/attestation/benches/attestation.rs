#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Simulated-platform attestation costs: evidence size, attest, verify, and whole handshakes
//! in each binding mode.

use criterion::{Criterion, criterion_group, criterion_main};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot};
use sc_attestation::{Policy, RefreshingIdentity, VerifierRegistry};
use sc_protocol::{
    Attester, BindingMode, ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, Evidence, PlatformId,
    UnixTime, Verifier,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

fn bench(c: &mut Criterion) {
    let root = SimRoot::from_secret([1; 32]);
    let policy = Policy::from_toml(
        &format!(
            "allow_simulated = true\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\nmax_evidence_age_secs = 600\n",
            hex::encode(root.public_key()),
            hex::encode([3u8; 32])
        ),
        None,
    )
    .unwrap();
    let verifier = Arc::new(VerifierRegistry::from_policy(&policy).unwrap());
    let enclave = SimEnclave {
        measurement: [3; 32],
        signer: [4; 32],
        security_version: 1,
        debug: false,
    };
    let attester = Arc::new(SimAttester::new(root, enclave, Arc::new(|| NOW)));
    let evidence = attester.attest(&[5; 64]).unwrap();
    eprintln!("simulated evidence size: {} bytes", evidence.len());

    let mut g = c.benchmark_group("simulated");
    g.bench_function("attest", |b| b.iter(|| attester.attest(black_box(&[5; 64])).unwrap()));
    g.bench_function("verify_and_appraise", |b| {
        b.iter(|| {
            let e = Evidence::new(PlatformId::SIMULATED, &evidence);
            verifier.verify(black_box(&e), &[5; 64], NOW).unwrap()
        })
    });
    let identity = RefreshingIdentity::new([6; 32], attester.clone(), Duration::from_secs(300), NOW).unwrap();
    for (name, mode, cfg) in [
        (
            "handshake_per_session",
            BindingMode::PerSession,
            EnclaveConfig::builder().attester(attester.clone()).build().unwrap(),
        ),
        (
            "handshake_identity_key",
            BindingMode::IdentityKey,
            EnclaveConfig::builder()
                .identity(identity.current(NOW).unwrap())
                .build()
                .unwrap(),
        ),
    ] {
        let client = Arc::new(
            ClientConfig::builder()
                .verifier(verifier.clone())
                .binding_modes(&[mode])
                .build()
                .unwrap(),
        );
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (_, ch) = ClientHandshake::start(client.clone(), &mut rng, NOW).unwrap();
        let (_, sh) = EnclaveHandshake::accept(&cfg, 1, &ch, &mut rng, NOW).unwrap();
        eprintln!("{name}: ClientHello {} bytes, ServerHello {} bytes", ch.len(), sh.len());
        g.bench_function(name, |b| {
            b.iter(|| {
                let (hs, ch) = ClientHandshake::start(client.clone(), &mut rng, NOW).unwrap();
                let (p, sh) = EnclaveHandshake::accept(&cfg, 1, &ch, &mut rng, NOW).unwrap();
                let est = hs.read_server_hello(&sh, NOW).unwrap();
                black_box(p.read_client_finished(&est.client_finished, NOW).unwrap());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
