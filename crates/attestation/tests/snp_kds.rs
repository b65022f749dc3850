//! SEV-SNP certificates fetched from an AMD KDS-compatible service and cached, against a
//! loopback HTTP server serving the shared evidence's VCEK and ASVK chain as KDS does.

use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::{dir, read};
use sc_test_support::http::{Reply, Server};
use std::path::Path;

const TRUSTEE: &str = "amd-snp-trustee";
const JUNE_2025: u64 = 1_749_945_600;
const MILAN_MEASUREMENT: &str =
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c";
const VLEK_MEASUREMENT: &str =
    "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0";

/// A KDS serving the Milan report's VCEK (for any hardware id and TCB when `any_chip`) and
/// the Milan ASVK chain.
fn kds(vcek: Vec<u8>) -> Server {
    let asvk_chain = read(TRUSTEE, "milan/milan_ask_ark_asvk.pem");
    Server::start(move |target| {
        if target.starts_with("/vcek/v1/Milan/") {
            Reply::ok(vcek.clone())
        } else if target == "/vlek/v1/Milan/cert_chain" {
            Reply::ok(asvk_chain.clone())
        } else {
            Reply::not_found()
        }
    })
}

fn registry(base: &Path, url: &str, measurement: &str) -> VerifierRegistry {
    let policy = format!(
        "[sev_snp]\nmeasurements = [\"{measurement}\"]\nkds_url = \"{url}\"\nkds_cache = \"cache\"\nkds_product = \"Milan\"\n"
    );
    VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(base)).unwrap()).unwrap()
}

fn verify(reg: &VerifierRegistry, report: &str, collateral: Option<&[u8]>) -> Result<(), AttestationError> {
    let report = read(TRUSTEE, report);
    let report_data: [u8; 64] = report[0x50..0x90].try_into().unwrap();
    let mut e = Evidence::new(PlatformId::SEV_SNP, &report);
    e.collateral = collateral;
    reg.verify(&e, &report_data, UnixTime::from_secs(JUNE_2025)).map(drop)
}

#[test]
fn a_vcek_is_fetched_by_chip_and_tcb_then_served_from_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let server = kds(read(TRUSTEE, "milan/test-vcek.der"));
    let url = server.url();
    verify(
        &registry(tmp.path(), &url, MILAN_MEASUREMENT),
        "milan/test-report.bin",
        None,
    )
    .unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    // The chip's 64-byte id and the reported TCB, as KDS names them.
    let report = read(TRUSTEE, "milan/test-report.bin");
    let hwid = hex::encode(&report[0x1a0..0x1e0]);
    assert!(
        requests[0].starts_with(&format!("/vcek/v1/Milan/{hwid}?blSPL=")),
        "{requests:?}"
    );
    assert!(requests[0].contains("&ucodeSPL="), "{requests:?}");
    // The service stops: the cached VCEK serves.
    drop(server);
    verify(
        &registry(tmp.path(), &url, MILAN_MEASUREMENT),
        "milan/test-report.bin",
        None,
    )
    .unwrap();
}

#[test]
fn another_chips_vcek_is_refused_and_not_cached() {
    let tmp = tempfile::tempdir().unwrap();
    let other = std::fs::read(dir("amd-snp-virtee-milan").join("vcek_milan.der")).unwrap();
    let server = kds(other);
    let e = verify(
        &registry(tmp.path(), &server.url(), MILAN_MEASUREMENT),
        "milan/test-report.bin",
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { what, .. } if what.contains("not this chip's VCEK")),
        "{}",
        ErrorChain(&e)
    );
    assert_eq!(
        std::fs::read_dir(tmp.path().join("cache"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn the_asvk_chain_of_a_vlek_comes_from_the_service_and_its_ark_must_be_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let server = kds(Vec::new());
    let vlek = read(TRUSTEE, "milan/test-vlek.der");
    // The built-in certificates have no ASVK: the chain is fetched; its ARK is Milan's,
    // which the policy trusts (built in).
    verify(
        &registry(tmp.path(), &server.url(), VLEK_MEASUREMENT),
        "milan/test-vlek-report.bin",
        Some(&vlek),
    )
    .unwrap();
    assert_eq!(server.requests(), vec!["/vlek/v1/Milan/cert_chain".to_string()]);
}

#[test]
fn an_unreachable_service_without_a_cache_is_a_collateral_error() {
    let tmp = tempfile::tempdir().unwrap();
    let url = {
        let server = kds(Vec::new());
        server.url()
    };
    let e = verify(
        &registry(tmp.path(), &url, MILAN_MEASUREMENT),
        "milan/test-report.bin",
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { what, .. } if what.contains("cannot fetch the VCEK")),
        "{}",
        ErrorChain(&e)
    );
    let bad = Policy::from_toml(
        "[sev_snp]\nmeasurements = []\nallow_unpinned_workload = true\nkds_product = \"Rome\"\nkds_url = \"https://x\"\n",
        None,
    )
    .unwrap_err();
    assert!(bad.to_string().contains("not Milan, Genoa or Turin"), "{bad}");
}
