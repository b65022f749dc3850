//! # sc-attestation: attestation for the secure channel
//!
//! Plugs into the protocol core's [`sc_protocol::Attester`] and [`sc_protocol::Verifier`]
//! traits:
//!
//! * [`VerifierRegistry`]: the client's verifier: one [`PlatformVerifier`] per platform the
//!   [`Policy`] has a section for (each section, a [`PlatformPolicy`], builds its own), and a
//!   report-data check. A policy that accepts nothing is refused, so a client cannot start
//!   without reference values.
//! * [`Policy`]: reference values per platform from a TOML file, including the original
//!   system's `taid img_hash mem_hash` basevalue file ([`parse_basevalues`]).
//! * [`sim`]: the simulated TEE for development and CI (a root key in a file, measurements
//!   of real executables); its evidence is always marked simulated and refused unless the
//!   policy says `allow_simulated = true`.
//! * [`platforms`]: one folder per platform, each with its evidence format, verifier and
//!   policy section: Intel SGX and TDX DCAP quotes, AMD SEV-SNP reports (VCEK and VLEK),
//!   virtCCA tokens (parsed, refused when unbound), the simulated TEE; collateral supplied
//!   offline, time injected.
//! * [`attesters`]: evidence from real platforms through Linux configfs-tsm (TDX, SEV-SNP,
//!   Arm CCA guests) and Gramine's `/dev/attestation` (SGX).
//! * [`RefreshingIdentity`]: the identity-key binding mode's cached, periodically refreshed
//!   evidence.
//!
//! ```
//! use std::sync::Arc;
//! use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot};
//! use sc_attestation::{Policy, VerifierRegistry};
//! use sc_protocol::{Attester, Evidence, PlatformId, UnixTime, Verifier};
//!
//! let root = SimRoot::from_secret([7; 32]);
//! // A policy file's `[simulated]` section, built in code.
//! let policy = Policy::simulated(root.public_key(), &[[1; 32]]);
//! let verifier = VerifierRegistry::from_policy(&policy)?;
//!
//! let now = UnixTime::from_secs(1_800_000_000);
//! let enclave = SimEnclave { measurement: [1; 32], signer: [2; 32], security_version: 1, debug: false };
//! let attester = SimAttester::new(root, enclave, Arc::new(move || now));
//! let evidence = attester.attest(&[9; 64])?;
//! let claims = verifier.verify(&Evidence::new(PlatformId::SIMULATED, &evidence), &[9; 64], now)?;
//! assert!(claims.simulated);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod appraisal;
pub mod attesters;
mod basevalue;
mod cache;
pub mod fetch;
pub mod hex_text;
mod hints;
mod identity;
mod measure;
pub mod offline;
mod platform;
pub mod platforms;
mod policy;
mod policy_file;
pub mod tpm_wire;
mod verifier;
mod x509;

pub use appraisal::{DEFAULT_CLOCK_SKEW, ReferenceValues, Required, check_required};
pub use basevalue::{BaseValue, BaseValueError, parse_basevalues};
pub use hints::hint;
pub use identity::RefreshingIdentity;
pub use measure::measure_file;
pub use platform::{PlatformPolicy, PlatformVerifier};
pub use platforms::sim;
pub use platforms::sim::SimulatedPolicy;
pub use policy::Policy;
pub use policy_file::PolicyError;
pub use verifier::VerifierRegistry;
