//! Attestation verbs: simulated root creation, measuring, simulated evidence, verification.

use rand_core::{OsRng, RngCore};
use sc_attestation::offline::{CollateralInput, OfflineCheck, OfflineError, platform_name};
use sc_attestation::platforms::dcap;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_attestation::{Policy, measure_file};
use sc_protocol::{Attester, Claims, PlatformId};
use std::io::Write;
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// `sim-root create`: a new simulated root key file; prints the public key for policies.
pub fn sim_root_create(out_path: &Path, out: &mut dyn Write) -> Result<()> {
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    OsRng.try_fill_bytes(&mut secret[..])?;
    let root = SimRoot::from_secret(*secret);
    root.write(out_path)?;
    writeln!(
        out,
        "SIMULATED root key written to {} (keep it secret: it can forge evidence)",
        out_path.display()
    )?;
    writeln!(out, "root_public_key = \"{}\"", hex::encode(root.public_key()))?;
    Ok(())
}

/// `measure`: the value to list in a policy's `measurements`.
pub fn measure(exe: &Path, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "{}", hex::encode(measure_file(exe)?))?;
    Ok(())
}

/// Parameters of `sim-attest`.
pub struct SimAttestArgs<'a> {
    /// Root key file.
    pub root: &'a Path,
    /// Enclave executable to measure.
    pub exe: &'a Path,
    /// Signer id.
    pub signer: [u8; 32],
    /// Security version.
    pub security_version: u32,
    /// Debug flag.
    pub debug: bool,
    /// Report data.
    pub report_data: [u8; 64],
    /// Where to write the evidence.
    pub out_path: &'a Path,
}

/// `sim-attest`: writes simulated evidence for an executable (for testing `verify`).
pub fn sim_attest(args: SimAttestArgs<'_>, out: &mut dyn Write) -> Result<()> {
    let enclave = SimEnclave {
        measurement: measure_file(args.exe)?,
        signer: args.signer,
        security_version: args.security_version,
        debug: args.debug,
    };
    let attester = SimAttester::new(SimRoot::read(args.root)?, enclave, system_clock());
    let evidence = attester.attest(&args.report_data)?;
    std::fs::write(args.out_path, &evidence)?;
    writeln!(
        out,
        "SIMULATED evidence ({} bytes) written to {}",
        evidence.len(),
        args.out_path.display()
    )?;
    Ok(())
}

/// What `verify` checks.
pub struct VerifyArgs<'a> {
    /// Evidence file (binary, or hex text).
    pub evidence: &'a Path,
    /// Policy file.
    pub policy: &'a Path,
    /// Collateral files or directories (DCAP: dcap-qvl JSON or Intel PCS responses, tried
    /// after the policy's; SEV-SNP: one VCEK/VLEK certificate or cert table).
    pub collateral: &'a [std::path::PathBuf],
    /// Expected report data; `None` checks the evidence against its own (no binding).
    pub report_data: Option<[u8; 64]>,
    /// Platform, when detection is not wanted.
    pub platform: Option<PlatformId>,
    /// Verification time (Unix seconds); default now.
    pub at: Option<u64>,
    /// One JSON object instead of text.
    pub json: bool,
}

/// Parses a platform name for `--platform`.
pub fn parse_platform(s: &str) -> std::result::Result<PlatformId, String> {
    Ok(match s {
        "simulated" => PlatformId::SIMULATED,
        "sgx" => PlatformId::SGX_DCAP,
        "tdx" => PlatformId::TDX_DCAP,
        "sev-snp" | "snp" => PlatformId::SEV_SNP,
        "cca" | "virtcca" => PlatformId::ARM_CCA,
        "azure-snp" => PlatformId::AZURE_SNP_VTPM,
        "azure-tdx" => PlatformId::AZURE_TDX_VTPM,
        other => {
            return Err(format!(
                "unknown platform {other:?}: simulated, sgx, tdx, sev-snp, virtcca, azure-snp, azure-tdx"
            ));
        }
    })
}

/// Reads an evidence file: binary as is, or hex text.
fn read_evidence(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the evidence {}: {e}", path.display()))?;
    Ok(sc_attestation::offline::decode_evidence(bytes))
}

