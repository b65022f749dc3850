//! The client verbs: `demo` (everything on one machine, through `serve`'s server) and
//! `connect` (a client of a running `serve`).

use crate::serve::enclave::Location;
use crate::serve::policy::client_policy_text;
use crate::serve::{Attestation, EnclaveProgram, start_server};
use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry};
use sc_client::{ClientTimeouts, TcpClient};
use sc_host::HostLimits;
use sc_protocol::ClientConfig;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A client configuration from policy text.
pub fn client_config(policy_text: &str, base_dir: Option<&Path>) -> Result<Arc<ClientConfig>> {
    client_config_with(policy_text, base_dir, false)
}

/// A client configuration from policy text, asking for stream sessions if `streams`.
pub fn client_config_with(policy_text: &str, base_dir: Option<&Path>, streams: bool) -> Result<Arc<ClientConfig>> {
    let policy = Policy::from_toml(policy_text, base_dir)?;
    let verifier = Arc::new(VerifierRegistry::from_policy(&policy)?);
    Ok(Arc::new(
        ClientConfig::builder()
            .verifier(verifier)
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            // Hardware evidence may need its collateral (SEV-SNP certificates) from the enclave.
            .accept_evidence_collateral(true)
            .streams(streams)
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
        &Location::Program(enclave.clone(), Attestation::Simulated(root_path.clone())),
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
