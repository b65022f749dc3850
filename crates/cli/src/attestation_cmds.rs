//! Attestation verbs: simulated root creation, measuring, simulated evidence, verification.

use rand_core::{OsRng, RngCore};
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_protocol::{Attester, Claims, Evidence, PlatformId, Verifier};
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

/// `verify`: appraises an evidence file against a policy; prints claims and the verdict.
/// Returns whether it was accepted.
pub fn verify(evidence: &Path, policy: &Path, report_data: [u8; 64], out: &mut dyn Write) -> Result<bool> {
    let policy = Policy::load(policy)?;
    let registry = VerifierRegistry::from_policy(&policy)?;
    let bytes = std::fs::read(evidence)?;
    // The simulated platform is the only one this build can read; hardware formats plug in
    // here as they are added.
    let e = Evidence::new(PlatformId::SIMULATED, &bytes);
    if let Ok(claims) = sc_attestation::sim::verify_evidence(&sim_root(&policy), &bytes) {
        print_claims(&claims, out)?;
    }
    match registry.verify(&e, &report_data, sc_protocol::UnixTime::now()) {
        Ok(_) => {
            writeln!(out, "verdict: ACCEPTED (SIMULATED evidence: no hardware root of trust)")?;
            Ok(true)
        }
        Err(reason) => {
            writeln!(out, "verdict: REJECTED: {reason}")?;
            Ok(false)
        }
    }
}

fn sim_root(policy: &Policy) -> [u8; 32] {
    policy.simulated.as_ref().map(|s| s.root_public_key).unwrap_or_default()
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
    Ok(())
}

/// Parses `n` bytes of hex, for arguments.
pub fn parse_hex<const N: usize>(s: &str) -> std::result::Result<[u8; N], String> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s.trim(), &mut out).map_err(|_| format!("expected {} hex digits", 2 * N))?;
    Ok(out)
}
