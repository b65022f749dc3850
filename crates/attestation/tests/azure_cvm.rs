//! Azure confidential-VM evidence captured on Azure (tests/evidence/azure-cvm-trustee, see
//! its SOURCE.md): SEV-SNP (Milan, Genoa) and TDX guests attesting through a vTPM. Every
//! accepted case of SOURCE.md is accepted, every tampering case refused with its own
//! error, and TDX fails closed without DCAP collateral.

use sc_attestation::platforms::azure::AzureEvidence;
use sc_attestation::platforms::inspect;
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, Claims, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::read;

const SET: &str = "azure-cvm-trustee";
/// 2025-06-01: within the VCEKs' validity (the Milan one is valid from 2025-01-28).
const AT: u64 = 1_748_736_000;

fn challenge() -> [u8; 64] {
    let mut rd = [0u8; 64];
    rd[..9].copy_from_slice(b"challenge");
    rd
}

/// A registry accepting the hardware measurement `evidence` states (read unverified, as an
/// operator copies it from `secure-channel verify`), with `extra` policy lines.
fn registry_for(platform: PlatformId, evidence: &[u8], extra: &str) -> VerifierRegistry {
    let stated = inspect::describe(platform, evidence).unwrap();
    let section = match platform {
        PlatformId::AZURE_SNP_VTPM => format!(
            "[azure_snp]\nallow_unpinned_workload = true\nmeasurements = [\"{}\"]\n",
            hex::encode(&stated.measurement)
        ),
        _ => format!(
            "[azure_tdx]\nallow_unpinned_workload = true\nmrtds = [\"{}\"]\n",
            hex::encode(&stated.measurement)
        ),
    };
    VerifierRegistry::from_policy(&Policy::from_toml(&format!("{section}{extra}"), None).unwrap()).unwrap()
}

fn verify(
    platform: PlatformId,
    evidence: &[u8],
    report_data: &[u8; 64],
    extra: &str,
) -> Result<Claims, AttestationError> {
    // The policy is made from the untampered file so that tampering is judged by it.
    let file = if platform == PlatformId::AZURE_SNP_VTPM {
        "az-snp-vtpm/evidence-v1.json"
    } else {
        "az-tdx-vtpm/evidence-v1.json"
    };
    let reg = registry_for(platform, &read(SET, file), extra);
    reg.verify(&Evidence::new(platform, evidence), report_data, UnixTime::from_secs(AT))
}

#[test]
fn snp_evidence_in_every_version_is_accepted_with_its_nonce() {
    for file in ["evidence-v0.json", "evidence-v1.json"] {
        let ev = read(SET, &format!("az-snp-vtpm/{file}"));
        assert_eq!(inspect::detect(&ev), Some(PlatformId::AZURE_SNP_VTPM), "{file}");
        let reg = registry_for(PlatformId::AZURE_SNP_VTPM, &ev, "");
        let claims = reg
            .verify(
                &Evidence::new(PlatformId::AZURE_SNP_VTPM, &ev),
                &challenge(),
                UnixTime::from_secs(AT),
            )
            .unwrap_or_else(|e| panic!("{file}: {}", ErrorChain(&e)));
        assert_eq!(claims.platform, PlatformId::AZURE_SNP_VTPM);
        assert_eq!(claims.report_data, challenge());
        assert_eq!(
            claims
                .extra_measurements
                .iter()
                .filter(|(n, _)| n.starts_with("pcr"))
                .count(),
            24
        );
    }
    // v2 and the Genoa capture carry other nonces (Genoa's is 48 bytes, not "challenge"
    // as SOURCE.md says: the signed quote is what counts): each is accepted with its own
    // nonce and refused with "challenge".
    for file in ["evidence-v2.json", "evidence-genoa.json"] {
        let ev = read(SET, &format!("az-snp-vtpm/{file}"));
        let stated = inspect::describe(PlatformId::AZURE_SNP_VTPM, &ev).unwrap();
        assert_ne!(stated.report_data, challenge());
        let reg = registry_for(PlatformId::AZURE_SNP_VTPM, &ev, "");
        let at = UnixTime::from_secs(AT);
        reg.verify(&Evidence::new(PlatformId::AZURE_SNP_VTPM, &ev), &stated.report_data, at)
            .unwrap_or_else(|e| panic!("{file}: {}", ErrorChain(&e)));
        assert_eq!(
            reg.verify(&Evidence::new(PlatformId::AZURE_SNP_VTPM, &ev), &challenge(), at)
                .unwrap_err(),
            AttestationError::ReportDataMismatch,
            "{file}"
        );
    }
}

