//! The routing table and the relay logic.

use crate::admission::{Conn, ConnId, EvictHook, Phase, Source, Table};
use crate::limits::HostLimits;
use crate::metrics::{CallKind, Direction, HostMetrics};
use crate::pushes::PushRoutes;
use sc_boundary::{BoundaryError, ChannelOutcome, EnclaveTransport, Request, Response};
use sc_protocol::msgs::{FRAME_HEADER_LEN, Frame, MessageType};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

/// Why the host refused or failed a message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
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
    /// Too many handshakes in progress, and none could be evicted.
    #[error("pending handshake limit reached")]
    TooManyPending,
    /// Too many open connections, and none still handshaking could be evicted.
    #[error("connection limit reached")]
    TooManyConnections,
    /// The source address holds its share of connections or pending handshakes.
    #[error("per-source limit of {what} reached")]
    SourceLimit {
        /// Which limit: "connections" or "pending handshakes".
        what: &'static str,
    },
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
    Enclave(#[source] sc_boundary::CallError),
    /// The enclave gave an answer that does not fit the call (a bug on its side, never a
    /// client's doing).
    #[error("the enclave answered a call with the wrong kind of answer: {0}")]
    BadAnswer(&'static str),
    /// The enclave could not be reached.
    #[error("enclave unavailable: {0}")]
    Boundary(#[from] BoundaryError),
    /// The operating system's random generator failed (for a probe's nonce).
    #[error("the system random generator failed: {0}")]
    Random(#[source] sc_protocol::OtherError),
}

impl HostError {
    /// Whether this is a capacity refusal, answered with the protocol's busy alert.
    pub fn is_busy(&self) -> bool {
        matches!(
            self,
            HostError::TooManySessions
                | HostError::TooManyPending
                | HostError::TooManyConnections
                | HostError::SourceLimit { .. }
        )
    }
}

/// Where a client message goes.
enum Route {
    Hello { reserved: bool },
    Finished(u64),
    Data(u64),
    Close(u64),
}

/// How far a connection has come (see [`Host::stage`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not yet established: the handshake deadline applies.
    Handshake,
    /// Established: the idle timeout applies.
    Established,
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
    /// The client closed its session, and the enclave answered with this frame (its own
    /// Close, on an acknowledged session): send it, then the connection may be dropped.
    ClosedWithReply(Vec<u8>),
    /// The enclave is working on the reply (from [`Host::submit`] only): wait for it, in
    /// arrival order, and send it.
    Pending(PendingReply),
}

/// A reply record the enclave is still producing.
#[derive(Debug)]
pub struct PendingReply {
    call: sc_boundary::PendingCall,
    started: Instant,
    metrics: Arc<HostMetrics>,
}

impl PendingReply {
    /// Waits for the reply record.
    pub fn wait(self) -> Result<Vec<u8>, HostError> {
        let reply = self.call.wait().map_err(HostError::from).and_then(app_reply);
        self.metrics
            .boundary_call(CallKind::App, reply.is_ok(), self.started.elapsed());
        if let Ok(r) = &reply {
            self.metrics.relayed(Direction::ToClient, r.len());
        }
        reply
    }
}

/// Compares replies by their bytes; a [`Routed::Pending`] equals nothing (not even itself:
/// its reply is not known yet), which is why `Routed` is not `Eq`.
impl PartialEq for Routed {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Routed::Reply(a), Routed::Reply(b)) | (Routed::ClosedWithReply(a), Routed::ClosedWithReply(b)) => a == b,
            (Routed::Nothing, Routed::Nothing) | (Routed::Closed, Routed::Closed) => true,
            _ => false,
        }
    }
}

fn app_reply(response: Response) -> Result<Vec<u8>, HostError> {
    match response {
        Response::App { record } => Ok(record),
        // A stream session's data went to the enclave's backend: nothing to send back
        // (an empty reply writes nothing).
        Response::Done => Ok(Vec::new()),
        Response::Error(e) => Err(HostError::Enclave(e)),
        _ => Err(HostError::BadAnswer("an application call not answered with a record")),
    }
}

