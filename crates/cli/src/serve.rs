//! `serve`: the host and its enclave process on a port. The listener is bound first, then
//! the enclave started (and restarted by the supervisor), then the client policy written
//! from what the running enclave attests.

use sc_attestation::sim::SimRoot;
use sc_boundary::ChildProcess;
use sc_host::{Host, HostLimits, Supervisor};
use std::ffi::OsString;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// How to start the enclave process: an executable and the arguments before
/// `--sim-root <file>`.
#[derive(Clone)]
pub struct EnclaveProgram {
    /// The executable (what the client's policy measures).
    pub program: PathBuf,
    /// Leading arguments.
    pub args: Vec<OsString>,
}

impl EnclaveProgram {
    /// `path` if given, else this executable's `enclave` subcommand.
    pub fn from_option(path: Option<PathBuf>) -> Self {
        match path {
            Some(program) => Self {
                program,
                args: Vec::new(),
            },
            None => Self {
                program: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("secure-channel")),
                args: vec![OsString::from("enclave")],
            },
        }
    }

    fn spawn(&self, attestation: &Attestation) -> std::result::Result<ChildProcess, sc_boundary::BoundaryError> {
        let extra = match attestation {
            Attestation::Simulated(root) => [OsString::from("--sim-root"), root.as_os_str().to_owned()],
            Attestation::Hardware(name) => [OsString::from("--attester"), OsString::from(name)],
        };
        let args = self.args.iter().cloned().chain(extra);
        ChildProcess::spawn(&self.program, args, Duration::from_secs(10))
    }
}

/// How the enclave program attests: the simulated TEE with a root key file, or a hardware
/// attester by name (`configfs-tsm`, `gramine`), passed to it as `--sim-root FILE` or
/// `--attester NAME`.
#[derive(Clone, Debug)]
pub enum Attestation {
    /// The simulated TEE (development).
    Simulated(PathBuf),
    /// A hardware attester.
    Hardware(String),
}

impl Attestation {
    /// From `serve`'s `--attester` and `--sim-root`.
    pub fn from_args(attester: &str, sim_root: Option<&Path>) -> Result<Self> {
        match (attester, sim_root) {
            ("sim" | "simulated", Some(root)) => Ok(Self::Simulated(root.to_path_buf())),
            ("sim" | "simulated", None) => Err(
                "the simulated attester needs --sim-root FILE (create one with `secure-channel sim-root create`)"
                    .into(),
            ),
            ("configfs-tsm" | "gramine", None) => Ok(Self::Hardware(attester.to_owned())),
            ("configfs-tsm" | "gramine", Some(_)) => Err("--sim-root is only for --attester sim".into()),
            (other, _) => Err(format!("unknown attester {other:?}: sim, configfs-tsm or gramine").into()),
        }
    }
}

/// A running host: the enclave process, its supervisor and the TCP listener thread.
pub struct Server {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// The relay.
    pub host: Arc<Host>,
    supervisor: Supervisor,
}

impl Server {
    /// How the first enclave process ended, if it did within `grace` of now (a program
    /// that cannot run at all: a missing key or variable, a wrong path).
    pub fn failed_start(&self, grace: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.supervisor.current().exit_status() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

/// Descriptors kept free for everything but client connections (the enclave boundary,
/// logs, files, the listener).
const FD_RESERVE: u64 = 64;

/// Raises the descriptor limit and fits the connection cap under it (unless it was set
/// explicitly, in which case a warning says it cannot be reached).
fn fit_descriptors(limits: &mut HostLimits, explicit_cap: bool) {
    match sc_host::raise_fd_limit() {
        Ok((soft, hard)) => {
            tracing::info!(soft, hard, "open-file limit");
            let room = usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
            if limits.max_connections > room {
                if explicit_cap {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        fd_limit = soft,
                        "the connection cap is above the open-file limit: accepts will fail with EMFILE before it is reached"
                    );
                } else {
                    tracing::info!(
                        max_connections = room,
                        "connection cap lowered to fit the open-file limit"
                    );
                    limits.max_connections = room.max(1);
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read or raise the open-file limit"),
    }
}

/// Starts the enclave process and a host listening on `listen`.
pub fn start_server(
    listen: &str,
    enclave: &EnclaveProgram,
    attestation: &Attestation,
    mut limits: HostLimits,
    explicit_cap: bool,
) -> Result<Server> {
    fit_descriptors(&mut limits, explicit_cap);
    // The address first: if it is taken, nothing has been started or written.
    let listener = TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (enclave, attestation) = (enclave.clone(), attestation.clone());
    let spawn = move || enclave.spawn(&attestation);
    let child =
        Arc::new(spawn().map_err(|e| format!("cannot start the enclave program: {}", sc_protocol::ErrorChain(&e)))?);
    let host = Arc::new(Host::new(child.clone(), limits));
    let supervisor = Supervisor::start(host.clone(), child, spawn, Duration::from_millis(100));
    // The server holds each connection to its deadlines itself (no sweep needed: a sweep
    // would only race it, closing with a busy alert what is due a timeout alert).
    sc_host::spawn_server(host.clone(), listener)?;
    Ok(Server { addr, host, supervisor })
}

/// How long `serve` watches the first enclave process before saying it is listening.
const FIRST_START_GRACE: Duration = Duration::from_millis(300);

/// Where `serve` writes the client policy, and whether it may replace a file there.
pub struct PolicyOut<'a> {
    /// The path.
    pub path: &'a Path,
    /// Replace an existing file.
    pub force: bool,
}

/// `serve`: host + enclave on `listen` until interrupted. Once the enclave answers, the
/// client policy is written from its verified evidence (never over an existing file
/// without `force`: it may be a key).
pub fn serve(
    listen: &str,
    enclave: &EnclaveProgram,
    attestation: &Attestation,
    policy_out: PolicyOut<'_>,
    limits: &crate::serve_config::LimitArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let (limits, explicit_cap) = limits.resolve()?;
    if policy_out.path.exists() && !policy_out.force {
        return Err(format!(
            "{} exists: not overwriting it (give another --policy-out, or --force)",
            policy_out.path.display()
        )
        .into());
    }
    // A simulated root that cannot be read stops everything before anything starts.
    let root = match attestation {
        Attestation::Simulated(root) => Some(
            SimRoot::read(root).map_err(|e| format!("cannot read the simulated root key {}: {e}", root.display()))?,
        ),
        Attestation::Hardware(_) => None,
    };
    let server = start_server(listen, enclave, attestation, limits, explicit_cap)?;
    // An enclave program that cannot run at all fails here, with its own message above,
    // rather than being restarted behind a "listening" line.
    if let Some(status) = server.failed_start(FIRST_START_GRACE) {
        return Err(format!(
            "the enclave program {} exited at start ({status}); its messages are above",
            enclave.program.display()
        )
        .into());
    }
    let written = crate::serve_policy::write(&server.host, root.as_ref(), &enclave.program, policy_out.path)?;
    writeln!(out, "listening on {}; {written}", server.addr)?;
    if root.is_some() {
        tracing::warn!("attestation is SIMULATED: a development stand-in with no hardware root of trust");
    }
    out.flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}
