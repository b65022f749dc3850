//! A thread-per-connection TCP server over [`Host`], and the frame reader it uses.

use crate::relay::{Host, PendingReply, Routed};
use sc_protocol::io::read_message;
use sc_protocol::msgs::MessageType;
use std::io::Write;
use std::net::Shutdown;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;

/// Replies owed to the client, in the order its messages arrived.
enum Owed {
    Ready(Vec<u8>),
    Pending(PendingReply),
}

/// Data records in flight to the enclave per connection (bounds memory per client).
const PIPELINE_DEPTH: usize = 32;

/// How many data replies the writer still owes, and whether it has stopped (then it never
/// will pay them, and nobody may wait for that).
#[derive(Default)]
struct InFlight {
    state: Mutex<(usize, bool)>,
    changed: Condvar,
}

impl InFlight {
    fn lock(&self) -> std::sync::MutexGuard<'_, (usize, bool)> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self) {
        self.lock().0 += 1;
    }

    fn done(&self) {
        self.lock().0 -= 1;
        self.changed.notify_all();
    }

    fn writer_stopped(&self) {
        self.lock().1 = true;
        self.changed.notify_all();
    }

    /// Blocks until every owed data reply is sent (or the writer has stopped).
    fn wait_idle(&self) {
        let mut st = self.lock();
        while st.0 > 0 && !st.1 {
            st = self.changed.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Waits for owed replies in order and sends them (the writer half of a connection).
fn write_replies(replies: Receiver<Owed>, mut stream: TcpStream, in_flight: Arc<InFlight>) {
    write_in_order(&replies, &mut stream, &in_flight);
    in_flight.writer_stopped();
}

fn write_in_order(replies: &Receiver<Owed>, stream: &mut TcpStream, in_flight: &InFlight) {
    for item in replies {
        let reply = match item {
            Owed::Ready(r) => Ok(r),
            Owed::Pending(p) => {
                let r = p.wait();
                in_flight.done();
                r
            }
        };
        let sent = match reply {
            Ok(r) => stream.write_all(&r).is_ok(),
            Err(e) => {
                tracing::info!(error = %e, "enclave refused a record; closing connection");
                false
            }
        };
        if !sent {
            let _ = stream.shutdown(Shutdown::Both);
            break;
        }
    }
}

/// The writer half, started with the first data record: connections that only handshake
/// (the common short connection) never pay for a second thread.
struct Writer {
    owed: SyncSender<Owed>,
    thread: JoinHandle<()>,
}

/// One connection: this thread reads messages and sends data records on to the enclave
/// without waiting (pipelining); a writer thread waits for their replies in order and sends
/// them. Before a handshake or close message, every earlier reply is awaited, so the enclave
/// sees a connection's messages take effect in order.
fn connection(host: &Host, stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let conn = host.connect();
    let in_flight = Arc::new(InFlight::default());
    let mut writer: Option<Writer> = None;
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
            in_flight.wait_idle();
        }
        let owed = match host.submit_owned(conn, message) {
            Ok(Routed::Reply(reply)) => Owed::Ready(reply),
            Ok(Routed::Pending(reply)) => {
                in_flight.add();
                Owed::Pending(reply)
            }
            Ok(Routed::Nothing) => continue,
            Ok(Routed::Closed) => break,
            Err(e) => {
                tracing::info!(error = %e, "refusing message; closing connection");
                break;
            }
        };
        let queued = match (&writer, owed) {
            // No data in flight yet: answer directly.
            (None, Owed::Ready(reply)) => reader.write_all(&reply).map_err(drop),
            (None, pending) => match reader.try_clone() {
                Ok(stream) => {
                    let (owed, replies) = sync_channel::<Owed>(PIPELINE_DEPTH);
                    let flight = in_flight.clone();
                    let thread = std::thread::spawn(move || write_replies(replies, stream, flight));
                    let sent = owed.send(pending).map_err(drop);
                    writer = Some(Writer { owed, thread });
                    sent
                }
                Err(_) => Err(()),
            },
            (Some(w), item) => w.owed.send(item).map_err(drop),
        };
        if queued.is_err() {
            break;
        }
    }
    if let Some(w) = writer {
        drop(w.owed);
        let _ = w.thread.join();
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