/// Where the host reads the time (injected so that tests of deadlines are exact).
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// The relay. Share it between connection threads with an `Arc`.
pub struct Host {
    enclave: RwLock<Arc<dyn EnclaveTransport>>,
    clock: Clock,
    limits: RwLock<HostLimits>,
    table: Mutex<Table>,
    next: AtomicU64,
    metrics: Arc<HostMetrics>,
    /// The enclave answered an evidence probe since it (re)started.
    ready: AtomicBool,
    /// Shutting down: no new connections, readiness reported false.
    draining: AtomicBool,
    /// Called once when draining starts (servers stop accepting and close sessions).
    drain_hooks: Mutex<Vec<DrainHook>>,
    /// Where pushed records go, by session.
    pushes: PushRoutes,
}

/// Called when the host starts draining.
pub type DrainHook = Box<dyn Fn() + Send + Sync>;

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("limits", &self.limits())
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A relay to `enclave`, on the system clock.
    pub fn new(enclave: Arc<dyn EnclaveTransport>, limits: HostLimits) -> Self {
        Self::with_clock(enclave, limits, Arc::new(Instant::now))
    }

    /// A relay to `enclave` reading the time from `clock` (connection ages, last use).
    pub fn with_clock(enclave: Arc<dyn EnclaveTransport>, limits: HostLimits, clock: Clock) -> Self {
        let metrics = Arc::new(HostMetrics::default());
        let pushes = PushRoutes::default();
        enclave.set_push_sink(pushes.sink(metrics.clone()));
        Self {
            enclave: RwLock::new(enclave),
            clock,
            limits: RwLock::new(limits),
            table: Mutex::new(Table::default()),
            next: AtomicU64::new(1),
            metrics,
            ready: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            drain_hooks: Mutex::new(Vec::new()),
            pushes,
        }
    }

    /// Sends records the enclave pushes for `session_id` (a stream session) to `route`
    /// until the connection goes ([`Host::disconnect`]). The enclave may push
    /// [`PUSH_WINDOW`](crate::PUSH_WINDOW) bytes before [`Host::credit`] grants more.
    pub fn route_pushes(&self, session_id: u64, route: crate::PushRoute) {
        self.pushes.add(session_id, route);
    }

    /// Whether the host expects pushes for `session_id` (holds or routes them).
    #[cfg(test)]
    pub(crate) fn expects_pushes(&self, session_id: u64) -> bool {
        self.pushes.expects(session_id)
    }

    /// Stops routing pushes of `session_id` (its connection is gone).
    pub fn unroute_pushes(&self, session_id: u64) {
        self.pushes.remove(session_id);
    }

    /// Grants the enclave room for `bytes` more bytes of pushes on `session_id` (call it
    /// after writing pushed records to the client). One-way: never waits for the enclave.
    pub fn credit(&self, session_id: u64, bytes: usize) {
        self.pushes.written(session_id, bytes);
        let bytes = u32::try_from(bytes).unwrap_or(u32::MAX);
        if let Err(e) = self.enclave().notify(Request::Credit { session_id, bytes }) {
            tracing::debug!(error = %e, "could not grant push credit");
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> HostLimits {
        *self.limits.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the limits (a configuration reload). Connections, handshakes and sessions
    /// already admitted stay; the new caps and deadlines apply from the next admission or
    /// frame on. The server's byte budget (`message_budget`) is sized at its start and
    /// does not change.
    pub fn set_limits(&self, limits: HostLimits) {
        *self.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
    }

    /// The host's metrics.
    pub fn metrics(&self) -> &Arc<HostMetrics> {
        &self.metrics
    }

    /// Whether the host should get new clients: the enclave answered an evidence probe
    /// since its last (re)start, and the host is not draining.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.is_draining()
    }

    /// Checks readiness now: probes the enclave for evidence and records whether it
    /// answered (the evidence itself is not verified here: the enclave attested, which is
    /// what readiness is about; clients verify). Returns the new readiness.
    pub fn check_ready(&self) -> bool {
        let ok = self.probe_evidence().is_ok();
        self.ready.store(ok, Ordering::Release);
        self.is_ready()
    }

    /// Records that the enclave is gone (it exited; a restart is pending): not ready until
    /// a later [`Host::check_ready`] succeeds.
    pub fn mark_unready(&self) {
        self.ready.store(false, Ordering::Release);
    }

    /// Starts draining (once; later calls do nothing): readiness is reported false from
    /// now on, servers stop accepting connections, let handshakes in progress finish, and
    /// end each established session once its records in flight are answered (the
    /// enclave's own Close goes to the client, [`Host::end_session`]).
    pub fn start_draining(&self) {
        if self.draining.swap(true, Ordering::AcqRel) {
            return;
        }
        for hook in self.drain_hooks.lock().unwrap_or_else(|p| p.into_inner()).iter() {
            hook();
        }
    }

    /// Registers `hook` to be called when draining starts (at once if it has).
    pub fn on_drain(&self, hook: DrainHook) {
        let mut hooks = self.drain_hooks.lock().unwrap_or_else(|p| p.into_inner());
        if self.is_draining() {
            hook();
        }
        hooks.push(hook);
    }

    /// Client connections registered (network connections and C-interface clients).
    pub fn connections(&self) -> usize {
        self.table().conns.len()
    }

    /// Ends `conn`'s established session from the enclave's side: returns the enclave's
    /// Close record for the client (on an acknowledged session); the connection may then
    /// be closed. For shutdown.
    pub fn end_session(&self, conn: ConnId) -> Result<Option<Vec<u8>>, HostError> {
        let Phase::Open(id) = self.phase(conn)? else {
            return Err(HostError::OutOfPlace("no established session to end"));
        };
        self.set_phase(conn, Phase::New);
        match self.enclave().call(Request::EndSession { session_id: id })? {
            Response::Channel(ChannelOutcome::Closed { reply }) => Ok(reply),
            Response::Error(e) => Err(HostError::Enclave(e)),
            _ => Err(HostError::BadAnswer("an end of session answered as another call")),
        }
    }

    /// Whether the host is draining.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// Sets the state gauges of [`Host::metrics`] as of now (call before encoding them).
    pub fn refresh_gauges(&self) {
        let (open, pending) = self.counts();
        self.metrics
            .set_state(self.connections(), open, pending, self.is_ready(), self.is_draining());
    }

    /// Counts a refusal by the cap that made it (nothing for other errors).
    fn count_refusal(&self, e: &HostError) {
        let cap = match e {
            HostError::TooManySessions => "sessions",
            HostError::TooManyPending => "pending",
            HostError::TooManyConnections => "connections",
            HostError::SourceLimit { what: "connections" } => "connections_per_source",
            HostError::SourceLimit { .. } => "pending_per_source",
            _ => return,
        };
        self.metrics.refusal(cap);
    }

    /// Registers a new client connection with no address (callers that hand over single
    /// messages, such as the C interface). Only the pending-handshake caps apply to it.
    pub fn connect(&self) -> ConnId {
        let id = self.next_id();
        self.table().insert(id, Conn::new((self.clock)(), None, None));
        id
    }

    /// Admits a network connection from `source`, within the connection caps. When the host
    /// is full, an unfinished handshake of the source holding the most is evicted (its
    /// `evict` hook is called so that its server closes it) to make room; when every
    /// connection is established, or `source` holds its share, the new one is refused.
    pub fn accept(&self, source: IpAddr, evict: EvictHook) -> Result<ConnId, HostError> {
        self.admit(source, evict).inspect_err(|e| self.count_refusal(e))
    }

    fn admit(&self, source: IpAddr, evict: EvictHook) -> Result<ConnId, HostError> {
        let source = Source::of(source);
        let id = self.next_id();
        let victim = {
            let mut t = self.table();
            if t.conns_from(source) >= self.limits().max_connections_per_source {
                return Err(HostError::SourceLimit { what: "connections" });
            }
            let victim = if t.conns.len() >= self.limits().max_connections {
                let victim = t.handshake_to_evict().ok_or(HostError::TooManyConnections)?;
                t.remove(victim)
            } else {
                None
            };
            t.insert(id, Conn::new((self.clock)(), Some(source), Some(evict)));
            victim
        };
        if let Some(v) = victim {
            tracing::debug!("connection limit reached: evicted the oldest unfinished handshake");
            self.dropped(v);
        }
        Ok(id)
    }

    fn next_id(&self) -> ConnId {
        ConnId(self.next.fetch_add(1, Ordering::Relaxed))
    }

    /// Where `conn` is, or `None` if it is not (or no longer) registered.
    pub fn stage(&self, conn: ConnId) -> Option<Stage> {
        self.table().conns.get(&conn).map(|c| match c.phase {
            Phase::Open(_) => Stage::Established,
            _ => Stage::Handshake,
        })
    }

    /// The largest whole frame of type `msg_type` that `conn` may send now, or why none
    /// may be sent. A server checks a frame's header against it before reading (or
    /// allocating) the body.
    pub fn frame_limit(&self, conn: ConnId, msg_type: MessageType) -> Result<usize, HostError> {
        let phase = self
            .table()
            .conns
            .get(&conn)
            .map(|c| c.phase)
            .ok_or(HostError::UnknownConnection)?;
        self.admissible(msg_type, phase)
    }

    /// Which messages a connection in `phase` may send, and the largest (whole frame) of
    /// each: the one place that says so, for the header check and for routing.
    fn admissible(&self, msg_type: MessageType, phase: Phase) -> Result<usize, HostError> {
        match (msg_type, phase) {
            (MessageType::ClientHello, Phase::New | Phase::Reserved)
            | (MessageType::ClientFinished, Phase::Pending(_)) => Ok(self.limits().max_client_hello),
            (MessageType::ApplicationData | MessageType::EndOfStream | MessageType::Close, Phase::Open(_)) => {
                Ok(self.limits().max_message)
            }
            (MessageType::ClientHello, _) => Err(HostError::OutOfPlace("second ClientHello on a connection")),
            (MessageType::ServerHello | MessageType::Alert | MessageType::SessionAck, _) => {
                Err(HostError::OutOfPlace("server message from a client"))
            }
            _ => Err(HostError::OutOfPlace(
                "message does not match the connection's session or state",
            )),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn enclave(&self) -> Arc<dyn EnclaveTransport> {
        self.enclave.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the enclave (after a restart). Sessions of the old one are gone with it, so
    /// every connection is forgotten (and its server told to close it); clients reconnect
    /// and handshake again.
    pub fn replace_enclave(&self, enclave: Arc<dyn EnclaveTransport>) {
        // Not ready until the new enclave answers a probe.
        self.ready.store(false, Ordering::Release);
        enclave.set_push_sink(self.pushes.sink(self.metrics.clone()));
        *self.enclave.write().unwrap_or_else(|p| p.into_inner()) = enclave;
        let all = self.table().drain();
        for conn in all {
            if let Some(hook) = conn.evict {
                hook();
            }
        }
    }

    /// The session id `conn`'s handshake or session has, once the enclave accepted its
    /// ClientHello (and until it is closed or refused).
    pub fn session(&self, conn: ConnId) -> Option<u64> {
        self.table().conns.get(&conn).and_then(|c| c.phase.session())
    }

    /// Whether `conn` is still registered (not disconnected or expired).
    pub fn knows(&self, conn: ConnId) -> bool {
        self.table().conns.contains_key(&conn)
    }

    /// Sessions established and handshakes pending.
    pub fn counts(&self) -> (usize, usize) {
        let t = self.table();
        (t.open, t.pending())
    }

    fn phase(&self, conn: ConnId) -> Result<Phase, HostError> {
        let mut t = self.table();
        let c = t.conns.get_mut(&conn).ok_or(HostError::UnknownConnection)?;
        c.last_seen = (self.clock)();
        Ok(c.phase)
    }

    fn set_phase(&self, conn: ConnId, phase: Phase) {
        self.table().set_phase(conn, phase);
    }

    /// Tells the enclave to forget what a dropped connection held and its server to close it.
    fn dropped(&self, conn: Conn) {
        if let Some(hook) = &conn.evict {
            hook();
        }
        if let Some(id) = conn.phase.session() {
            self.close_session(id);
        }
    }

    /// Tells the enclave to drop session `id` without waiting for its answer: this runs on
    /// accept and eviction paths that must not wait on the enclave.
    fn close_session(&self, id: u64) {
        self.pushes.remove(id);
        if let Err(e) = self.enclave().notify(Request::CloseSession { session_id: id }) {
            tracing::debug!(error = %e, "could not tell the enclave to drop a session");
        }
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
        let route = self.route(conn, &message)?;
        self.metrics.relayed(Direction::ToEnclave, message.len());
        let routed = self.dispatch(conn, route, message);
        if let Ok(Routed::Reply(r) | Routed::ClosedWithReply(r)) = &routed {
            self.metrics.relayed(Direction::ToClient, r.len());
        }
        routed
    }

    fn dispatch(&self, conn: ConnId, route: Route, message: Vec<u8>) -> Result<Routed, HostError> {
        match route {
            Route::Hello { reserved } => self.client_hello(conn, &message, reserved),
            Route::Finished(id) => {
                self.reserve_session(conn, id).inspect_err(|e| self.count_refusal(e))?;
                // The enclave may push as soon as it has established the session, before
                // its answer is read here: hold those (see `pushes`).
                self.pushes.expect(id);
                match self.channel(&message) {
                    Ok(ChannelOutcome::Established { ack }) => {
                        self.set_phase(conn, Phase::Open(id));
                        Ok(ack.map_or(Routed::Nothing, Routed::Reply))
                    }
                    Ok(ChannelOutcome::Refused { alert }) => {
                        self.pushes.remove(id);
                        self.set_phase(conn, Phase::New);
                        Ok(Routed::Reply(alert))
                    }
                    other => {
                        // The slot goes back; the handshake waits for its Finished again.
                        self.pushes.remove(id);
                        self.set_phase(conn, Phase::Pending(id));
                        match other {
                            Err(e) => Err(e),
                            Ok(_) => Err(HostError::BadAnswer("a ClientFinished answered as another message")),
                        }
                    }
                }
            }
            Route::Data(id) => {
                let started = Instant::now();
                let call = self
                    .enclave()
                    .submit(Request::App {
                        session_id: id,
                        function: self.limits().data_function,
                        record: message,
                    })
                    .inspect_err(|_| self.metrics.boundary_call(CallKind::App, false, started.elapsed()))?;
                Ok(Routed::Pending(PendingReply {
                    call,
                    started,
                    metrics: self.metrics.clone(),
                }))
            }
            Route::Close(id) => {
                // Nothing comes back from a Close, so nobody waits for the enclave: the
                // record goes one way, and the session is dropped one way after it
                // whether or not the record was genuine.
                self.enclave().notify(Request::Channel { message })?;
                self.set_phase(conn, Phase::New);
                self.close_session(id);
                Ok(Routed::Closed)
            }
        }
    }

    /// Checks a message against the limits and the connection's state and says where it goes.
    fn route(&self, conn: ConnId, message: &[u8]) -> Result<Route, HostError> {
        if message.len() > self.limits().max_message {
            return Err(HostError::TooLarge {
                len: message.len(),
                max: self.limits().max_message,
            });
        }
        let frame = Frame::parse(message, self.limits().max_message.saturating_sub(FRAME_HEADER_LEN))?;
        let phase = self.phase(conn)?;
        let max = self.admissible(frame.msg_type, phase)?;
        if message.len() > max {
            return Err(HostError::TooLarge {
                len: message.len(),
                max,
            });
        }
        let own = |id| frame.session_id() == Some(id);
        match (frame.msg_type, phase) {
            (MessageType::ClientHello, Phase::Reserved) => Ok(Route::Hello { reserved: true }),
            (MessageType::ClientHello, _) => Ok(Route::Hello { reserved: false }),
            (MessageType::ClientFinished, Phase::Pending(id)) if own(id) => Ok(Route::Finished(id)),
            // A stream's end goes the way of its data, in order after it.
            (MessageType::ApplicationData | MessageType::EndOfStream, Phase::Open(id)) if own(id) => {
                Ok(Route::Data(id))
            }
            (MessageType::Close, Phase::Open(id)) if own(id) => Ok(Route::Close(id)),
            _ => Err(HostError::OutOfPlace(
                "message does not match the connection's session or state",
            )),
        }
    }

    /// Handles a Close from `conn` waiting for the enclave's answer (its own Close on an
    /// acknowledged session), for callers whose clients read a reply to every message
    /// (the C interface); [`Host::submit`] sends a Close one way and answers nothing.
    pub fn close_answered(&self, conn: ConnId, message: Vec<u8>) -> Result<Routed, HostError> {
        let Route::Close(id) = self.route(conn, &message)? else {
            return Err(HostError::OutOfPlace("not a Close of this connection's session"));
        };
        let answer = self.channel(&message);
        self.set_phase(conn, Phase::New);
        // Dropped either way, whether or not the Close was genuine.
        self.close_session(id);
        match answer? {
            ChannelOutcome::Closed { reply: Some(reply) } => Ok(Routed::ClosedWithReply(reply)),
            ChannelOutcome::Closed { reply: None } => Ok(Routed::Closed),
            _ => Err(HostError::BadAnswer("a Close answered as another message")),
        }
    }

    /// Reserves `conn`'s pending-handshake slot now, before its ClientHello is handed to
    /// [`Host::submit`] (which then uses the slot): a server calls it on its own thread, so
    /// that hellos over the caps are refused before they queue for the enclave.
    pub fn reserve_hello(&self, conn: ConnId) -> Result<(), HostError> {
        if let Some(v) = self.reserve_pending(conn).inspect_err(|e| self.count_refusal(e))? {
            tracing::debug!("pending handshake limit reached: evicted one from the heaviest source");
            self.dropped(v);
        }
        Ok(())
    }

    fn client_hello(&self, conn: ConnId, message: &[u8], reserved: bool) -> Result<Routed, HostError> {
        // The size was checked by `route` (`admissible`).
        if !reserved {
            self.reserve_hello(conn)?;
        }
        if !self.table().set_phase(conn, Phase::Hello) {
            // Evicted while its hello waited: the enclave never sees it.
            return Err(HostError::UnknownConnection);
        }
        // The enclave states the outcome and the session id; the host never parses the
        // ServerHello.
        let (next, reply) = match self.channel(message) {
            Ok(ChannelOutcome::Accepted {
                session_id,
                server_hello,
            }) => (Phase::Pending(session_id), Ok(server_hello)),
            Ok(ChannelOutcome::Refused { alert }) => (Phase::New, Ok(alert)),
            Ok(_) => (
                Phase::New,
                Err(HostError::BadAnswer("a ClientHello answered as another message")),
            ),
            Err(e) => (Phase::New, Err(e)),
        };
        if !self.table().set_phase(conn, next) {
            // Evicted or disconnected while the enclave was answering: drop what it made.
            if let Some(id) = next.session() {
                self.close_session(id);
            }
            return Err(HostError::UnknownConnection);
        }
        reply.map(Routed::Reply)
    }

    /// Holds a session slot for `conn`'s ClientFinished (handshake `id`), atomically with
    /// the check: open and finishing sessions together stay within `max_sessions`, however
    /// many handshakes were admitted while there was room.
    fn reserve_session(&self, conn: ConnId, id: u64) -> Result<(), HostError> {
        let mut t = self.table();
        match t.conns.get(&conn).map(|c| c.phase) {
            Some(Phase::Pending(p)) if p == id => {}
            Some(_) => return Err(HostError::OutOfPlace("a ClientFinished while another is in progress")),
            None => return Err(HostError::UnknownConnection),
        }
        if t.open + t.finishing >= self.limits().max_sessions {
            return Err(HostError::TooManySessions);
        }
        t.set_phase(conn, Phase::Finishing(id));
        Ok(())
    }

    /// Reserves a pending-handshake slot for `conn`, evicting the oldest pending handshake
    /// when the table is full (returned, for the caller to release outside the lock).
    fn reserve_pending(&self, conn: ConnId) -> Result<Option<Conn>, HostError> {
        let mut t = self.table();
        let c = t.conns.get(&conn).ok_or(HostError::UnknownConnection)?;
        if !matches!(c.phase, Phase::New) {
            return Err(HostError::OutOfPlace("second ClientHello on a connection"));
        }
        let source = c.source;
        if source.is_some_and(|s| t.pending_from(s) >= self.limits().max_pending_per_source) {
            return Err(HostError::SourceLimit {
                what: "pending handshakes",
            });
        }
        if t.open + t.finishing >= self.limits().max_sessions {
            return Err(HostError::TooManySessions);
        }
        let victim = if t.pending() >= self.limits().max_pending {
            let victim = t.pending_to_evict().ok_or(HostError::TooManyPending)?;
            t.remove(victim)
        } else {
            None
        };
        t.set_phase(conn, Phase::Reserved);
        Ok(victim)
    }

    fn channel(&self, message: &[u8]) -> Result<ChannelOutcome, HostError> {
        let started = Instant::now();
        let outcome = match self.enclave().call(Request::Channel {
            message: message.to_vec(),
        }) {
            Ok(Response::Channel(outcome)) => Ok(outcome),
            Ok(Response::Error(e)) => Err(HostError::Enclave(e)),
            Ok(_) => Err(HostError::BadAnswer("a channel message not answered with an outcome")),
            Err(e) => Err(e.into()),
        };
        self.metrics
            .boundary_call(CallKind::Channel, outcome.is_ok(), started.elapsed());
        outcome
    }

    /// Calls application function `function` with a client record of session `session_id`;
    /// returns the enclave's reply record.
    pub fn app_call(&self, session_id: u64, function: u32, record: &[u8]) -> Result<Vec<u8>, HostError> {
        let started = Instant::now();
        let reply = self
            .enclave()
            .call(Request::App {
                session_id,
                function,
                record: record.to_vec(),
            })
            .map_err(HostError::from)
            .and_then(app_reply);
        self.metrics
            .boundary_call(CallKind::App, reply.is_ok(), started.elapsed());
        reply
    }

    /// Asks the enclave for fresh evidence (the probe: a nonce from the operating system's
    /// generator, report data the enclave derives from it under its own label). The answer
    /// is as trustworthy as the evidence's signatures: verify it, against the report data
    /// returned beside it, before using its claims.
    pub fn probe_evidence(&self) -> Result<(sc_boundary::ProbeEvidence, [u8; 64]), HostError> {
        let mut nonce = [0u8; 32];
        rand_core::RngCore::try_fill_bytes(&mut rand_core::OsRng, &mut nonce)
            .map_err(|e| HostError::Random(sc_protocol::OtherError::new(e.to_string())))?;
        let started = Instant::now();
        let answer = match self.enclave().call(Request::Evidence { nonce }) {
            Ok(Response::Evidence(e)) => Ok((e, sc_protocol::binding::probe_report_data(&nonce))),
            Ok(Response::Error(e)) => Err(HostError::Enclave(e)),
            Ok(_) => Err(HostError::BadAnswer("an evidence probe not answered with evidence")),
            Err(e) => Err(e.into()),
        };
        self.metrics
            .boundary_call(CallKind::Evidence, answer.is_ok(), started.elapsed());
        answer
    }

    /// Forgets a connection and tells the enclave to drop its session (without waiting
    /// for the enclave: safe to call from an async task).
    pub fn disconnect(&self, conn: ConnId) {
        let removed = self.table().remove(conn);
        if let Some(id) = removed.and_then(|c| c.phase.session()) {
            self.pushes.remove(id);
            self.close_session(id);
        }
    }

    /// Drops handshakes past the handshake deadline and established connections idle
    /// longer than the idle timeout, with their enclave sessions; their servers are told to
    /// close them. Returns how many. (Network servers also enforce both deadlines per
    /// connection; this sweep is what holds them for callers without connections.)
    pub fn expire(&self, now: Instant) -> usize {
        let stale: Vec<Conn> = {
            let mut t = self.table();
            let mut ids = now
                .checked_sub(self.limits().handshake_timeout)
                .map(|cutoff| t.handshakes_started_before(cutoff))
                .unwrap_or_default();
            ids.extend(
                t.conns
                    .iter()
                    .filter(|(_, c)| {
                        matches!(c.phase, Phase::Open(_))
                            && now.saturating_duration_since(c.last_seen) >= self.limits().idle_timeout
                    })
                    .map(|(id, _)| *id),
            );
            ids.into_iter().filter_map(|id| t.remove(id)).collect()
        };
        let n = stale.len();
        for conn in stale {
            self.dropped(conn);
        }
        n
    }

    /// Destroys every session and forgets every connection.
    pub fn fini(&self) {
        let all = self.table().drain();
        for conn in all {
            self.dropped(conn);
        }
    }
}