/// Collateral inputs from `--collateral` paths (files read, directories as
/// `collateral_dir`).
fn collateral_inputs(paths: &[std::path::PathBuf]) -> Result<Vec<CollateralInput>> {
    paths
        .iter()
        .map(|path| {
            if path.is_dir() {
                Ok(CollateralInput::Dir(path.clone()))
            } else {
                let bytes =
                    std::fs::read(path).map_err(|e| format!("cannot read the collateral {}: {e}", path.display()))?;
                Ok(CollateralInput::File {
                    name: path.display().to_string(),
                    bytes,
                })
            }
        })
        .collect()
}

/// DCAP collateral sets from `--collateral` paths.
pub(crate) fn dcap_collateral(paths: &[std::path::PathBuf]) -> Result<Vec<dcap::Collateral>> {
    sc_attestation::offline::dcap_collateral(&collateral_inputs(paths)?).map_err(|e| match e {
        OfflineError::Collateral(why) => format!("--collateral: {why}").into(),
        other => other.into(),
    })
}

/// Where `verify` says what it found: lines of text, or one JSON object at the end
/// (`--json`) with the same facts under stable keys.
struct Report<'a> {
    out: &'a mut dyn Write,
    json: Option<serde_json::Map<String, serde_json::Value>>,
}

impl Report<'_> {
    /// One fact: `key` and `value` for JSON, `line` for text.
    fn fact(&mut self, key: &str, value: serde_json::Value, line: std::fmt::Arguments<'_>) -> Result<()> {
        match &mut self.json {
            Some(map) => {
                map.insert(key.to_owned(), value);
            }
            None => writeln!(self.out, "{line}")?,
        }
        Ok(())
    }

    /// A fact only the JSON object carries (the text says it in another line).
    fn json_only(&mut self, key: &str, value: serde_json::Value) {
        if let Some(map) = &mut self.json {
            map.insert(key.to_owned(), value);
        }
    }

    /// Writes the JSON object, in JSON mode.
    fn finish(self) -> Result<()> {
        if let Some(map) = self.json {
            writeln!(self.out, "{}", serde_json::Value::Object(map))?;
        }
        Ok(())
    }
}

/// `verify`: appraises an evidence file against a policy; prints the claims and the
/// verdict (as text, or one JSON object with `json`). Returns whether it was accepted.
pub fn verify(args: VerifyArgs<'_>, out: &mut dyn Write) -> Result<bool> {
    use serde_json::json;
    let mut report = Report {
        out,
        json: args.json.then(serde_json::Map::new),
    };
    let policy = Policy::load(args.policy)?;
    let check = OfflineCheck {
        evidence: read_evidence(args.evidence)?,
        platform: args.platform,
        report_data: args.report_data,
        collateral: collateral_inputs(args.collateral)?,
        at: args.at.map(sc_protocol::UnixTime::from_secs),
    };
    let appraisal = match sc_attestation::offline::appraise(&policy, &check) {
        Err(OfflineError::UnknownPlatform) => {
            return Err("cannot tell the evidence's platform; name it with --platform".into());
        }
        Err(OfflineError::Collateral(why)) => return Err(format!("--collateral: {why}").into()),
        other => other?,
    };
    let platform = appraisal.platform;
    report.fact(
        "evidence",
        json!({ "platform": platform_name(platform), "code": platform.0, "bytes": check.evidence.len() }),
        format_args!("evidence: {} ({} bytes)", platform_name(platform), check.evidence.len()),
    )?;
    if matches!(platform, PlatformId::SGX_DCAP | PlatformId::TDX_DCAP) {
        let forms: Vec<_> = appraisal
            .collateral
            .iter()
            .map(|(form, source)| json!({ "form": form, "source": source }))
            .collect();
        if report.json.is_some() {
            report.json_only("collateral", json!(forms));
        } else {
            for (form, source) in &appraisal.collateral {
                writeln!(report.out, "collateral: {form} ({source})")?;
            }
        }
    }
    if let Some(c) = &appraisal.stated {
        match &mut report.json {
            Some(map) => {
                map.insert("claims".into(), claims_json(c));
            }
            None => print_claims(c, report.out)?,
        }
    }
    if !appraisal.binding_checked && appraisal.stated.is_some() {
        report.fact(
            "binding_checked",
            json!(false),
            format_args!("(no --report-data: the binding to a handshake is not checked)"),
        )?;
    }
    let accepted = match appraisal.verdict {
        Ok(c) => {
            if let Some(status) = &c.tcb_status {
                report.fact("tcb_status", json!(status.name()), format_args!("tcb_status: {status}"))?;
            }
            if !c.advisory_ids.is_empty() {
                report.fact(
                    "advisories",
                    json!(c.advisory_ids),
                    format_args!("advisories: {}", c.advisory_ids.join(", ")),
                )?;
            }
            let note = if c.simulated {
                " (SIMULATED evidence: no hardware root of trust)"
            } else {
                ""
            };
            report.fact("verdict", json!("accepted"), format_args!("verdict: ACCEPTED{note}"))?;
            report.json_only("simulated", json!(c.simulated));
            true
        }
        Err(reason) => {
            let text = sc_protocol::ErrorChain(&reason).to_string();
            report.fact("verdict", json!("rejected"), format_args!("verdict: REJECTED: {text}"))?;
            report.json_only("reason", json!(text));
            if let Some(hint) = sc_attestation::hint(&reason) {
                report.fact("hint", json!(hint), format_args!("hint: {hint}"))?;
            }
            false
        }
    };
    report.finish()?;
    Ok(accepted)
}

