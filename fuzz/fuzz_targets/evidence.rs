//! Every evidence parser and verifier front end on arbitrary bytes: the verifier registry
//! (simulated, SGX and TDX DCAP quotes with collateral JSON, SEV-SNP reports with
//! certificate tables or certificates, virtCCA tokens, Azure vTPM evidence) under a policy
//! that accepts the real evidence in crates/attestation/tests/evidence, and the parsers on
//! their own (DCAP collateral in every form it is read in, included). Nothing may
//! panic; nothing unsigned is accepted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sc_attestation::platforms::snp::certs::{Cert, parse_cert_table};
use sc_attestation::platforms::{azure, dcap, inspect, sim, virtcca};
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{Evidence, PlatformId, UnixTime, Verifier};
use std::sync::OnceLock;

fn registry() -> &'static VerifierRegistry {
    static REGISTRY: OnceLock<VerifierRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let evidence = concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/attestation/tests/evidence");
        let root = sim::SimRoot::from_secret([1; 32]);
        let policy = format!(
            "allow_simulated = true\n\
             [simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\n\
             [sgx]\nmrenclaves = [\"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"]\n\
             accepted_tcb_statuses = [\"UpToDate\", \"ConfigurationAndSWHardeningNeeded\"]\n\
             accepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n\
             root_ca = \"{evidence}/intel-dcap-phala/TrustedRootCA.der\"\n\
             [tdx]\nallow_unpinned_workload = true\nmrtds = [\"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\"]\n\
             root_ca = \"{evidence}/intel-dcap-phala/TrustedRootCA.der\"\n\
             [sev_snp]\nmeasurements = [\"a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c\"]\n\
             ca_chain = \"{evidence}/amd-snp-trustee/milan/milan_ask_ark_asvk.pem\"\n\
             [azure_snp]\nallow_unpinned_workload = true\nmeasurements = [\"{}\"]\n",
            hex_encode(&root.public_key()),
            hex_encode(&[3; 32]),
            hex_encode(&azure_measurement(evidence)),
        );
        VerifierRegistry::from_policy(&Policy::from_toml(&policy, None).unwrap()).unwrap()
    })
}

/// The paravisor measurement of the captured Azure SNP evidence.
fn azure_measurement(evidence: &str) -> Vec<u8> {
    let bytes = std::fs::read(format!("{evidence}/azure-cvm-trustee/az-snp-vtpm/evidence-v1.json")).unwrap();
    inspect::describe(PlatformId::AZURE_SNP_VTPM, &bytes).unwrap().measurement
}

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// Appended, never reordered: a seed's first byte picks its platform.
const PLATFORMS: [PlatformId; 8] = [
    PlatformId::SIMULATED,
    PlatformId::SGX_DCAP,
    PlatformId::TDX_DCAP,
    PlatformId::SEV_SNP,
    PlatformId::ARM_CCA,
    PlatformId::TEST_DOUBLE,
    PlatformId::AZURE_SNP_VTPM,
    PlatformId::AZURE_TDX_VTPM,
];

// The input, framed so that real evidence files make seeds: `u8 platform | u16 collateral
// length (big-endian) | collateral | evidence`. Verified at the time the real evidence of
// that platform is valid, against the report data the evidence states (so real evidence
// passes and the whole verification path runs).
fuzz_target!(|data: &[u8]| {
    let Some((&p, rest)) = data.split_first() else { return };
    let platform = PLATFORMS[usize::from(p) % PLATFORMS.len()];
    let (collateral, evidence_bytes) = match rest {
        [a, b, rest @ ..] => {
            let n = usize::from(u16::from_be_bytes([*a, *b])).min(rest.len());
            (Some(&rest[..n]).filter(|c| !c.is_empty()), &rest[n..])
        }
        _ => (None, rest),
    };
    let mut evidence = Evidence::new(platform, evidence_bytes);
    evidence.collateral = collateral;
    let at = match platform {
        PlatformId::SGX_DCAP | PlatformId::TDX_DCAP => 1_751_328_000,
        PlatformId::AZURE_SNP_VTPM | PlatformId::AZURE_TDX_VTPM => 1_748_736_000,
        _ => 1_749_945_600,
    };
    let stated = inspect::describe(platform, evidence_bytes)
        .map(|c| c.report_data)
        .unwrap_or([0; 64]);
    if let Ok(claims) = registry().verify(&evidence, &stated, UnixTime::from_secs(at)) {
        // Only evidence signed under a trusted root gets here, with the report data it states.
        assert_eq!(claims.report_data, stated);
        assert_eq!(claims.simulated, platform == PlatformId::SIMULATED);
    }
    let _ = inspect::detect(evidence_bytes);
    let _ = parse_cert_table(evidence_bytes);
    let _ = Cert::parse_all(evidence_bytes);
    let _ = virtcca::parse(evidence_bytes);
    let _ = dcap::parse_collateral(evidence_bytes);
    let _ = dcap::collateral::from_files(&[("input".to_owned(), evidence_bytes.to_vec())]);
    let _ = azure::AzureEvidence::parse(evidence_bytes);
    let _ = sim::verify_evidence(&[1; 32], evidence_bytes);
});
