//! Every DCAP refusal names its true cause: one test per cause, on the real SGX and TDX
//! quotes and their real collateral (`tests/evidence/intel-dcap-phala`), aged by choosing
//! the verification time, or edited where real data cannot show the case (said so).

use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, Claims, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use serde_json::Value;
use std::path::{Path, PathBuf};

const DCAP: &str = "intel-dcap-phala";
const JULY_2025: u64 = 1_751_328_000;
const MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const MRTD_OUTDATED: &str =
    "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd";
const MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence").join(DCAP)
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap()
}

fn registry(policy: &str) -> VerifierRegistry {
    VerifierRegistry::from_policy(&Policy::from_toml(policy, Some(&dir())).unwrap()).unwrap()
}

fn tdx() -> VerifierRegistry {
    registry(&format!(
        "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\", \"{MRTD_OUTDATED}\"]\naccepted_tcb_statuses = [\"UpToDate\", \"OutOfDate\"]\n"
    ))
}

fn sgx() -> VerifierRegistry {
    registry(&format!(
        "[sgx]\nmrenclaves = [\"{MRENCLAVE}\"]\naccepted_tcb_statuses = [\"ConfigurationAndSWHardeningNeeded\"]\naccepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n"
    ))
}

/// Verifies `quote` (a file of the set) with `collateral` at `at`, against the report
/// data the quote carries (the binding is tested elsewhere).
fn verify(reg: &VerifierRegistry, quote: &str, collateral: Option<&[u8]>, at: u64) -> Result<Claims, AttestationError> {
    let bytes = read(quote);
    let platform = if quote.starts_with("sgx") {
        PlatformId::SGX_DCAP
    } else {
        PlatformId::TDX_DCAP
    };
    let stated = sc_attestation::platforms::inspect::describe(platform, &bytes).unwrap();
    let mut e = Evidence::new(platform, &bytes);
    e.collateral = collateral;
    reg.verify(&e, &stated.report_data, UnixTime::from_secs(at))
}

/// The collateral JSON of `file` with `edit` applied to it.
fn edited(file: &str, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(&read(file)).unwrap();
    edit(&mut v);
    serde_json::to_vec(&v).unwrap()
}

/// Flips the last byte of a hex field.
fn flip_last_hex_byte(v: &mut Value, field: &str) {
    let mut bytes = hex::decode(v[field].as_str().unwrap()).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    v[field] = Value::String(hex::encode(bytes));
}

fn secs(rfc3339: &str) -> u64 {
    humantime::parse_rfc3339(rfc3339)
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn the_real_quotes_verify_with_their_collateral() {
    let tdx_collateral = read("tdx_quote_collateral.json");
    assert!(verify(&tdx(), "tdx_quote", Some(&tdx_collateral), JULY_2025).is_ok());
    let sgx_collateral = read("sgx_quote_collateral.json");
    assert!(verify(&sgx(), "sgx_quote", Some(&sgx_collateral), JULY_2025).is_ok());
}

#[test]
fn an_expired_pck_crl_is_named_with_its_date() {
    // The TDX PCK CRL's nextUpdate is 2025-07-19T10:00:35Z; the TCB info and QE identity
    // are valid until 10:16 and 10:32 that day.
    let collateral = read("tdx_quote_collateral.json");
    let e = verify(&tdx(), "tdx_quote", Some(&collateral), secs("2025-07-19T10:10:00Z")).unwrap_err();
    match &e {
        AttestationError::Expired { item, expired, at } => {
            assert_eq!(item, "PCK CRL");
            assert_eq!(expired.to_string(), "2025-07-19T10:00:35Z");
            assert_eq!(at.to_string(), "2025-07-19T10:10:00Z");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "PCK CRL expired at 2025-07-19T10:00:35Z; the verification time is 2025-07-19T10:10:00Z"
    );
}

#[test]
fn an_expired_qe_identity_is_named() {
    // SGX: the QE identity expires at 10:01:18, the PCK CRL at 10:23:18, the TCB info at
    // 10:56:11.
    let collateral = read("sgx_quote_collateral.json");
    let e = verify(&sgx(), "sgx_quote", Some(&collateral), secs("2025-07-19T10:05:00Z")).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Expired { item, expired, .. }
            if item == "QE identity" && expired.to_string() == "2025-07-19T10:01:18Z"),
        "{e:?}"
    );
}

#[test]
fn a_root_ca_crl_not_yet_valid_is_named() {
    // The root CA CRL was issued 2025-03-20T11:21:57Z; the SGX quote's certificates are
    // older, so at 2025-03-01 only the collateral is from the future.
    let collateral = read("sgx_quote_collateral.json");
    let e = verify(&sgx(), "sgx_quote", Some(&collateral), secs("2025-03-01T00:00:00Z")).unwrap_err();
    assert!(
        matches!(&e, AttestationError::NotYetValid { item, valid_from, .. }
            if item == "root CA CRL" && valid_from.to_string() == "2025-03-20T11:21:57Z"),
        "{e:?}"
    );
}

