//! A thread-per-connection TCP server over [`Host`], and the frame reader it uses.

use crate::relay::{Host, PendingReply, Routed};
use sc_protocol::io::read_message;
use sc_protocol::msgs::MessageType;
use std::io::Write;
use std::net::Shutdown;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::{Condvar, Mutex};

/// Replies owed to the client, in the order its messages arrived.
enum Owed {
    Ready(Vec<u8>),
    Pending(PendingReply),
}

/// Data records in flight to the enclave per connection (bounds memory per client).
const PIPELINE_DEPTH: usize = 32;

/// One connection: this thread reads messages and sends data records on to the enclave
/// without waiting (pipelining); a writer thread waits for the replies in order and sends
/// them. Before a handshake or close message, every earlier reply is awaited, so the enclave
/// sees a connection's messages take effect in order.
fn connection(host: &Host, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer_stream) = stream.try_clone() else {
        return;
    };
    let conn = host.connect();
    let (owed, replies) = std::sync::mpsc::sync_channel::<Owed>(PIPELINE_DEPTH);
    let in_flight = Arc::new((Mutex::new(0usize), Condvar::new()));
    let writer_in_flight = in_flight.clone();
    let writer = std::thread::spawn(move || {
        for item in replies {
            let reply = match item {
                Owed::Ready(r) => Ok(r),
                Owed::Pending(p) => {
                    let r = p.wait();
                    let (count, changed) = &*writer_in_flight;
                    *count.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
                    changed.notify_all();
                    r
                }
            };
            let sent = match reply {
                Ok(r) => writer_stream.write_all(&r).is_ok(),
                Err(e) => {
                    tracing::info!(error = %e, "enclave refused a record; closing connection");
                    false
                }
            };
            if !sent {
                let _ = writer_stream.shutdown(Shutdown::Both);
                break;
            }
        }
    });
    let mut reader = stream;
    loop {
        let message = match read_message(&mut reader, host.limits().max_message) {
            Ok(Some(m)) => m,
            Ok(None) => break,
            Err(e) => {
                tracing::debug!(error = %e, "dropping connection");
                break;
            }
        };
        if message.first() != Some(&MessageType::ApplicationData.code()) {
            // Let earlier data records finish first.
            let (count, changed) = &*in_flight;
            let mut n = count.lock().unwrap_or_else(|p| p.into_inner());
            while *n > 0 {
                n = changed.wait(n).unwrap_or_else(|p| p.into_inner());
            }
        }
        let queued = match host.submit(conn, &message) {
            Ok(Routed::Reply(reply)) => owed.send(Owed::Ready(reply)),
            Ok(Routed::Pending(reply)) => {
                *in_flight.0.lock().unwrap_or_else(|p| p.into_inner()) += 1;
                owed.send(Owed::Pending(reply))
            }
            Ok(Routed::Nothing) => Ok(()),
            Ok(Routed::Closed) => break,
            Err(e) => {
                tracing::info!(error = %e, "refusing message; closing connection");
                break;
            }
        };
        if queued.is_err() {
            break;
        }
    }
    drop(owed);
    let _ = writer.join();
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
