//! Real evidence and collateral with bytes changed or cut off: every platform verifier
//! answers with an error (never a panic, never an acceptance), and the unverified parsers
//! used by tools never panic on arbitrary bytes.

use proptest::prelude::*;
use sc_attestation::platforms::inspect::{describe, detect};
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{Claims, Evidence, PlatformId, UnixTime, Verifier};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence")
}

struct Case {
    platform: PlatformId,
    evidence: Vec<u8>,
    collateral: Vec<u8>,
    report_data: [u8; 64],
    at: u64,
    claims: Claims,
}

/// The genuine cases (each accepted as is) and one registry accepting all of them.
fn cases() -> &'static (VerifierRegistry, Vec<Case>) {
    static CASES: OnceLock<(VerifierRegistry, Vec<Case>)> = OnceLock::new();
    CASES.get_or_init(|| {
        let read = |p: &str| std::fs::read(dir().join(p)).unwrap();
        let policy = format!(
            "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{}\"]\n[sev_snp]\nmeasurements = [\"{}\"]\nca_chain = \"amd-snp-trustee/milan/milan_ask_ark_asvk.pem\"\n",
            "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7",
            "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c",
        );
        let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(&dir())).unwrap()).unwrap();
        let tdx = read("intel-dcap-phala/tdx_quote");
        let mut tdx_rd = [0u8; 64];
        tdx_rd.copy_from_slice(&tdx[48 + 520..48 + 584]);
        let snp = read("amd-snp-trustee/milan/test-report.bin");
        let snp_rd: [u8; 64] = snp[0x50..0x90].try_into().unwrap();
        let case = |platform, evidence: Vec<u8>, collateral: Vec<u8>, report_data, at| {
            let e = Evidence::new(platform, &evidence).with_collateral(&collateral);
            let claims = reg
                .verify(&e, &report_data, UnixTime::from_secs(at))
                .expect("the genuine evidence is accepted");
            Case {
                platform,
                evidence,
                collateral,
                report_data,
                at,
                claims,
            }
        };
        let cases = vec![
            case(
                PlatformId::TDX_DCAP,
                tdx,
                read("intel-dcap-phala/tdx_quote_collateral.json"),
                tdx_rd,
                1_751_328_000,
            ),
            case(
                PlatformId::SEV_SNP,
                snp,
                read("amd-snp-trustee/milan/test-vcek.der"),
                snp_rd,
                1_749_945_600,
            ),
        ];
        (reg, cases)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn changed_evidence_or_collateral_is_never_accepted(
        which in 0usize..2,
        in_collateral in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let (reg, cases) = cases();
        let c = &cases[which];
        let (mut evidence, mut collateral) = (c.evidence.clone(), c.collateral.clone());
        let target = if in_collateral { &mut collateral } else { &mut evidence };
        for (i, b) in edits {
            let i = i % target.len();
            target[i] = b;
        }
        if let Some(n) = cut {
            target.truncate(n % (target.len() + 1));
        }
        let e = Evidence::new(c.platform, &evidence).with_collateral(&collateral);
        // Bytes outside what is signed may change harmlessly (the newline between two PEM
        // certificates, padding); an accepted input must claim exactly what the genuine one does.
        if let Ok(claims) = reg.verify(&e, &c.report_data, UnixTime::from_secs(c.at)) {
            prop_assert_eq!(claims, c.claims.clone(), "a changed input was accepted with other claims");
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..1400), platform in 0u16..8) {
        let _ = detect(&bytes);
        let _ = describe(PlatformId(platform), &bytes);
        let _ = sc_attestation::platforms::virtcca::parse(&bytes);
    }
}
