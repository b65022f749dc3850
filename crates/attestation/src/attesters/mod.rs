//! Evidence from real TEE platforms, through the interfaces their guests expose as files:
//!
//! * [`ConfigFsTsm`]: Linux configfs-tsm (`/sys/kernel/config/tsm/report`), used by TDX,
//!   SEV-SNP and Arm CCA confidential VMs;
//! * [`GramineAttester`]: Gramine's `/dev/attestation` inside an SGX enclave (DCAP quotes);
//! * [`AzureVtpmAttester`]: Azure confidential VMs, through the guest's vTPM (TPM 2.0
//!   commands over `/dev/tpmrm0`); tested against the `swtpm` simulator holding a captured
//!   HCL report, the only fake part.
//!
//! Neither can run on machines without that hardware. The tests drive them against
//! directory trees in a temporary directory that behave like the kernel and Gramine
//! interfaces (named pipes, so that reading the quote waits for the "kernel" as a real read
//! does); that fake tree is the only simulated part. See docs/ATTESTATION.md for running on
//! real hardware.

mod configfs_tsm;
mod gramine;
mod vtpm;

pub use configfs_tsm::{ConfigFsTsm, TsmReport};
pub use gramine::GramineAttester;
pub use vtpm::{
    AK_HANDLE, AzureVtpmAttester, HCL_REPORT_INDEX, TdQuoteSource, TpmDevice, TpmResponseCode, TpmStream, TpmTransport,
};

use sc_protocol::AttesterError;
use std::io::{Read, Write};
use std::path::Path;

/// An I/O error and the path it concerns (the cause under an [`AttesterError`], so that
/// the message names the file: "configfs-tsm: cannot read outblob: /sys/...: Permission
/// denied").
#[derive(Debug, thiserror::Error)]
#[error("{path}")]
pub struct PathError {
    /// The file or directory.
    pub path: String,
    /// The operating system's error.
    #[source]
    pub source: std::io::Error,
}

/// `what` failed on `path` with `e`.
fn at_path(what: &'static str, path: &Path, e: std::io::Error) -> AttesterError {
    AttesterError::with_cause(
        what,
        PathError {
            path: path.display().to_string(),
            source: e,
        },
    )
}

/// Reads a whole attribute file.
fn read_file(path: &Path, what: &'static str) -> Result<Vec<u8>, AttesterError> {
    let mut out = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut out))
        .map_err(|e| at_path(what, path, e))?;
    Ok(out)
}

/// Writes an attribute file in one write, as the kernel interfaces expect.
fn write_file(path: &Path, data: &[u8], what: &'static str) -> Result<(), AttesterError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| at_path(what, path, e))
}