/// Evidence v1 of `platform` with `edit` applied to its decoded parts.
fn tampered(platform: PlatformId, edit: impl FnOnce(&mut AzureEvidence)) -> Vec<u8> {
    let file = if platform == PlatformId::AZURE_SNP_VTPM {
        "az-snp-vtpm/evidence-v1.json"
    } else {
        "az-tdx-vtpm/evidence-v1.json"
    };
    let mut ev = AzureEvidence::parse(&read(SET, file)).unwrap();
    edit(&mut ev);
    ev.to_json()
}

/// Offset of "vmUniqueId" in the HCL variable data: a byte no key depends on.
fn var_data_byte(hcl: &[u8]) -> usize {
    hcl.windows(10).position(|w| w == b"vmUniqueId").unwrap() + 14
}

#[test]
fn every_snp_tampering_is_refused_with_its_own_error() {
    let snp = PlatformId::AZURE_SNP_VTPM;
    let chain = |e: &AttestationError| ErrorChain(e).to_string();
    // The untampered round trip through our own encoding verifies.
    verify(snp, &tampered(snp, |_| {}), &challenge(), "").unwrap();
    // The TPM quote's signature.
    let e = verify(snp, &tampered(snp, |ev| ev.quote_signature[10] ^= 1), &challenge(), "").unwrap_err();
    assert!(
        matches!(&e, AttestationError::BadSignature { .. })
            && chain(&e).contains("not signed by the vTPM attestation key"),
        "{}",
        chain(&e)
    );
    // The quote itself (its nonce).
    let e = verify(snp, &tampered(snp, |ev| ev.quote_message[0x2e] ^= 1), &challenge(), "").unwrap_err();
    assert!(
        chain(&e).contains("not signed by the vTPM attestation key"),
        "{}",
        chain(&e)
    );
    // A PCR value.
    let e = verify(snp, &tampered(snp, |ev| ev.pcrs[7][0] ^= 1), &challenge(), "").unwrap_err();
    assert!(
        matches!(&e, AttestationError::BadSignature { .. }) && chain(&e).contains("PCR values do not match"),
        "{}",
        chain(&e)
    );
    // The HCL variable data (outside the key): the hardware no longer vouches for it.
    let e = verify(
        snp,
        &tampered(snp, |ev| {
            let at = var_data_byte(&ev.hcl_report);
            ev.hcl_report[at] ^= 1;
        }),
        &challenge(),
        "",
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::NotBound(m) if m.contains("variable data")),
        "{}",
        chain(&e)
    );
    // The attestation key in the variable data: the quote no longer verifies with it.
    let e = verify(
        snp,
        &tampered(snp, |ev| {
            let at = ev.hcl_report.windows(5).position(|w| w == b"\"n\":\"").unwrap() + 10;
            ev.hcl_report[at] = if ev.hcl_report[at] == b'A' { b'B' } else { b'A' };
        }),
        &challenge(),
        "",
    )
    .unwrap_err();
    assert!(
        chain(&e).contains("not signed by the vTPM attestation key"),
        "{}",
        chain(&e)
    );
    // The SNP report (its measurement): its signature by the VCEK fails.
    let e = verify(
        snp,
        &tampered(snp, |ev| ev.hcl_report[32 + 0x90] ^= 1),
        &challenge(),
        "",
    )
    .unwrap_err();
    assert!(matches!(&e, AttestationError::BadSignature { .. }), "{}", chain(&e));
    assert!(!chain(&e).contains("vTPM"), "{}", chain(&e));
    // Another nonce than the channel's report data.
    let mut other = challenge();
    other[0] ^= 1;
    assert_eq!(
        verify(snp, &tampered(snp, |_| {}), &other, "").unwrap_err(),
        AttestationError::ReportDataMismatch
    );
}

