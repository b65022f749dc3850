//! Linux configfs-tsm: `mkdir` a report entry under `/sys/kernel/config/tsm/report`, write
//! the 64 bytes of report data to `inblob`, read the evidence from `outblob` (and, for
//! SEV-SNP, the certificate table from `auxblob`), check `generation` to be sure no other
//! writer used the entry in between, remove the entry.

use super::{read_file, write_file};
use sc_protocol::{Attester, AttesterError, PlatformId};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The kernel's report directory.
pub const DEFAULT_ROOT: &str = "/sys/kernel/config/tsm/report";

/// The failure to create a report entry, with what to check.
const CANNOT_CREATE: &str = "configfs-tsm: cannot create a report entry (is this a TDX, SEV-SNP or Arm CCA guest whose kernel has configfs-tsm, is configfs mounted at /sys/kernel/config, and may this user create entries there, e.g. as root?)";

/// One report from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TsmReport {
    /// The provider that produced it (`tdx_guest`, `sev_guest`, `arm_cca_guest`...).
    pub provider: String,
    /// The evidence: a TDX quote, an SEV-SNP report, a CCA token.
    pub outblob: Vec<u8>,
    /// Auxiliary data, when the provider gives some (SEV-SNP: the certificate table).
    pub auxblob: Option<Vec<u8>>,
}

/// Where reports are requested.
#[derive(Debug, Clone)]
enum Entry {
    /// A new entry under this directory for each report (needs the right to `mkdir`).
    PerReport(PathBuf),
    /// One existing entry, reused (an administrator created it for this service).
    Fixed(PathBuf),
}

/// An attester over configfs-tsm.
#[derive(Debug)]
pub struct ConfigFsTsm {
    entry: Entry,
    platform: PlatformId,
    next: AtomicU64,
}

/// The evidence platform a provider produces.
pub fn platform_of(provider: &str) -> Option<PlatformId> {
    match provider {
        "tdx_guest" => Some(PlatformId::TDX_DCAP),
        "sev_guest" => Some(PlatformId::SEV_SNP),
        "arm_cca_guest" => Some(PlatformId::ARM_CCA),
        _ => None,
    }
}

fn provider_at(entry: &Path) -> Result<String, AttesterError> {
    let p = read_file(&entry.join("provider"), "configfs-tsm: cannot read provider")?;
    Ok(String::from_utf8_lossy(&p).trim().to_string())
}

fn generation_at(entry: &Path) -> Result<u64, AttesterError> {
    let g = read_file(&entry.join("generation"), "configfs-tsm: cannot read generation")?;
    String::from_utf8_lossy(&g)
        .trim()
        .parse()
        .map_err(|e| AttesterError::with_cause("configfs-tsm: generation is not a number", e))
}

/// Removes a per-report entry when the report is done, whatever happened.
struct Cleanup<'a>(Option<&'a Path>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Some(p) = self.0 {
            let _ = std::fs::remove_dir(p);
        }
    }
}

impl ConfigFsTsm {
    /// Uses the kernel's report directory, a new entry per report.
    pub fn new() -> Result<Self, AttesterError> {
        Self::per_report(Path::new(DEFAULT_ROOT))
    }

    /// A new entry under `root` for each report; the platform is found by creating one.
    pub fn per_report(root: &Path) -> Result<Self, AttesterError> {
        let probe = root.join(format!("sc-probe-{}", std::process::id()));
        std::fs::create_dir(&probe).map_err(|e| super::at_path(CANNOT_CREATE, &probe, e))?;
        let provider = provider_at(&probe);
        let _ = std::fs::remove_dir(&probe);
        Self::build(Entry::PerReport(root.to_path_buf()), &provider?)
    }

    /// Reuses the existing entry `entry` for every report.
    pub fn fixed_entry(entry: &Path) -> Result<Self, AttesterError> {
        let provider = provider_at(entry)?;
        Self::build(Entry::Fixed(entry.to_path_buf()), &provider)
    }

    fn build(entry: Entry, provider: &str) -> Result<Self, AttesterError> {
        let platform = platform_of(provider).ok_or(AttesterError::new("configfs-tsm: unknown provider"))?;
        Ok(Self {
            entry,
            platform,
            next: AtomicU64::new(0),
        })
    }

    /// Requests one report carrying `report_data`.
    pub fn report(&self, report_data: &[u8; 64]) -> Result<TsmReport, AttesterError> {
        let entry = match &self.entry {
            Entry::Fixed(p) => p.clone(),
            Entry::PerReport(root) => {
                let n = self.next.fetch_add(1, Ordering::Relaxed);
                let p = root.join(format!("sc-{}-{n}", std::process::id()));
                std::fs::create_dir(&p).map_err(|e| super::at_path(CANNOT_CREATE, &p, e))?;
                p
            }
        };
        let _cleanup = Cleanup(matches!(self.entry, Entry::PerReport(_)).then_some(entry.as_path()));
        let before = generation_at(&entry)?;
        write_file(&entry.join("inblob"), report_data, "configfs-tsm: cannot write inblob")?;
        let outblob = read_file(&entry.join("outblob"), "configfs-tsm: cannot read outblob")?;
        let auxblob = read_file(&entry.join("auxblob"), "").ok().filter(|a| !a.is_empty());
        if generation_at(&entry)? != before + 1 {
            return Err(AttesterError::new("configfs-tsm: another writer used the report entry"));
        }
        if outblob.is_empty() {
            return Err(AttesterError::new("configfs-tsm: empty outblob"));
        }
        Ok(TsmReport {
            provider: provider_at(&entry)?,
            outblob,
            auxblob,
        })
    }
}

impl Attester for ConfigFsTsm {
    fn platform(&self) -> PlatformId {
        self.platform
    }

    fn attest(&self, report_data: &[u8; 64]) -> Result<Vec<u8>, AttesterError> {
        Ok(self.report(report_data)?.outblob)
    }

    /// On SEV-SNP the `auxblob` is the certificate table with the VCEK or VLEK, which
    /// clients need to verify the report: it goes along as collateral.
    fn attest_with_collateral(&self, report_data: &[u8; 64]) -> Result<(Vec<u8>, Option<Vec<u8>>), AttesterError> {
        let report = self.report(report_data)?;
        let collateral = report.auxblob.filter(|_| self.platform == PlatformId::SEV_SNP);
        Ok((report.outblob, collateral))
    }
}
