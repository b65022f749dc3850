//! The tunnel's enclave side: each stream session (extension `streams`) is piped to a TCP
//! connection the enclave program opens to a backend inside the TEE, bytes both ways. A
//! [`StreamHandler`] ([`Forward`]) in a [`StreamService`], which brings the records in
//! sequence order and the room to push.
//!
//! * Client to backend: each data record is opened and written to the backend on the
//!   session's own thread: a backend that does not read holds that session's calls (no
//!   boundary worker), and the host, whose pipeline per connection is bounded, stops
//!   reading that client; the client's EndOfStream shuts the backend's write side.
//! * Backend to client: a thread per session reads the backend and pushes each chunk as a
//!   record within the room the host grants ([`Streams::send`]), so a slow client stops
//!   the read, not the memory; the backend's end is the enclave's EndOfStream, a failure
//!   its Close.
//! * Sessions that did not negotiate streams go to the wrapped service unchanged.

use crate::service::ChannelService;
use crate::streams::{CHUNK, StreamHandler, StreamService, Streams, refuse};
use sc_boundary::{Pusher, Response};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
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

/// The handler that pipes each stream session to a TCP connection to one backend.
#[derive(Debug)]
pub struct Forward {
    backend: String,
    /// Each open session's backend connection (the writing side).
    links: Arc<Mutex<HashMap<u64, Arc<TcpStream>>>>,
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
        if let Some(link) = lock(&self.links).remove(&id) {
            let _ = link.shutdown(Shutdown::Both);
        }
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
                let _ = streams.end_session(id);
                return;
            }
        };
        let _ = backend.set_nodelay(true);
        let _ = backend.set_write_timeout(Some(WRITE_TIMEOUT));
        let Ok(reader) = backend.try_clone() else { return };
        lock(&self.links).insert(id, Arc::new(backend));
        let (streams, links) = (streams.clone(), self.links.clone());
        let spawned = std::thread::Builder::new()
            .name("sc-forward".into())
            .spawn(move || pump_backend(id, reader, &streams, &links));
        if spawned.is_err() {
            self.unlink(id);
        }
    }

    fn record(&self, id: u64, _function: u32, record: Vec<u8>, streams: &Arc<Streams>) -> Response {
        let Some(link) = lock(&self.links).get(&id).cloned() else {
            return refuse(&crate::EnclaveError::UnknownSession);
        };
        match streams.sessions().receive(id, record, sc_protocol::UnixTime::now()) {
            Ok(Some(data)) => {
                if let Err(e) = (&*link).write_all(&data) {
                    tracing::info!(session = id, error = %e, "backend write failed: ending the session");
                    self.unlink(id);
                    let _ = streams.end_session(id);
                }
                Response::Done
            }
            // The client's EndOfStream: the backend reads its end.
            Ok(None) => {
                let _ = link.shutdown(Shutdown::Write);
                Response::Done
            }
            Err(e) => {
                self.unlink(id);
                refuse(&e)
            }
        }
    }

    fn closed(&self, id: u64) {
        self.unlink(id);
    }
}

/// Backend to client: read, push within the granted room; the backend's end is the
/// enclave's EndOfStream, a failure its Close.
fn pump_backend(id: u64, mut reader: TcpStream, streams: &Streams, links: &Mutex<HashMap<u64, Arc<TcpStream>>>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
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
                if let Some(link) = lock(links).remove(&id) {
                    let _ = link.shutdown(Shutdown::Both);
                }
                let _ = streams.end_session(id);
                break;
            }
        }
    }
    // The link stays while the client may still send (after our EndOfStream); the
    // session's end (Close, CloseSession, EndSession) removes it.
}
