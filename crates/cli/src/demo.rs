//! The in-process demo: client and enclave state machines with a "relay" between them
//! that records only what crosses it.

use rand_core::OsRng;
use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
use sc_protocol::{
    BindingMode, ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, IdentityCredential, UnixTime,
};
use std::io::Write;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Binding mode chosen on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Mode {
    /// Fresh evidence per handshake, bound to the transcript.
    PerSession,
    /// Cached evidence binding an identity key that signs each transcript.
    IdentityKey,
}

fn now() -> UnixTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    UnixTime::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// The private job: mean and maximum of the client's numbers, computed "in the enclave".
fn enclave_job(request: &[u8]) -> String {
    let values: Vec<f64> = String::from_utf8_lossy(request)
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let n = values.len().max(1) as f64;
    let mean = values.iter().sum::<f64>() / n;
    let max = values.iter().copied().fold(f64::MIN, f64::max);
    format!("count={} mean={mean:.2} max={max:.2}", values.len())
}

/// Runs the demo, writing its account to `out`.
pub fn run(mode: Mode, out: &mut dyn Write) -> Result<(), Box<dyn std::error::Error>> {
    let mode = match mode {
        Mode::PerSession => BindingMode::PerSession,
        Mode::IdentityKey => BindingMode::IdentityKey,
    };
    // Test double standing in for TEE hardware: there is no enclave here.
    let (root_key, measurement) = ([0x5a; 32], [0xa5; 32]);
    let attester = Arc::new(TestDoubleAttester::new(root_key, measurement));
    attester.set_time(now());
    let identity = Arc::new(IdentityCredential::new(rand_seed()?, attester.as_ref())?);
    let enclave = EnclaveConfig::builder().attester(attester).identity(identity).build()?;
    let client = Arc::new(
        ClientConfig::builder()
            .verifier(Arc::new(TestDoubleVerifier::new(root_key, &[measurement])))
            .binding_modes(&[mode])
            .build()?,
    );
    writeln!(
        out,
        "note: in-process preview with TEST-DOUBLE attestation (no TEE, no network)"
    )?;

    let mut relay_log = Vec::new();
    let (hs, client_hello) = ClientHandshake::start(client, &mut OsRng, now())?;
    relay_log.push(("client -> enclave", "ClientHello", client_hello.len()));
    let (pending, server_hello) = EnclaveHandshake::accept(&enclave, 1, &client_hello, &mut OsRng, now())?;
    relay_log.push(("enclave -> client", "ServerHello", server_hello.len()));
    let mut established = hs.read_server_hello(&server_hello, now())?;
    let claims = established.session.peer_claims().cloned();
    relay_log.push(("client -> enclave", "ClientFinished", established.client_finished.len()));
    let mut enclave_session = pending.read_client_finished(&established.client_finished, now())?;

    let dataset = b"12.5, 7.25, 99.0, 41.0, 3.5";
    let request = established.session.seal(now(), dataset)?;
    relay_log.push(("client -> enclave", "record", request.len()));
    let plaintext = enclave_session.open(now(), &request)?.ok_or("session closed")?;
    let reply = enclave_session.seal(now(), enclave_job(&plaintext).as_bytes())?;
    relay_log.push(("enclave -> client", "record", reply.len()));
    let result = established.session.open(now(), &reply)?.ok_or("session closed")?;

    if let Some(c) = claims {
        writeln!(
            out,
            "attested: platform 0x{:04x}, measurement {}, simulated={}, mode {mode:?}",
            c.platform.0,
            hex(&c.measurement),
            c.simulated
        )?;
    }
    writeln!(
        out,
        "suite: {:?}, session id {}",
        established.session.suite(),
        established.session.id()
    )?;
    writeln!(out, "result: {}", String::from_utf8_lossy(&result))?;
    writeln!(out, "what the relay saw (sizes only, all records encrypted):")?;
    for (dir, what, len) in relay_log {
        writeln!(out, "  {dir}  {what:<14} {len:>5} bytes")?;
    }
    Ok(())
}

fn rand_seed() -> Result<[u8; 32], rand_core::Error> {
    let mut seed = [0u8; 32];
    rand_core::RngCore::try_fill_bytes(&mut OsRng, &mut seed)?;
    Ok(seed)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_computes_the_job_through_the_channel_in_both_modes() {
        for mode in [Mode::PerSession, Mode::IdentityKey] {
            let mut out = Vec::new();
            run(mode, &mut out).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert!(text.contains("result: count=5 mean=32.65 max=99.00"), "{text}");
            assert!(text.contains("simulated=true"));
            // The relay log lists sizes, never the dataset.
            assert!(!text.contains("12.5, 7.25"));
        }
    }
}
