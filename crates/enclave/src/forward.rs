//! The tunnel's enclave side: each stream session (extension `streams`) is piped to a TCP
//! connection the enclave program opens to a backend inside the TEE, bytes both ways.
//!
//! * Client to backend: each data record is opened and written to the backend (in the
//!   call: a backend that does not read holds the call, and the host, whose pipeline per
//!   connection is bounded, stops reading that client); the client's EndOfStream shuts the
//!   backend's write side. The host pipelines a connection's records and the enclave's
//!   workers take calls in parallel, so records are written in their sequence order: a
//!   worker holding a later record waits for the earlier one (calls are read in the
//!   order the host sent them, so the earliest is always in a worker's hands).
//! * Backend to client: a thread per session reads the backend and pushes each chunk as a
//!   record, within the credit the host grants (`PUSH_WINDOW` to start, more as the
//!   client reads), so a slow client stops the read, not the memory; the backend's end is
//!   the enclave's EndOfStream, a failure its Close.
//! * Sessions that did not negotiate streams go to the wrapped service unchanged.

use crate::service::ChannelService;
use crate::sessions::{EnclaveError, SessionManager};
use sc_boundary::{CallError, ChannelOutcome, EnclaveService, PUSH_WINDOW, Pusher, Request, Response};
use sc_protocol::msgs::{Frame, MAX_FRAME_BODY, MessageType, RecordHeader};
use sc_protocol::{Session, UnixTime};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// Bytes read from the backend per record.
const CHUNK: usize = 60 * 1024;
/// How long connecting to the backend may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one write to the backend may block.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a record may wait for the records before it (a host that dropped one).
const ORDER_WAIT: Duration = Duration::from_secs(30);

/// One session's backend connection.
struct Link {
    backend: TcpStream,
    /// The client's next record sequence to write to the backend.
    next: Mutex<u64>,
    turn: Condvar,
    /// Bytes the enclave may still push; `None` once the link is closed.
    credit: Mutex<Option<u64>>,
    more: Condvar,
}

impl Link {
    fn close(&self) {
        *lock(&self.credit) = None;
        self.more.notify_all();
        let _ = self.backend.shutdown(Shutdown::Both);
    }

    fn grant(&self, bytes: u32) {
        if let Some(c) = lock(&self.credit).as_mut() {
            *c += u64::from(bytes);
        }
        self.more.notify_all();
    }

    /// Waits for `bytes` of credit and takes it; `false` once the link is closed.
    fn take(&self, bytes: u64) -> bool {
        let mut credit = lock(&self.credit);
        loop {
            match *credit {
                None => return false,
                Some(c) if c >= bytes => {
                    *credit = Some(c - bytes);
                    return true;
                }
                Some(_) => credit = self.more.wait(credit).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }
}

/// The forwarding service (see the module documentation).
pub struct ForwardService {
    inner: ChannelService,
    sessions: Arc<SessionManager>,
    /// Pushes go to the host connected now (an enclave program apart serves one host
    /// after another).
    pusher: std::sync::RwLock<Pusher>,
    backend: String,
    links: Arc<Mutex<HashMap<u64, Arc<Link>>>>,
}

impl std::fmt::Debug for ForwardService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardService")
            .field("backend", &self.backend)
            .field("links", &lock(&self.links).len())
            .finish_non_exhaustive()
    }
}

fn refuse(e: EnclaveError) -> Response {
    Response::Error(CallError::new(e.code(), sc_protocol::ErrorChain(&e).to_string()))
}

impl ForwardService {
    /// Forwards the stream sessions of `inner` to `backend` (`host:port`), pushing the
    /// backend's bytes with `pusher`.
    pub fn new(inner: ChannelService, pusher: Pusher, backend: impl Into<String>) -> Self {
        let sessions = inner.sessions().clone();
        Self {
            inner,
            sessions,
            pusher: std::sync::RwLock::new(pusher),
            backend: backend.into(),
            links: Arc::default(),
        }
    }

    /// Sends later pushes to a new host connection.
    pub fn set_pusher(&self, pusher: Pusher) {
        *self.pusher.write().unwrap_or_else(|p| p.into_inner()) = pusher;
    }

