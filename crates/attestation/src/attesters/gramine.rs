//! Gramine's `/dev/attestation` inside an SGX enclave: check that the attestation type is
//! DCAP, write the report data to `user_report_data`, read the quote from `quote`.

use super::{read_file, write_file};
use sc_protocol::{Attester, AttesterError, PlatformId};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Gramine's pseudo-filesystem.
pub const DEFAULT_ROOT: &str = "/dev/attestation";

/// An attester over Gramine's `/dev/attestation` (DCAP quotes).
#[derive(Debug)]
pub struct GramineAttester {
    root: PathBuf,
    /// Writing the report data and reading the quote are two steps on shared files.
    busy: Mutex<()>,
}

impl GramineAttester {
    /// Uses `/dev/attestation`.
    pub fn new() -> Result<Self, AttesterError> {
        Self::at(Path::new(DEFAULT_ROOT))
    }

    /// Uses the interface at `root`; refuses unless its attestation type is `dcap`.
    pub fn at(root: &Path) -> Result<Self, AttesterError> {
        let kind = read_file(&root.join("attestation_type"), "gramine: cannot read attestation_type")?;
        if String::from_utf8_lossy(&kind).trim() != "dcap" {
            return Err(AttesterError::new("gramine: attestation type is not dcap"));
        }
        Ok(Self {
            root: root.to_path_buf(),
            busy: Mutex::new(()),
        })
    }
}

impl Attester for GramineAttester {
    fn platform(&self) -> PlatformId {
        PlatformId::SGX_DCAP
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        let _one_at_a_time = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        write_file(
            &self.root.join("user_report_data"),
            report_data,
            "gramine: cannot write user_report_data",
        )?;
        let quote = read_file(&self.root.join("quote"), "gramine: cannot read quote")?;
        if quote.is_empty() {
            return Err(AttesterError::new("gramine: empty quote"));
        }
        Ok(quote)
    }
}
