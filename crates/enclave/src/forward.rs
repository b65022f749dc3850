//! The tunnel's enclave side: each stream session (extension `streams`) is piped to a TCP
//! connection the enclave program opens to a backend inside the TEE, bytes both ways. A
//! [`StreamHandler`] ([`Forward`]) in a [`StreamService`], which brings the records in
//! sequence order and the room to push.
//!
//! * Client to backend: each data record is opened and written to the backend on the
//!   session's own thread: a backend that does not read holds that session's calls (no
//!   boundary worker), and the host, whose pipeline per connection is bounded, stops
//!   reading that client. Only the client's authenticated EndOfStream ends the backend's
//!   input normally (a FIN); any other end (the client's Close before its EndOfStream,
//!   the host dropping the session, an expiry) **resets** the backend connection, so a
//!   backend never takes a cut-short request for a complete one. A record that does not
//!   open (forged) changes nothing.
//! * Backend to client: a thread per session reads the backend and pushes each chunk as a
//!   record within the room the host grants ([`Streams::send`]), so a slow client stops
//!   the read, not the memory; the backend's end (a FIN) is the enclave's EndOfStream; a
//!   failure (refused, reset, a failed write) is its Close with reason
//!   [`CloseReason::BackendFailed`], never an EndOfStream, so the client cannot take a
//!   broken response for a complete one.
//! * Sessions that did not negotiate streams go to the wrapped service unchanged.

use crate::error::refusal;
use crate::service::ChannelService;
use crate::streams::{CHUNK, StreamHandler, StreamService, Streams};
use sc_boundary::{Pusher, Response};
use sc_protocol::RecordError;
use sc_protocol::msgs::CloseReason;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long connecting to the backend may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write to the backend may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The forwarding service: stream sessions piped to a backend.
pub type ForwardService = StreamService<Forward>;

impl ForwardService {
    /// Forwards the stream sessions of `inner` to `backend` (`host:port`), pushing the
    /// backend's bytes with `pusher`.
    pub fn forwarding(inner: ChannelService, pusher: Pusher, backend: impl Into<String>) -> Self {
        StreamService::new(inner, pusher, Forward::new(backend))
    }
}

/// One session's backend connection: one socket, read by the session's pump thread and
/// written by its stream thread.
#[derive(Debug)]
struct Link {
    socket: TcpStream,
    /// The client's EndOfStream arrived: the backend got a FIN, and the connection may
    /// end normally.
    client_ended: AtomicBool,
    /// The session ended otherwise: the pump must not report the backend's end.
    aborted: AtomicBool,
}

impl Link {
    /// Ends the backend connection: normally (close) after the client's EndOfStream, else
    /// with a reset (SO_LINGER 0), which the backend sees as an error, never as the end
    /// of the client's data.
    fn finish(&self) {
        if !self.client_ended.load(Ordering::Acquire) {
            self.aborted.store(true, Ordering::Release);
            let _ = socket2::SockRef::from(&self.socket).set_linger(Some(Duration::ZERO));
        }
        // Wakes the pump's read; the socket closes (with the reset if set) when the last
        // holder drops it.
        let _ = self.socket.shutdown(Shutdown::Read);
    }
}

/// The handler that pipes each stream session to a TCP connection to one backend.
#[derive(Debug)]
pub struct Forward {
    backend: String,
    /// Each open session's backend connection.
    links: Arc<Mutex<HashMap<u64, Arc<Link>>>>,
}

impl Forward {
    /// Pipes to `backend` (`host:port`).
    pub fn new(backend: impl Into<String>) -> Self {
        Self {
            backend: backend.into(),
            links: Arc::default(),
        }
    }

    fn connect(&self) -> std::io::Result<TcpStream> {
        let mut last = None;
        for addr in self.backend.to_socket_addrs()? {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| std::io::Error::other("the backend address resolved to nothing")))
    }

    fn unlink(&self, id: u64) {
        let link = lock(&self.links).remove(&id);
        if let Some(link) = link {
            link.finish();
        }
    }

    /// The backend failed for session `id`: reset it, and the client gets the enclave's
    /// Close saying so.
    fn backend_failed(&self, id: u64, streams: &Streams) {
        self.unlink(id);
        let _ = streams.end_session(id, CloseReason::BackendFailed);
    }
}

impl StreamHandler for Forward {
    /// Connects the session's backend and starts its reader, or ends the session with the
    /// enclave's Close if the backend cannot be reached.
    fn opened(&self, id: u64, streams: &Arc<Streams>) {
        let backend = match self.connect() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(session = id, backend = %self.backend, error = %e, "backend refused: ending the session");
                let _ = streams.end_session(id, CloseReason::BackendFailed);
                return;
            }
        };
        let _ = backend.set_nodelay(true);
        let _ = backend.set_write_timeout(Some(WRITE_TIMEOUT));
        let link = Arc::new(Link {
            socket: backend,
            client_ended: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
        });
        lock(&self.links).insert(id, link.clone());
        let (pump_streams, links) = (streams.clone(), self.links.clone());
        let spawned = std::thread::Builder::new()
            .name("sc-forward".into())
            .spawn(move || pump_backend(id, link, &pump_streams, &links));
        if spawned.is_err() {
            self.backend_failed(id, streams);
        }
    }

    fn record(&self, id: u64, _function: u32, record: Vec<u8>, streams: &Arc<Streams>) -> Response {
        let Some(link) = lock(&self.links).get(&id).cloned() else {
            return refusal(&crate::EnclaveError::UnknownSession);
        };
        match streams.sessions().receive(id, record, sc_protocol::UnixTime::now()) {
            Ok(Some(data)) => {
                if let Err(e) = (&link.socket).write_all(&data) {
                    tracing::info!(session = id, error = %e, "backend write failed: ending the session");
                    self.backend_failed(id, streams);
                }
                Response::Done
            }
            // The client's authenticated EndOfStream: the backend reads its end (a FIN).
            Ok(None) => {
                link.client_ended.store(true, Ordering::Release);
                let _ = link.socket.shutdown(Shutdown::Write);
                Response::Done
            }
            // A record that does not open (forged, out of sequence) changes nothing.
            Err(e @ crate::EnclaveError::Record(RecordError::Authentication | RecordError::OutOfSequence { .. })) => {
                refusal(&e)
            }
            Err(e) => {
                self.unlink(id);
                refusal(&e)
            }
        }
    }

    fn closed(&self, id: u64) {
        self.unlink(id);
    }
}

/// Backend to client: read, push within the granted room; the backend's end is the
/// enclave's EndOfStream, a failure its Close.
fn pump_backend(id: u64, link: Arc<Link>, streams: &Streams, links: &Mutex<HashMap<u64, Arc<Link>>>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let read = (&link.socket).read(&mut buf);
        if link.aborted.load(Ordering::Acquire) {
            // The session ended otherwise (and the socket is being reset): nothing to say.
            break;
        }
        match read {
            Ok(0) => {
                let _ = streams.end_stream(id);
                break;
            }
            Ok(n) => {
                // Fails once the session is gone (closed, expired, the host left).
                if streams.send(id, &buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) => {
                tracing::info!(session = id, error = %e, "backend read failed: ending the session");
                let removed = lock(links).remove(&id);
                if let Some(link) = removed {
                    link.finish();
                }
                let _ = streams.end_session(id, CloseReason::BackendFailed);
                break;
            }
        }
    }
    // The link stays while the client may still send (after our EndOfStream); the
    // session's end (Close, CloseSession, EndSession, expiry) removes it.
}
