//! Malformed evidence, policies and basevalue files give typed errors, never panics.

use proptest::prelude::*;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot};
use sc_attestation::{Policy, VerifierRegistry, parse_basevalues};
use sc_protocol::{Attester, Evidence, PlatformId, UnixTime, Verifier};
use std::sync::Arc;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

fn setup() -> (VerifierRegistry, Vec<u8>) {
    let root = SimRoot::from_secret([1; 32]);
    let policy = Policy::simulated(root.public_key(), &[[3; 32]]);
    let e = SimEnclave {
        measurement: [3; 32],
        signer: [4; 32],
        security_version: 1,
        debug: false,
    };
    let evidence = SimAttester::new(root, e, Arc::new(|| NOW)).attest(&[5; 64]).unwrap();
    (VerifierRegistry::from_policy(&policy).unwrap(), evidence)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn mutated_evidence_is_rejected_without_panic(
        edits in proptest::collection::vec((0usize..300, any::<u8>()), 1..6),
        cut in 0usize..320,
        platform in prop_oneof![Just(PlatformId::SIMULATED), any::<u16>().prop_map(PlatformId)],
    ) {
        let (verifier, genuine) = setup();
        let mut m = genuine.clone();
        for (i, b) in edits {
            if i < m.len() { m[i] = b; }
        }
        m.truncate(cut);
        let r = verifier.verify(&Evidence::new(platform, &m), &[5; 64], NOW);
        prop_assert!(r.is_err() || (m == genuine && platform == PlatformId::SIMULATED));
    }

    #[test]
    fn arbitrary_policy_text_never_panics(text in "(allow_simulated|\\[simulated\\]|root_public_key|measurements|signers|=|\"|[0-9a-f]{0,70}|\\[|\\]|,|\n| |true|false|#|basevalues){0,40}") {
        let _ = Policy::from_toml(&text, None);
    }

    #[test]
    fn arbitrary_basevalue_text_never_panics(text in "([0-9a-fA-F-]{0,70}| |\n|#|\t){0,20}") {
        let _ = parse_basevalues(&text);
    }

    #[test]
    fn arbitrary_bytes_as_policy_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Policy::from_toml(&String::from_utf8_lossy(&bytes), None);
        let _ = parse_basevalues(&String::from_utf8_lossy(&bytes));
    }
}
