//! Intel SGX and TDX: DCAP ECDSA quotes (SGX v3, TDX v4 and v5). The verifier
//! ([`DcapVerifier`]) and the `[sgx]` and `[tdx]` policy sections ([`DcapPolicy`]).

pub mod collateral;
mod fit;
pub(crate) mod policy;
pub mod service;
mod verifier;

pub use collateral::{Collateral, CollateralForm, parse_collateral};
pub use policy::DcapPolicy;
pub use service::DcapService;
pub use verifier::{DcapVerifier, INTEL_SGX_ROOT_CA};

use crate::platform::{Platform, PlatformPolicy, PlatformVerifier, Section};
use dcap_qvl::quote::{Report, TDReport15, TDReport15Ex};
use sc_protocol::{AttestationError, Claims, PlatformId};
use std::any::Any;
use std::sync::Arc;

/// Intel SGX and TDX through DCAP.
pub(crate) const PLATFORM: Platform = Platform {
    sections: &[
        Section {
            key: "sgx",
            parse: policy::parse_sgx,
        },
        Section {
            key: "tdx",
            parse: policy::parse_tdx,
        },
    ],
    detect,
    describe: |platform, bytes| {
        matches!(platform, PlatformId::SGX_DCAP | PlatformId::TDX_DCAP).then(|| {
            let quote = dcap_qvl::quote::Quote::parse(canonical_quote(bytes)?)
                .map_err(|e| AttestationError::malformed_by("DCAP quote", e))?;
            claims(platform, &quote.report)
        })
    },
    unconfigured: None,
};

impl PlatformPolicy for DcapPolicy {
    fn platform(&self) -> PlatformId {
        self.platform
    }

    fn verifier(&self) -> Arc<dyn PlatformVerifier> {
        Arc::new(DcapVerifier::new(self.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The quote's own bytes, without the zero padding a fixed-size buffer may add after it.
/// Non-zero bytes after the quote are refused: evidence bytes are canonical, so that a cache
/// or a replay check keyed on them stays sound.
///
/// Layout (little-endian): a 48-byte header (u16 version, u16 key type, u32 TEE type, ...);
/// the report body (v3 SGX: 384 bytes; v4 TDX: 584 bytes; v5: u16 body type, u32 body size,
/// then the body); u32 signature data length; the signature data.
pub fn canonical_quote(bytes: &[u8]) -> Result<&[u8], AttestationError> {
    let short = || AttestationError::malformed("DCAP quote shorter than its own lengths");
    let u16_at = |at: usize| bytes.get(at..at + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let version = u16_at(0).ok_or_else(short)?;
    let tee = u32_at(4).ok_or_else(short)?;
    let (body_at, body_len): (usize, usize) = match (version, tee) {
        (3, 0) => (48, 384),
        (4, 0x81) => (48, 584),
        (5, _) => (54, u32_at(50).ok_or_else(short)?),
        _ => return Err(AttestationError::malformed("DCAP quote version or TEE type")),
    };
    let sig_len_at = body_at.checked_add(body_len).ok_or_else(short)?;
    let sig_len = u32_at(sig_len_at).ok_or_else(short)?;
    let end = (sig_len_at + 4)
        .checked_add(sig_len)
        .filter(|&e| e <= bytes.len())
        .ok_or_else(short)?;
    if bytes[end..].iter().any(|&b| b != 0) {
        return Err(AttestationError::malformed("non-zero bytes after the DCAP quote"));
    }
    Ok(&bytes[..end])
}

/// A DCAP quote header: u16 version, u16 key type, u32 TEE type (0 SGX, 0x81 TDX).
fn detect(bytes: &[u8]) -> Option<PlatformId> {
    let version = u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]);
    let tee = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    match (version, tee) {
        (3, 0) => Some(PlatformId::SGX_DCAP),
        (4 | 5, 0x81) => Some(PlatformId::TDX_DCAP),
        _ => None,
    }
}

/// The verified report as claims.
pub(crate) fn claims(platform: PlatformId, report: &Report) -> Result<Claims, AttestationError> {
    Ok(match (platform, report) {
        (PlatformId::SGX_DCAP, Report::SgxEnclave(r)) => Claims {
            platform,
            measurement: r.mr_enclave.to_vec(),
            extra_measurements: vec![("isv_prod_id".into(), r.isv_prod_id.to_be_bytes().to_vec())],
            signer: Some(r.mr_signer.to_vec()),
            security_version: Some(u64::from(r.isv_svn)),
            tcb_status: None,
            advisory_ids: Vec::new(),
            // ATTRIBUTES.DEBUG is bit 1 of the first byte.
            debug: r.attributes[0] & 0x02 != 0,
            report_data: r.report_data,
            issued_at: None,
            simulated: false,
        },
        (PlatformId::TDX_DCAP, Report::TD10(td))
        | (PlatformId::TDX_DCAP, Report::TD15(TDReport15 { base: td, .. }))
        | (
            PlatformId::TDX_DCAP,
            Report::TD15Ex(TDReport15Ex {
                base: TDReport15 { base: td, .. },
                ..
            }),
        ) => {
            Claims {
                platform,
                measurement: td.mr_td.to_vec(),
                extra_measurements: vec![
                    ("rtmr0".into(), td.rt_mr0.to_vec()),
                    ("rtmr1".into(), td.rt_mr1.to_vec()),
                    ("rtmr2".into(), td.rt_mr2.to_vec()),
                    ("rtmr3".into(), td.rt_mr3.to_vec()),
                    ("mr_seam".into(), td.mr_seam.to_vec()),
                    ("mr_config_id".into(), td.mr_config_id.to_vec()),
                    ("mr_owner".into(), td.mr_owner.to_vec()),
                    ("mr_owner_config".into(), td.mr_owner_config.to_vec()),
                    ("td_attributes".into(), td.td_attributes.to_vec()),
                    ("xfam".into(), td.xfam.to_vec()),
                ],
                signer: None,
                security_version: None,
                tcb_status: None,
                advisory_ids: Vec::new(),
                // TD_ATTRIBUTES.DEBUG is bit 0.
                debug: td.td_attributes[0] & 0x01 != 0,
                report_data: td.report_data,
                issued_at: None,
                simulated: false,
            }
        }
        _ => {
            return Err(AttestationError::malformed(
                "quote type does not match the evidence platform",
            ));
        }
    })
}