/// The stated claims as JSON (bytes in hex).
fn claims_json(c: &Claims) -> serde_json::Value {
    let extra: serde_json::Map<String, serde_json::Value> = c
        .extra_measurements
        .iter()
        .map(|(n, v)| (n.clone(), serde_json::Value::String(hex::encode(v))))
        .collect();
    serde_json::json!({
        "platform": c.platform.0,
        "simulated": c.simulated,
        "measurement": hex::encode(&c.measurement),
        "signer": c.signer.as_ref().map(hex::encode),
        "security_version": c.security_version,
        "debug": c.debug,
        "issued_at_ms": c.issued_at.map(|t| t.as_millis()),
        "report_data": hex::encode(c.report_data),
        "extra": extra,
    })
}

fn print_claims(c: &Claims, out: &mut dyn Write) -> Result<()> {
    writeln!(
        out,
        "platform: 0x{:04x}{}",
        c.platform.0,
        if c.simulated { " (SIMULATED)" } else { "" }
    )?;
    writeln!(out, "measurement: {}", hex::encode(&c.measurement))?;
    if let Some(s) = &c.signer {
        writeln!(out, "signer: {}", hex::encode(s))?;
    }
    if let Some(v) = c.security_version {
        writeln!(out, "security_version: {v}")?;
    }
    writeln!(out, "debug: {}", c.debug)?;
    if let Some(t) = c.issued_at {
        writeln!(out, "issued_at_ms: {}", t.as_millis())?;
    }
    writeln!(out, "report_data: {}", hex::encode(c.report_data))?;
    for (name, value) in &c.extra_measurements {
        writeln!(out, "{name}: {}", hex::encode(value))?;
    }
    Ok(())
}

/// Parses a time for `--at`: RFC 3339 (`2025-07-01T00:00:00Z`) or Unix seconds.
pub fn parse_time(s: &str) -> std::result::Result<u64, String> {
    if let Ok(secs) = s.trim().parse::<u64>() {
        return Ok(secs);
    }
    humantime::parse_rfc3339_weak(s.trim())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .ok_or_else(|| format!("{s:?} is neither RFC 3339 (2025-07-01T00:00:00Z) nor Unix seconds"))
}

/// Parses `n` bytes of hex (a `0x` prefix allowed), for arguments.
pub fn parse_hex<const N: usize>(s: &str) -> std::result::Result<[u8; N], String> {
    sc_attestation::hex_text::decode_array(s).ok_or_else(|| format!("expected {} hex digits", 2 * N))
}
