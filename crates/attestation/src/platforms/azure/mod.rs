//! Azure confidential VMs (SEV-SNP and TDX). The guest does not reach the hardware report
//! itself: a paravisor (the HCL) obtains it with the hash of a JSON "variable data" block
//! holding the public key of a virtual TPM's attestation key, and the guest attests with
//! a TPM quote by that key whose nonce is the caller's report data. Verification binds the
//! three: quote by the key, key by the hardware report, hardware report by AMD's or
//! Intel's chain ([`AzureVerifier`], `verifier.rs` lists the steps).
//!
//! Formats are parsed here, bounds-checked, rather than with the `az-*-vtpm` crates:
//! their verification needs OpenSSL and the TPM2 software stack (C libraries), they pin
//! an older `sev`, and their HCL parser panics on a hash type other than SHA-256, where
//! bad input must get a typed error. The cryptography is ring's (RSA PKCS#1 v1.5, SHA-256).

mod evidence;
mod hcl;
mod policy;
mod tpm;
mod verifier;

pub use evidence::AzureEvidence;
pub use policy::{AzurePolicy, Hardware};
pub use tpm::VtpmError;
pub use verifier::AzureVerifier;

use crate::platform::{Platform, PlatformPolicy, PlatformVerifier, Section};
use sc_protocol::PlatformId;
use std::any::Any;
use std::sync::Arc;

/// Azure confidential VMs.
pub(crate) const PLATFORM: Platform = Platform {
    sections: &[
        Section {
            key: "azure_snp",
            parse: policy::parse_snp,
        },
        Section {
            key: "azure_tdx",
            parse: policy::parse_tdx,
        },
    ],
    detect,
    describe: |platform, bytes| {
        matches!(platform, PlatformId::AZURE_SNP_VTPM | PlatformId::AZURE_TDX_VTPM).then(|| {
            let bound = verifier::bind(platform, bytes)?;
            let hw = crate::platforms::inspect::describe(bound.hw_platform, bound.hw_bytes())?;
            Ok(verifier::claims(platform, &bound, hw))
        })
    },
    unconfigured: None,
};

/// Azure evidence is JSON whose HCL report names its hardware.
fn detect(bytes: &[u8]) -> Option<PlatformId> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let evidence = AzureEvidence::parse(bytes).ok()?;
    Some(match hcl::HclReport::parse(evidence.hcl_report).ok()?.kind() {
        hcl::HwKind::Snp => PlatformId::AZURE_SNP_VTPM,
        hcl::HwKind::Tdx => PlatformId::AZURE_TDX_VTPM,
    })
}

impl PlatformPolicy for AzurePolicy {
    fn platform(&self) -> PlatformId {
        self.platform
    }

    fn verifier(&self) -> Arc<dyn PlatformVerifier> {
        Arc::new(AzureVerifier::new(self.clone()))
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
