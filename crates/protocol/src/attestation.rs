//! The attestation interface the handshake depends on.
//!
//! The enclave side holds an [`Attester`] (report data in, evidence out); the client side
//! holds a [`Verifier`] (evidence and expected report data in, [`Claims`] or a typed
//! [`AttestationError`] out). Concrete platforms live in the attestation crate; this crate
//! only defines the contract and checks the binding itself: whatever a verifier returns,
//! the handshake compares the claims' report data with the value it expects.

use crate::other_error::OtherError;
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
    /// the evidence: in protocol version 1 the enclave sends it in the `collateral`
    /// extension (0x0004) when the client offers to take it; otherwise verifiers use the
    /// collateral they hold themselves.
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
    /// The platform's verdict on its trusted computing base (DCAP's TCB status), when the
    /// platform gives one.
    pub tcb_status: Option<TcbStatus>,
    /// Security advisories that apply to this platform's TCB (DCAP advisory ids such as
    /// `INTEL-SA-00615`).
    pub advisory_ids: Vec<String>,
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
/// tell them apart; a cause from a parser or a platform library is kept as the error's
/// [`source`](core::error::Error::source) (print it with [`crate::ErrorChain`]).
///
/// `PartialEq` compares variants and fields; a kept cause is never equal to another, so
/// match on the variant (`matches!`) rather than comparing errors that may carry one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// No verifier is registered for the evidence's platform (the policy has no section
    /// for it).
    #[error("the policy has no section for {0} evidence")]
    UnsupportedPlatform(PlatformId),
    /// The evidence could not be parsed (part named; the parser's error as the cause).
    #[error("malformed evidence: {what}")]
    Malformed {
        /// The part that could not be read.
        what: &'static str,
        /// The parser's error, when a library parsed it.
        #[source]
        cause: Option<OtherError>,
    },
    /// The evidence's signature chain does not end in a trusted root.
    #[error("evidence is not signed by a trusted root")]
    UntrustedRoot {
        /// The chain verifier's error, when it gave one.
        #[source]
        cause: Option<OtherError>,
    },
    /// A signature inside the evidence is invalid.
    #[error("evidence signature is invalid")]
    BadSignature {
        /// The signature verifier's error, when it gave one.
        #[source]
        cause: Option<OtherError>,
    },
    /// The measurement is not among the policy's reference values.
    #[error("measurement is not in the policy: {0}")]
    WrongMeasurement(Mismatch),
    /// The signer is not among the policy's accepted signers.
    #[error("signer is not in the policy: {0}")]
    WrongSigner(Mismatch),
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
    /// The platform's trusted computing base is not in an accepted state.
    #[error("TCB not accepted: {0}")]
    TcbNotAccepted(#[source] TcbRejection),
    /// Verification collateral is missing, unreadable, expired or does not fit the evidence.
    #[error("collateral problem: {what}")]
    Collateral {
        /// What is wrong with it.
        what: String,
        /// The underlying error, when there is one.
        #[source]
        cause: Option<OtherError>,
    },
    /// An item of collateral (a CRL, TCB info, QE identity) or a certificate had expired
    /// at the verification time.
    #[error("{item} expired at {expired}; the verification time is {at}")]
    Expired {
        /// The item ("PCK CRL", "root CA CRL", "TCB info", "certificate CN=...").
        item: String,
        /// Its end of validity (`nextUpdate`, `notAfter`).
        expired: UnixTime,
        /// The verification time.
        at: UnixTime,
    },
    /// An item of collateral or a certificate was not yet valid at the verification time
    /// (a clock behind, or collateral issued after the time asked for).
    #[error("{item} is not valid before {valid_from}; the verification time is {at}")]
    NotYetValid {
        /// The item, named as in [`AttestationError::Expired`].
        item: String,
        /// Its start of validity (`thisUpdate`, `issueDate`, `notBefore`).
        valid_from: UnixTime,
        /// The verification time.
        at: UnixTime,
    },
    /// A certificate of the evidence's chain is listed in a revocation list.
    #[error("{item} is revoked by the {by}")]
    Revoked {
        /// The certificate (common name and serial number).
        item: String,
        /// The list that revokes it ("PCK CRL", "root CA CRL").
        by: &'static str,
    },
    /// Collateral kept from a service had expired and a fresh copy could not be fetched:
    /// verification fails closed rather than use it.
    #[error("the cached {item} expired at {expired} (verification time {at}) and no fresh copy could be fetched")]
    StaleCollateral {
        /// The item that expired first.
        item: String,
        /// When it expired.
        expired: UnixTime,
        /// The verification time.
        at: UnixTime,
        /// Why the fetch failed.
        #[source]
        cause: Option<OtherError>,
    },
    /// The signature over an item of collateral does not verify: the collateral was altered,
    /// or signed by a key other than its issuer chain's. (The evidence's own signatures are
    /// [`AttestationError::BadSignature`].)
    #[error("the signature over the {item} is invalid (altered, or signed by another key)")]
    CollateralSignature {
        /// The item ("TCB info", "QE identity", "PCK CRL").
        item: &'static str,
        /// The verifier's error, when it gave one.
        #[source]
        cause: Option<OtherError>,
    },
    /// A certificate chain ends at a root other than the policy's trust anchor (a wrong
    /// `root_ca` in the policy, or collateral from another PKI).
    #[error("the {chain} ends at {root}, which is not the policy's trust anchor")]
    TrustAnchorMismatch {
        /// The chain ("PCK certificate chain", "TCB info issuer chain").
        chain: &'static str,
        /// The subject of the root it ends at.
        root: String,
    },
    /// The collateral was made for other evidence (another TEE type, platform model or CA).
    #[error("{item} is for {found}; this evidence needs {expected}")]
    CollateralMismatch {
        /// The item ("TCB info", "QE identity", "PCK CRL").
        item: &'static str,
        /// What the item is for ("FMSPC 00806f050000", "TDX", "the processor CA").
        found: String,
        /// What the evidence needs.
        expected: String,
    },
    /// Several collateral candidates were tried and none verified the evidence; each is
    /// listed with its own reason.
    #[error("no collateral fits the evidence: {}", CandidateList(.0))]
    NoFittingCollateral(Vec<CollateralCandidate>),
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
    /// The policy does not accept the value of a field other than the measurement and
    /// signer (an RTMR, a PCR, HOST_DATA, the guest policy...).
    #[error("the policy does not accept this {field}: {mismatch}")]
    PolicyMismatch {
        /// The field ("rtmr1", "pcr07", "host_data", "guest policy").
        field: String,
        /// What was presented and what the policy accepts.
        mismatch: Mismatch,
    },
    /// The evidence says it was issued after the verification time, beyond the allowed
    /// clock skew (a clock ahead, or evidence made for a later time).
    #[error("evidence issued at {issued} is from the future: the verification time is {at}")]
    FromTheFuture {
        /// When the evidence says it was issued.
        issued: UnixTime,
        /// The verification time.
        at: UnixTime,
    },
    /// The platform cannot be verified by this build (named what is missing).
    #[error("not supported: {0}")]
    Unsupported(&'static str),
    /// A platform verifier refused the evidence for a reason none of the variants above
    /// names; its own error says why.
    #[error(transparent)]
    Other(OtherError),
}

impl AttestationError {
    /// [`AttestationError::Malformed`] without a cause (a check of ours failed).
    pub fn malformed(what: &'static str) -> Self {
        Self::Malformed { what, cause: None }
    }

    /// [`AttestationError::Malformed`] keeping the parser's error.
    pub fn malformed_by(
        what: &'static str,
        cause: impl Into<alloc::boxed::Box<dyn core::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Malformed {
            what,
            cause: Some(OtherError::new(cause)),
        }
    }

    /// [`AttestationError::Collateral`] without a cause.
    pub fn collateral(what: impl Into<String>) -> Self {
        Self::Collateral {
            what: what.into(),
            cause: None,
        }
    }

    /// [`AttestationError::Collateral`] keeping the underlying error.
    pub fn collateral_by(
        what: impl Into<String>,
        cause: impl Into<alloc::boxed::Box<dyn core::error::Error + Send + Sync>>,
    ) -> Self {
        Self::Collateral {
            what: what.into(),
            cause: Some(OtherError::new(cause)),
        }
    }
}

/// A value the evidence presents that the policy does not accept, beside what it accepts
/// (hex for bytes), so that a refusal can be compared with the policy without other tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The value presented.
    pub presented: String,
    /// The values the policy accepts.
    pub accepted: Vec<String>,
}

