//! SEV-SNP collateral as guests and tools produce it: the certificate table with its
//! GUIDs in either byte order seen in practice, and collateral that is not what it should
//! be, reported as a collateral problem (the report itself is fine).

use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::{dir, read};

const TRUSTEE: &str = "amd-snp-trustee";
const JUNE_2025: u64 = 1_749_945_600;
const MILAN_MEASUREMENT: &str =
    "a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c";

fn registry() -> VerifierRegistry {
    let policy =
        format!("[sev_snp]\nmeasurements = [\"{MILAN_MEASUREMENT}\"]\nca_chain = \"milan/milan_ask_ark_asvk.pem\"\n");
    VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(&dir(TRUSTEE))).unwrap()).unwrap()
}

fn verify(collateral: &[u8]) -> Result<(), AttestationError> {
    let report = read(TRUSTEE, "milan/test-report.bin");
    let report_data: [u8; 64] = report[0x50..0x90].try_into().unwrap();
    registry()
        .verify(
            &Evidence::new(PlatformId::SEV_SNP, &report).with_collateral(collateral),
            &report_data,
            UnixTime::from_secs(JUNE_2025),
        )
        .map(drop)
}

/// A certificate table (24-byte entries: GUID, u32 offset, u32 length; a zero entry ends
/// it) holding `entries`, each GUID given as the 16 bytes to store.
fn table(entries: &[([u8; 16], &[u8])]) -> Vec<u8> {
    let header = 24 * (entries.len() + 1);
    let mut out = Vec::new();
    let mut offset = header;
    for (guid, data) in entries {
        out.extend_from_slice(guid);
        out.extend_from_slice(&u32::try_from(offset).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        offset += data.len();
    }
    out.extend_from_slice(&[0; 24]);
    for (_, data) in entries {
        out.extend_from_slice(data);
    }
    out
}

/// The VCEK GUID 63da758d-e664-4564-adc5-f4b93be8accd in textual byte order.
const VCEK_TEXTUAL: [u8; 16] = 0x63da758d_e664_4564_adc5_f4b93be8accd_u128.to_be_bytes();
/// The same GUID in the mixed-endian EFI layout.
const VCEK_EFI: [u8; 16] = [
    0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45, 0xad, 0xc5, 0xf4, 0xb9, 0x3b, 0xe8, 0xac, 0xcd,
];
/// The ASK GUID 4ab7b379-bbac-4fe4-a02f-05aef327c782 (EFI layout), an entry to skip.
const ASK_EFI: [u8; 16] = [
    0x79, 0xb3, 0xb7, 0x4a, 0xac, 0xbb, 0xe4, 0x4f, 0xa0, 0x2f, 0x05, 0xae, 0xf3, 0x27, 0xc7, 0x82,
];

#[test]
fn a_cert_table_is_read_with_guids_in_either_byte_order() {
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    verify(&table(&[(VCEK_TEXTUAL, &vcek)])).unwrap();
    verify(&table(&[(ASK_EFI, b"an ASK, not used"), (VCEK_EFI, &vcek)])).unwrap();
    // Any other GUID is not taken for the VCEK.
    let mut other = VCEK_EFI;
    other[15] ^= 1;
    let e = verify(&table(&[(other, &vcek)])).unwrap_err();
    assert!(matches!(e, AttestationError::Collateral { .. }), "{}", ErrorChain(&e));
}

#[test]
fn collateral_that_is_not_a_certificate_or_table_is_a_collateral_error() {
    let vcek = read(TRUSTEE, "milan/test-vcek.der");
    // A truncated VCEK.
    let e = verify(&vcek[..vcek.len() / 2]).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { what, .. } if what.contains("VCEK/VLEK certificate is unreadable")),
        "{}",
        ErrorChain(&e)
    );
    // DCAP collateral given for an SNP report.
    let dcap = read("intel-dcap-phala", "tdx_quote_collateral.json");
    let e = verify(&dcap).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { what, .. } if what.contains("JSON")),
        "{}",
        ErrorChain(&e)
    );
    // Random bytes.
    let e = verify(&[0x42; 100]).unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { what, .. } if what.contains("neither a certificate")),
        "{}",
        ErrorChain(&e)
    );
}