#[test]
fn a_pck_certificate_not_yet_valid_is_not_an_untrusted_root() {
    // The v5 TDX quote's PCK certificate was issued 2026-01-23T18:09:41Z.
    let collateral = read("tdx_quote_outdated_collateral.json");
    let e = verify(
        &tdx(),
        "tdx_quote_outdated",
        Some(&collateral),
        secs("2026-01-20T00:00:00Z"),
    )
    .unwrap_err();
    match &e {
        AttestationError::NotYetValid { item, valid_from, .. } => {
            assert_eq!(item, "PCK certificate (Intel SGX PCK Certificate)");
            assert_eq!(valid_from.to_string(), "2026-01-23T18:09:41Z");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_wrong_root_ca_in_the_policy_is_a_trust_anchor_mismatch() {
    // Any certificate other than Intel's root: here the SNP set's VCEK.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence/amd-snp-virtee-milan/vcek_milan.der"),
        tmp.path().join("root.der"),
    )
    .unwrap();
    let policy = format!("[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\nroot_ca = \"root.der\"\n");
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    let collateral = read("tdx_quote_collateral.json");
    let e = verify(&reg, "tdx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::TrustAnchorMismatch { chain: "PCK certificate chain", root }
            if root.contains("Intel SGX Root CA")),
        "{e:?}"
    );
}

#[test]
fn tampered_collateral_signatures_are_collateral_errors_not_evidence_errors() {
    for (field, item) in [
        ("tcb_info_signature", "TCB info"),
        ("qe_identity_signature", "QE identity"),
        ("pck_crl", "PCK CRL"),
        ("root_ca_crl", "root CA CRL"),
    ] {
        let collateral = edited("tdx_quote_collateral.json", |v| flip_last_hex_byte(v, field));
        let e = verify(&tdx(), "tdx_quote", Some(&collateral), JULY_2025).unwrap_err();
        assert!(
            matches!(&e, AttestationError::CollateralSignature { item: i, .. } if *i == item),
            "{field}: {}",
            ErrorChain(&e)
        );
    }
    // The signed text itself altered (a field no fit check reads).
    let collateral = edited("tdx_quote_collateral.json", |v| {
        let text = v["tcb_info"]
            .as_str()
            .unwrap()
            .replacen("\"tcbType\":0", "\"tcbType\":1", 1);
        v["tcb_info"] = Value::String(text);
    });
    let e = verify(&tdx(), "tdx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralSignature { item: "TCB info", .. }),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn a_tampered_quote_is_an_evidence_signature_error() {
    let mut quote = read("tdx_quote");
    quote[48 + 520] ^= 1; // inside REPORTDATA of the TD report body
    let platform = PlatformId::TDX_DCAP;
    let collateral = read("tdx_quote_collateral.json");
    let e = tdx()
        .verify(
            &Evidence::new(platform, &quote).with_collateral(&collateral),
            &[0; 64],
            UnixTime::from_secs(JULY_2025),
        )
        .unwrap_err();
    assert!(
        matches!(&e, AttestationError::BadSignature { .. }),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn collateral_for_the_other_tee_is_a_mismatch_naming_both() {
    let collateral = read("tdx_quote_collateral.json");
    let e = verify(&sgx(), "sgx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralMismatch { item: "TCB info", found, expected }
            if found == "TDX" && expected == "SGX"),
        "{e:?}"
    );
    // Same TEE, another platform model.
    let collateral = read("tdx_quote_outdated_collateral.json");
    let e = verify(&tdx(), "tdx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralMismatch { item: "TCB info", found, expected }
            if found == "FMSPC 90C06F000000" && expected.starts_with("FMSPC B0C06F000000")),
        "{e:?}"
    );
    // The QE identity of the other TEE (edited mix of two real sets).
    let tdx_set: Value = serde_json::from_slice(&read("tdx_quote_collateral.json")).unwrap();
    let collateral = edited("sgx_quote_collateral.json", |v| {
        for f in ["qe_identity", "qe_identity_signature", "qe_identity_issuer_chain"] {
            v[f] = tdx_set[f].clone();
        }
    });
    let e = verify(&sgx(), "sgx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralMismatch { item: "QE identity", found, .. } if found.contains("TD_QE")),
        "{e:?}"
    );
    // The PCK CRL of the other CA: the SGX PCK certificate is from the processor CA.
    let collateral = edited("sgx_quote_collateral.json", |v| {
        for f in ["pck_crl", "pck_crl_issuer_chain"] {
            v[f] = tdx_set[f].clone();
        }
    });
    let e = verify(&sgx(), "sgx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralMismatch { item: "PCK CRL", found, expected }
            if found.contains("Platform") && expected.contains("processor")),
        "{e:?}"
    );
}

/// A policy whose `collateral_dir` holds all three real collateral sets.
fn with_collateral_dir(section: &str, mrs: &str) -> (tempfile::TempDir, VerifierRegistry) {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("collateral")).unwrap();
    for f in [
        "sgx_quote_collateral.json",
        "tdx_quote_collateral.json",
        "tdx_quote_outdated_collateral.json",
    ] {
        std::fs::copy(dir().join(f), tmp.path().join("collateral").join(f)).unwrap();
    }
    let policy = format!(
        "[{section}]\n{mrs}\ncollateral_dir = \"collateral\"\naccepted_tcb_statuses = [\"UpToDate\", \"ConfigurationAndSWHardeningNeeded\"]\naccepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n"
    );
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    (tmp, reg)
}

