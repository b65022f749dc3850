//! Real evidence captured on Intel TDX/SGX and AMD SEV-SNP hardware (tests/evidence, with
//! a SOURCE.md per set giving the expected verdicts and the time to verify at), through
//! the same verifier registry a client uses.

use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{
    AttestationError, Claims, Evidence, Mismatch, PlatformId, TcbRejection, TcbStatus, UnixTime, Verifier,
};
use std::path::{Path, PathBuf};

fn dir(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/evidence").join(set)
}

fn read(set: &str, file: &str) -> Vec<u8> {
    std::fs::read(dir(set).join(file)).unwrap()
}

fn registry(set: &str, policy: &str) -> VerifierRegistry {
    VerifierRegistry::from_policy(&Policy::from_toml(policy, Some(&dir(set))).unwrap()).unwrap()
}

/// Verifies with the report data the evidence carries (the tests check the platform
/// verdicts; the handshake's binding is tested elsewhere).
fn verify(
    reg: &VerifierRegistry,
    platform: PlatformId,
    evidence: &[u8],
    collateral: Option<&[u8]>,
    report_data: [u8; 64],
    at: u64,
) -> Result<Claims, AttestationError> {
    let mut e = Evidence::new(platform, evidence);
    e.collateral = collateral;
    reg.verify(&e, &report_data, UnixTime::from_secs(at))
}

fn hex64(s: &str) -> [u8; 64] {
    let mut out = [0u8; 64];
    let b = hex::decode(s).unwrap();
    out[..b.len()].copy_from_slice(&b);
    out
}

// ---- Intel DCAP ------------------------------------------------------------------------

const DCAP: &str = "intel-dcap-phala";
const JULY_2025: u64 = 1_751_328_000;
const MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";
const RTMR1: &str = "0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378";
const TDX_REPORT_DATA: &str = "9a9d48e7f6799642d3d1b34e1e5e1742d4bb02dd6ddd551862c1211d35c304f9eca3efdbb481601c163cf52493d6e44aed55d51ec39b7e518fadb92c2b523f20";
const MRENCLAVE: &str = "33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
const MRSIGNER: &str = "815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6";

fn tdx(policy_extra: &str) -> VerifierRegistry {
    registry(
        DCAP,
        &format!(
            "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\nroot_ca = \"TrustedRootCA.der\"\n{policy_extra}"
        ),
    )
}

fn verify_tdx(reg: &VerifierRegistry, quote: &[u8], at: u64) -> Result<Claims, AttestationError> {
    let collateral = read(DCAP, "tdx_quote_collateral.json");
    verify(
        reg,
        PlatformId::TDX_DCAP,
        quote,
        Some(&collateral),
        hex64(TDX_REPORT_DATA),
        at,
    )
}

#[test]
fn tdx_quote_is_accepted_up_to_date() {
    let reg = tdx(&format!("rtmr1 = [\"{RTMR1}\"]"));
    let claims = verify_tdx(&reg, &read(DCAP, "tdx_quote"), JULY_2025).unwrap();
    assert_eq!(hex::encode(&claims.measurement), MRTD);
    assert!(claims.tcb_status == Some(sc_protocol::TcbStatus::UpToDate));
    assert!(!claims.debug && !claims.simulated);
    assert_eq!(claims.report_data, hex64(TDX_REPORT_DATA));
}

