//! The accept loop: it never exits while the process lives. When accepting fails (out of
//! descriptors, out of buffers, a connection aborted before it was accepted) it logs, at
//! most once a second, backs off briefly and goes on; connections waiting in the kernel's
//! backlog are accepted once descriptors free up.

use super::connection::{Shared, serve_connection};
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::time::Instant;

/// Pause after a failed accept: long enough not to spin on a listener that stays readable
/// while descriptors are exhausted, short enough that clients barely notice.
const BACKOFF: Duration = Duration::from_millis(50);
/// At most one log line per this interval for repeated accept failures.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Whether an accept error concerns only the connection being accepted (retry at once),
/// rather than the process's resources (back off).
fn transient(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::Interrupted | ErrorKind::WouldBlock
    )
}

/// Accepts connections, one task each, until the host drains.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    let mut last_log: Option<Instant> = None;
    let mut suppressed = 0u64;
    let mut drain = shared.drain.clone();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = super::connection::drained(&mut drain) => {
                tracing::info!("draining: no longer accepting connections");
                return;
            }
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                tokio::spawn(serve_connection(shared.clone(), stream, peer));
            }
            Err(e) if transient(e.kind()) => {}
            Err(e) => {
                let now = Instant::now();
                if last_log.is_none_or(|t| now.duration_since(t) >= LOG_EVERY) {
                    tracing::warn!(
                        error = %e,
                        repeated = suppressed,
                        "accept failed (out of descriptors or buffers?); backing off and accepting on"
                    );
                    last_log = Some(now);
                    suppressed = 0;
                } else {
                    suppressed += 1;
                }
                tokio::time::sleep(BACKOFF).await;
            }
        }
    }
}