impl Mismatch {
    /// A mismatch of byte values, shown in hex.
    pub fn of_bytes<'a>(presented: &[u8], accepted: impl IntoIterator<Item = &'a [u8]>) -> Self {
        Self {
            presented: hex_string(presented),
            accepted: accepted.into_iter().map(hex_string).collect(),
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    use core::fmt::Write;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// At most this many accepted values are listed.
const LISTED: usize = 4;

impl core::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "presented {}; the policy accepts ", self.presented)?;
        match self.accepted.as_slice() {
            [] => f.write_str("none"),
            values => {
                for (i, v) in values.iter().take(LISTED).enumerate() {
                    write!(f, "{}{v}", if i == 0 { "" } else { ", " })?;
                }
                if values.len() > LISTED {
                    write!(f, " and {} more", values.len() - LISTED)?;
                }
                Ok(())
            }
        }
    }
}

/// One collateral candidate tried for a piece of evidence, and why it did not verify it.
#[derive(Debug, Clone, PartialEq)]
pub struct CollateralCandidate {
    /// Where it came from ("the evidence's collateral", a file name, a URL).
    pub source: String,
    /// Why it did not verify the evidence.
    pub reason: AttestationError,
}

/// Prints candidates as `source: reason (with causes); ...`.
struct CandidateList<'a>(&'a [CollateralCandidate]);