#[test]
fn tdx_quote_is_rejected_by_measurement_rtmr_report_data_or_a_flipped_byte() {
    let quote = read(DCAP, "tdx_quote");
    let other = registry(
        DCAP,
        &format!(
            "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{}\"]\n",
            "11".repeat(48)
        ),
    );
    // The refusal shows the value presented beside the ones accepted.
    let e = verify_tdx(&other, &quote, JULY_2025).unwrap_err();
    assert_eq!(
        e,
        AttestationError::WrongMeasurement(Mismatch::of_bytes(&hex::decode(MRTD).unwrap(), [&[0x11; 48][..]]))
    );
    assert_eq!(
        e.to_string(),
        format!(
            "measurement is not in the policy: presented {MRTD}; the policy accepts {}",
            "11".repeat(48)
        )
    );
    let rtmr = tdx(&format!("rtmr1 = [\"{}\"]", "22".repeat(48)));
    assert_eq!(
        verify_tdx(&rtmr, &quote, JULY_2025).unwrap_err(),
        AttestationError::PolicyMismatch {
            field: "rtmr1".into(),
            mismatch: Mismatch::of_bytes(&hex::decode(RTMR1).unwrap(), [&[0x22; 48][..]]),
        }
    );
    let collateral = read(DCAP, "tdx_quote_collateral.json");
    let e = verify(
        &tdx(""),
        PlatformId::TDX_DCAP,
        &quote,
        Some(&collateral),
        [0; 64],
        JULY_2025,
    );
    assert_eq!(e.unwrap_err(), AttestationError::ReportDataMismatch);
    // A byte of the TD report (inside MRTD) flipped: the signature no longer verifies.
    let mut flipped = quote.clone();
    flipped[48 + 136] ^= 1;
    assert!(verify_tdx(&tdx(""), &flipped, JULY_2025).is_err());
    // The same quote presented as SGX evidence.
    let sgx = registry(DCAP, &format!("[sgx]\nmrenclaves = [\"{MRENCLAVE}\"]\n"));
    let e = verify(
        &sgx,
        PlatformId::SGX_DCAP,
        &quote,
        Some(&collateral),
        hex64(TDX_REPORT_DATA),
        JULY_2025,
    );
    assert!(
        matches!(
            e,
            Err(AttestationError::Malformed { .. }) | Err(AttestationError::Collateral { .. })
        ),
        "{e:?}"
    );
}

#[test]
fn expired_collateral_is_rejected() {
    let after = 1_752_969_600; // 2025-07-20, past the TCB info's nextUpdate
    let e = verify_tdx(&tdx(""), &read(DCAP, "tdx_quote"), after).unwrap_err();
    // The first item to expire (details in dcap_diagnostics.rs).
    assert!(
        matches!(&e, AttestationError::Expired { item, .. } if item == "PCK CRL"),
        "{e:?}"
    );
}

#[test]
fn outdated_tdx_quote_is_rejected_whatever_the_accepted_statuses() {
    let mrtd = "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd";
    let reg = registry(
        DCAP,
        &format!(
            "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{mrtd}\"]\naccepted_tcb_statuses = [\"UpToDate\", \"SWHardeningNeeded\", \"ConfigurationNeeded\", \"ConfigurationAndSWHardeningNeeded\", \"OutOfDate\", \"OutOfDateConfigurationNeeded\"]\n"
        ),
    );
    let collateral = read(DCAP, "tdx_quote_outdated_collateral.json");
    let rd = hex64("d2142b643598eb5fae2bc8529dd79a558b29f868ccbb6531cb28dab9dce47728");
    let e = verify(
        &reg,
        PlatformId::TDX_DCAP,
        &read(DCAP, "tdx_quote_outdated"),
        Some(&collateral),
        rd,
        1_772_323_200,
    );
    assert!(
        matches!(
            &e,
            Err(AttestationError::TcbNotAccepted(TcbRejection::NoMatchingLevel(_)))
        ),
        "{e:?}"
    );
}

#[test]
fn sgx_quote_needs_its_tcb_status_and_advisories_accepted() {
    let quote = read(DCAP, "sgx_quote");
    let collateral = read(DCAP, "sgx_quote_collateral.json");
    let rd = hex64(&hex::encode(b"Hello, world!"));
    let base = format!("[sgx]\nmrenclaves = [\"{MRENCLAVE}\"]\nmrsigners = [\"{MRSIGNER}\"]\n");
    let run = |extra: &str| {
        let reg = registry(DCAP, &format!("{base}{extra}"));
        verify(&reg, PlatformId::SGX_DCAP, &quote, Some(&collateral), rd, JULY_2025)
    };
    // Default: UpToDate only.
    let e = run("").unwrap_err();
    assert_eq!(
        e,
        AttestationError::TcbNotAccepted(TcbRejection::Status(TcbStatus::ConfigurationAndSwHardeningNeeded))
    );
    // The status accepted, the advisories not.
    let statuses = "accepted_tcb_statuses = [\"UpToDate\", \"ConfigurationAndSWHardeningNeeded\"]\n";
    let e = run(statuses).unwrap_err();
    assert!(
        matches!(
            &e,
            AttestationError::TcbNotAccepted(TcbRejection::Advisories { ids, status: TcbStatus::ConfigurationAndSwHardeningNeeded })
                if ids == &["INTEL-SA-00289", "INTEL-SA-00615"]
        ),
        "{e:?}"
    );
    // Both advisories accepted explicitly.
    let claims = run(&format!(
        "{statuses}accepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n"
    ))
    .unwrap();
    assert_eq!(hex::encode(&claims.measurement), MRENCLAVE);
    assert_eq!(claims.signer.as_deref().map(hex::encode).as_deref(), Some(MRSIGNER));
    assert_eq!(claims.security_version, Some(0));
    // A minimum ISV SVN above the quote's.
    let e = run(&format!(
        "{statuses}accepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\nmin_isv_svn = 1\n"
    ));
    assert!(
        matches!(e, Err(AttestationError::SecurityVersionTooLow { found: 0, min: 1 })),
        "{e:?}"
    );
}

