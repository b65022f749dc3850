//! DCAP collateral in the forms services and tools produce: dcap-qvl JSON, Intel PCS /
//! PCCS responses saved as bodies with PEM chain files, saved with their headers, CRLs in
//! DER, PEM or hex; several sets side by side. Each is built from the real collateral of
//! the shared evidence and must verify the real quotes.

use sc_attestation::platforms::dcap::collateral;
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::{Saved, read, write_pcs_responses};
use std::path::Path;

const DCAP: &str = "intel-dcap-phala";
const JULY_2025: u64 = 1_751_328_000;
const MARCH_2026: u64 = 1_772_323_200;
const MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";

/// A registry for TDX and SGX whose collateral is only what `collateral_dir` holds.
fn registry(base: &Path) -> Result<VerifierRegistry, String> {
    let common = "collateral_dir = \"collateral\"\naccepted_tcb_statuses = [\"UpToDate\", \"ConfigurationAndSWHardeningNeeded\"]\naccepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n";
    let policy = format!(
        "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\n{common}\n[sgx]\nmrenclaves = [\"0x{MRENCLAVE}\"]\n{common}"
    );
    let policy = Policy::from_toml(&policy, Some(base)).map_err(|e| e.to_string())?;
    VerifierRegistry::from_policy(&policy).map_err(|e| e.to_string())
}

fn verify(reg: &VerifierRegistry, quote: &str, at: u64) -> Result<(), AttestationError> {
    let bytes = read(DCAP, quote);
    let platform = if quote.starts_with("sgx") {
        PlatformId::SGX_DCAP
    } else {
        PlatformId::TDX_DCAP
    };
    let stated = sc_attestation::platforms::inspect::describe(platform, &bytes).unwrap();
    reg.verify(
        &Evidence::new(platform, &bytes),
        &stated.report_data,
        UnixTime::from_secs(at),
    )
    .map(drop)
}

fn collateral_dir() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("collateral");
    std::fs::create_dir(&dir).unwrap();
    (tmp, dir)
}

#[test]
fn pcs_responses_saved_as_bodies_with_chain_files_verify() {
    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "tdx_quote_collateral.json", Saved::BodyOnly, &dir);
    let reg = registry(tmp.path()).unwrap();
    verify(&reg, "tdx_quote", JULY_2025).unwrap();
}

#[test]
fn pcs_responses_saved_with_their_headers_verify() {
    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "sgx_quote_collateral.json", Saved::WithHeaders, &dir);
    // Nothing but the response files: the chains come from the headers.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 4);
    let reg = registry(tmp.path()).unwrap();
    verify(&reg, "sgx_quote", JULY_2025).unwrap();
}

#[test]
fn crls_as_hex_text_verify() {
    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "tdx_quote_collateral.json", Saved::BodyOnly, &dir);
    for crl in ["pck_crl", "root_ca_crl"] {
        let der = std::fs::read(dir.join(crl)).unwrap();
        std::fs::write(dir.join(crl), format!("0x{}\n", hex::encode(der))).unwrap();
    }
    let reg = registry(tmp.path()).unwrap();
    verify(&reg, "tdx_quote", JULY_2025).unwrap();
}

#[test]
fn sets_side_by_side_each_verify_their_own_quote() {
    let (tmp, dir) = collateral_dir();
    // dcap-qvl JSON at the top, two PCS sets in subdirectories.
    std::fs::write(dir.join("sgx.json"), read(DCAP, "sgx_quote_collateral.json")).unwrap();
    for (sub, file, saved) in [
        ("tdx", "tdx_quote_collateral.json", Saved::WithHeaders),
        ("tdx-v5", "tdx_quote_outdated_collateral.json", Saved::BodyOnly),
    ] {
        std::fs::create_dir(dir.join(sub)).unwrap();
        write_pcs_responses(DCAP, file, saved, &dir.join(sub));
    }
    std::fs::write(dir.join("README"), "collateral fetched 2025-07-01").unwrap();
    let candidates = collateral::from_dir(&dir).unwrap();
    assert_eq!(candidates.len(), 3, "{candidates:?}");
    let reg = registry(tmp.path()).unwrap();
    verify(&reg, "tdx_quote", JULY_2025).unwrap();
    verify(&reg, "sgx_quote", JULY_2025).unwrap();
    // The v5 quote finds its own set (and is then refused for its TCB, as it should be).
    let e = verify(&reg, "tdx_quote_outdated", MARCH_2026).unwrap_err();
    assert!(
        matches!(
            e,
            AttestationError::TcbNotAccepted(_) | AttestationError::WrongMeasurement(_)
        ),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn an_incomplete_pcs_set_is_refused_naming_the_missing_part() {
    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "tdx_quote_collateral.json", Saved::WithHeaders, &dir);
    std::fs::remove_file(dir.join("root_ca_crl")).unwrap();
    let e = registry(tmp.path()).unwrap_err();
    assert!(e.contains("without the root CA CRL"), "{e}");

    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "tdx_quote_collateral.json", Saved::BodyOnly, &dir);
    std::fs::remove_file(dir.join("tcb_info.json_issuer_chain.pem")).unwrap();
    std::fs::remove_file(dir.join("qe_identity.json_issuer_chain.pem")).unwrap();
    let e = registry(tmp.path()).unwrap_err();
    assert!(e.contains("the TCB info issuer chain"), "{e}");
}

#[test]
fn an_unreadable_piece_is_refused_naming_its_file() {
    let (tmp, dir) = collateral_dir();
    write_pcs_responses(DCAP, "tdx_quote_collateral.json", Saved::BodyOnly, &dir);
    std::fs::write(
        dir.join("tcb_info.json"),
        b"{\"tcbInfo\": {\"id\": \"TDX\"}, \"signature\": \"zz\"}",
    )
    .unwrap();
    let e = registry(tmp.path()).unwrap_err();
    assert!(e.contains("tcb_info.json") && e.contains("not hex"), "{e}");
}
