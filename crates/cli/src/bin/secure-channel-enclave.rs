//! The demo enclave program. The host starts it from its path and talks to it over
//! stdin/stdout (length-prefixed boundary frames); logs go to stderr.
//!
//! It attests with the **simulated** TEE: its measurement is the SHA-256 of this very
//! executable, signed with the simulated root key given by `--sim-root`. It offers both
//! binding modes and one application function:
//!
//! * function 1, `stats`: the request is comma-separated numbers; the reply is
//!   `count=N mean=M max=X`;
//! * function 2, `sink`: replies with the request's length as 8 big-endian bytes.
//!
//! Usage: `secure-channel-enclave --sim-root <root.key> [--signer <64 hex>] [--svn N]`

use rand_core::{OsRng, RngCore};
use sc_attestation::RefreshingIdentity;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot, system_clock};
use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
use sc_protocol::EnclaveConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Function number of the demo's statistics job.
const STATS: u32 = 1;
/// Function number of the byte sink (for throughput measurements): replies with the
/// number of bytes received.
const SINK: u32 = 2;

fn stats(_session: u64, request: &[u8]) -> Vec<u8> {
    let values: Vec<f64> = String::from_utf8_lossy(request)
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    if values.is_empty() {
        return b"count=0".to_vec();
    }
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    format!("count={} mean={mean:.2} max={max:.2}", values.len()).into_bytes()
}

struct Args {
    sim_root: PathBuf,
    signer: [u8; 32],
    svn: u32,
}

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let (mut sim_root, mut signer, mut svn) = (None, [0u8; 32], 0u32);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--sim-root" => sim_root = Some(PathBuf::from(value()?)),
            "--signer" => {
                let v = value()?;
                for (i, b) in signer.iter_mut().enumerate() {
                    *b = v
                        .get(2 * i..2 * i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                        .ok_or("--signer needs 64 hex digits")?;
                }
            }
            "--svn" => svn = value()?.parse().map_err(|_| "--svn needs a number")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Args {
        sim_root: sim_root.ok_or("--sim-root <root key file> is required")?,
        signer,
        svn,
    })
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let exe = std::env::current_exe()?;
    let enclave = SimEnclave {
        measurement: sc_attestation::measure_file(&exe)?,
        signer: args.signer,
        security_version: args.svn,
        debug: false,
    };
    tracing::warn!("enclave attests with the SIMULATED TEE (no hardware root of trust)");
    let attester = Arc::new(SimAttester::new(
        SimRoot::read(&args.sim_root)?,
        enclave,
        system_clock(),
    ));
    let mut seed = [0u8; 32];
    OsRng.try_fill_bytes(&mut seed)?;
    let identity = RefreshingIdentity::new(seed, attester.clone(), Duration::from_secs(300), sc_attestation::now())?;
    let config = EnclaveConfig::builder()
        .attester(attester)
        .identity(identity.current(sc_attestation::now())?)
        .build()?;
    let sessions = Arc::new(SessionManager::new(config, Some(identity), EnclaveLimits::default()));

    let sweeper = sessions.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(30));
            sweeper.expire(sc_attestation::now());
        }
    });

    let mut service = ChannelService::new(sessions, Arc::new(sc_attestation::now));
    service.register(STATS, Arc::new(stats));
    service.register(
        SINK,
        Arc::new(|_, request: &[u8]| (request.len() as u64).to_be_bytes().to_vec()),
    );
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2);
    sc_boundary::serve(Arc::new(service), std::io::stdin().lock(), std::io::stdout(), workers)?;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("secure-channel-enclave: {e}");
            ExitCode::FAILURE
        }
    }
}
