#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Attestation costs: the simulated platform (evidence size, attest, verify, whole
//! handshakes in each binding mode), and verification of real captured evidence per
//! platform (Intel TDX and SGX DCAP quotes, AMD SEV-SNP reports; tests/evidence).

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
    let policy = Policy::simulated(root.public_key(), &[[3; 32]]);
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
                .identity(identity.current(NOW))
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

/// Verification of real evidence, each at the time its SOURCE.md states.
fn real_platforms(c: &mut Criterion) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence");
    let read = |p: &str| std::fs::read(dir.join(p)).unwrap();
    let policy = "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\"]\n\
        [sgx]\nmrenclaves = [\"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"]\n\
        accepted_tcb_statuses = [\"ConfigurationAndSWHardeningNeeded\"]\naccepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n\
        [sev_snp]\nmeasurements = [\"a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c\", \"8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0\"]\n\
        ca_chain = \"amd-snp-trustee/milan/milan_ask_ark_asvk.pem\"\n";
    let verifier = VerifierRegistry::from_policy(&Policy::from_toml(policy, Some(&dir)).unwrap()).unwrap();
    let tdx = read("intel-dcap-phala/tdx_quote");
    let sgx = read("intel-dcap-phala/sgx_quote");
    let snp = read("amd-snp-trustee/milan/test-report.bin");
    let vlek = read("amd-snp-trustee/milan/test-vlek-report.bin");
    let cases = [
        (
            "tdx_dcap_quote",
            PlatformId::TDX_DCAP,
            tdx.clone(),
            read("intel-dcap-phala/tdx_quote_collateral.json"),
            &tdx[48 + 520..48 + 584],
            1_751_328_000,
        ),
        (
            "sgx_dcap_quote",
            PlatformId::SGX_DCAP,
            sgx.clone(),
            read("intel-dcap-phala/sgx_quote_collateral.json"),
            &sgx[48 + 320..48 + 384],
            1_751_328_000,
        ),
        (
            "sev_snp_vcek_report",
            PlatformId::SEV_SNP,
            snp.clone(),
            read("amd-snp-trustee/milan/test-vcek.der"),
            &snp[0x50..0x90],
            1_749_945_600,
        ),
        (
            "sev_snp_vlek_report",
            PlatformId::SEV_SNP,
            vlek.clone(),
            read("amd-snp-trustee/milan/test-vlek.der"),
            &vlek[0x50..0x90],
            1_749_945_600,
        ),
    ];
    let mut g = c.benchmark_group("verify_real_evidence");
    for (name, platform, evidence, collateral, report_data, at) in &cases {
        let rd: [u8; 64] = (*report_data).try_into().unwrap();
        let now = UnixTime::from_secs(*at);
        let e = Evidence::new(*platform, evidence).with_collateral(collateral);
        verifier.verify(&e, &rd, now).expect("genuine evidence verifies");
        g.bench_function(*name, |b| b.iter(|| verifier.verify(black_box(&e), &rd, now).unwrap()));
    }
    g.finish();
}

criterion_group!(benches, bench, real_platforms);
criterion_main!(benches);