    fn pusher(&self) -> Pusher {
        self.pusher.read().unwrap_or_else(|p| p.into_inner()).clone()
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

    /// A stream session was established: connect its backend and start its reader, or end
    /// the session with the enclave's Close if the backend cannot be reached.
    fn open(&self, id: u64) {
        let backend = match self.connect() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(session = id, backend = %self.backend, error = %e, "backend refused: ending the session");
                if let Ok(Some(close)) = self.sessions.end_session(id, UnixTime::now()) {
                    let _ = self.pusher().push(id, close);
                }
                return;
            }
        };
        let _ = backend.set_nodelay(true);
        let _ = backend.set_write_timeout(Some(WRITE_TIMEOUT));
        let Ok(reader) = backend.try_clone() else { return };
        let link = Arc::new(Link {
            backend,
            credit: Mutex::new(Some(u64::from(PUSH_WINDOW))),
            more: Condvar::new(),
            next: Mutex::new(0),
            turn: Condvar::new(),
        });
        lock(&self.links).insert(id, link.clone());
        let (sessions, pusher, links) = (self.sessions.clone(), self.pusher(), self.links.clone());
        let spawned = std::thread::Builder::new()
            .name("sc-forward".into())
            .spawn(move || pump_backend(id, reader, &link, &sessions, &pusher, &links));
        if spawned.is_err() {
            self.close(id);
        }
    }

    fn close(&self, id: u64) {
        if let Some(link) = lock(&self.links).remove(&id) {
            link.close();
        }
    }

    fn link(&self, id: u64) -> Option<Arc<Link>> {
        lock(&self.links).get(&id).cloned()
    }

    fn data(&self, id: u64, link: &Link, record: Vec<u8>) -> Response {
        // In sequence order (see the module documentation).
        let sequence = Frame::parse(&record, MAX_FRAME_BODY)
            .ok()
            .and_then(|f| RecordHeader::read(f.body).ok())
            .map(|h| h.sequence);
        let Some(sequence) = sequence else {
            return refuse(EnclaveError::Unexpected("not a record"));
        };
        let mut next = lock(&link.next);
        let deadline = std::time::Instant::now() + ORDER_WAIT;
        while *next != sequence {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() || *next > sequence {
                drop(next);
                tracing::info!(session = id, sequence, "a record out of order: ending the session");
                self.close(id);
                return refuse(EnclaveError::Unexpected("record out of order"));
            }
            next = link.turn.wait_timeout(next, left).unwrap_or_else(|p| p.into_inner()).0;
        }
        let answer = self.write_record(id, link, record);
        *next += 1;
        link.turn.notify_all();
        answer
    }

    fn write_record(&self, id: u64, link: &Link, record: Vec<u8>) -> Response {
        match self.sessions.receive(id, record, UnixTime::now()) {
            Ok(Some(data)) => match (&link.backend).write_all(&data) {
                Ok(()) => Response::Done,
                Err(e) => {
                    tracing::info!(session = id, error = %e, "backend write failed: ending the session");
                    self.close(id);
                    if let Ok(Some(close)) = self.sessions.end_session(id, UnixTime::now()) {
                        let _ = self.pusher().push(id, close);
                    }
                    Response::Done
                }
            },
            // The client's EndOfStream: the backend reads its end.
            Ok(None) => {
                let _ = link.backend.shutdown(Shutdown::Write);
                Response::Done
            }
            Err(e) => {
                self.close(id);
                refuse(e)
            }
        }
    }
}

/// Backend to client: read, wait for credit, seal, push; the backend's end is the
/// enclave's EndOfStream, a failure its Close.
fn pump_backend(
    id: u64,
    mut reader: TcpStream,
    link: &Link,
    sessions: &SessionManager,
    pusher: &Pusher,
    links: &Mutex<HashMap<u64, Arc<Link>>>,
) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(n) => n,
            Err(e) => {
                tracing::info!(session = id, error = %e, "backend read failed: ending the session");
                lock(links).remove(&id);
                link.close();
                if let Ok(Some(close)) = sessions.end_session(id, UnixTime::now()) {
                    let _ = pusher.push(id, close);
                }
                return;
            }
        };
        let record = if n == 0 {
            sessions.end_stream(id, UnixTime::now())
        } else {
            if !link.take(Session::record_len(n) as u64) {
                break;
            }
            sessions.encrypt(id, &buf[..n], UnixTime::now())
        };
        match record {
            Ok(r) if n == 0 => {
                // The end of the stream costs its record's credit too.
                if link.take(r.len() as u64) {
                    let _ = pusher.push(id, r);
                }
                break;
            }
            Ok(r) => {
                if pusher.push(id, r).is_err() {
                    break;
                }
            }
            // The session is gone (closed, expired): nothing to push to.
            Err(_) => break,
        }
    }
    // The link stays while the client may still send (after our EndOfStream); the
    // session's end (Close, CloseSession, EndSession) removes it.
}

/// The session id a channel message (ClientFinished, Close) names.
fn session_of(message: &[u8]) -> Option<u64> {
    Frame::parse(message, MAX_FRAME_BODY).ok().and_then(|f| f.session_id())
}

impl EnclaveService for ForwardService {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } => {
                let session = session_of(&message);
                let is_close = message.first() == Some(&MessageType::Close.code());
                let answer = self.inner.call(Request::Channel { message });
                match (&answer, session) {
                    (Response::Channel(ChannelOutcome::Established { .. }), Some(id))
                        if self.sessions.is_stream(id, UnixTime::now()) =>
                    {
                        self.open(id)
                    }
                    (_, Some(id)) if is_close => self.close(id),
                    _ => {}
                }
                answer
            }
            Request::App {
                session_id,
                function,
                record,
            } => match self.link(session_id) {
                Some(link) => self.data(session_id, &link, record),
                // Not a stream session: the wrapped service's functions.
                None => self.inner.call(Request::App {
                    session_id,
                    function,
                    record,
                }),
            },
            Request::Credit { session_id, bytes } => {
                if let Some(link) = self.link(session_id) {
                    link.grant(bytes);
                }
                Response::Done
            }
            Request::CloseSession { session_id } | Request::EndSession { session_id } => {
                self.close(session_id);
                self.inner.call(request)
            }
            other => self.inner.call(other),
        }
    }
}