#[test]
fn dcap_collateral_can_come_from_the_policy_directory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("collateral")).unwrap();
    std::fs::copy(
        dir(DCAP).join("tdx_quote_collateral.json"),
        tmp.path().join("collateral/tdx.json"),
    )
    .unwrap();
    std::fs::copy(
        dir(DCAP).join("sgx_quote_collateral.json"),
        tmp.path().join("collateral/sgx.json"),
    )
    .unwrap();
    let policy =
        format!("[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\ncollateral_dir = \"collateral\"\n");
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    let claims = verify(
        &reg,
        PlatformId::TDX_DCAP,
        &read(DCAP, "tdx_quote"),
        None,
        hex64(TDX_REPORT_DATA),
        JULY_2025,
    );
    assert_eq!(hex::encode(claims.unwrap().measurement), MRTD);
    // No collateral anywhere: a typed refusal.
    let bare = registry(
        DCAP,
        &format!("[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\n"),
    );
    let e = verify(
        &bare,
        PlatformId::TDX_DCAP,
        &read(DCAP, "tdx_quote"),
        None,
        hex64(TDX_REPORT_DATA),
        JULY_2025,
    );
    assert!(matches!(e, Err(AttestationError::Collateral { .. })), "{e:?}");
}

// ---- AMD SEV-SNP -------------------------------------------------------------------------

const TRUSTEE: &str = "amd-snp-trustee";
const VIRTEE: &str = "amd-snp-virtee-milan";
const JUNE_2025: u64 = 1_749_945_600;
const MILAN_MEASUREMENT: &str =
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c";
const VLEK_MEASUREMENT: &str =
    "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0";
const GENOA_MEASUREMENT: &str =
    "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e";
const VIRTEE_MEASUREMENT: &str =
    "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f";

fn snp(measurements: &[&str], extra: &str) -> VerifierRegistry {
    let list: Vec<String> = measurements.iter().map(|m| format!("\"{m}\"")).collect();
    registry(
        TRUSTEE,
        &format!("[sev_snp]\nmeasurements = [{}]\n{extra}", list.join(", ")),
    )
}

/// The report data a report carries (bytes 0x50..0x90).
fn report_data(report: &[u8]) -> [u8; 64] {
    report[0x50..0x90].try_into().unwrap()
}

fn verify_snp(reg: &VerifierRegistry, report: &[u8], vek: &[u8], at: u64) -> Result<Claims, AttestationError> {
    verify(reg, PlatformId::SEV_SNP, report, Some(vek), report_data(report), at)
}

const MILAN_CHAIN: &str = "ca_chain = \"milan/milan_ask_ark_asvk.pem\"\n";

