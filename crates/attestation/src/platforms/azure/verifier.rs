//! The Azure vTPM verifier. In order, each failure with its own error:
//!
//! 1. the HCL report and the TPM quote parse;
//! 2. the quote is signed by the attestation key (`HCLAkPub`) in the HCL variable data;
//! 3. the PCR values given hash to the digest the quote signs;
//! 4. the hardware report's report data holds SHA-256 of that variable data (the vTPM key
//!    is the one the hardware vouches for);
//! 5. the hardware report verifies under the section's hardware policy (SEV-SNP with the
//!    VCEK; TDX as a DCAP quote with its collateral), and for SNP was made at VMPL 0 (by
//!    the paravisor, not the guest);
//! 6. each PCR the policy constrains has an accepted value.
//!
//! The claims are the hardware's, with the PCRs added and the quote's nonce as report
//! data: a guest on Azure cannot choose the hardware report data, so the channel's report
//! data travels as the TPM quote's nonce (all 64 bytes; a shorter nonce, as in captured
//! evidence, reads zero-padded).

use super::evidence::AzureEvidence;
use super::hcl::{HclReport, HwKind};
use super::policy::AzurePolicy;
use super::tpm;
use crate::platform::PlatformVerifier;
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime};
use std::sync::Arc;

/// Verifies Azure confidential-VM evidence of one hardware type.
pub struct AzureVerifier {
    policy: AzurePolicy,
    hardware: Arc<dyn PlatformVerifier>,
}

impl std::fmt::Debug for AzureVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureVerifier")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl AzureVerifier {
    /// A verifier under `policy`.
    pub fn new(policy: AzurePolicy) -> Self {
        let hardware: Arc<dyn PlatformVerifier> = match &policy.hardware {
            super::policy::Hardware::Snp(p) => Arc::new(crate::platforms::snp::SnpVerifier::new(p.clone())),
            super::policy::Hardware::Tdx(p) => Arc::new(crate::platforms::dcap::DcapVerifier::new(p.clone())),
        };
        Self { policy, hardware }
    }
}

/// The parts of Azure evidence, checked up to the hardware report (steps 1 to 4), with the
/// hardware report's platform and bytes.
pub(super) struct Bound {
    pub(super) evidence: AzureEvidence,
    hcl: HclReport,
    pub(super) hw_platform: PlatformId,
    pub(super) nonce: Vec<u8>,
    /// The PCR indexes the quote selects, in the order of `evidence.pcrs`.
    pub(super) selected: Vec<usize>,
}

impl Bound {
    /// The hardware report to verify (SNP report, or TD quote).
    pub(super) fn hw_bytes(&self) -> &[u8] {
        match self.hw_platform {
            PlatformId::SEV_SNP => self.hcl.hw_report(),
            _ => self.evidence.td_quote.as_deref().unwrap_or_default(),
        }
    }

    /// The value of PCR `index`, if the quote covers it.
    pub(super) fn pcr(&self, index: usize) -> Option<&[u8]> {
        let at = self.selected.iter().position(|&i| i == index)?;
        self.evidence.pcrs.get(at).map(Vec::as_slice)
    }

    /// The nonce as 64 bytes of report data.
    pub(super) fn report_data(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..self.nonce.len()].copy_from_slice(&self.nonce);
        out
    }
}

/// Steps 1 to 4, for `platform` (an Azure id), without the hardware's signature.
pub(super) fn bind(platform: PlatformId, bytes: &[u8]) -> Result<Bound, AttestationError> {
    let evidence = AzureEvidence::parse(bytes)?;
    let hcl = HclReport::parse(evidence.hcl_report.clone())?;
    let hw_platform = match (platform, hcl.kind()) {
        (PlatformId::AZURE_SNP_VTPM, HwKind::Snp) => PlatformId::SEV_SNP,
        (PlatformId::AZURE_TDX_VTPM, HwKind::Tdx) => PlatformId::TDX_DCAP,
        _ => {
            return Err(AttestationError::malformed(
                "the HCL report holds the other platform's hardware report",
            ));
        }
    };
    let info = tpm::parse_quote(&evidence.quote_message)?;
    if info.nonce.len() > 64 {
        return Err(AttestationError::malformed("TPM quote nonce longer than 64 bytes"));
    }
    tpm::verify_signature(&evidence.quote_message, &evidence.quote_signature, &hcl.ak_pub()?)?;
    tpm::check_pcrs(&info, &evidence.pcrs)?;
    if hw_platform == PlatformId::TDX_DCAP && evidence.td_quote.is_none() {
        return Err(AttestationError::malformed("Azure TDX evidence without its TD quote"));
    }
    let var_data_hash = hcl.var_data_sha256();
    let bound = Bound {
        evidence,
        hcl,
        hw_platform,
        nonce: info.nonce,
        selected: info.selected,
    };
    let stated = crate::platforms::inspect::describe(hw_platform, bound.hw_bytes())?;
    if stated.report_data[..32] != var_data_hash {
        return Err(AttestationError::NotBound(
            "the hardware report's report data is not the SHA-256 of the HCL variable data holding the vTPM key",
        ));
    }
    Ok(bound)
}

/// The claims: the hardware's, the PCRs added, the nonce as report data.
pub(super) fn claims(platform: PlatformId, bound: &Bound, mut hw: Claims) -> Claims {
    hw.platform = platform;
    hw.report_data = bound.report_data();
    for index in 0..tpm::PCR_COUNT {
        if let Some(value) = bound.pcr(index) {
            hw.extra_measurements.push((format!("pcr{index:02}"), value.to_vec()));
        }
    }
    hw
}

impl PlatformVerifier for AzureVerifier {
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError> {
        let bound = bind(self.policy.platform, evidence.bytes)?;
        let mut hw = Evidence::new(bound.hw_platform, bound.hw_bytes());
        hw.collateral = match bound.hw_platform {
            // The VCEK travels inside the evidence; else the evidence's collateral.
            PlatformId::SEV_SNP => bound.evidence.vcek.as_deref().or(evidence.collateral),
            _ => evidence.collateral,
        };
        let hw_claims = self.hardware.verify(&hw, now)?;
        let claims = claims(self.policy.platform, &bound, hw_claims);
        if bound.hw_platform == PlatformId::SEV_SNP {
            // The paravisor, not the guest, must have made the report.
            crate::check_required(
                &[crate::Required {
                    field: "vmpl".into(),
                    accepted: vec![vec![0, 0, 0, 0]],
                }],
                &claims,
            )?;
        }
        crate::check_required(&self.policy.pcrs, &claims)?;
        Ok(claims)
    }
}
