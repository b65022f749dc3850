//! A deterministic attester/verifier **test double** (feature `test-double`).
//!
//! It stands in for TEE hardware in this crate's tests, benchmarks and known-answer
//! vectors. Its "evidence" is authenticated with a shared HMAC key, which no real
//! platform does: it proves nothing about any enclave. It uses its own platform code
//! ([`PlatformId::TEST_DOUBLE`]) so that no real verifier can mistake it for evidence.
//!
//! Evidence layout: `"TDBL" | measurement[32] | report_data[64] | u64 issued_at_ms |
//! u8 debug | HMAC-SHA256(key, all preceding bytes)[32]`.

use crate::attestation::{AttestationError, Attester, AttesterError, Claims, Evidence, Verifier};
use crate::codec::Reader;
use crate::suite::PlatformId;
use crate::time::UnixTime;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;
use ring::hmac;

const MAGIC: &[u8; 4] = b"TDBL";
const TAG_LEN: usize = 32;

/// Produces test-double evidence. The issue time is set explicitly, keeping tests
/// deterministic.
pub struct TestDoubleAttester {
    key: [u8; 32],
    measurement: [u8; 32],
    debug: bool,
    issued_at_ms: AtomicU64,
}

impl TestDoubleAttester {
    /// An attester for an enclave with `measurement`, keyed with `key`.
    pub fn new(key: [u8; 32], measurement: [u8; 32]) -> Self {
        Self {
            key,
            measurement,
            debug: false,
            issued_at_ms: AtomicU64::new(0),
        }
    }

    /// Marks the simulated enclave as a debug enclave.
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Sets the issue time written into later evidence.
    pub fn set_time(&self, now: UnixTime) {
        self.issued_at_ms.store(now.as_millis(), Ordering::Relaxed);
    }
}

impl core::fmt::Debug for TestDoubleAttester {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestDoubleAttester")
            .field("measurement", &self.measurement)
            .field("debug", &self.debug)
            .finish_non_exhaustive()
    }
}

impl Attester for TestDoubleAttester {
    fn platform(&self) -> PlatformId {
        PlatformId::TEST_DOUBLE
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        let mut e = Vec::with_capacity(4 + 32 + 64 + 8 + 1 + TAG_LEN);
        e.extend_from_slice(MAGIC);
        e.extend_from_slice(&self.measurement);
        e.extend_from_slice(report_data);
        e.extend_from_slice(&self.issued_at_ms.load(Ordering::Relaxed).to_be_bytes());
        e.push(u8::from(self.debug));
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.key), &e);
        e.extend_from_slice(tag.as_ref());
        Ok(e)
    }
}

/// Verifies test-double evidence against accepted measurements and a maximum age.
pub struct TestDoubleVerifier {
    key: [u8; 32],
    accepted: Vec<[u8; 32]>,
    max_age: Option<Duration>,
}

impl TestDoubleVerifier {
    /// Accepts evidence keyed with `key` whose measurement is in `accepted`.
    pub fn new(key: [u8; 32], accepted: &[[u8; 32]]) -> Self {
        Self {
            key,
            accepted: accepted.to_vec(),
            max_age: None,
        }
    }

    /// Rejects evidence older than `max_age`.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(max_age);
        self
    }
}

impl core::fmt::Debug for TestDoubleVerifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TestDoubleVerifier")
            .field("accepted", &self.accepted.len())
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl Verifier for TestDoubleVerifier {
    fn verify(
        &self,
        evidence: &Evidence<'_>,
        expected_report_data: &[u8; 64],
        now: UnixTime,
    ) -> Result<Claims, AttestationError> {
        if evidence.platform != PlatformId::TEST_DOUBLE {
            return Err(AttestationError::UnsupportedPlatform(evidence.platform));
        }
        let bytes = evidence.bytes;
        let signed_len = bytes
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(AttestationError::malformed("test-double evidence too short"))?;
        let (signed, tag) = bytes.split_at(signed_len);
        let mut r = Reader::new(signed);
        let malformed = |e| AttestationError::malformed_by("test-double evidence", e);
        if r.take(4, "magic").map_err(malformed)? != MAGIC {
            return Err(AttestationError::malformed("test-double magic"));
        }
        let measurement: [u8; 32] = r.array("measurement").map_err(malformed)?;
        let report_data: [u8; 64] = r.array("report data").map_err(malformed)?;
        let issued_at = UnixTime::from_millis(r.u64("issued at").map_err(malformed)?);
        let debug = r.u8("debug").map_err(malformed)? != 0;
        r.expect_end("test-double evidence").map_err(malformed)?;
        hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, &self.key), signed, tag)
            .map_err(|_| AttestationError::UntrustedRoot { cause: None })?;
        if !self.accepted.contains(&measurement) {
            return Err(AttestationError::WrongMeasurement(crate::Mismatch::of_bytes(
                &measurement,
                self.accepted.iter().map(|m| &m[..]),
            )));
        }
        if debug {
            return Err(AttestationError::DebugNotAllowed);
        }
        if let Some(max) = self.max_age {
            let age = now.since(issued_at);
            if age > max {
                return Err(AttestationError::Stale { age, max });
            }
        }
        if &report_data != expected_report_data {
            return Err(AttestationError::ReportDataMismatch);
        }
        Ok(Claims {
            platform: PlatformId::TEST_DOUBLE,
            measurement: measurement.to_vec(),
            extra_measurements: Vec::new(),
            signer: None,
            security_version: None,
            tcb_status: None,
            advisory_ids: Vec::new(),
            debug,
            report_data,
            issued_at: Some(issued_at),
            simulated: true,
        })
    }
}
