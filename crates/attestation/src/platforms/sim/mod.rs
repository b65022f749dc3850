//! The simulated TEE: a software stand-in for attestation hardware, for development and CI.
//!
//! **Nothing here is a root of trust.** A "simulated hardware root key" is an Ed25519 key
//! in a file; whoever holds the file can forge evidence for any measurement. Claims from this
//! platform are marked `simulated`, every verification logs that, and the policy must say
//! `allow_simulated = true` for them to be accepted.
//!
//! What it does model faithfully: the measurement is the SHA-256 of the enclave program's
//! actual executable (so reference values change when the binary changes), a signer
//! identity, a security version, a debug flag, an issue time and 64 bytes of report data.
//!
//! Evidence layout (all integers big-endian):
//!
//! ```text
//! "SCSIM" | u8 version=1 | measurement[32] | signer[32] | u32 security_version | u8 debug |
//! u64 issued_at_ms | report_data[64] | Ed25519 signature[64] by the root over all preceding bytes
//! ```

mod policy;

pub use policy::SimulatedPolicy;

use crate::platform::{Platform, Section};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sc_protocol::codec::Reader;
use sc_protocol::{AttestationError, Attester, AttesterError, Claims, OtherError, PlatformId, UnixTime};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use zeroize::Zeroizing;

const MAGIC: &[u8; 5] = b"SCSIM";
const VERSION: u8 = 1;
/// Length of simulated evidence.
pub const EVIDENCE_LEN: usize = 5 + 1 + 32 + 32 + 4 + 1 + 8 + 64 + 64;
const KEY_FILE_HEADER: &str = "secure-channel simulated TEE root key v1";

/// The simulated platform.
pub(crate) const PLATFORM: Platform = Platform {
    sections: &[Section {
        key: "simulated",
        parse: policy::parse,
    }],
    detect: |bytes| bytes.starts_with(MAGIC).then_some(PlatformId::SIMULATED),
    describe: |platform, bytes| (platform == PlatformId::SIMULATED).then(|| describe(bytes)),
    unconfigured: None,
};

/// What simulated evidence claims, its signature NOT checked.
fn describe(bytes: &[u8]) -> Result<Claims, AttestationError> {
    let body = bytes
        .len()
        .checked_sub(64)
        .map(|n| &bytes[..n])
        .ok_or(AttestationError::malformed("simulated evidence length"))?;
    parse_signed(body)
}

/// Errors reading or writing a simulated root key file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimRootError {
    /// The file could not be read or written.
    #[error("root key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a simulated root key file.
    #[error("root key file {path} line {line}: {what}")]
    Format {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// The simulated hardware root key (secret half). Clients trust its public half the way
/// they would trust a vendor root certificate.
pub struct SimRoot {
    key: SigningKey,
}

impl fmt::Debug for SimRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimRoot")
            .field("public_key", &hex::encode(self.public_key()))
            .finish_non_exhaustive()
    }
}

impl SimRoot {
    /// A root from 32 secret bytes (from the caller's RNG).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(&secret),
        }
    }

    /// The public key to put in a client policy (`root_public_key`).
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{KEY_FILE_HEADER}\nsecret: {}\npublic: {}\n",
            hex::encode(self.key.to_bytes()),
            hex::encode(self.public_key())
        ))
    }

    /// Writes the key file (mode 0600 on Unix); refuses to overwrite.
    pub fn write(&self, path: &Path) -> Result<(), SimRootError> {
        use std::io::Write;
        let io = |source| SimRootError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(path).map_err(io)?;
        f.write_all(self.to_file_text().as_bytes()).map_err(io)
    }

    /// Reads a key file written by [`SimRoot::write`].
    pub fn read(path: &Path) -> Result<Self, SimRootError> {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|source| SimRootError::Io {
            path: path.display().to_string(),
            source,
        })?);
        Self::parse(&text).map_err(|(line, what)| SimRootError::Format {
            path: path.display().to_string(),
            line,
            what,
        })
    }

    fn parse(text: &str) -> Result<Self, (usize, &'static str)> {
        let mut lines = text.lines();
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err((1, "not a simulated root key file (header)"));
        }
        let secret = lines
            .next()
            .and_then(|l| l.strip_prefix("secret: "))
            .ok_or((2, "expected `secret: <64 hex digits>`"))?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(secret.trim(), &mut bytes[..]).map_err(|_| (2, "secret is not 64 hex digits"))?;
        let root = Self::from_secret(*bytes);
        if let Some(public) = lines.next().and_then(|l| l.strip_prefix("public: ")) {
            if public.trim() != hex::encode(root.public_key()) {
                return Err((3, "public key does not match the secret"));
            }
        }
        Ok(root)
    }

    fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.key.sign(message).to_bytes()
    }
}

/// What a simulated enclave reports about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimEnclave {
    /// SHA-256 of the enclave executable (see [`crate::measure_file`]).
    pub measurement: [u8; 32],
    /// Identity of whoever built and signed the enclave.
    pub signer: [u8; 32],
    /// Security version.
    pub security_version: u32,
    /// Debug mode (memory readable by the host).
    pub debug: bool,
}