impl core::fmt::Display for CandidateList<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for (i, c) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "; " };
            write!(f, "{sep}{}: {}", c.source, crate::ErrorChain(&c.reason))?;
        }
        Ok(())
    }
}

/// A platform's verdict on its trusted computing base, as Intel's DCAP collateral names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TcbStatus {
    /// The TCB is current.
    UpToDate,
    /// Current, but software hardening (a mitigation in the enclave) is needed.
    SwHardeningNeeded,
    /// Current, but the platform's configuration needs changing.
    ConfigurationNeeded,
    /// Both of the above.
    ConfigurationAndSwHardeningNeeded,
    /// Out of date: a newer TCB level exists.
    OutOfDate,
    /// Out of date and the configuration needs changing.
    OutOfDateConfigurationNeeded,
    /// Revoked: never acceptable.
    Revoked,
    /// A status this build does not know (kept verbatim).
    Unknown(String),
}

impl TcbStatus {
    /// The status from its name in DCAP collateral (`"UpToDate"`, `"SWHardeningNeeded"`...).
    pub fn from_name(name: &str) -> Self {
        match name {
            "UpToDate" => Self::UpToDate,
            "SWHardeningNeeded" => Self::SwHardeningNeeded,
            "ConfigurationNeeded" => Self::ConfigurationNeeded,
            "ConfigurationAndSWHardeningNeeded" => Self::ConfigurationAndSwHardeningNeeded,
            "OutOfDate" => Self::OutOfDate,
            "OutOfDateConfigurationNeeded" => Self::OutOfDateConfigurationNeeded,
            "Revoked" => Self::Revoked,
            other => Self::Unknown(other.into()),
        }
    }

    /// The status's name in DCAP collateral.
    pub fn name(&self) -> &str {
        match self {
            Self::UpToDate => "UpToDate",
            Self::SwHardeningNeeded => "SWHardeningNeeded",
            Self::ConfigurationNeeded => "ConfigurationNeeded",
            Self::ConfigurationAndSwHardeningNeeded => "ConfigurationAndSWHardeningNeeded",
            Self::OutOfDate => "OutOfDate",
            Self::OutOfDateConfigurationNeeded => "OutOfDateConfigurationNeeded",
            Self::Revoked => "Revoked",
            Self::Unknown(s) => s,
        }
    }
}

impl core::fmt::Display for TcbStatus {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a platform's TCB was not accepted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TcbRejection {
    /// The policy does not accept this TCB status.
    #[error("status {0} is not accepted by the policy")]
    Status(TcbStatus),
    /// Advisories apply that the policy does not tolerate (every one of them listed).
    #[error("advisories {} apply (status {status}) and the policy does not accept them", .ids.join(", "))]
    Advisories {
        /// The advisory ids not accepted.
        ids: Vec<String>,
        /// The TCB status it came with.
        status: TcbStatus,
    },
    /// A TCB component is below the policy's minimum (SEV-SNP reported TCB).
    #[error("the reported TCB is below the policy's minimum")]
    BelowMinimum,
    /// The endorsement certificate was issued for another TCB than the report states.
    #[error("the certificate's TCB differs from the report's reported TCB")]
    CertificateMismatch,
    /// The platform's TCB evaluation found no level for this platform (its error as cause).
    #[error("no TCB level in the collateral matches the platform")]
    NoMatchingLevel(#[source] OtherError),
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

/// The attester could not produce evidence: what failed, and the operating system's or
/// platform's error when there is one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}")]
pub struct AttesterError {
    /// What failed ("configfs-tsm: cannot read outblob").
    pub what: &'static str,
    /// The underlying error (an `io::Error`, a device's status).
    #[source]
    pub cause: Option<OtherError>,
}

impl AttesterError {
    /// A failure without an underlying error.
    pub fn new(what: &'static str) -> Self {
        Self { what, cause: None }
    }

    /// A failure caused by `cause`.
    pub fn with_cause(
        what: &'static str,
        cause: impl Into<alloc::boxed::Box<dyn core::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            what,
            cause: Some(OtherError::new(cause)),
        }
    }
}

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
