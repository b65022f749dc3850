//! Verifiers for real TEE platforms, each with its policy section. Each wraps a
//! well-kept crate for the cryptography and formats, and adds the checks a policy needs.
//!
//! * [`dcap`]: Intel SGX and TDX quotes (`dcap-qvl`); policy [`dcap_policy`];
//! * [`snp`]: AMD SEV-SNP reports (`sev`); policy [`snp_policy`], certificates [`snp_certs`];
//! * [`virtcca`]: Huawei virtCCA tokens: parsed, and refused unless bound to a device key;
//! * [`inspect`]: which platform a file holds and what it claims, unverified (for tools).

pub mod dcap;
pub mod dcap_policy;
pub mod inspect;
pub mod snp;
pub mod snp_certs;
pub mod snp_policy;
pub mod virtcca;