/// A source of the current time.
pub type Clock = Arc<dyn Fn() -> UnixTime + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(UnixTime::now)
}

/// Produces simulated evidence for one enclave.
pub struct SimAttester {
    root: SimRoot,
    enclave: SimEnclave,
    clock: Clock,
}

impl fmt::Debug for SimAttester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimAttester")
            .field("root", &self.root)
            .field("enclave", &self.enclave)
            .finish_non_exhaustive()
    }
}

impl SimAttester {
    /// An attester signing with `root`, reporting `enclave`, timestamping with `clock`.
    pub fn new(root: SimRoot, enclave: SimEnclave, clock: Clock) -> Self {
        Self { root, enclave, clock }
    }
}

impl Attester for SimAttester {
    fn platform(&self) -> PlatformId {
        PlatformId::SIMULATED
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        let e = &self.enclave;
        let mut out = Vec::with_capacity(EVIDENCE_LEN);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&e.measurement);
        out.extend_from_slice(&e.signer);
        out.extend_from_slice(&e.security_version.to_be_bytes());
        out.push(u8::from(e.debug));
        out.extend_from_slice(&(self.clock)().as_millis().to_be_bytes());
        out.extend_from_slice(report_data);
        let signature = self.root.sign(&out);
        out.extend_from_slice(&signature);
        tracing::debug!(
            len = out.len(),
            "produced SIMULATED evidence (no hardware root of trust)"
        );
        Ok(out)
    }
}

/// Parses the signed part of simulated evidence into its claims.
fn parse_signed(signed: &[u8]) -> Result<Claims, AttestationError> {
    let mut r = Reader::new(signed);
    let malformed = |e| AttestationError::malformed_by("simulated evidence", e);
    if r.take(5, "magic").map_err(malformed)? != MAGIC {
        return Err(AttestationError::malformed("simulated evidence magic"));
    }
    if r.u8("version").map_err(malformed)? != VERSION {
        return Err(AttestationError::malformed("simulated evidence version"));
    }
    let measurement: [u8; 32] = r.array("measurement").map_err(malformed)?;
    let signer: [u8; 32] = r.array("signer").map_err(malformed)?;
    let security_version = r.u32("security version").map_err(malformed)?;
    let debug = match r.u8("debug").map_err(malformed)? {
        0 => false,
        1 => true,
        _ => return Err(AttestationError::malformed("simulated evidence debug flag")),
    };
    let issued_at = UnixTime::from_millis(r.u64("issued at").map_err(malformed)?);
    let report_data: [u8; 64] = r.array("report data").map_err(malformed)?;
    r.expect_end("simulated evidence").map_err(malformed)?;
    Ok(Claims {
        platform: PlatformId::SIMULATED,
        measurement: measurement.to_vec(),
        extra_measurements: Vec::new(),
        signer: Some(signer.to_vec()),
        security_version: Some(u64::from(security_version)),
        tcb_status: None,
        advisory_ids: Vec::new(),
        debug,
        report_data,
        issued_at: Some(issued_at),
        simulated: true,
    })
}

/// Parses simulated evidence and checks its signature against a trusted root public key.
/// Policy (measurements, debug, age...) is applied afterwards by the caller.
pub fn verify_evidence(root_public_key: &[u8; 32], evidence: &[u8]) -> Result<Claims, AttestationError> {
    if evidence.len() != EVIDENCE_LEN {
        return Err(AttestationError::malformed("simulated evidence length"));
    }
    let (signed, signature) = evidence.split_at(EVIDENCE_LEN - 64);
    let claims = parse_signed(signed)?;
    // Why the root key or signature failed is kept: an invalid root key in the policy and a
    // signature by another root read differently to an operator.
    let root = VerifyingKey::from_bytes(root_public_key).map_err(|e| AttestationError::UntrustedRoot {
        cause: Some(OtherError::new(format!("the policy's root public key is invalid: {e}"))),
    })?;
    let signature =
        Signature::from_slice(signature).map_err(|e| AttestationError::malformed_by("signature", e.to_string()))?;
    root.verify_strict(signed, &signature)
        .map_err(|e| AttestationError::UntrustedRoot {
            cause: Some(OtherError::new(e.to_string())),
        })?;
    tracing::warn!("verified SIMULATED evidence: no hardware stands behind it");
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trip_and_errors() {
        let root = SimRoot::from_secret([9; 32]);
        let parsed = SimRoot::parse(&root.to_file_text()).unwrap();
        assert_eq!(parsed.public_key(), root.public_key());
        assert_eq!(SimRoot::parse("nope").unwrap_err().0, 1);
        let bad = root.to_file_text().replace("secret: 09", "secret: zz");
        assert_eq!(SimRoot::parse(&bad).unwrap_err().0, 2);
        let other = SimRoot::from_secret([8; 32]);
        let mismatched = format!(
            "{KEY_FILE_HEADER}\nsecret: {}\npublic: {}\n",
            hex::encode([9u8; 32]),
            hex::encode(other.public_key())
        );
        assert_eq!(SimRoot::parse(&mismatched).unwrap_err().0, 3);
        assert!(!format!("{root:?}").contains(&hex::encode([9u8; 32])));
    }
}
