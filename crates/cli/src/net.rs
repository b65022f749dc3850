//! The networked verbs: `demo` (everything on one machine), `serve` (host + enclave
//! process on a port) and `connect` (a client).

use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_boundary::ChildProcess;
use sc_client::{ClientTimeouts, TcpClient};
use sc_host::{Host, HostLimits, Supervisor};
use sc_protocol::ClientConfig;
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
    /// The relay (kept alive with the server).
    _host: Arc<Host>,
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
    Ok(Server {
        addr,
        _host: host,
        supervisor,
    })
}

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

/// A client configuration from policy text.
pub fn client_config(policy_text: &str, base_dir: Option<&Path>) -> Result<Arc<ClientConfig>> {
    let policy = Policy::from_toml(policy_text, base_dir)?;
    let verifier = Arc::new(VerifierRegistry::from_policy(&policy)?);
    Ok(Arc::new(
        ClientConfig::builder()
            .verifier(verifier)
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            // Hardware evidence may need its collateral (SEV-SNP certificates) from the enclave.
            .accept_evidence_collateral(true)
            .build()?,
    ))
}

fn new_root(path: &Path) -> Result<SimRoot> {
    use rand_core::RngCore;
    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    rand_core::OsRng.try_fill_bytes(&mut secret[..])?;
    let root = SimRoot::from_secret(*secret);
    root.write(path)?;
    Ok(root)
}

/// `demo`: the whole system on one machine, with an account of what the host saw.
pub fn demo(enclave: &EnclaveProgram, dataset: &str, out: &mut dyn Write) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("secure-channel-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let root_path = dir.join("sim-root.key");
    let _ = std::fs::remove_file(&root_path);
    let root = new_root(&root_path)?;
    let policy = client_policy_text(&root, &enclave.program)?;
    let server = start_server(
        "127.0.0.1:0",
        enclave,
        &Attestation::Simulated(root_path.clone()),
        HostLimits::default(),
        false,
    )?;
    writeln!(
        out,
        "host listening on {}; enclave process started from {}",
        server.addr,
        enclave.program.display()
    )?;
    writeln!(
        out,
        "attestation: SIMULATED TEE (development stand-in; no hardware root of trust)"
    )?;

    let mut client = TcpClient::connect(server.addr, client_config(&policy, None)?, Duration::from_secs(10))?;
    let claims = client.client().peer_claims().ok_or("no claims")?;
    writeln!(
        out,
        "client attested the enclave: measurement {} (simulated={}), session {:#018x}",
        hex::encode(&claims.measurement),
        claims.simulated,
        client.client().session_id().unwrap_or(0)
    )?;
    let request_record_len = sc_protocol::Session::record_len(dataset.len());
    let reply = client.request(dataset.as_bytes())?;
    writeln!(
        out,
        "private job (statistics over the client's dataset) result: {}",
        String::from_utf8_lossy(&reply)
    )?;
    client.close()?;
    writeln!(out, "what the host relayed (it holds no key; sizes only):")?;
    writeln!(out, "  request record  {request_record_len} bytes of ciphertext")?;
    writeln!(
        out,
        "  reply record    {} bytes of ciphertext",
        sc_protocol::Session::record_len(reply.len())
    )?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
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

/// `serve`: host + enclave on `listen` until interrupted. With the simulated TEE, writes the
/// client policy once the server is up (never over an existing file without `force`: it
/// may be a key); with a hardware attester, says how to make one (`policy init`).
pub fn serve(
    listen: &str,
    enclave: &EnclaveProgram,
    attestation: &Attestation,
    policy_out: PolicyOut<'_>,
    limits: &crate::serve_config::LimitArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let (limits, explicit_cap) = limits.resolve()?;
    let policy = match attestation {
        Attestation::Simulated(root) => {
            if policy_out.path.exists() && !policy_out.force {
                return Err(format!(
                    "{} exists: not overwriting it (give another --policy-out, or --force)",
                    policy_out.path.display()
                )
                .into());
            }
            let root = SimRoot::read(root)
                .map_err(|e| format!("cannot read the simulated root key {}: {e}", root.display()))?;
            Some(client_policy_text(&root, &enclave.program)?)
        }
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
    match (policy, attestation) {
        (Some(policy), _) => {
            std::fs::write(policy_out.path, policy)
                .map_err(|e| format!("cannot write the client policy to {}: {e}", policy_out.path.display()))?;
            writeln!(
                out,
                "listening on {}; client policy written to {}",
                server.addr,
                policy_out.path.display()
            )?;
            tracing::warn!("attestation is SIMULATED: a development stand-in with no hardware root of trust");
        }
        (None, attestation) => writeln!(
            out,
            "listening on {}; attester {attestation:?}: make the client policy with `secure-channel policy init --evidence <this enclave's evidence>` (docs/HARDWARE.md)",
            server.addr
        )?,
    }
    out.flush()?;
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

/// The dataset for `connect`: `--data` or `--data-file` (`-`: standard input), checked:
/// every value must be a number, so that a typo is reported instead of computing over
/// fewer values than given.
pub fn read_dataset(data: Option<&str>, file: Option<&Path>) -> Result<String> {
    let text = match (data, file) {
        (Some(d), _) => d.to_owned(),
        (None, Some(p)) if p == Path::new("-") => {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
            s
        }
        (None, Some(p)) => std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
        (None, None) => return Err("give --data or --data-file".into()),
    };
    let values: Vec<&str> = text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    if values.is_empty() {
        return Err("the dataset is empty".into());
    }
    if let Some(bad) = values.iter().find(|t| !t.parse::<f64>().is_ok_and(f64::is_finite)) {
        return Err(format!("{bad:?} in the dataset is not a number").into());
    }
    Ok(values.join(","))
}

/// `connect`: attest, send `data` to the enclave's statistics job, print what was attested
/// (unless `result_only`) and the result.
pub fn connect(
    addr: &str,
    policy_path: &Path,
    data: &str,
    timeouts: ClientTimeouts,
    result_only: bool,
    out: &mut dyn Write,
) -> Result<()> {
    let text = std::fs::read_to_string(policy_path)
        .map_err(|e| format!("cannot read the client policy {}: {e}", policy_path.display()))?;
    let config = client_config(&text, policy_path.parent()).map_err(|e| format!("{}: {e}", policy_path.display()))?;
    let mut client = TcpClient::connect_with(addr, config, timeouts)
        .map_err(|e| format!("{addr}: {}", sc_protocol::ErrorChain(&e)))?;
    if !result_only {
        if let Some(claims) = client.client().peer_claims() {
            let platform = claims.platform;
            writeln!(
                out,
                "attested: {platform} enclave, measurement {}{}, session {:#018x}",
                hex::encode(&claims.measurement),
                if claims.simulated {
                    " (SIMULATED: no hardware root of trust)"
                } else {
                    ""
                },
                client.client().session_id().unwrap_or(0)
            )?;
        }
    }
    let reply = client.request(data.as_bytes())?;
    writeln!(out, "{}", String::from_utf8_lossy(&reply))?;
    client.close()?;
    Ok(())
}
