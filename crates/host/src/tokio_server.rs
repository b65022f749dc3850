//! A tokio TCP server over [`Host`] (feature `tokio`). Enclave calls block (they wait on
//! the boundary), so they run on tokio's blocking pool.

use crate::relay::{Host, Routed};
use sc_protocol::io::read_message_async;
use std::sync::Arc;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

async fn connection(host: Arc<Host>, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let conn = host.connect();
    while let Ok(Some(message)) = read_message_async(&mut stream, host.limits().max_message).await {
        let h = host.clone();
        let routed = match tokio::task::spawn_blocking(move || h.handle(conn, &message)).await {
            Ok(r) => r,
            Err(_) => break,
        };
        match routed {
            Ok(Routed::Reply(reply)) => {
                if stream.write_all(&reply).await.is_err() {
                    break;
                }
            }
            Ok(Routed::Nothing) => {}
            Ok(Routed::Closed) => break,
            // `handle` waits for data replies itself; nothing is ever pending here.
            Ok(Routed::Pending(_)) => break,
            Err(e) => {
                tracing::info!(error = %e, "refusing message; closing connection");
                break;
            }
        }
    }
    let h = host.clone();
    let _ = tokio::task::spawn_blocking(move || h.disconnect(conn)).await;
}

/// Accepts connections forever, one task each.
pub async fn serve_tokio(host: Arc<Host>, listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(host.clone(), stream));
    }
}
