//! Reading evidence without verifying it: which platform a file holds, and what it claims.
//! For tools (`secure-channel verify` prints the claims before the verdict, so that a
//! rejected enclave's values can be compared with the policy); never for trust decisions.

use sc_protocol::{AttestationError, Claims, PlatformId};

/// The platform whose evidence `bytes` looks like, if any.
pub fn detect(bytes: &[u8]) -> Option<PlatformId> {
    if bytes.starts_with(b"SCSIM") {
        return Some(PlatformId::SIMULATED);
    }
    // CBOR tag 399 (a CCA token collection).
    if bytes.starts_with(&[0xd9, 0x01, 0x8f]) {
        return Some(PlatformId::ARM_CCA);
    }
    if bytes.len() == super::snp::REPORT_LEN {
        return Some(PlatformId::SEV_SNP);
    }
    // A DCAP quote header: u16 version, u16 key type, u32 TEE type (0 SGX, 0x81 TDX).
    let version = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let tee = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    match (version, tee) {
        (3, 0) => Some(PlatformId::SGX_DCAP),
        (4 | 5, 0x81) => Some(PlatformId::TDX_DCAP),
        _ => None,
    }
}

/// What the evidence claims, parsed but NOT verified.
pub fn describe(platform: PlatformId, bytes: &[u8]) -> Result<Claims, AttestationError> {
    match platform {
        PlatformId::SGX_DCAP | PlatformId::TDX_DCAP => {
            let quote =
                dcap_qvl::quote::Quote::parse(bytes).map_err(|e| AttestationError::malformed_by("DCAP quote", e))?;
            super::dcap::claims(platform, &quote.report)
        }
        PlatformId::SEV_SNP => {
            use sev::parser::ByteParser;
            let report = sev::firmware::guest::AttestationReport::from_bytes(bytes)
                .map_err(|e| AttestationError::malformed_by("SEV-SNP report", e))?;
            Ok(super::snp::claims(&report))
        }
        PlatformId::ARM_CCA => {
            let token = super::virtcca::parse(bytes)?;
            let mut report_data = [0u8; 64];
            let n = token.challenge.len().min(64);
            report_data[..n].copy_from_slice(&token.challenge[..n]);
            Ok(Claims {
                platform,
                measurement: token.rim,
                extra_measurements: token
                    .rems
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| (format!("rem{i}"), r))
                    .collect(),
                signer: None,
                security_version: None,
                tcb_status: None,
                advisory_ids: Vec::new(),
                debug: false,
                report_data,
                issued_at: None,
                simulated: false,
            })
        }
        _ => Err(AttestationError::UnsupportedPlatform(platform)),
    }
}
