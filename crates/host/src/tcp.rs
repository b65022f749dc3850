//! A thread-per-connection TCP server over [`Host`], and the frame reader it uses.

use crate::relay::{Host, Routed};
use sc_protocol::io::read_message;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

fn connection(host: &Host, mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let conn = host.connect();
    loop {
        let message = match read_message(&mut stream, host.limits().max_message) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "dropping connection");
                break;
            }
        };
        match host.handle(conn, &message) {
            Ok(Routed::Reply(reply)) => {
                if stream.write_all(&reply).is_err() {
                    break;
                }
            }
            Ok(Routed::Nothing) => {}
            Ok(Routed::Closed) => break,
            Err(e) => {
                tracing::info!(error = %e, "refusing message; closing connection");
                break;
            }
        }
    }
    host.disconnect(conn);
}

/// Accepts connections forever, one thread each.
pub fn serve_tcp(host: Arc<Host>, listener: TcpListener) -> std::io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        let host = host.clone();
        std::thread::Builder::new()
            .name("sc-host-conn".into())
            .spawn(move || connection(&host, stream))?;
    }
    Ok(())
}
