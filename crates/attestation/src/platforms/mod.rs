//! The attestation platforms. Each owns one folder (or file): its evidence format, its
//! verifier and its policy section; adding a platform means adding its folder and one
//! line to `ALL` in this module.
//!
//! * [`sim`]: the simulated TEE for development and CI; policy `[simulated]`;
//! * [`dcap`]: Intel SGX and TDX quotes (`dcap-qvl`); policy `[sgx]` and `[tdx]`;
//! * [`snp`]: AMD SEV-SNP reports (`sev`); policy `[sev_snp]`;
//! * [`azure`]: Azure confidential VMs (vTPM quote, HCL report, SNP report or TD quote);
//!   policy `[azure_snp]` and `[azure_tdx]`;
//! * [`virtcca`]: Huawei virtCCA tokens: parsed, and refused unless bound to a device key;
//! * [`inspect`]: which platform a file holds and what it claims, unverified (for tools).

pub mod azure;
pub mod dcap;
pub mod inspect;
pub mod sim;
pub mod snp;
pub mod virtcca;

use crate::platform::{Platform, PlatformVerifier, Section};
use sc_protocol::PlatformId;
use std::sync::Arc;

/// Every platform this crate knows.
pub(crate) const ALL: &[&Platform] = &[
    &sim::PLATFORM,
    &dcap::PLATFORM,
    &snp::PLATFORM,
    &virtcca::PLATFORM,
    &azure::PLATFORM,
];

/// Every policy section of every platform.
pub(crate) fn sections() -> Vec<Section> {
    ALL.iter().flat_map(|p| p.sections.iter().copied()).collect()
}

/// The refusing verifiers of platforms that have no policy section.
pub(crate) fn unconfigured() -> impl Iterator<Item = (PlatformId, Arc<dyn PlatformVerifier>)> {
    ALL.iter()
        .filter_map(|p| p.unconfigured)
        .map(|(id, build)| (id, build()))
}
