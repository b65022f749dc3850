//! The client policy `serve` writes: from what the running enclave attests (the boundary's
//! evidence probe, docs/PROTOCOL.md §8.3), verified under that very policy before it is
//! written. With the simulated TEE the policy pins the measurement the enclave attests
//! (its executable's hash) under the root key; with hardware evidence it is `policy
//! init`'s skeleton for the platform.

use crate::policy_init::{Origin, policy_for_evidence};
use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_host::Host;
use sc_protocol::{Evidence, PlatformId, Verifier};
use std::path::Path;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The client policy accepting `enclave_exe` attested by `root` (simulated platform).
pub fn client_policy_text(root: &SimRoot, enclave_exe: &Path) -> Result<String> {
    let measurement = measure_file(enclave_exe)
        .map_err(|e| format!("cannot measure the enclave program {}: {e}", enclave_exe.display()))?;
    Ok(sim_policy_text(root, &measurement))
}

/// The client policy accepting the enclave `measurement` attested by `root` (simulated).
fn sim_policy_text(root: &SimRoot, measurement: &[u8]) -> String {
    format!(
        "# Client policy: accept only the enclave program measured below, attested by the\n\
         # SIMULATED TEE root below (development; no hardware root of trust).\n\
         allow_simulated = true\n\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\n\
         max_evidence_age_secs = 600\n",
        hex::encode(root.public_key()),
        hex::encode(measurement)
    )
}

/// Probes the enclave behind `host` and writes the client policy to `path`; returns what
/// was done, for `serve`'s "listening" line. An enclave that cannot attest is an error
/// (it could not serve a handshake either); hardware evidence that does not verify here
/// (no collateral at hand, say) leaves its evidence beside `path` and says how to go on.
/// Simulated evidence needs the root key (`root`) to be verified.
pub fn write(host: &Host, root: Option<&SimRoot>, path: &Path) -> Result<String> {
    let (probe, report_data) = host
        .probe_evidence()
        .map_err(|e| format!("the enclave cannot attest: {}", sc_protocol::ErrorChain(&e)))?;
    let text = if probe.platform == PlatformId::SIMULATED {
        let root = root.ok_or(
            "the enclave attests with the SIMULATED TEE: give its root key (--sim-root) to write the client policy",
        )?;
        let stated = sc_attestation::platforms::inspect::describe(PlatformId::SIMULATED, &probe.evidence)?;
        let text = sim_policy_text(root, &stated.measurement);
        let registry = VerifierRegistry::from_policy(&Policy::from_toml(&text, None)?)?;
        registry
            .verify(
                &Evidence::new(probe.platform, &probe.evidence),
                &report_data,
                sc_protocol::UnixTime::now(),
            )
            .map_err(|e| {
                format!(
                    "the enclave's simulated evidence does not verify under this root key, so no policy was written: {}",
                    sc_protocol::ErrorChain(&e)
                )
            })?;
        tracing::warn!("attestation is SIMULATED: a development stand-in with no hardware root of trust");
        text
    } else {
        match policy_for_evidence(
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
        }
    };
    std::fs::write(path, text).map_err(|e| format!("cannot write the client policy to {}: {e}", path.display()))?;
    Ok(if probe.platform == PlatformId::SIMULATED {
        format!("client policy written to {}", path.display())
    } else {
        format!(
            "client policy for this {} enclave written to {} (review it before use: docs/HARDWARE.md)",
            probe.platform,
            path.display()
        )
    })
}