#[test]
fn every_snp_report_is_accepted_with_its_chain() {
    // Milan VCEK (trustee), with the chain file and with the built-in AMD chains.
    let report = read(TRUSTEE, "milan/test-report.bin");
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    for extra in [MILAN_CHAIN, ""] {
        let claims = verify_snp(&snp(&[MILAN_MEASUREMENT], extra), &report, &vcek, JUNE_2025).unwrap();
        assert_eq!(hex::encode(&claims.measurement), MILAN_MEASUREMENT);
        assert_eq!(claims.security_version, Some(4));
        assert!(!claims.debug);
    }
    // Milan VLEK: its ASVK is only in the chain file.
    let vlek_report = read(TRUSTEE, "milan/test-vlek-report.bin");
    let vlek = read(TRUSTEE, "milan/test-vlek.der");
    let claims = verify_snp(&snp(&[VLEK_MEASUREMENT], MILAN_CHAIN), &vlek_report, &vlek, JUNE_2025).unwrap();
    assert_eq!(hex::encode(&claims.measurement), VLEK_MEASUREMENT);
    // Genoa VCEK, with its chain file and built in.
    let genoa = read(TRUSTEE, "genoa/DERIVED_report.bin");
    let genoa_vcek = read(TRUSTEE, "genoa/DERIVED_vcek.der");
    for extra in ["ca_chain = \"genoa/genoa_ask_ark_asvk.pem\"\n", ""] {
        let claims = verify_snp(&snp(&[GENOA_MEASUREMENT], extra), &genoa, &genoa_vcek, JUNE_2025).unwrap();
        assert_eq!(hex::encode(&claims.measurement), GENOA_MEASUREMENT);
    }
    // Milan (virtee): report as hex text, its own chain file.
    let hex_text = String::from_utf8(read(VIRTEE, "report_milan.hex")).unwrap();
    let virtee = hex::decode(hex_text.split_whitespace().collect::<String>()).unwrap();
    let reg = VerifierRegistry::from_policy(
        &Policy::from_toml(
            &format!("[sev_snp]\nmeasurements = [\"{VIRTEE_MEASUREMENT}\"]\nca_chain = \"cert_chain_milan\"\n"),
            Some(&dir(VIRTEE)),
        )
        .unwrap(),
    )
    .unwrap();
    let claims = verify_snp(&reg, &virtee, &read(VIRTEE, "vcek_milan.der"), JUNE_2025).unwrap();
    assert_eq!(hex::encode(&claims.measurement), VIRTEE_MEASUREMENT);
}

