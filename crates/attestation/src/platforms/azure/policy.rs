//! The `[azure_snp]` and `[azure_tdx]` policy sections: the fields of `[sev_snp]` and
//! `[tdx]` for the hardware report (the paravisor's measurement, TCB rules, collateral),
//! plus reference values for the vTPM's PCRs.
//!
//! ```toml
//! [azure_snp]
//! measurements = ["<96 hex>"]           # the HCL (paravisor) launch measurement
//! # ... any other [sev_snp] field (min_tcb, ca_chain, vek_dir, ...)
//! pcrs = { 4 = ["<64 hex>"], 7 = ["<64 hex>"] }   # optional: accepted SHA-256 PCR values
//!
//! [azure_tdx]
//! mrtds = ["<96 hex>"]
//! # ... any other [tdx] field (rtmr0..3, accepted_tcb_statuses, collateral_dir, ...)
//! pcrs = { 11 = ["<64 hex>"] }
//! ```

use super::tpm::PCR_COUNT;
use crate::Required;
use crate::platform::{PlatformPolicy, SectionInput};
use crate::platforms::dcap::DcapPolicy;
use crate::platforms::snp::SnpPolicy;
use crate::policy_file::{PcrTable, PolicyError};
use sc_protocol::PlatformId;
use std::sync::Arc;

/// The hardware part of an Azure policy.
#[derive(Debug, Clone)]
pub enum Hardware {
    /// SEV-SNP: the HCL report's SNP report.
    Snp(SnpPolicy),
    /// TDX: the TD quote.
    Tdx(DcapPolicy),
}

/// What a policy accepts from an Azure confidential VM.
#[derive(Debug, Clone)]
pub struct AzurePolicy {
    /// [`PlatformId::AZURE_SNP_VTPM`] or [`PlatformId::AZURE_TDX_VTPM`].
    pub platform: PlatformId,
    /// The hardware report's policy.
    pub hardware: Hardware,
    /// Accepted values of the PCRs the policy pins (`pcr00`..`pcr23`).
    pub pcrs: Vec<Required>,
}

fn pcrs(input: &SectionInput<'_>, table: Option<PcrTable>) -> Result<Vec<Required>, PolicyError> {
    table
        .unwrap_or_default()
        .into_iter()
        .map(|(index, values)| {
            let i: usize = index
                .parse()
                .ok()
                .filter(|i| *i < PCR_COUNT)
                .ok_or_else(|| input.invalid(format!("pcrs: {index:?} is not a PCR index (0 to 23)")))?;
            Ok(Required {
                field: format!("pcr{i:02}"),
                accepted: values.into_iter().map(|h| h.0.to_vec()).collect(),
            })
        })
        .collect()
}

/// Reads `[azure_snp]`.
pub(super) fn parse_snp(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    let (snp, table) = crate::platforms::snp::policy::read(input)?;
    Ok(Arc::new(AzurePolicy {
        platform: PlatformId::AZURE_SNP_VTPM,
        hardware: Hardware::Snp(snp),
        pcrs: pcrs(input, table)?,
    }))
}

/// Reads `[azure_tdx]`.
pub(super) fn parse_tdx(input: &SectionInput<'_>) -> Result<Arc<dyn PlatformPolicy>, PolicyError> {
    let (tdx, table) = crate::platforms::dcap::policy::read_tdx(input)?;
    Ok(Arc::new(AzurePolicy {
        platform: PlatformId::AZURE_TDX_VTPM,
        hardware: Hardware::Tdx(tdx),
        pcrs: pcrs(input, table)?,
    }))
}
