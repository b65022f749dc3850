//! The attestation interface the handshake depends on.
//!
//! The enclave side holds an [`Attester`] (report data in, evidence out); the client side
//! holds a [`Verifier`] (evidence and expected report data in, [`Claims`] or a typed
//! [`AttestationError`] out). Concrete platforms live in the attestation crate; this crate
//! only defines the contract and checks the binding itself: whatever a verifier returns,
//! the handshake compares the claims' report data with the value it expects.

use crate::suite::PlatformId;
use crate::time::UnixTime;
use alloc::string::String;
use alloc::vec::Vec;
use core::time::Duration;

/// Evidence as carried in a ServerHello, with optional verification collateral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence<'a> {
    /// Format of `bytes`.
    pub platform: PlatformId,
    /// Evidence in the platform's own format (quote, report, token).
    pub bytes: &'a [u8],
    /// Collateral for verification (TCB info, CRLs, certificate chains) when it travels with
    /// the evidence. In protocol version 1 the handshake carries none (extension 0x0004 is
    /// reserved for it); verifiers usually hold collateral themselves.
    pub collateral: Option<&'a [u8]>,
}

impl<'a> Evidence<'a> {
    /// Evidence without collateral.
    pub fn new(platform: PlatformId, bytes: &'a [u8]) -> Self {
        Self {
            platform,
            bytes,
            collateral: None,
        }
    }

    /// The same evidence with collateral attached.
    pub fn with_collateral(self, collateral: &'a [u8]) -> Self {
        Self {
            collateral: Some(collateral),
            ..self
        }
    }
}

/// What verified evidence says about the enclave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The platform that produced the evidence.
    pub platform: PlatformId,
    /// The primary code measurement (MRENCLAVE, MRTD, SNP measurement, TA image hash...).
    pub measurement: Vec<u8>,
    /// Further named measurements (RTMRs, memory hash...).
    pub extra_measurements: Vec<(String, Vec<u8>)>,
    /// Identity of the enclave's signer (MRSIGNER...), when the platform has one.
    pub signer: Option<Vec<u8>>,
    /// Security version of the enclave or its TCB.
    pub security_version: Option<u64>,
    /// Whether the enclave runs in debug mode (its memory is then readable by the host).
    pub debug: bool,
    /// The 64 bytes of report data the evidence carries.
    pub report_data: [u8; 64],
    /// When the evidence was produced, if the platform says.
    pub issued_at: Option<UnixTime>,
    /// True for simulated evidence: no hardware stands behind it.
    pub simulated: bool,
}

/// Why evidence was rejected. Each reason is its own variant so that callers and tests can
/// tell them apart.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// No verifier is registered for the evidence's platform.
    #[error("no verifier for platform 0x{:04x}", .0.0)]
    UnsupportedPlatform(PlatformId),
    /// The evidence could not be parsed (field named).
    #[error("malformed evidence: {0}")]
    Malformed(&'static str),
    /// The evidence's signature chain does not end in a trusted root.
    #[error("evidence is not signed by a trusted root")]
    UntrustedRoot,
    /// A signature inside the evidence is invalid.
    #[error("evidence signature is invalid")]
    BadSignature,
    /// The measurement is not among the policy's reference values.
    #[error("measurement is not in the policy")]
    WrongMeasurement,
    /// The signer is not among the policy's accepted signers.
    #[error("signer is not in the policy")]
    WrongSigner,
    /// The enclave is in debug mode and the policy does not allow it.
    #[error("debug enclave refused by policy")]
    DebugNotAllowed,
    /// The security version is below the policy's minimum.
    #[error("security version {found} is below the minimum {min}")]
    SecurityVersionTooLow {
        /// Version in the evidence.
        found: u64,
        /// Minimum the policy accepts.
        min: u64,
    },
    /// The evidence is older than the policy allows.
    #[error("evidence is {age:?} old, the policy allows {max:?}")]
    Stale {
        /// Age at verification time.
        age: Duration,
        /// Largest accepted age.
        max: Duration,
    },
    /// The evidence's report data differs from the expected value.
    #[error("evidence report data does not match")]
    ReportDataMismatch,
    /// Simulated evidence under a policy that does not allow it.
    #[error("simulated evidence refused by policy")]
    SimulatedNotAllowed,
    /// The platform's trusted computing base is not in an accepted state (named).
    #[error("TCB status not accepted: {0}")]
    TcbNotAccepted(String),
    /// Verification collateral is missing or expired (named).
    #[error("collateral problem: {0}")]
    Collateral(String),
    /// The report's chip id differs from the endorsement certificate's hardware id (SEV-SNP).
    #[error("chip id in the report does not match the endorsement certificate")]
    ChipIdMismatch,
    /// The report names a different signing key type than the certificate that signed it
    /// (SEV-SNP VCEK versus VLEK).
    #[error("report signing key type {report} does not match the certificate ({certificate})")]
    KeyTypeMismatch {
        /// The key type the report names.
        report: &'static str,
        /// The key type of the certificate.
        certificate: &'static str,
    },
    /// The evidence is not bound to a hardware key (named why).
    #[error("evidence is not bound to a hardware key: {0}")]
    NotBound(&'static str),
    /// The policy does not accept this value (field named).
    #[error("policy rejects {0}")]
    PolicyMismatch(&'static str),
    /// Any other rejection a platform verifier reports.
    #[error("{0}")]
    Other(String),
}

/// Produces evidence inside the enclave.
pub trait Attester: Send + Sync {
    /// The platform whose evidence this attester produces.
    fn platform(&self) -> PlatformId;

    /// Produces evidence carrying `report_data` (64 bytes, placed where the platform puts
    /// user data: SGX/TDX REPORTDATA, SNP REPORT_DATA...).
    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError>;

    /// Like [`Attester::attest`], with verification collateral to send beside the evidence
    /// when the client accepts it (an SEV-SNP certificate table, DCAP collateral). Most
    /// attesters have none.
    fn attest_with_collateral(&self, report_data: &[u8; 64]) -> Result<(Vec<u8>, Option<Vec<u8>>), AttesterError> {
        Ok((self.attest(report_data)?, None))
    }
}

/// The attester could not produce evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attester failed: {0}")]
pub struct AttesterError(pub &'static str);

/// Appraises evidence on the client side against the verifier's policy.
pub trait Verifier: Send + Sync {
    /// Verifies `evidence` at time `now` and returns its claims. Implementations must check
    /// that the report data equals `expected_report_data`; the handshake checks it again.
    fn verify(
        &self,
        evidence: &Evidence<'_>,
        expected_report_data: &[u8; 64],
        now: UnixTime,
    ) -> Result<Claims, AttestationError>;
}