#[test]
fn snp_reports_are_rejected_for_each_fault() {
    let report = read(TRUSTEE, "milan/test-report.bin");
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    let reg = snp(&[MILAN_MEASUREMENT, VLEK_MEASUREMENT], MILAN_CHAIN);
    // The wrong chain: Genoa's ARK and ASK did not sign a Milan VCEK.
    let genoa = snp(&[MILAN_MEASUREMENT], "ca_chain = \"genoa/genoa_ask_ark_asvk.pem\"\n");
    assert!(matches!(
        verify_snp(&genoa, &report, &vcek, JUNE_2025).unwrap_err(),
        AttestationError::UntrustedRoot { .. }
    ));
    // A flipped byte in the signed part (the measurement).
    let mut flipped = report.clone();
    flipped[0x90] ^= 1;
    assert!(matches!(
        verify_snp(&snp(&[MILAN_MEASUREMENT], MILAN_CHAIN), &flipped, &vcek, JUNE_2025).unwrap_err(),
        AttestationError::BadSignature { .. }
    ));
    // Another chip's VCEK (same AMD chain): the chip id does not match its hardware id.
    let other_chip = read(VIRTEE, "vcek_milan.der");
    assert_eq!(
        verify_snp(&reg, &report, &other_chip, JUNE_2025).unwrap_err(),
        AttestationError::ChipIdMismatch
    );
    // A measurement the policy does not list.
    let other = snp(&[VIRTEE_MEASUREMENT], MILAN_CHAIN);
    assert_eq!(
        verify_snp(&other, &report, &vcek, JUNE_2025).unwrap_err(),
        AttestationError::WrongMeasurement(Mismatch::of_bytes(
            &hex::decode(MILAN_MEASUREMENT).unwrap(),
            [&hex::decode(VIRTEE_MEASUREMENT).unwrap()[..]]
        ))
    );
    // The VLEK report presented with a VCEK: the key types differ.
    let vlek_report = read(TRUSTEE, "milan/test-vlek-report.bin");
    assert_eq!(
        verify_snp(&reg, &vlek_report, &vcek, JUNE_2025).unwrap_err(),
        AttestationError::KeyTypeMismatch {
            report: "VLEK",
            certificate: "VCEK"
        }
    );
    // VLEK without the ASVK (built-in chains only): no trusted chain.
    let vlek = read(TRUSTEE, "milan/test-vlek.der");
    let builtin = snp(&[VLEK_MEASUREMENT], "");
    assert!(matches!(
        verify_snp(&builtin, &vlek_report, &vlek, JUNE_2025).unwrap_err(),
        AttestationError::UntrustedRoot { .. }
    ));
    // VLEK refused by a VCEK-only policy; and after its certificate expired (2025-12-10).
    let vcek_only = snp(
        &[VLEK_MEASUREMENT],
        &format!("{MILAN_CHAIN}signing_keys = [\"vcek\"]\n"),
    );
    assert_eq!(
        verify_snp(&vcek_only, &vlek_report, &vlek, JUNE_2025).unwrap_err(),
        AttestationError::PolicyMismatch {
            field: "signing key type".into(),
            mismatch: Mismatch {
                presented: "VLEK".into(),
                accepted: vec!["VCEK".into()]
            }
        }
    );
    let e = verify_snp(&reg, &vlek_report, &vlek, 1_767_225_600).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Expired { item, .. } if item.contains("SEV-VLEK")),
        "{e:?}"
    );
    // Guest policy and minimum TCB.
    let policy = snp(
        &[MILAN_MEASUREMENT],
        &format!("{MILAN_CHAIN}guest_policies = [\"0x30000\"]\n"),
    );
    let e = verify_snp(&policy, &report, &vcek, JUNE_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::PolicyMismatch { field, mismatch }
            if field == "guest policy" && mismatch.accepted == ["0x30000"] && mismatch.presented.starts_with("0x")),
        "{e}"
    );
    let ok = snp(
        &[MILAN_MEASUREMENT],
        &format!(
            "{MILAN_CHAIN}guest_policies = [\"0x3001f\"]\nmin_tcb = {{ bootloader = 3, tee = 0, snp = 8, microcode = 115 }}\n"
        ),
    );
    assert!(verify_snp(&ok, &report, &vcek, JUNE_2025).is_ok());
    let high = snp(
        &[MILAN_MEASUREMENT],
        &format!("{MILAN_CHAIN}min_tcb = {{ bootloader = 3, tee = 0, snp = 9, microcode = 115 }}\n"),
    );
    assert!(matches!(
        verify_snp(&high, &report, &vcek, JUNE_2025),
        Err(AttestationError::TcbNotAccepted(_))
    ));
    // No certificate with the evidence.
    let e = verify(
        &reg,
        PlatformId::SEV_SNP,
        &report,
        None,
        report_data(&report),
        JUNE_2025,
    );
    assert!(matches!(e, Err(AttestationError::Collateral { .. })), "{e:?}");
    // Truncated.
    let e = verify_snp(&reg, &report[..1000], &vcek, JUNE_2025);
    assert!(matches!(e, Err(AttestationError::Malformed { .. })), "{e:?}");
}

// ---- Huawei virtCCA --------------------------------------------------------------------

#[test]
fn virtcca_token_is_parsed_and_refused_as_unbound() {
    let text = String::from_utf8(read("huawei-virtcca-secgear", "virtcca.cbor.hex")).unwrap();
    let token = hex::decode(text.split_whitespace().collect::<String>()).unwrap();
    let parsed = sc_attestation::platforms::virtcca::parse(&token).unwrap();
    assert!(hex::encode(&parsed.challenge).starts_with("783c7f3e50bfffff"));
    assert_eq!(
        hex::encode(&parsed.rim),
        "7309ec52e2870938ffa6930793d61e55ab982a756111410829d6073f66c71708"
    );
    assert!(!parsed.has_platform_token);
    let reg = tdx("");
    let e = verify(&reg, PlatformId::ARM_CCA, &token, None, [0; 64], 1_751_328_000).unwrap_err();
    assert!(matches!(e, AttestationError::NotBound(_)), "{e:?}");
    assert!(matches!(
        sc_attestation::platforms::virtcca::parse(&token[..100]),
        Err(AttestationError::Malformed { .. })
    ));
}