#[test]
fn pcr_reference_values_are_enforced() {
    let snp = PlatformId::AZURE_SNP_VTPM;
    let ev = read(SET, "az-snp-vtpm/evidence-v1.json");
    let parts = AzureEvidence::parse(&ev).unwrap();
    let pcr7 = hex::encode(&parts.pcrs[7]);
    verify(snp, &ev, &challenge(), &format!("pcrs = {{ 7 = [\"0x{pcr7}\"] }}\n")).unwrap();
    let e = verify(
        snp,
        &ev,
        &challenge(),
        &format!("pcrs = {{ 7 = [\"{}\"] }}\n", "00".repeat(32)),
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::PolicyMismatch { field, mismatch }
            if field == "pcr07" && mismatch.presented == pcr7 && mismatch.accepted == ["00".repeat(32)]),
        "{e}"
    );
    // An index that is no PCR, and pcrs in a bare section, are policy errors.
    let bad = Policy::from_toml(
        "[azure_snp]\nallow_unpinned_workload = true\nmeasurements = []\npcrs = { 24 = [] }\n",
        None,
    )
    .unwrap_err();
    assert!(bad.to_string().contains("not a PCR index"), "{bad}");
    let bad = Policy::from_toml("[sev_snp]\nmeasurements = []\npcrs = { 1 = [] }\n", None).unwrap_err();
    assert!(bad.to_string().contains("only in [azure_snp]"), "{bad}");
}

#[test]
fn tdx_evidence_is_bound_and_fails_closed_without_collateral() {
    let tdx = PlatformId::AZURE_TDX_VTPM;
    let chain = |e: &AttestationError| ErrorChain(e).to_string();
    for file in ["evidence-v0.json", "evidence-v1.json"] {
        let ev = read(SET, &format!("az-tdx-vtpm/{file}"));
        assert_eq!(inspect::detect(&ev), Some(tdx), "{file}");
        // Everything up to the TD quote's signature checks out (describe binds it)...
        let stated = inspect::describe(tdx, &ev).unwrap();
        assert_eq!(stated.report_data, challenge());
        // ...and without collateral for the TD quote, verification fails closed.
        let e = verify(tdx, &ev, &challenge(), "").unwrap_err();
        assert!(
            matches!(&e, AttestationError::Collateral { .. }),
            "{file}: {}",
            chain(&e)
        );
    }
    // The HCL report changed at 0x880 (the variable data's "secure-boot" entry): the TD
    // quote's report data no longer vouches for it.
    let e = verify(tdx, &tampered(tdx, |ev| ev.hcl_report[0x880] ^= 1), &challenge(), "").unwrap_err();
    assert!(
        matches!(&e, AttestationError::NotBound(m) if m.contains("variable data")),
        "{}",
        chain(&e)
    );
    // One signature bit flipped.
    let e = verify(
        tdx,
        &tampered(tdx, |ev| ev.quote_signature[0] ^= 0x80),
        &challenge(),
        "",
    )
    .unwrap_err();
    assert!(
        chain(&e).contains("not signed by the vTPM attestation key"),
        "{}",
        chain(&e)
    );
}

#[test]
fn malformed_azure_evidence_gets_typed_errors() {
    let snp = PlatformId::AZURE_SNP_VTPM;
    let ev = read(SET, "az-snp-vtpm/evidence-v1.json");
    for bad in [
        b"{}".to_vec(),
        b"not json".to_vec(),
        ev[..ev.len() / 2].to_vec(),
        tampered(snp, |ev| ev.hcl_report.truncate(100)),
        tampered(snp, |ev| ev.quote_message.truncate(20)),
        tampered(snp, |ev| ev.pcrs.pop().map(drop).unwrap_or_default()),
        tampered(snp, |ev| ev.hcl_report[1216 + 12] = 2),
    ] {
        let e = verify(snp, &bad, &challenge(), "").unwrap_err();
        assert!(matches!(e, AttestationError::Malformed { .. }), "{}", ErrorChain(&e));
    }
    // SNP evidence offered as TDX.
    let e = verify(PlatformId::AZURE_TDX_VTPM, &ev, &challenge(), "").unwrap_err();
    assert!(matches!(e, AttestationError::Malformed { .. }), "{}", ErrorChain(&e));
}
