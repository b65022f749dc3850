//! `secure-channel`: the project's command-line tool.
//!
//! Verbs: `demo` runs the whole system on one machine (the enclave as its own process, the
//! host on a loopback port, a client); `serve` and `connect` do the same from two terminals
//! (`serve` with a configuration file, metrics, drain and reload); `load` measures a server;
//! `tunnel` carries local TCP connections to `serve --forward`; `policy init` writes a client
//! policy from real evidence; `enclave` is the demo enclave program the host starts;
//! `sim-root create`, `measure`, `sim-attest` and `verify` manage simulated attestation and
//! appraise evidence against a policy.
//!
//! ```text
//! cargo run -p sc-cli -- demo
//! cargo run -p sc-cli -- measure target/debug/secure-channel
//! ```
#![forbid(unsafe_code)]

mod attestation_cmds;
mod enclave_program;
mod load;
mod logging;
mod net;
mod policy_init;
mod serve;
mod tunnel;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "secure-channel",
    version,
    about = "Attested secure channel for confidential computing"
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace); RUST_LOG, when set, takes precedence.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Less log output (errors only).
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything on one machine: start the enclave process and the host on a loopback
    /// port, attest the enclave from a client, run a private job, show what the host saw.
    Demo {
        /// An enclave program to start instead of `secure-channel enclave` (it gets
        /// `--sim-root <file>` and speaks the boundary protocol on stdin/stdout).
        #[arg(long)]
        enclave: Option<PathBuf>,
        /// The client's private dataset (comma-separated numbers).
        #[arg(long, default_value = "12.5, 7.25, 99.0, 41.0, 3.5")]
        data: String,
    },
    /// Run the host and its enclave, listening for clients, until SIGTERM or SIGINT (which
    /// drain it); SIGHUP reloads the configuration (docs/OPERATIONS.md).
    Serve(Box<serve::config::ServeArgs>),
    /// Run as the demo enclave program (the host starts this as its own process and speaks
    /// to it on stdin/stdout).
    #[command(hide = true)]
    Enclave {
        /// Simulated root key file (for the simulated attester); read from the
        /// environment as the C enclave runtime does.
        #[arg(long, env = "SECURE_CHANNEL_SIM_ROOT")]
        sim_root: Option<PathBuf>,
        /// Where evidence comes from: simulated, configfs-tsm (TDX, SEV-SNP, Arm CCA
        /// guests) or gramine (SGX).
        #[arg(long, env = "SECURE_CHANNEL_ATTESTER", default_value = "simulated")]
        attester: String,
        /// Signer id (64 hex digits).
        #[arg(long, value_parser = attestation_cmds::parse_hex::<32>, default_value = ZERO32)]
        signer: [u8; 32],
        /// Security version.
        #[arg(long, default_value_t = 0)]
        svn: u32,
        /// Wait for the host on this address (vsock://CID:PORT, unix://PATH,
        /// tcp://HOST:PORT) instead of speaking on stdin/stdout: the enclave program
        /// runs apart from the host (a confidential VM).
        #[arg(long)]
        listen: Option<sc_boundary::remote::Address>,
        /// Forward every stream session (a tunnel's) to a TCP connection to this address
        /// (HOST:PORT, inside the TEE).
        #[arg(long)]
        forward: Option<String>,
    },
    /// Connect to a server, attest its enclave, send data to its statistics job.
    Connect {
        /// Server address.
        #[arg(long, default_value = "127.0.0.1:7000")]
        addr: String,
        /// Client policy file.
        #[arg(long, default_value = "client-policy.toml")]
        policy: PathBuf,
        /// The private dataset (comma-separated numbers; `--data=-1,2` for a leading minus).
        #[arg(long, required_unless_present = "data_file", conflicts_with = "data_file")]
        data: Option<String>,
        /// A file holding the dataset (numbers separated by commas or whitespace), or `-`
        /// for standard input.
        #[arg(long)]
        data_file: Option<PathBuf>,
        /// Print only the job's result (not what was attested).
        #[arg(long)]
        result_only: bool,
        /// Deadline for the TCP connection and for the handshake (e.g. 10s).
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        timeout: std::time::Duration,
        /// Deadline for the reply to the request (e.g. 30s).
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        request_timeout: std::time::Duration,
    },
    /// Load a server (a node or a load balancer) with N attesting clients for a while and
    /// report rates, latency percentiles, a latency histogram and errors by kind.
    Load {
        /// Server address.
        #[arg(long)]
        target: String,
        /// Client policy file.
        #[arg(long, default_value = "client-policy.toml")]
        policy: PathBuf,
        /// Concurrent clients (a thread each).
        #[arg(long, default_value_t = 10)]
        clients: usize,
        /// How long to run (e.g. 30s).
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: std::time::Duration,
        /// Bytes per request.
        #[arg(long, default_value_t = 64)]
        request_size: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Carry local TCP connections to a server's enclave (`serve --forward`): each one
    /// becomes an attested stream session; an unmodified client connects to --listen.
    Tunnel {
        /// Local address to accept connections on.
        #[arg(long)]
        listen: String,
        /// The server (`serve --forward`).
        #[arg(long)]
        server: String,
        /// Client policy file.
        #[arg(long, default_value = "client-policy.toml")]
        policy: PathBuf,
    },
    /// Write client policies.
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Manage the simulated TEE's root key (development only: it can forge evidence).
    SimRoot {
        #[command(subcommand)]
        action: SimRootAction,
    },
    /// Print an enclave executable's measurement (SHA-256), the value a policy lists.
    Measure {
        /// The enclave executable.
        exe: PathBuf,
    },
    /// Produce SIMULATED evidence for an executable (to try `verify`).
    SimAttest {
        /// Simulated root key file.
        #[arg(long)]
        root: PathBuf,
        /// Enclave executable to measure.
        #[arg(long)]
        exe: PathBuf,
        /// Signer id (64 hex digits).
        #[arg(long, value_parser = attestation_cmds::parse_hex::<32>, default_value = ZERO32)]
        signer: [u8; 32],
        /// Security version.
        #[arg(long, default_value_t = 0)]
        svn: u32,
        /// Mark the enclave as a debug enclave.
        #[arg(long)]
        debug: bool,
        /// Report data (128 hex digits).
        #[arg(long, value_parser = attestation_cmds::parse_hex::<64>, default_value = ZERO64)]
        report_data: [u8; 64],
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify an evidence file against a policy; print the claims and the verdict.
    Verify {
        /// Evidence file (binary or hex text): simulated, SGX or TDX quote, SEV-SNP report,
        /// virtCCA token, Azure confidential-VM evidence (JSON).
        #[arg(long)]
        evidence: PathBuf,
        /// Policy file (TOML).
        #[arg(long)]
        policy: PathBuf,
        /// Collateral, a file or a directory, repeatable. DCAP: dcap-qvl collateral JSON,
        /// or Intel PCS/PCCS responses (TCB info, QE identity, PCK CRL, root CA CRL, issuer
        /// chains as PEM files or saved response headers), told apart by content. SEV-SNP:
        /// the VCEK/VLEK certificate (DER or PEM) or the certificate table. Added to the
        /// policy's collateral_dir / vek_dir.
        #[arg(long)]
        collateral: Vec<PathBuf>,
        /// Expected report data (128 hex digits); without it the evidence's own is used
        /// and the binding is not checked.
        #[arg(long, value_parser = attestation_cmds::parse_hex::<64>)]
        report_data: Option<[u8; 64]>,
        /// The evidence's platform (simulated, sgx, tdx, sev-snp, virtcca, azure-snp,
        /// azure-tdx); detected if absent.
        #[arg(long, value_parser = attestation_cmds::parse_platform)]
        platform: Option<sc_protocol::PlatformId>,
        /// Verify as of this time instead of now: RFC 3339 (2025-07-01T00:00:00Z) or Unix
        /// seconds.
        #[arg(long, value_parser = attestation_cmds::parse_time)]
        at: Option<u64>,
        /// Print one JSON object (evidence, collateral, claims, verdict, reason, hint)
        /// instead of text.
        #[arg(long)]
        json: bool,
    },
}

const ZERO32: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const ZERO64: &str = "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

#[derive(Subcommand)]
enum PolicyAction {
    /// Verify real evidence (an SGX or TDX quote, an SEV-SNP report, Azure evidence) and
    /// write the client policy that accepts exactly its workload, each value commented.
    Init {
        /// The evidence file (binary or hex).
        #[arg(long)]
        evidence: PathBuf,
        /// Collateral files or directories, as for `verify`.
        #[arg(long)]
        collateral: Vec<PathBuf>,
        /// Verify as of this time: RFC 3339 or Unix seconds (default now).
        #[arg(long, value_parser = attestation_cmds::parse_time)]
        at: Option<u64>,
        /// Where to write the policy (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Overwrite --out if it exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum SimRootAction {
    /// Create a new root key file and print its public key.
    Create {
        /// Where to write the key (refuses to overwrite).
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // -v / -q, when given, choose the level; else the configuration's (serve) or info.
    // RUST_LOG, when set, takes precedence over both.
    let chosen = match (cli.quiet, cli.verbose) {
        (true, _) => Some("error"),
        (false, 0) => None,
        (false, 1) => Some("debug"),
        (false, _) => Some("trace"),
    };
    // `serve` installs its logger once its configuration is read (level, format).
    if !matches!(cli.command, Command::Serve(_)) {
        if let Err(e) = logging::init(chosen.unwrap_or("info"), logging::LogFormat::Text) {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    }
    let out = &mut std::io::stdout();
    let result = match cli.command {
        Command::Demo { enclave, data } => net::demo(&serve::EnclaveProgram::from_option(enclave), &data, out),
        Command::Serve(args) => serve::run(&args, chosen, out),
        Command::Connect {
            addr,
            policy,
            data,
            data_file,
            result_only,
            timeout,
            request_timeout,
        } => net::read_dataset(data.as_deref(), data_file.as_deref()).and_then(|dataset| {
            net::connect(
                &addr,
                &policy,
                &dataset,
                sc_client::ClientTimeouts {
                    connect: timeout,
                    handshake: timeout,
                    request: Some(request_timeout),
                },
                result_only,
                out,
            )
        }),
        Command::Enclave {
            sim_root,
            attester,
            signer,
            svn,
            listen,
            forward,
        } => sc_enclave::program::AttesterSource::parse(&attester, sim_root)
            .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
            .and_then(|source| enclave_program::run(source, signer, svn, listen.as_ref(), forward.as_deref()))
            .map_err(|e| e as Box<dyn std::error::Error>),
        Command::Tunnel { listen, server, policy } => tunnel::tunnel(&listen, &server, &policy, out),
        Command::Load {
            target,
            policy,
            clients,
            duration,
            request_size,
            json,
        } => load::load(
            load::LoadArgs {
                target: &target,
                policy: &policy,
                clients,
                duration,
                request_size,
                json,
            },
            out,
        ),
        Command::Policy {
            action:
                PolicyAction::Init {
                    evidence,
                    collateral,
                    at,
                    out: path,
                    force,
                },
        } => policy_init::init(
            policy_init::InitArgs {
                evidence: &evidence,
                collateral: &collateral,
                at,
                out: path.as_deref(),
                force,
            },
            out,
        ),
        Command::SimRoot {
            action: SimRootAction::Create { out: path },
        } => attestation_cmds::sim_root_create(&path, out),
        Command::Measure { exe } => attestation_cmds::measure(&exe, out),
        Command::SimAttest {
            root,
            exe,
            signer,
            svn,
            debug,
            report_data,
            out: out_path,
        } => attestation_cmds::sim_attest(
            attestation_cmds::SimAttestArgs {
                root: &root,
                exe: &exe,
                signer,
                security_version: svn,
                debug,
                report_data,
                out_path: &out_path,
            },
            out,
        ),
        Command::Verify {
            evidence,
            policy,
            collateral,
            report_data,
            platform,
            at,
            json,
        } => match attestation_cmds::verify(
            attestation_cmds::VerifyArgs {
                evidence: &evidence,
                policy: &policy,
                collateral: &collateral,
                report_data,
                platform,
                at,
                json,
            },
            out,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(2),
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", sc_protocol::ErrorChain(&*e));
            ExitCode::FAILURE
        }
    }
}
