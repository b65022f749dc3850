//! A real stack for end-to-end tests: the `secure-channel enclave` program as its own
//! process, the host relaying on a loopback TCP port, clients over TCP.
#![allow(dead_code)]

use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_boundary::ChildProcess;
use sc_host::{Host, HostLimits, Supervisor};
use sc_protocol::ClientConfig;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub fn enclave_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_secure-channel"))
}

pub struct Stack {
    pub addr: SocketAddr,
    pub host: Arc<Host>,
    pub child: Arc<ChildProcess>,
    pub policy: String,
    pub dir: tempfile::TempDir,
    _supervisor: Supervisor,
}

pub fn policy_for(root: &SimRoot, measurement: &[u8; 32]) -> String {
    format!(
        "allow_simulated = true\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\nmax_evidence_age_secs = 600\n",
        hex::encode(root.public_key()),
        hex::encode(measurement)
    )
}

pub fn new_root(dir: &Path, seed: u8) -> (SimRoot, PathBuf) {
    let path = dir.join("root.key");
    let root = SimRoot::from_secret([seed; 32]);
    root.write(&path).unwrap();
    (root, path)
}

/// Starts an enclave process and a host on a free loopback port.
pub fn stack() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let (root, root_path) = new_root(dir.path(), 0x42);
    let exe = enclave_exe();
    let policy = policy_for(&root, &measure_file(&exe).unwrap());
    let spawn = move || {
        ChildProcess::spawn(
            &exe,
            [Path::new("enclave"), Path::new("--sim-root"), &root_path],
            Duration::from_secs(10),
        )
    };
    let child = Arc::new(spawn().unwrap());
    let host = Arc::new(Host::new(child.clone(), HostLimits::default()));
    let supervisor = Supervisor::start(host.clone(), child.clone(), spawn, Duration::from_millis(100));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    sc_host::spawn_server(host.clone(), listener).unwrap();
    Stack {
        addr,
        host,
        child,
        policy,
        dir,
        _supervisor: supervisor,
    }
}

pub fn client_config(policy: &str) -> Arc<ClientConfig> {
    Arc::new(client_config_builder(policy).build().unwrap())
}

/// A client configuration builder verifying against `policy`, for tests that set more.
pub fn client_config_builder(policy: &str) -> sc_protocol::ClientConfigBuilder {
    let policy = Policy::from_toml(policy, None).unwrap();
    ClientConfig::builder().verifier(Arc::new(VerifierRegistry::from_policy(&policy).unwrap()))
}

/// Waits until `f` holds, up to `limit`.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + limit;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}
