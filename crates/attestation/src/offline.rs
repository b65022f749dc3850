//! Appraising a piece of evidence on its own, outside a handshake: what `secure-channel
//! verify` and the Python package's `verify_evidence` do. The platform is detected (or
//! named), collateral handed beside the evidence joins the policy's, the claims as the
//! evidence states them are read before verification (so that a rejection can be compared
//! with the policy), and the verdict is the policy's verifier's.

use crate::platforms::dcap;
use crate::{Policy, PolicyError, VerifierRegistry};
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime, Verifier};
use std::path::PathBuf;

/// Collateral handed beside the evidence.
#[derive(Debug, Clone)]
pub enum CollateralInput {
    /// A file's contents and its name (DCAP: dcap-qvl JSON or Intel PCS responses, which
    /// files given together form one set; SEV-SNP: one VCEK/VLEK certificate or a
    /// certificate table).
    File {
        /// Where it came from (said in messages; PCS responses are told apart by it).
        name: String,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A directory of DCAP collateral (`collateral_dir`'s layout).
    Dir(PathBuf),
}

/// What to appraise.
#[derive(Debug, Clone, Default)]
pub struct OfflineCheck {
    /// The evidence (binary; see [`decode_evidence`] for hex text).
    pub evidence: Vec<u8>,
    /// The platform, when detection is not wanted.
    pub platform: Option<PlatformId>,
    /// The report data the evidence must carry; `None` checks it against its own (the
    /// binding to a handshake is then not checked).
    pub report_data: Option<[u8; 64]>,
    /// Collateral beside the policy's.
    pub collateral: Vec<CollateralInput>,
    /// The verification time; `None` is now.
    pub at: Option<UnixTime>,
}

/// What an appraisal found.
#[derive(Debug)]
pub struct Appraisal {
    /// The evidence's platform.
    pub platform: PlatformId,
    /// The DCAP collateral sets given beside the evidence: their form and source.
    pub collateral: Vec<(String, String)>,
    /// The claims as the evidence states them, before verification (`None` when the
    /// evidence cannot be read that far).
    pub stated: Option<Claims>,
    /// Whether the report data was checked against a value given (a binding).
    pub binding_checked: bool,
    /// The verified claims, or why the evidence was refused.
    pub verdict: Result<Claims, AttestationError>,
}

/// Why no appraisal could be made (the inputs, not the evidence, are at fault).
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    /// The evidence's platform cannot be told from its bytes.
    #[error("cannot tell the evidence's platform; name it")]
    UnknownPlatform,
    /// The collateral given cannot be used.
    #[error("collateral: {0}")]
    Collateral(String),
    /// The collateral could not be read.
    #[error("collateral")]
    CollateralUnreadable(#[source] AttestationError),
    /// The policy accepts nothing, or cannot build its verifiers.
    #[error("policy")]
    Policy(#[source] PolicyError),
}

/// Evidence as stored: binary as is, or hex text (as some captures are kept; a `0x`
/// prefix and line breaks allowed).
pub fn decode_evidence(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() < 1 << 24 {
        if let Some(decoded) = std::str::from_utf8(&bytes).ok().and_then(crate::hex_text::decode) {
            return decoded;
        }
    }
    bytes
}

/// A platform's name for people.
pub fn platform_name(p: PlatformId) -> &'static str {
    match p {
        PlatformId::SIMULATED => "simulated TEE (SIMULATED)",
        PlatformId::SGX_DCAP => "Intel SGX (DCAP quote)",
        PlatformId::TDX_DCAP => "Intel TDX (DCAP quote)",
        PlatformId::SEV_SNP => "AMD SEV-SNP report",
        PlatformId::ARM_CCA => "Arm CCA / virtCCA token",
        PlatformId::AZURE_SNP_VTPM => "Azure confidential VM, SEV-SNP (vTPM quote, HCL report)",
        PlatformId::AZURE_TDX_VTPM => "Azure confidential VM, TDX (vTPM quote, HCL report, TD quote)",
        _ => "unknown",
    }
}

/// DCAP collateral sets from the inputs (files read together, so that PCS responses given
/// as separate files form one set).
pub fn dcap_collateral(inputs: &[CollateralInput]) -> Result<Vec<dcap::Collateral>, OfflineError> {
    let mut files = Vec::new();
    let mut sets = Vec::new();
    for input in inputs {
        match input {
            CollateralInput::Dir(dir) => {
                sets.extend(dcap::collateral::from_dir(dir).map_err(OfflineError::CollateralUnreadable)?)
            }
            CollateralInput::File { name, bytes } => files.push((name.clone(), bytes.clone())),
        }
    }
    sets.extend(dcap::collateral::from_files(&files).map_err(OfflineError::CollateralUnreadable)?);
    if sets.is_empty() && !inputs.is_empty() {
        return Err(OfflineError::Collateral(
            "no DCAP collateral found in what was given".into(),
        ));
    }
    Ok(sets)
}

/// The claims `evidence` of `platform` states, read without verifying it (`None` when it
/// cannot be read that far): to show beside a rejection, never to trust. Simulated
/// evidence is read with the policy's simulated root key.
pub fn stated_claims(policy: &Policy, platform: PlatformId, evidence: &[u8]) -> Option<Claims> {
    match platform {
        PlatformId::SIMULATED => {
            let root = policy
                .section::<crate::SimulatedPolicy>()
                .map(|s| s.root_public_key)
                .unwrap_or_default();
            crate::sim::verify_evidence(&root, evidence).ok()
        }
        p => crate::platforms::inspect::describe(p, evidence).ok(),
    }
}

/// Appraises `check.evidence` against `policy` (see the module documentation).
pub fn appraise(policy: &Policy, check: &OfflineCheck) -> Result<Appraisal, OfflineError> {
    let bytes = &check.evidence;
    let platform = check
        .platform
        .or_else(|| crate::platforms::inspect::detect(bytes))
        .ok_or(OfflineError::UnknownPlatform)?;
    // DCAP collateral given here joins the policy's; other platforms' travels as the
    // evidence's own.
    let mut policy = policy.clone();
    let mut carried = None;
    let mut collateral = Vec::new();
    if matches!(platform, PlatformId::SGX_DCAP | PlatformId::TDX_DCAP) {
        let sets = dcap_collateral(&check.collateral)?;
        collateral = sets.iter().map(|s| (s.form.to_string(), s.source.clone())).collect();
        policy = policy.map_sections(|mut section: dcap::DcapPolicy| {
            section.collateral.splice(0..0, sets.iter().cloned());
            section
        });
    } else {
        match check.collateral.as_slice() {
            [] => {}
            [CollateralInput::File { bytes, .. }] => carried = Some(bytes.as_slice()),
            _ => {
                return Err(OfflineError::Collateral(
                    "this platform takes one file (a certificate or certificate table)".into(),
                ));
            }
        }
    }
    let registry = VerifierRegistry::from_policy(&policy).map_err(OfflineError::Policy)?;
    let stated = stated_claims(&policy, platform, bytes);
    let mut evidence = Evidence::new(platform, bytes);
    evidence.collateral = carried;
    let report_data = check
        .report_data
        .or(stated.as_ref().map(|c| c.report_data))
        .unwrap_or([0; 64]);
    let verdict = registry.verify(&evidence, &report_data, check.at.unwrap_or_else(UnixTime::now));
    Ok(Appraisal {
        platform,
        collateral,
        stated,
        binding_checked: check.report_data.is_some(),
        verdict,
    })
}
