//! The demo enclave program: `secure-channel enclave --sim-root <root.key>`. The host starts
//! it as a separate process from its executable's path and talks to it over stdin/stdout
//! (length-prefixed boundary frames); logs go to stderr, never stdout.
//!
//! It attests with the **simulated** TEE: its measurement is the SHA-256 of this very
//! executable, signed with the simulated root key given by `--sim-root`. It offers both
//! binding modes and one application function:
//!
//! * function 1, `stats`: the request is comma-separated numbers; the reply is
//!   `count=N mean=M max=X`;
//! * function 2, `sink`: replies with the request's length as 8 big-endian bytes.
//!

use sc_enclave::program::{self, AttesterSource, ProgramOptions};
use std::sync::Arc;

/// Function number of the demo's statistics job.
pub const STATS: u32 = 1;
/// Function number of the byte sink (for throughput measurements): replies with the
/// number of bytes received.
pub const SINK: u32 = 2;

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

/// Runs the enclave program: until the host closes its stdin, or, with `listen`, serving
/// one host connection after another on that address.
pub fn run(
    attester: AttesterSource,
    signer: [u8; 32],
    svn: u32,
    listen: Option<&sc_boundary::remote::Address>,
    forward: Option<&str>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let options = ProgramOptions {
        signer,
        security_version: svn,
        streams: forward.is_some(),
        ..ProgramOptions::with_attester(attester)
    };
    let service = program::build_service(&options, |service| {
        service.register(STATS, Arc::new(stats));
        service.register(
            SINK,
            Arc::new(|_, request: &[u8]| (request.len() as u64).to_be_bytes().to_vec()),
        );
    })?;
    match (listen, forward) {
        (None, Some(backend)) => program::serve_forwarding(service, backend, std::io::stdin(), std::io::stdout())?,
        (None, None) => program::serve(service, std::io::stdin(), std::io::stdout())?,
        (Some(address), forward) => {
            let listener =
                sc_boundary::remote::Listener::bind(address).map_err(|e| format!("cannot listen on {address}: {e}"))?;
            // The host (or a test) learns the bound address here (a port 0 chosen).
            println!("enclave listening on {}", listener.local_address()?);
            match forward {
                Some(backend) => program::serve_connections_forwarding(service, backend, &listener)?,
                None => program::serve_connections(service, &listener)?,
            }
        }
    }
    Ok(())
}