#[test]
fn a_collateral_dir_is_searched_by_what_the_quote_needs() {
    let (_tmp, reg) = with_collateral_dir("tdx", &format!("mrtds = [\"{MRTD}\"]\nallow_unpinned_workload = true"));
    assert!(verify(&reg, "tdx_quote", None, JULY_2025).is_ok());
    let (_tmp, sgx_reg) = with_collateral_dir("sgx", &format!("mrenclaves = [\"{MRENCLAVE}\"]"));
    assert!(verify(&sgx_reg, "sgx_quote", None, JULY_2025).is_ok());
    // Its own collateral expired: that is the reason given, not another file's misfit.
    let e = verify(&reg, "tdx_quote", None, secs("2025-07-19T10:10:00Z")).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Expired { item, .. } if item == "PCK CRL"),
        "{e:?}"
    );
}

#[test]
fn when_no_candidate_fits_each_is_listed_with_its_reason() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("collateral")).unwrap();
    for f in ["tdx_quote_collateral.json", "tdx_quote_outdated_collateral.json"] {
        std::fs::copy(dir().join(f), tmp.path().join("collateral").join(f)).unwrap();
    }
    let policy = format!("[sgx]\nmrenclaves = [\"{MRENCLAVE}\"]\ncollateral_dir = \"collateral\"\n");
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    let e = verify(&reg, "sgx_quote", None, JULY_2025).unwrap_err();
    let AttestationError::NoFittingCollateral(candidates) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(candidates.len(), 2);
    assert!(candidates[0].source.ends_with("tdx_quote_collateral.json"));
    assert!(candidates[1].source.ends_with("tdx_quote_outdated_collateral.json"));
    for c in candidates {
        assert!(
            matches!(&c.reason, AttestationError::CollateralMismatch { item: "TCB info", .. }),
            "{c:?}"
        );
    }
    let text = e.to_string();
    assert!(text.starts_with("no collateral fits the evidence: "), "{text}");
    assert!(
        text.contains("tdx_quote_collateral.json: TCB info is for TDX; this evidence needs SGX"),
        "{text}"
    );
}

#[test]
fn the_built_in_trust_anchor_is_intels_root() {
    assert_eq!(
        sc_attestation::platforms::dcap::INTEL_SGX_ROOT_CA,
        &read("TrustedRootCA.der")[..]
    );
}

#[test]
fn a_revoked_pck_certificate_is_named() {
    use x509_cert::der::{Decode, DecodePem, EncodePem, pem::LineEnding};
    // No real revoked platform is at hand: the PCK chain given with the collateral (which
    // replaces the quote's, as dcap-qvl allows) is the quote's own with the leaf's serial
    // number set to one the real PCK CRL lists. The revocation check reads the serial
    // before any signature is checked, so this is the path a revoked platform takes.
    let v: Value = serde_json::from_slice(&read("tdx_quote_collateral.json")).unwrap();
    let crl = x509_cert::crl::CertificateList::from_der(&hex::decode(v["pck_crl"].as_str().unwrap()).unwrap()).unwrap();
    let revoked = crl.tbs_cert_list.revoked_certificates.as_ref().unwrap()[0]
        .serial_number
        .clone();
    let quote = read("tdx_quote");
    let text = String::from_utf8_lossy(&quote).into_owned();
    let mut pems: Vec<String> = Vec::new();
    let mut rest = &text[..];
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let end = rest[start..].find("-----END CERTIFICATE-----").unwrap() + start + 25;
        pems.push(rest[start..end].to_owned());
        rest = &rest[end..];
    }
    let mut leaf = x509_cert::Certificate::from_pem(&pems[0]).unwrap();
    leaf.tbs_certificate.serial_number = revoked.clone();
    pems[0] = leaf.to_pem(LineEnding::LF).unwrap();
    let collateral = edited("tdx_quote_collateral.json", |v| {
        v["pck_certificate_chain"] = Value::String(pems.join("\n"));
    });
    let e = verify(&tdx(), "tdx_quote", Some(&collateral), JULY_2025).unwrap_err();
    match &e {
        AttestationError::Revoked { item, by } => {
            assert_eq!(*by, "PCK CRL");
            assert!(item.contains(&hex::encode(revoked.as_bytes())), "{item}");
        }
        other => panic!("{}", ErrorChain(other)),
    }
}

#[test]
fn evidence_of_a_platform_the_policy_has_no_section_for_says_so() {
    let collateral = read("sgx_quote_collateral.json");
    let e = verify(&tdx(), "sgx_quote", Some(&collateral), JULY_2025).unwrap_err();
    assert_eq!(e, AttestationError::UnsupportedPlatform(PlatformId::SGX_DCAP));
    assert_eq!(e.to_string(), "the policy has no section for SGX (0x0002) evidence");
}
