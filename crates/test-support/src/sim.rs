//! Policies for the simulated TEE (a development stand-in for attestation hardware, which
//! cannot run here): one builder, used by every test and benchmark.

use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{ClientConfig, ClientConfigBuilder};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The TOML of a policy accepting simulated evidence signed by `root_public_key` for any of
/// `measurements`, for tests that need a policy file (the TOML form of
/// [`Policy::simulated`]).
pub fn policy_text(root_public_key: &[u8; 32], measurements: &[[u8; 32]]) -> String {
    let measurements: Vec<String> = measurements.iter().map(|m| format!("\"{}\"", hex::encode(m))).collect();
    format!(
        "allow_simulated = true\n\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [{}]\n",
        hex::encode(root_public_key),
        measurements.join(", ")
    )
}

/// Writes [`policy_text`] to `path`.
pub fn write_policy(path: &Path, root_public_key: &[u8; 32], measurements: &[[u8; 32]]) {
    std::fs::write(path, policy_text(root_public_key, measurements)).expect("write policy");
}

/// A client builder verifying against `policy`, for tests that set more.
pub fn client_builder(policy: &Policy) -> ClientConfigBuilder {
    ClientConfig::builder().verifier(Arc::new(
        VerifierRegistry::from_policy(policy).expect("policy accepts something"),
    ))
}

/// A client verifying simulated evidence by `root_public_key` for `measurements`.
pub fn client(root_public_key: [u8; 32], measurements: &[[u8; 32]]) -> Arc<ClientConfig> {
    Arc::new(
        client_builder(&Policy::simulated(root_public_key, measurements))
            .build()
            .expect("client config"),
    )
}

/// A simulated root key from `seed`, written to `dir/root.key` (for enclave programs that
/// read it); returns the root and the file.
pub fn root_in(dir: &Path, seed: u8) -> (SimRoot, PathBuf) {
    let path = dir.join("root.key");
    let root = SimRoot::from_secret([seed; 32]);
    root.write(&path).expect("write root key");
    (root, path)
}
