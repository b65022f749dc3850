//! The real stack end-to-end tests and benchmarks run against: the enclave program as its
//! own process (simulated attestation), the host relaying to it under a supervisor that
//! restarts it, and the network server on a loopback port.

use crate::sim;
use sc_attestation::measure_file;
use sc_boundary::ChildProcess;
use sc_host::{Host, HostLimits, Supervisor};
use sc_protocol::{ClientConfig, ClientConfigBuilder};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// A running stack. Dropping it stops the supervisor; the enclave process ends with it.
pub struct Stack {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// The relay.
    pub host: Arc<Host>,
    /// The first enclave process (the supervisor may have replaced it since).
    pub child: Arc<ChildProcess>,
    /// A policy file accepting the enclave program, as TOML.
    pub policy: String,
    /// The simulated root key's public half.
    pub root_public_key: [u8; 32],
    /// The enclave program's measurement.
    pub measurement: [u8; 32],
    /// Holds the root key file.
    pub dir: tempfile::TempDir,
    _supervisor: Supervisor,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// How to start a stack.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// The `secure-channel` executable (its `enclave` subcommand is the enclave program).
    pub program: PathBuf,
    /// The host's limits.
    pub limits: HostLimits,
    /// The boundary's call deadline.
    pub call_timeout: Duration,
}

impl StackOptions {
    /// Default limits and a 10 s call deadline, with the enclave program `program`.
    pub fn new(program: &Path) -> Self {
        Self {
            program: program.to_path_buf(),
            limits: HostLimits::default(),
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl Stack {
    /// Starts a stack with default options.
    pub fn start(program: &Path) -> Self {
        Self::start_with(StackOptions::new(program))
    }

    /// Starts the enclave process, the host with its supervisor, and the server.
    pub fn start_with(options: StackOptions) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let (root, root_path) = sim::root_in(dir.path(), 0x42);
        let measurement = measure_file(&options.program).expect("measure the enclave program");
        let program = options.program.clone();
        let timeout = options.call_timeout;
        let spawn = move || {
            ChildProcess::spawn(
                &program,
                [Path::new("enclave"), Path::new("--sim-root"), &root_path],
                timeout,
            )
        };
        let child = Arc::new(spawn().expect("start the enclave program"));
        let host = Arc::new(Host::new(child.clone(), options.limits));
        let supervisor = Supervisor::start(host.clone(), child.clone(), spawn, Duration::from_millis(100));
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        sc_host::spawn_server(host.clone(), listener).expect("start the server");
        Stack {
            addr,
            host,
            child,
            policy: sim::policy_text(&root.public_key(), &[measurement]),
            root_public_key: root.public_key(),
            measurement,
            dir,
            _supervisor: supervisor,
        }
    }

    /// A client builder that accepts this stack's enclave.
    pub fn client_builder(&self) -> ClientConfigBuilder {
        sim::client_builder(&sc_attestation::Policy::simulated(
            self.root_public_key,
            &[self.measurement],
        ))
    }

    /// A client that accepts this stack's enclave.
    pub fn client(&self) -> Arc<ClientConfig> {
        Arc::new(self.client_builder().build().expect("client config"))
    }
}
