//! Where `serve`'s enclave runs: a program it starts and supervises (development, or the
//! whole host inside a confidential VM), or an enclave program running apart that it
//! reaches over a socket (`secure-channel enclave --listen`: a confidential VM over vsock).

use sc_boundary::remote::{Address, RemoteEnclave};
use sc_boundary::{BoundaryError, ChildProcess, EnclaveTransport};
use sc_host::{Host, HostLimits, Supervisor};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Deadline of one call into the enclave (a handshake with hardware evidence included).
const CALL_DEADLINE: Duration = Duration::from_secs(10);
/// How often the supervisor looks at the enclave.
const SUPERVISE_EVERY: Duration = Duration::from_millis(100);

/// How to start the enclave process: an executable and the arguments before
/// `--sim-root <file>`.
#[derive(Clone, Debug)]
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

    fn spawn(&self, attestation: &Attestation) -> std::result::Result<ChildProcess, BoundaryError> {
        let extra = match attestation {
            Attestation::Simulated(root) => [OsString::from("--sim-root"), root.as_os_str().to_owned()],
            Attestation::Hardware(name) => [OsString::from("--attester"), OsString::from(name)],
        };
        let args = self.args.iter().cloned().chain(extra);
        ChildProcess::spawn(&self.program, args, CALL_DEADLINE)
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

/// The supervised enclave of a running `serve`.
pub enum Enclave {
    /// A child process.
    Child(Supervisor<ChildProcess>),
    /// A remote enclave program.
    Remote(Supervisor<RemoteEnclave>),
}

impl Enclave {
    /// Starts the enclave program (or connects to it) and a host relaying to it, with its
    /// supervisor.
    pub fn start(location: &Location, limits: HostLimits) -> Result<(Arc<Host>, Self)> {
        match location {
            Location::Program(program, attestation) => {
                let (program, attestation) = (program.clone(), attestation.clone());
                let spawn = move || program.spawn(&attestation);
                let child = Arc::new(
                    spawn()
                        .map_err(|e| format!("cannot start the enclave program: {}", sc_protocol::ErrorChain(&e)))?,
                );
                let host = Arc::new(Host::new(child.clone() as Arc<dyn EnclaveTransport>, limits));
                let supervisor = Supervisor::start(host.clone(), child, spawn, SUPERVISE_EVERY);
                Ok((host, Enclave::Child(supervisor)))
            }
            Location::Remote(address) => {
                let address = address.clone();
                let connect = move || RemoteEnclave::connect(&address, CALL_DEADLINE);
                let link = Arc::new(connect().map_err(|e| sc_protocol::ErrorChain(&e).to_string())?);
                let host = Arc::new(Host::new(link.clone() as Arc<dyn EnclaveTransport>, limits));
                let supervisor = Supervisor::start(host.clone(), link, connect, SUPERVISE_EVERY);
                Ok((host, Enclave::Remote(supervisor)))
            }
        }
    }

    /// How the first enclave ended, if it did within `grace` of now (a program that cannot
    /// run at all: a missing key or variable, a wrong path; a link closed at once).
    pub fn failed_start(&self, grace: Duration) -> Option<String> {
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            let ended = match self {
                Enclave::Child(s) => s.current().exit_status().map(|s| s.to_string()),
                Enclave::Remote(s) => s.current().is_down().then(|| "the link dropped".to_owned()),
            };
            if ended.is_some() {
                return ended;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops supervising and stops the enclave (a child process is asked to exit, then
    /// killed; a remote enclave's link is closed and it waits for its next host).
    pub fn stop(self) {
        match self {
            Enclave::Child(s) => {
                let child = s.current();
                drop(s);
                if let Some(status) = child.stop() {
                    tracing::info!(%status, "enclave program stopped");
                }
            }
            Enclave::Remote(s) => {
                let link = s.current();
                drop(s);
                link.close();
                tracing::info!(address = %link.address(), "link to the enclave closed");
            }
        }
    }
}

/// Where the enclave is, with what `serve` needs to start it.
#[derive(Clone, Debug)]
pub enum Location {
    /// A program to start with this attestation.
    Program(EnclaveProgram, Attestation),
    /// An enclave program listening at an address.
    Remote(Address),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Program(p, _) => write!(f, "{}", p.program.display()),
            Location::Remote(a) => write!(f, "{a}"),
        }
    }
}