#[test]
fn snp_endorsement_keys_come_from_a_cert_table_or_the_policy_directory() {
    let report = read(TRUSTEE, "milan/test-report.bin");
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    // The cert table a guest gets beside its report (configfs-tsm auxblob).
    use sev::firmware::host::{CertTableEntry, CertType};
    let table = CertTableEntry::cert_table_to_vec_bytes(&[
        CertTableEntry::new(CertType::ASK, b"not used".to_vec()),
        CertTableEntry::new(CertType::VCEK, vcek.clone()),
    ])
    .unwrap();
    let reg = snp(&[MILAN_MEASUREMENT], MILAN_CHAIN);
    assert!(verify_snp(&reg, &report, &table, JUNE_2025).is_ok());
    // A table whose entry points past its end, and one without a closing entry.
    let mut broken = table.clone();
    broken[24 + 16..24 + 20].copy_from_slice(&u32::MAX.to_le_bytes());
    // (The report is fine: these are collateral problems.)
    assert!(matches!(
        verify_snp(&reg, &report, &broken, JUNE_2025),
        Err(AttestationError::Collateral { .. })
    ));
    assert!(matches!(
        verify_snp(&reg, &report, &table[..40], JUNE_2025),
        Err(AttestationError::Collateral { .. })
    ));
    // Offline directory with two chips' VCEKs: the one matching the chip id is used.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("vcek")).unwrap();
    std::fs::write(tmp.path().join("vcek/a.der"), read(VIRTEE, "vcek_milan.der")).unwrap();
    std::fs::write(tmp.path().join("vcek/b.der"), &vcek).unwrap();
    std::fs::copy(
        dir(TRUSTEE).join("milan/milan_ask_ark_asvk.pem"),
        tmp.path().join("chain.pem"),
    )
    .unwrap();
    let policy =
        format!("[sev_snp]\nmeasurements = [\"{MILAN_MEASUREMENT}\"]\nca_chain = \"chain.pem\"\nvek_dir = \"vcek\"\n");
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    let claims = verify(
        &reg,
        PlatformId::SEV_SNP,
        &report,
        None,
        report_data(&report),
        JUNE_2025,
    )
    .unwrap();
    assert_eq!(hex::encode(claims.measurement), MILAN_MEASUREMENT);
    // Without the matching chip's VCEK in the directory: a typed refusal.
    std::fs::remove_file(tmp.path().join("vcek/b.der")).unwrap();
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(tmp.path())).unwrap()).unwrap();
    let e = verify(
        &reg,
        PlatformId::SEV_SNP,
        &report,
        None,
        report_data(&report),
        JUNE_2025,
    );
    assert!(matches!(e, Err(AttestationError::Collateral { .. })), "{e:?}");
    // A file in the directory that is not a certificate (a truncated VCEK) is an error
    // naming it when the policy loads, not skipped until a report needs it.
    std::fs::write(tmp.path().join("vcek/c.der"), &vcek[..vcek.len() / 2]).unwrap();
    let err = Policy::from_toml(&policy, Some(tmp.path())).unwrap_err().to_string();
    assert!(err.contains("vek_dir") && err.contains("c.der"), "{err}");
    assert!(err.contains("line 1"), "{err}");
}

