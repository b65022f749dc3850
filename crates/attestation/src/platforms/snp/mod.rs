//! AMD SEV-SNP attestation reports: the verifier ([`SnpVerifier`]), the `[sev_snp]` policy
//! section ([`SnpPolicy`]) and the AMD certificates around a report ([`certs`]).

pub mod certs;
pub mod kds;
pub(crate) mod policy;
mod verifier;

pub use kds::KdsService;
pub use policy::{KeyType, MinTcb, SnpPolicy};
pub use verifier::SnpVerifier;

use crate::platform::{Platform, PlatformPolicy, PlatformVerifier, Section};
use sc_protocol::{AttestationError, Claims, PlatformId};
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;
use std::any::Any;
use std::sync::Arc;

/// Size of an SEV-SNP attestation report.
pub const REPORT_LEN: usize = 1184;

/// Offsets in the report: the signature's r and s (72 bytes each, a little-endian P-384
/// value in the first 48) and the reserved bytes after them, up to the report's end.
const SIGNATURE_R: usize = 0x2A0;
const SIGNATURE_S: usize = 0x2E8;
const SIGNATURE_RESERVED: usize = 0x330;
const P384_LEN: usize = 48;

/// Refuses a report whose signature padding or reserved bytes are not zero. The signature
/// does not cover them, so without this check one report would have many byte forms, and a
/// cache or replay check keyed on the bytes would not be sound.
pub fn check_canonical(report: &[u8]) -> Result<(), AttestationError> {
    if report.len() != REPORT_LEN {
        return Err(AttestationError::malformed("SEV-SNP report length"));
    }
    let padding = [
        &report[SIGNATURE_R + P384_LEN..SIGNATURE_S],
        &report[SIGNATURE_S + P384_LEN..SIGNATURE_RESERVED],
        &report[SIGNATURE_RESERVED..],
    ];
    if padding.iter().any(|p| p.iter().any(|&b| b != 0)) {
        return Err(AttestationError::malformed(
            "SEV-SNP report: non-zero signature padding or reserved bytes",
        ));
    }
    Ok(())
}

/// AMD SEV-SNP.
pub(crate) const PLATFORM: Platform = Platform {
    sections: &[Section {
        key: "sev_snp",
        parse: policy::parse,
    }],
    detect: |bytes| (bytes.len() == REPORT_LEN).then_some(PlatformId::SEV_SNP),
    describe: |platform, bytes| {
        (platform == PlatformId::SEV_SNP).then(|| {
            AttestationReport::from_bytes(bytes)
                .map(|r| claims(&r))
                .map_err(|e| AttestationError::malformed_by("SEV-SNP report", e))
        })
    },
    unconfigured: None,
};

impl PlatformPolicy for SnpPolicy {
    fn platform(&self) -> PlatformId {
        PlatformId::SEV_SNP
    }

    fn verifier(&self) -> Arc<dyn PlatformVerifier> {
        Arc::new(SnpVerifier::new(self.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// The report's claims.
pub(crate) fn claims(r: &AttestationReport) -> Claims {
    let t = &r.reported_tcb;
    Claims {
        platform: PlatformId::SEV_SNP,
        measurement: r.measurement.to_vec(),
        extra_measurements: vec![
            ("host_data".into(), r.host_data.to_vec()),
            ("id_key_digest".into(), r.id_key_digest.to_vec()),
            ("author_key_digest".into(), r.author_key_digest.to_vec()),
            ("family_id".into(), r.family_id.to_vec()),
            ("image_id".into(), r.image_id.to_vec()),
            ("guest_policy".into(), policy_bits(r).to_be_bytes().to_vec()),
            ("reported_tcb".into(), vec![t.bootloader, t.tee, t.snp, t.microcode]),
            ("vmpl".into(), r.vmpl.to_be_bytes().to_vec()),
            ("chip_id".into(), r.chip_id.to_vec()),
        ],
        signer: None,
        security_version: Some(u64::from(r.guest_svn)),
        tcb_status: None,
        advisory_ids: Vec::new(),
        debug: r.policy.debug_allowed(),
        report_data: r.report_data,
        issued_at: None,
        simulated: false,
    }
}

/// The guest policy as its 64-bit value.
fn policy_bits(r: &AttestationReport) -> u64 {
    u64::from_le_bytes(r.policy.to_bytes().unwrap_or_default())
}
