//! Intel SGX and TDX: DCAP ECDSA quotes (SGX v3, TDX v4 and v5). The verifier
//! ([`DcapVerifier`]) and the `[sgx]` and `[tdx]` policy sections ([`DcapPolicy`]).

mod policy;
mod verifier;

pub use policy::DcapPolicy;
pub use policy::parse_collateral;
pub use verifier::DcapVerifier;

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
            let quote =
                dcap_qvl::quote::Quote::parse(bytes).map_err(|e| AttestationError::malformed_by("DCAP quote", e))?;
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