/// The dcap-qvl messages that the DCAP verifier sorts into typed errors (its `PINNED`
/// table), each produced here from real evidence: a reworded message in a dcap-qvl update
/// fails this test instead of silently changing the verdict's kind. Whatever is not
/// pinned keeps dcap-qvl's words as the cause.
#[test]
fn dcap_messages_that_are_classified_stay_pinned() {
    let chain = |e: &AttestationError| sc_protocol::ErrorChain(e).to_string();
    // Collateral signatures (typed `CollateralSignature`, tested in dcap_diagnostics.rs);
    // here, that dcap-qvl still says it in the pinned words.
    for (field, message) in [
        (
            "tcb_info_signature",
            "Signature is invalid for tcb_info in quote_collateral",
        ),
        (
            "qe_identity_signature",
            "Signature is invalid for qe_identity in quote_collateral",
        ),
        ("root_ca_crl", "Failed to parse root CA CRL"),
    ] {
        let mut v: serde_json::Value = serde_json::from_slice(&read(DCAP, "tdx_quote_collateral.json")).unwrap();
        let mut bytes = hex::decode(v[field].as_str().unwrap()).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        v[field] = serde_json::Value::String(hex::encode(bytes));
        let collateral = serde_json::to_vec(&v).unwrap();
        let quote = read(DCAP, "tdx_quote");
        let e = verify(
            &tdx(""),
            PlatformId::TDX_DCAP,
            &quote,
            Some(&collateral),
            hex64(TDX_REPORT_DATA),
            JULY_2025,
        )
        .unwrap_err();
        assert!(chain(&e).contains(message), "{field}: {}", chain(&e));
    }
    // The quote's own signature.
    let mut quote = read(DCAP, "tdx_quote");
    quote[48 + 520] ^= 1;
    let e = verify_tdx(&tdx(""), &quote, JULY_2025).unwrap_err();
    assert!(
        chain(&e).ends_with(": ISV enclave report signature is invalid"),
        "{}",
        chain(&e)
    );
    // No TCB level for the platform.
    let mrtd = "273828c46252fcbdd8ad2dd907130222b03466d52a2911d70c1a5950895d6bd1ae451d382d5a9b1b4c0ed0e5ae9a3dbd";
    let reg = registry(
        DCAP,
        &format!("[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{mrtd}\"]\n"),
    );
    let e = verify(
        &reg,
        PlatformId::TDX_DCAP,
        &read(DCAP, "tdx_quote_outdated"),
        Some(&read(DCAP, "tdx_quote_outdated_collateral.json")),
        [0; 64],
        1_772_323_200,
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::TcbNotAccepted(TcbRejection::NoMatchingLevel(_))),
        "{e:?}"
    );
    assert!(chain(&e).contains("No matching TCB level found"), "{}", chain(&e));
}

/// Evidence bytes are canonical: zero padding after a DCAP quote's own length is accepted
/// and dropped (the shared TDX quote arrives with 70 zero bytes after its signature data;
/// other stacks send thousands), anything else after it is refused, and so are non-zero
/// bytes in an SEV-SNP report's signature padding and reserved area (the signature does
/// not cover them).
#[test]
fn evidence_bytes_are_canonical() {
    use sc_attestation::platforms::{dcap, snp};
    let quote = read(DCAP, "tdx_quote");
    let own = dcap::canonical_quote(&quote).unwrap();
    assert_eq!((quote.len(), own.len()), (5006, 4936), "70 bytes of zero padding");
    let padded = verify_tdx(&tdx(""), &quote, JULY_2025).unwrap();
    assert_eq!(padded, verify_tdx(&tdx(""), own, JULY_2025).unwrap(), "the same claims");
    let mut more = quote.clone();
    more.extend(vec![0; 4096]);
    assert_eq!(verify_tdx(&tdx(""), &more, JULY_2025).unwrap(), padded);
    for at in [own.len(), quote.len() - 1] {
        let mut tail = quote.clone();
        tail[at] = 1;
        assert!(
            matches!(
                verify_tdx(&tdx(""), &tail, JULY_2025),
                Err(AttestationError::Malformed { what, .. }) if what.contains("after the DCAP quote")
            ),
            "non-zero byte at {at}"
        );
    }
    assert!(matches!(
        dcap::canonical_quote(&quote[..own.len() - 1]),
        Err(AttestationError::Malformed { .. })
    ));

    let report = read(TRUSTEE, "milan/test-report.bin");
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    let reg = snp(&[MILAN_MEASUREMENT], MILAN_CHAIN);
    verify_snp(&reg, &report, &vcek, JUNE_2025).unwrap();
    // r's padding, s's padding, the reserved bytes after the signature.
    for at in [0x2A0 + 48, 0x2E8 + 71, 0x330, 0x49F] {
        let mut bent = report.clone();
        bent[at] = 0x01;
        let e = verify_snp(&reg, &bent, &vcek, JUNE_2025).unwrap_err();
        assert!(
            matches!(&e, AttestationError::Malformed { what, .. } if what.contains("padding")),
            "offset {at:#x}: {e:?}"
        );
        assert!(snp::check_canonical(&bent).is_err());
    }
}
