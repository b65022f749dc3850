//! The routing table and the relay logic.

use sc_boundary::{BoundaryError, EnclaveTransport, Request, Response};
use sc_protocol::msgs::{FRAME_HEADER_LEN, Frame, MessageType};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Host-side limits. Each refusal is its own [`HostError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLimits {
    /// Largest channel message accepted from a client (whole frame).
    pub max_message: usize,
    /// Largest ClientHello (far smaller than a record: a flood of large hellos is cheap to refuse).
    pub max_client_hello: usize,
    /// Established sessions at most.
    pub max_sessions: usize,
    /// Handshakes in progress at most.
    pub max_pending: usize,
    /// Connections idle this long are dropped (with their session).
    pub idle_timeout: Duration,
    /// The application function that client data records are sent to.
    pub data_function: u32,
}

impl Default for HostLimits {
    fn default() -> Self {
        Self {
            max_message: 1024 * 1024 + 64,
            max_client_hello: 16 * 1024,
            max_sessions: 100_000,
            max_pending: 1024,
            idle_timeout: Duration::from_secs(15 * 60),
            data_function: 1,
        }
    }
}

/// Why the host refused or failed a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostError {
    /// The bytes are not a channel frame.
    #[error("malformed message: {0}")]
    Malformed(#[from] sc_protocol::codec::DecodeError),
    /// The message exceeds the size limit.
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too many established sessions.
    #[error("session limit reached")]
    TooManySessions,
    /// Too many handshakes in progress.
    #[error("pending handshake limit reached")]
    TooManyPending,
    /// The connection id is unknown (never connected or already disconnected).
    #[error("unknown connection")]
    UnknownConnection,
    /// The message does not fit the connection's state (a second hello, data before the
    /// handshake, a frame naming another connection's session...).
    #[error("message out of place: {0}")]
    OutOfPlace(&'static str),
    /// No route carries this session id (never established here, closed, or expired).
    #[error("unknown session")]
    UnknownSession,
    /// The enclave refused the call (its code and reason).
    #[error("enclave refused: {0}")]
    Enclave(sc_boundary::CallError),
    /// The enclave could not be reached.
    #[error("enclave unavailable: {0}")]
    Boundary(#[from] BoundaryError),
}

/// Where a client message goes.
enum Route {
    Hello,
    Finished(u64),
    Data(u64),
    Close,
}

/// A client connection, as numbered by [`Host::connect`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(u64);

#[derive(Debug, Clone, Copy)]
enum Phase {
    New,
    /// A ClientHello is with the enclave: the slot is reserved before the call, so that
    /// concurrent hellos cannot overshoot the pending limit.
    Hello,
    Pending(u64),
    Open(u64),
}

#[derive(Debug)]
struct Conn {
    phase: Phase,
    last_seen: Instant,
}

/// What [`Host::handle`] produced.
#[derive(Debug)]
pub enum Routed {
    /// Send this frame back to the client.
    Reply(Vec<u8>),
    /// Nothing to send.
    Nothing,
    /// The client closed its session; the connection may be dropped.
    Closed,
    /// The enclave is working on the reply (from [`Host::submit`] only): wait for it, in
    /// arrival order, and send it.
    Pending(PendingReply),
}

/// A reply record the enclave is still producing.
#[derive(Debug)]
pub struct PendingReply(sc_boundary::PendingCall);

impl PendingReply {
    /// Waits for the reply record.
    pub fn wait(self) -> Result<Vec<u8>, HostError> {
        app_reply(self.0.wait()?)
    }
}

impl PartialEq for Routed {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Routed::Reply(a), Routed::Reply(b)) => a == b,
            (Routed::Nothing, Routed::Nothing) | (Routed::Closed, Routed::Closed) => true,
            _ => false,
        }
    }
}

impl Eq for Routed {}

fn app_reply(response: Response) -> Result<Vec<u8>, HostError> {
    match response {
        Response::App { record } => Ok(record),
        Response::Error(e) => Err(HostError::Enclave(e)),
        _ => Err(unexpected("unexpected answer")),
    }
}

/// An answer the enclave should never give (a protocol bug, not a refusal).
fn unexpected(what: &str) -> HostError {
    HostError::Enclave(sc_boundary::CallError {
        code: 0,
        message: what.into(),
    })
}

/// Connections and how many are in each phase (kept together under one lock).
#[derive(Debug, Default)]
struct Table {
    conns: HashMap<ConnId, Conn>,
    open: usize,
    pending: usize,
}

impl Table {
    fn count(&mut self, phase: Phase, delta: isize) {
        let counter = match phase {
            Phase::New => return,
            Phase::Hello | Phase::Pending(_) => &mut self.pending,
            Phase::Open(_) => &mut self.open,
        };
        *counter = counter.saturating_add_signed(delta);
    }

    fn set_phase(&mut self, conn: ConnId, phase: Phase) {
        let Some(old) = self
            .conns
            .get_mut(&conn)
            .map(|c| std::mem::replace(&mut c.phase, phase))
        else {
            return;
        };
        self.count(old, -1);
        self.count(phase, 1);
    }

    fn remove(&mut self, conn: ConnId) -> Option<Conn> {
        let c = self.conns.remove(&conn)?;
        self.count(c.phase, -1);
        Some(c)
    }
}

/// The relay. Share it between connection threads with an `Arc`.
pub struct Host {
    enclave: RwLock<Arc<dyn EnclaveTransport>>,
    limits: HostLimits,
    table: Mutex<Table>,
    next: AtomicU64,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A relay to `enclave`.
    pub fn new(enclave: Arc<dyn EnclaveTransport>, limits: HostLimits) -> Self {
        Self {
            enclave: RwLock::new(enclave),
            limits,
            table: Mutex::new(Table::default()),
            next: AtomicU64::new(1),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &HostLimits {
        &self.limits
    }

    /// Registers a new client connection.
    pub fn connect(&self) -> ConnId {
        let id = ConnId(self.next.fetch_add(1, Ordering::Relaxed));
        self.table().conns.insert(
            id,
            Conn {
                phase: Phase::New,
                last_seen: Instant::now(),
            },
        );
        id
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enclave(&self) -> Arc<dyn EnclaveTransport> {
        self.enclave.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the enclave (after a restart). Sessions of the old one are gone with it, so
    /// every connection is forgotten; clients reconnect and handshake again.
    pub fn replace_enclave(&self, enclave: Arc<dyn EnclaveTransport>) {
        *self.enclave.write().unwrap_or_else(|p| p.into_inner()) = enclave;
        *self.table() = Table::default();
    }

    /// Whether `conn` is still registered (not disconnected or expired).
    pub fn knows(&self, conn: ConnId) -> bool {
        self.table().conns.contains_key(&conn)
    }

    /// Sessions established and handshakes pending.
    pub fn counts(&self) -> (usize, usize) {
        let t = self.table();
        (t.open, t.pending)
    }

    fn phase(&self, conn: ConnId) -> Result<Phase, HostError> {
        let mut t = self.table();
        let c = t.conns.get_mut(&conn).ok_or(HostError::UnknownConnection)?;
        c.last_seen = Instant::now();
        Ok(c.phase)
    }

    fn set_phase(&self, conn: ConnId, phase: Phase) {
        self.table().set_phase(conn, phase);
    }

    /// Handles one channel message from `conn` and says what to send back, waiting for the
    /// enclave's reply to data records.
    pub fn handle(&self, conn: ConnId, message: &[u8]) -> Result<Routed, HostError> {
        match self.submit(conn, message)? {
            Routed::Pending(reply) => reply.wait().map(Routed::Reply),
            other => Ok(other),
        }
    }

    /// Like [`Host::handle`], but a data record's reply is returned as
    /// [`Routed::Pending`] as soon as the record is on its way to the enclave, so that a
    /// server can read the next record meanwhile (pipelining). Handshake and close messages
    /// are still handled to completion.
    pub fn submit(&self, conn: ConnId, message: &[u8]) -> Result<Routed, HostError> {
        self.submit_owned(conn, message.to_vec())
    }

    /// [`Host::submit`] taking the message by value: a data record then reaches the enclave
    /// without being copied.
    pub fn submit_owned(&self, conn: ConnId, message: Vec<u8>) -> Result<Routed, HostError> {
        match self.route(conn, &message)? {
            Route::Hello => self.client_hello(conn, &message),
            Route::Finished(id) => match self.channel(&message)? {
                None => {
                    self.set_phase(conn, Phase::Open(id));
                    Ok(Routed::Nothing)
                }
                Some(alert) => {
                    self.set_phase(conn, Phase::New);
                    Ok(Routed::Reply(alert))
                }
            },
            Route::Data(id) => {
                let call = self.enclave().submit(Request::App {
                    session_id: id,
                    function: self.limits.data_function,
                    record: message,
                })?;
                Ok(Routed::Pending(PendingReply(call)))
            }
            Route::Close => {
                self.channel(&message)?;
                self.set_phase(conn, Phase::New);
                Ok(Routed::Closed)
            }
        }
    }

    /// Checks a message against the limits and the connection's state and says where it goes.
    fn route(&self, conn: ConnId, message: &[u8]) -> Result<Route, HostError> {
        if message.len() > self.limits.max_message {
            return Err(HostError::TooLarge {
                len: message.len(),
                max: self.limits.max_message,
            });
        }
        let frame = Frame::parse(message, self.limits.max_message.saturating_sub(FRAME_HEADER_LEN))?;
        let own = |id| frame.session_id() == Some(id);
        match (frame.msg_type, self.phase(conn)?) {
            (MessageType::ClientHello, Phase::New) => Ok(Route::Hello),
            (MessageType::ClientFinished, Phase::Pending(id)) if own(id) => Ok(Route::Finished(id)),
            (MessageType::ApplicationData, Phase::Open(id)) if own(id) => Ok(Route::Data(id)),
            (MessageType::Close, Phase::Open(id)) if own(id) => Ok(Route::Close),
            (MessageType::ClientHello, _) => Err(HostError::OutOfPlace("second ClientHello on a connection")),
            (MessageType::ServerHello | MessageType::Alert, _) => {
                Err(HostError::OutOfPlace("server message from a client"))
            }
            _ => Err(HostError::OutOfPlace(
                "message does not match the connection's session or state",
            )),
        }
    }

    fn client_hello(&self, conn: ConnId, message: &[u8]) -> Result<Routed, HostError> {
        if message.len() > self.limits.max_client_hello {
            return Err(HostError::TooLarge {
                len: message.len(),
                max: self.limits.max_client_hello,
            });
        }
        {
            let mut t = self.table();
            if t.pending >= self.limits.max_pending {
                return Err(HostError::TooManyPending);
            }
            if t.open >= self.limits.max_sessions {
                return Err(HostError::TooManySessions);
            }
            t.set_phase(conn, Phase::Hello);
        }
        let reply = self
            .channel(message)
            .and_then(|r| r.ok_or(unexpected("no answer to ClientHello")));
        let next = match &reply {
            Ok(r) => match Frame::parse(r, usize::MAX) {
                Ok(f) if f.msg_type == MessageType::ServerHello => f.session_id().map_or(Phase::New, Phase::Pending),
                _ => Phase::New,
            },
            Err(_) => Phase::New,
        };
        self.set_phase(conn, next);
        reply.map(Routed::Reply)
    }

    fn channel(&self, message: &[u8]) -> Result<Option<Vec<u8>>, HostError> {
        match self.enclave().call(Request::Channel {
            message: message.to_vec(),
        })? {
            Response::Channel { reply } => Ok(reply),
            Response::Error(e) => Err(HostError::Enclave(e)),
            _ => Err(unexpected("unexpected answer")),
        }
    }

    /// Calls application function `function` with a client record of session `session_id`;
    /// returns the enclave's reply record.
    pub fn app_call(&self, session_id: u64, function: u32, record: &[u8]) -> Result<Vec<u8>, HostError> {
        app_reply(self.enclave().call(Request::App {
            session_id,
            function,
            record: record.to_vec(),
        })?)
    }

    /// Forgets a connection and tells the enclave to drop its session.
    pub fn disconnect(&self, conn: ConnId) {
        let removed = self.table().remove(conn);
        if let Some(Conn {
            phase: Phase::Pending(id) | Phase::Open(id),
            ..
        }) = removed
        {
            let _ = self.enclave().call(Request::CloseSession { session_id: id });
        }
    }

    /// Drops connections idle longer than the limit (and their sessions). Returns how many.
    pub fn expire_idle(&self, now: Instant) -> usize {
        let stale: Vec<ConnId> = self
            .table()
            .conns
            .iter()
            .filter(|(_, c)| now.saturating_duration_since(c.last_seen) >= self.limits.idle_timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in &stale {
            self.disconnect(*id);
        }
        stale.len()
    }

    /// Destroys every session and forgets every connection.
    pub fn fini(&self) {
        let all: Vec<ConnId> = self.table().conns.keys().copied().collect();
        for id in all {
            self.disconnect(id);
        }
    }
}
