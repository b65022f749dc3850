//! The client policy `serve` writes: from what the running enclave attests (the boundary's
//! evidence probe, docs/PROTOCOL.md §8.3), verified under that very policy before it is
//! written. With the simulated TEE the policy pins the enclave executable's hash under the
//! root key; with a hardware attester it is `policy init`'s skeleton for the platform.

use crate::policy_init::{Origin, policy_for_evidence};
use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_host::Host;
use sc_protocol::{Evidence, Verifier};
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The client policy accepting `enclave_exe` attested by `root` (simulated platform).
pub fn client_policy_text(root: &SimRoot, enclave_exe: &Path) -> Result<String> {
    Ok(format!(
        "# Client policy: accept only the enclave program measured below, attested by the\n\
         # SIMULATED TEE root below (development; no hardware root of trust).\n\
         allow_simulated = true\n\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\n\
         max_evidence_age_secs = 600\n",
        hex::encode(root.public_key()),
        hex::encode(
            measure_file(enclave_exe)
                .map_err(|e| format!("cannot measure the enclave program {}: {e}", enclave_exe.display()))?
        )
    ))
}

/// Probes the enclave behind `host` and writes the client policy to `path`; returns what
/// was done, for `serve`'s "listening" line. An enclave that cannot attest is an error
/// (it could not serve a handshake either); hardware evidence that does not verify here
/// (no collateral at hand, say) leaves its evidence beside `path` and says how to go on.
pub fn write(host: &Host, sim_root: Option<&SimRoot>, program: &Path, path: &Path) -> Result<String> {
    let (probe, report_data) = host
        .probe_evidence()
        .map_err(|e| format!("the enclave cannot attest: {}", sc_protocol::ErrorChain(&e)))?;
    let mut evidence = Evidence::new(probe.platform, &probe.evidence);
    evidence.collateral = probe.collateral.as_deref();
    let text = match sim_root {
        Some(root) => {
            let text = client_policy_text(root, program)?;
            let registry = VerifierRegistry::from_policy(&Policy::from_toml(&text, None)?)?;
            registry
                .verify(&evidence, &report_data, sc_protocol::UnixTime::now())
                .map_err(|e| {
                    format!(
                        "the enclave's evidence does not match the policy for {} under this root key, so none was written: {}",
                        program.display(),
                        sc_protocol::ErrorChain(&e)
                    )
                })?;
            text
        }
        None => match policy_for_evidence(
            probe.platform,
            &probe.evidence,
            &[],
            probe.collateral.as_deref(),
            None,
            &Origin::Probe { report_data },
        ) {
            Ok(text) => text,
            Err(e) => {
                let saved = path.with_extension("evidence");
                std::fs::write(&saved, &probe.evidence)
                    .map_err(|w| format!("{e}; and the evidence could not be saved to {}: {w}", saved.display()))?;
                tracing::warn!(error = %e, evidence = %saved.display(), "no client policy written");
                return Ok(format!(
                    "NO client policy written ({e}). The enclave's {} evidence is in {}: make the policy with `secure-channel policy init --evidence {} --collateral <its collateral> --out {}` (docs/HARDWARE.md)",
                    probe.platform,
                    saved.display(),
                    saved.display(),
                    path.display()
                ));
            }
        },
    };
    std::fs::write(path, text).map_err(|e| format!("cannot write the client policy to {}: {e}", path.display()))?;
    Ok(match sim_root {
        Some(_) => format!("client policy written to {}", path.display()),
        None => format!(
            "client policy for this {} enclave written to {} (review it before use: docs/HARDWARE.md)",
            probe.platform,
            path.display()
        ),
    })
}
