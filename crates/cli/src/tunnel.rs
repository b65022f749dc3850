//! `tunnel`: the client side of an attested tunnel. Every local TCP connection becomes a
//! stream session to the server (`serve --forward`), attested before any byte of the
//! connection is sent; bytes flow both ways, each direction's end is an EndOfStream, and
//! the session's end closes the local connection. What was attested is logged once per
//! session.
//!
//! Only ends that prove themselves end a connection normally: the server's authenticated
//! EndOfStream becomes a FIN to the local client, and the local client's FIN becomes our
//! EndOfStream. Every other end (records lost, reordered or forged on the way, the
//! server's Close, a cut connection, a local reset) resets the local connection and
//! closes the session with a Close, so neither the local client nor the service behind
//! the server can take a cut-short stream for a complete one.

use sc_client::{ClientError, ClientTimeouts, TcpClient};
use sc_protocol::{ClientConfig, RecordError};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Bytes read from the local connection per record.
const CHUNK: usize = 60 * 1024;

/// Local to server: read, send; the local end (a FIN) is our EndOfStream, a local reset
/// our Close. Nothing is said once the session was `aborted` (the other direction failed).
fn upstream(mut local: TcpStream, sender: sc_client::StreamSender, aborted: &AtomicBool) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let read = local.read(&mut buf);
        if aborted.load(Ordering::Acquire) {
            return;
        }
        match read {
            Ok(0) => {
                let _ = sender.end_stream();
                return;
            }
            Ok(n) => {
                if sender.send(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(_) => {
                let _ = sender.close();
                return;
            }
        }
    }
}

/// Resets the local connection (SO_LINGER 0, then closed when its last handle drops): its
/// client sees an error, not the end of the data.
fn reset(local: &TcpStream) {
    let _ = socket2::SockRef::from(local).set_linger(Some(std::time::Duration::ZERO));
    // Wakes the upstream thread's read without sending a FIN.
    let _ = local.shutdown(Shutdown::Read);
}

/// One local connection's session, to its end.
fn carry(local: TcpStream, server: &str, config: Arc<ClientConfig>) {
    let peer = local.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let timeouts = ClientTimeouts {
        request: None,
        ..ClientTimeouts::default()
    };
    let mut client = match TcpClient::connect_with(server, config, timeouts) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(%peer, error = %sc_protocol::ErrorChain(&e), "tunnel refused: the server's enclave was not accepted or not reached");
            return;
        }
    };
    if let Some(claims) = client.client().peer_claims() {
        tracing::info!(
            %peer,
            session = format!("{:#018x}", client.client().session_id().unwrap_or(0)),
            platform = %claims.platform,
            measurement = %hex::encode(&claims.measurement),
            simulated = claims.simulated,
            "tunnel session attested"
        );
    }
    let Ok(reader) = local.try_clone() else { return };
    let sender = client.sender();
    let aborted = Arc::new(AtomicBool::new(false));
    let up_aborted = aborted.clone();
    let up = std::thread::spawn(move || upstream(reader, sender, &up_aborted));
    let mut local = local;
    let why = loop {
        match client.recv() {
            Ok(data) => {
                if local.write_all(&data).is_err() {
                    break "the local connection failed".to_owned();
                }
            }
            // The server's end of stream: the local side reads its end, and the session is
            // over once the local side has ended its own too.
            Err(ClientError::Record(RecordError::StreamEnded)) => {
                let _ = local.shutdown(Shutdown::Write);
                let _ = up.join();
                tracing::info!(%peer, why = "both streams ended", "tunnel session over");
                let _ = client.close();
                return;
            }
            Err(e @ ClientError::SessionClosed { .. }) => break format!("the server ended the session: {e}"),
            Err(ClientError::ConnectionClosed) => {
                break "the connection to the server closed before the stream ended (truncated)".to_owned();
            }
            Err(e) => break format!("the session failed: {}", sc_protocol::ErrorChain(&e)),
        }
    };
    tracing::warn!(%peer, why, "tunnel session failed: resetting the local connection");
    aborted.store(true, Ordering::Release);
    reset(&local);
    let _ = client.close();
    let _ = up.join();
}

/// `tunnel`: listens on `listen` until the process ends.
pub fn tunnel(listen: &str, server: &str, policy: &Path, out: &mut dyn Write) -> Result<()> {
    let text = std::fs::read_to_string(policy)
        .map_err(|e| format!("cannot read the client policy {}: {e}", policy.display()))?;
    let config = crate::net::client_config_with(&text, policy.parent(), true)
        .map_err(|e| format!("{}: {e}", policy.display()))?;
    let listener = TcpListener::bind(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    writeln!(out, "tunnel listening on {} to {server}", listener.local_addr()?)?;
    out.flush()?;
    for local in listener.incoming() {
        let Ok(local) = local else { continue };
        let _ = local.set_nodelay(true);
        let (server, config) = (server.to_owned(), config.clone());
        std::thread::spawn(move || carry(local, &server, config));
    }
    Ok(())
}
