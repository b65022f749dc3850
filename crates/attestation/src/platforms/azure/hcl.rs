//! The HCL report: what Azure's paravisor (the "HCL") writes to the vTPM's NV index
//! 0x01400001. Layout (little-endian), as the report's consumers document it:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 32 | header: signature `HCLA`, version, report size, request type, status, 3 reserved |
//! | 32 | 1184 | the hardware report: an SEV-SNP report (1184 bytes) or a TDX TD report (1024) |
//! | 1216 | 20 | request data: data size, version, report type (2 SNP, 4 TDX), hash type (1 SHA-256, 2 SHA-384, 3 SHA-512), variable data size |
//! | 1236 | n | variable data: JSON, `{"keys":[{"kid":"HCLAkPub","kty":"RSA","n":..,"e":..}, ...], ...}` |
//!
//! The hardware report's report data holds the hash of the variable data: that is how the
//! vTPM's attestation key (`HCLAkPub`) is bound to the hardware.

use sc_protocol::AttestationError;
use serde::Deserialize;

const HEADER_LEN: usize = 32;
const HW_REPORT_LEN: usize = 1184;
const REQUEST_AT: usize = HEADER_LEN + HW_REPORT_LEN;
const VAR_DATA_AT: usize = REQUEST_AT + 20;
/// Size of a TDX TD report (TDREPORT_STRUCT).
pub(super) const TD_REPORT_LEN: usize = 1024;

/// The hardware report type an HCL report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum HwKind {
    Snp,
    Tdx,
}

/// An HCL report, bounds-checked.
#[derive(Debug, Clone)]
pub(super) struct HclReport {
    bytes: Vec<u8>,
    kind: HwKind,
    var_data_len: usize,
}

/// The vTPM attestation key: an RSA public key's modulus and exponent (big-endian).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AkPub {
    pub(super) n: Vec<u8>,
    pub(super) e: Vec<u8>,
}

#[derive(Deserialize)]
struct VarData {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(default)]
    kid: String,
    #[serde(default)]
    kty: String,
    #[serde(default)]
    n: String,
    #[serde(default)]
    e: String,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

impl HclReport {
    /// Reads an HCL report; every length is checked against the bytes.
    pub(super) fn parse(bytes: Vec<u8>) -> Result<Self, AttestationError> {
        let bad = AttestationError::malformed;
        if !bytes.starts_with(b"HCLA") {
            return Err(bad("HCL report: no HCLA signature"));
        }
        let kind = match u32_at(&bytes, REQUEST_AT + 8) {
            Some(2) => HwKind::Snp,
            Some(4) => HwKind::Tdx,
            Some(_) => return Err(bad("HCL report: unknown hardware report type")),
            None => return Err(bad("HCL report: shorter than its header")),
        };
        // Only SHA-256 is in use; another hash type is refused, not guessed at.
        if u32_at(&bytes, REQUEST_AT + 12) != Some(1) {
            return Err(bad("HCL report: variable data hash type is not SHA-256"));
        }
        let var_data_len = u32_at(&bytes, REQUEST_AT + 16)
            .map(|n| n as usize)
            .filter(|n| VAR_DATA_AT.checked_add(*n).is_some_and(|end| end <= bytes.len()))
            .ok_or(bad("HCL report: variable data outside the report"))?;
        Ok(Self {
            bytes,
            kind,
            var_data_len,
        })
    }

    pub(super) fn kind(&self) -> HwKind {
        self.kind
    }

    /// The hardware report's bytes (SNP: 1184; TDX: the 1024-byte TD report).
    pub(super) fn hw_report(&self) -> &[u8] {
        let len = match self.kind {
            HwKind::Snp => HW_REPORT_LEN,
            HwKind::Tdx => TD_REPORT_LEN,
        };
        &self.bytes[HEADER_LEN..HEADER_LEN + len]
    }

    /// The variable data (JSON).
    pub(super) fn var_data(&self) -> &[u8] {
        &self.bytes[VAR_DATA_AT..VAR_DATA_AT + self.var_data_len]
    }

    /// SHA-256 of the variable data: what the hardware report's report data must hold.
    pub(super) fn var_data_sha256(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, self.var_data()).as_ref());
        out
    }

    /// The vTPM attestation key from the variable data.
    pub(super) fn ak_pub(&self) -> Result<AkPub, AttestationError> {
        let var: VarData = serde_json::from_slice(self.var_data())
            .map_err(|e| AttestationError::malformed_by("HCL variable data", e))?;
        let key = var
            .keys
            .into_iter()
            .find(|k| k.kid == "HCLAkPub")
            .ok_or(AttestationError::malformed("HCL variable data: no HCLAkPub key"))?;
        if key.kty != "RSA" {
            return Err(AttestationError::malformed(
                "HCL variable data: HCLAkPub is not an RSA key",
            ));
        }
        let b64 = |s: &str| {
            use base64ct::Encoding;
            base64ct::Base64UrlUnpadded::decode_vec(s.trim_end_matches('='))
                .map_err(|e| AttestationError::malformed_by("HCL variable data: HCLAkPub", e))
        };
        Ok(AkPub {
            n: b64(&key.n)?,
            e: b64(&key.e)?,
        })
    }
}
