//! `serve`: the host and its enclave on a port, for as long as the operator wants.
//!
//! Start-up order: the configuration is resolved and checked; the client listener is bound
//! (a taken address stops everything before anything starts or is written); the enclave
//! is started (or reached) and supervised; the client policy is written from what the
//! enclave attests (`policy`); the operations endpoint is opened; then `serve` waits for
//! signals (`signals`): SIGHUP reloads, SIGTERM and SIGINT drain and exit.

pub mod config;
pub mod enclave;
pub mod limits;
pub mod policy;
mod signals;

pub use enclave::{Attestation, EnclaveProgram};

use config::{EnclaveLocation, ServeArgs, ServeConfig};
use enclave::{Enclave, Location};
use sc_host::{Host, HostLimits};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A running host: its enclave (supervised) and the client listener's thread.
pub struct Server {
    /// Where clients connect.
    pub addr: SocketAddr,
    /// The relay.
    pub host: Arc<Host>,
    /// The enclave.
    pub enclave: Enclave,
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

/// Binds `listen`, starts the enclave at `location` and a host relaying between them.
pub fn start_server(listen: &str, location: &Location, mut limits: HostLimits, explicit_cap: bool) -> Result<Server> {
    fit_descriptors(&mut limits, explicit_cap);
    // The address first: if it is taken, nothing has been started or written.
    let listener = TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let (host, enclave) = Enclave::start(location, limits)?;
    // The server holds each connection to its deadlines itself (no sweep needed: a sweep
    // would only race it, closing with a busy alert what is due a timeout alert).
    sc_host::spawn_server(host.clone(), listener)?;
    Ok(Server { addr, host, enclave })
}

/// How long `serve` watches the first enclave before saying it is listening.
const FIRST_START_GRACE: Duration = Duration::from_millis(300);

/// Where the configured enclave is.
fn location(config: &ServeConfig) -> Result<Location> {
    Ok(match &config.enclave {
        EnclaveLocation::Program(program) => {
            let mut program = EnclaveProgram::from_option(program.clone());
            if let Some(backend) = &config.forward {
                program.args.extend(["--forward".into(), backend.into()]);
            }
            Location::Program(
                program,
                Attestation::from_args(&config.attester, config.sim_root.as_deref())?,
            )
        }
        EnclaveLocation::Remote(address) => Location::Remote(address.clone()),
    })
}

/// `serve`: resolves the configuration (`--check-config`: prints it and returns), starts
/// everything, and runs until SIGTERM or SIGINT has drained it.
pub fn run(args: &ServeArgs, level_override: Option<&str>, out: &mut dyn Write) -> Result<()> {
    let config = args.resolve(level_override)?;
    config.validate()?;
    if args.check_config {
        writeln!(out, "# configuration OK\n{}", config.to_toml())?;
        return Ok(());
    }
    let logs = crate::logging::init(&config.log_level, config.log_format)?;
    // Signals are caught from here on: a SIGTERM during start-up is handled like later.
    let signals = signals::Signals::catch()?;
    if config.policy_out.exists() && !config.force {
        return Err(format!(
            "{} exists: not overwriting it (give another --policy-out, or --force)",
            config.policy_out.display()
        )
        .into());
    }
    // A simulated root that cannot be read stops everything before anything starts.
    let root = match &config.sim_root {
        Some(root) => Some(
            sc_attestation::sim::SimRoot::read(root)
                .map_err(|e| format!("cannot read the simulated root key {}: {e}", root.display()))?,
        ),
        None => None,
    };
    let location = location(&config)?;
    let ops = match &config.metrics_listen {
        Some(addr) => Some(TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr} (metrics): {e}"))?),
        None => None,
    };
    let server = start_server(&config.listen, &location, config.limits, config.explicit_cap)?;
    // An enclave program that cannot run at all fails here, with its own message above,
    // rather than being restarted behind a "listening" line.
    if let Some(how) = server.enclave.failed_start(FIRST_START_GRACE) {
        return Err(match &location {
            Location::Program(p, _) => format!(
                "the enclave program {} exited at start ({how}); its messages are above",
                p.program.display()
            ),
            Location::Remote(a) => format!("the link to the enclave at {a} dropped at start"),
        }
        .into());
    }
    let written = policy::write(&server.host, root.as_ref(), &config.policy_out)?;
    server.host.check_ready();
    let mut line = format!("listening on {}; {written}", server.addr);
    if let Some(listener) = ops {
        let addr = listener.local_addr()?;
        sc_host::spawn_ops_endpoint(server.host.clone(), listener)?;
        line.push_str(&format!(
            "; operations endpoint on {addr} (/metrics, /healthz, /readyz)"
        ));
    }
    writeln!(out, "{line}")?;
    out.flush()?;
    signals.run(server, args, level_override, &logs, config.drain_timeout);
    Ok(())
}
