//! Stream sessions (extension `streams`) in the enclave, one mechanism for every kind of
//! enclave code that pushes: the tunnel's backend forwarder ([`crate::forward`]) and the
//! C runtime's push API (`cc_sec_chl_enclave_push`) are both a [`StreamHandler`] plugged
//! into a [`StreamService`].
//!
//! * [`Streams`] keeps, per stream session, the room the host granted for pushes and the
//!   next client record to hand over. [`Streams::send`] seals data as records of at most
//!   [`CHUNK`] bytes, each pushed only within that room, so a slow client stops the
//!   sender rather than growing memory anywhere; [`Streams::end_stream`] is the enclave's
//!   half-close, [`Streams::end_session`] its Close. Everything the enclave sends on a
//!   stream session leaves through one ordered outbox, in the order it was sealed (the
//!   client accepts records strictly in sequence, and pushes come from several threads).
//! * [`StreamService`] wraps the [`ChannelService`]: it opens a stream when a stream
//!   session is established, grants room on the host's `Credit` calls, hands the client's
//!   records of a stream session to the handler **in sequence order** ([`crate::order`]:
//!   the host pipelines a connection's records and the enclave's workers take calls in
//!   parallel), and tells the handler when the session ended: by the client's Close (only
//!   one that authenticated), by the host, or by any other path that drops the session
//!   (idle sweep, a gap). Sessions that did not negotiate streams go to the wrapped
//!   service unchanged.
//! * Each stream session's records are handled on a thread of its own, and answered from
//!   there ([`sc_boundary::Reply`]): a handler that waits (a backend that does not read)
//!   holds that session's calls, which is the backpressure, but no boundary worker, so
//!   the enclave keeps serving every other session. Why: with records handled on the
//!   workers, as many stuck uploads as workers stalled every handshake in the enclave
//!   (test `uploads_stuck_on_a_backend_do_not_stall_other_sessions`). The records waiting
//!   for their turn are bounded per session and across the enclave ([`crate::order`]).

use crate::error::{EnclaveError, refusal};
use crate::order::{Inbox, Waiting, queue_position, sequence_of};
use crate::service::ChannelService;
use crate::sessions::SessionManager;
use sc_boundary::{ChannelOutcome, EnclaveService, PUSH_WINDOW, Pusher, Reply, Request, Response};
use sc_protocol::msgs::{CloseReason, END_OF_STREAM_BODY_LEN, Frame, MAX_FRAME_BODY};
use sc_protocol::{Session, UnixTime};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};

pub use crate::order::{MAX_WAITING, MAX_WAITING_BYTES};

/// The most plaintext one pushed record carries. Why 60 KiB: large enough that the
/// per-record cost (a boundary frame, a host write, a client wake-up) is small beside
/// the copy, and small enough that a record fits the boundary's and the socket's
/// buffers; 16 KiB records measured 0.54x of 60 KiB ones through the tunnel.
pub const CHUNK: usize = 60 * 1024;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Why a push or an end of stream did not happen.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The session is not an open stream session (never was, or it ended).
    #[error("session {0} is not an open stream session")]
    NotOpen(u64),
    /// The host has not granted room for the data yet (only when not waiting).
    #[error("no room to push now: the client has not read what was pushed before")]
    NoRoom,
    /// The session refused to seal the record (expired, closed meanwhile).
    #[error("cannot seal the record")]
    Session(#[from] EnclaveError),
    /// The boundary to the host is gone.
    #[error("cannot push to the host")]
    Host(#[source] std::io::Error),
}

/// Records sealed for the client, pushed in sequence order: a record sealed by one thread
/// waits here until those sealed before it by others are pushed.
struct Outbox {
    /// The sequence number of the next record to push.
    next: u64,
    held: BTreeMap<u64, Vec<u8>>,
}

/// One stream session's flow state.
struct Stream {
    /// Bytes the enclave may still push; `None` once the stream is forgotten.
    credit: Mutex<Option<u64>>,
    more: Condvar,
    /// The client's records waiting to be handled, in sequence order.
    inbox: Mutex<Inbox>,
    arrived: Condvar,
    outbox: Mutex<Outbox>,
}

impl Stream {
    fn new(inbox: Inbox, first_out: u64) -> Self {
        Self {
            credit: Mutex::new(Some(u64::from(PUSH_WINDOW))),
            more: Condvar::new(),
            inbox: Mutex::new(inbox),
            arrived: Condvar::new(),
            outbox: Mutex::new(Outbox {
                next: first_out,
                held: BTreeMap::new(),
            }),
        }
    }

    /// Takes `bytes` of room, waiting until `deadline` (`None`: as long as the stream
    /// lives).
    fn take(&self, id: u64, bytes: u64, deadline: Option<Instant>) -> Result<(), StreamError> {
        let mut credit = lock(&self.credit);
        loop {
            match *credit {
                None => return Err(StreamError::NotOpen(id)),
                Some(c) if c >= bytes => {
                    *credit = Some(c - bytes);
                    return Ok(());
                }
                Some(_) => match deadline {
                    None => credit = self.more.wait(credit).unwrap_or_else(|p| p.into_inner()),
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            return Err(StreamError::NoRoom);
                        }
                        credit = self
                            .more
                            .wait_timeout(credit, left)
                            .unwrap_or_else(|p| p.into_inner())
                            .0;
                    }
                },
            }
        }
    }

    fn give_back(&self, bytes: u64) {
        if let Some(c) = lock(&self.credit).as_mut() {
            *c += bytes;
        }
        self.more.notify_all();
    }

    fn end(&self) {
        *lock(&self.credit) = None;
        self.more.notify_all();
        let waiting = lock(&self.inbox).end();
        self.arrived.notify_all();
        // Each answered with an error as it drops, outside the lock.
        drop(waiting);
    }

    /// Queues a client record for the stream's thread; refused (answered at once) when it
    /// is behind the expected one, too far ahead, or too much waits.
    fn queue(&self, sequence: u64, waiting: Waiting) -> Result<(), (EnclaveError, Waiting)> {
        lock(&self.inbox).queue(sequence, waiting, UnixTime::now())?;
        self.arrived.notify_all();
        Ok(())
    }

    /// The next record in order, waiting for it; `Err` with why once the stream ended or
    /// the next record did not come in `order_wait` while later ones wait.
    fn next_record(&self, order_wait: Duration) -> Result<Waiting, &'static str> {
        let mut inbox = lock(&self.inbox);
        loop {
            if inbox.is_ended() {
                return Err("ended");
            }
            if let Some(w) = inbox.take() {
                return Ok(w);
            }
            let wait = match inbox.gap_since() {
                None => None,
                Some(since) => {
                    let waited = UnixTime::now().since(since);
                    if waited >= order_wait {
                        return Err("a client record never came");
                    }
                    Some(order_wait - waited)
                }
            };
            inbox = match wait {
                None => self.arrived.wait(inbox).unwrap_or_else(|p| p.into_inner()),
                Some(left) => {
                    self.arrived
                        .wait_timeout(inbox, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    /// After a record was handled: the session's count of client records it accepted.
    fn handled(&self, received: u64) {
        lock(&self.inbox).advance(received, UnixTime::now());
    }

    /// Pushes `record` (sealed for this session) once every record sealed before it has
    /// been pushed, and then whatever it was holding up.
    fn emit(&self, record: Vec<u8>, push: impl Fn(Vec<u8>) -> Result<(), StreamError>) -> Result<(), StreamError> {
        let Some(sequence) = sequence_of(&record) else {
            return push(record);
        };
        let mut outbox = lock(&self.outbox);
        if sequence != outbox.next {
            outbox.held.insert(sequence, record);
            return Ok(());
        }
        push(record)?;
        outbox.next += 1;
        loop {
            let next = outbox.next;
            let Some(held) = outbox.held.remove(&next) else {
                return Ok(());
            };
            push(held)?;
            outbox.next += 1;
        }
    }
}

/// The enclave's stream sessions and the way to push to their clients. Shared by the
/// [`StreamService`] and the enclave code that sends; usable from any thread.
pub struct Streams {
    sessions: Arc<SessionManager>,
    /// Pushes go to the host connected now (an enclave program apart from its host serves
    /// one host connection after another).
    pusher: RwLock<Pusher>,
    open: Mutex<HashMap<u64, Arc<Stream>>>,
}

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streams")
            .field("open", &lock(&self.open).len())
            .finish_non_exhaustive()
    }
}

impl Streams {
    /// Streams of `sessions`, pushed with `pusher`.
    pub fn new(sessions: Arc<SessionManager>, pusher: Pusher) -> Self {
        Self {
            sessions,
            pusher: RwLock::new(pusher),
            open: Mutex::default(),
        }
    }

    /// The sessions the streams belong to.
    pub fn sessions(&self) -> &Arc<SessionManager> {
        &self.sessions
    }

    /// Sends later pushes to a new host connection.
    pub fn set_pusher(&self, pusher: Pusher) {
        *self.pusher.write().unwrap_or_else(|p| p.into_inner()) = pusher;
    }

    fn push(&self, id: u64, record: Vec<u8>) -> Result<(), StreamError> {
        let pusher = self.pusher.read().unwrap_or_else(|p| p.into_inner()).clone();
        pusher.push(id, record).map_err(StreamError::Host)
    }

    fn stream(&self, id: u64) -> Result<Arc<Stream>, StreamError> {
        lock(&self.open).get(&id).cloned().ok_or(StreamError::NotOpen(id))
    }

    /// Whether `id` is an open stream session.
    pub fn is_open(&self, id: u64) -> bool {
        lock(&self.open).contains_key(&id)
    }

    fn open(&self, id: u64) -> Arc<Stream> {
        let inbox = Inbox::new(
            self.sessions.received(id).unwrap_or(0),
            self.sessions.waiting_budget().clone(),
        );
        let stream = Arc::new(Stream::new(inbox, self.sessions.sent(id).unwrap_or(0)));
        lock(&self.open).insert(id, stream.clone());
        stream
    }

    /// Forgets stream `id`, waking whoever waits on it; whether it was open.
    fn forget(&self, id: u64) -> bool {
        let removed = lock(&self.open).remove(&id);
        match removed {
            Some(stream) => {
                stream.end();
                true
            }
            None => false,
        }
    }

    fn grant(&self, id: u64, bytes: u32) {
        if let Ok(stream) = self.stream(id) {
            stream.give_back(u64::from(bytes));
        }
    }

    /// Seals `data` for the client of stream session `id` and pushes it, as records of at
    /// most [`CHUNK`] bytes, each once the host granted room for it: this blocks while the
    /// client does not read, until it does or the session ends. Empty data sends nothing.
    pub fn send(&self, id: u64, data: &[u8]) -> Result<(), StreamError> {
        let stream = self.stream(id)?;
        for chunk in data.chunks(CHUNK) {
            let len = Session::record_len(chunk.len()) as u64;
            stream.take(id, len, None)?;
            let record = self.sessions.encrypt(id, chunk, UnixTime::now())?;
            stream.emit(record, |r| self.push(id, r))?;
        }
        Ok(())
    }

    /// Like [`Streams::send`] without waiting: all of `data` is pushed if the host has
    /// granted room for all of it now, or nothing is and the answer is
    /// [`StreamError::NoRoom`]. For callers that must not block (code running on one of
    /// the enclave's boundary workers, which the host's grants themselves need).
    pub fn try_send(&self, id: u64, data: &[u8]) -> Result<(), StreamError> {
        let stream = self.stream(id)?;
        let total: u64 = data.chunks(CHUNK).map(|c| Session::record_len(c.len()) as u64).sum();
        stream.take(id, total, Some(Instant::now()))?;
        for chunk in data.chunks(CHUNK) {
            let record = self.sessions.encrypt(id, chunk, UnixTime::now())?;
            stream.emit(record, |r| self.push(id, r))?;
        }
        Ok(())
    }

    /// Ends the enclave's direction of stream session `id` (a half-close: the client reads
    /// the end, and may still send). Waits for room like [`Streams::send`].
    pub fn end_stream(&self, id: u64) -> Result<(), StreamError> {
        self.end_stream_within(id, None)
    }

    /// Like [`Streams::end_stream`] without waiting ([`StreamError::NoRoom`] when the
    /// host has granted no room for the end now; the stream is then not ended).
    pub fn try_end_stream(&self, id: u64) -> Result<(), StreamError> {
        self.end_stream_within(id, Some(Instant::now()))
    }

    fn end_stream_within(&self, id: u64, deadline: Option<Instant>) -> Result<(), StreamError> {
        let stream = self.stream(id)?;
        // The room first: a sealed end that could not be sent would end the stream unsaid.
        stream.take(id, Session::record_len(END_OF_STREAM_BODY_LEN) as u64, deadline)?;
        let record = self.sessions.end_stream(id, UnixTime::now())?;
        stream.emit(record, |r| self.push(id, r))
    }

    /// Ends session `id` from the enclave's side: its Close (saying `reason` and how many
    /// client records arrived) goes to the client after everything sealed before it, and
    /// the session is gone. The handler is not told (the enclave code ended it).
    pub fn end_session(&self, id: u64, reason: CloseReason) -> Result<(), StreamError> {
        // Forgotten first, so that the session's removal does not tell the handler.
        let stream = self.stream(id).ok();
        self.forget(id);
        match (self.sessions.end_session(id, UnixTime::now(), reason)?, &stream) {
            (Some(close), Some(stream)) => stream.emit(close, |r| self.push(id, r)),
            (Some(close), None) => self.push(id, close),
            (None, _) => Ok(()),
        }
    }
}

/// What enclave code does with stream sessions (the plug-in of a [`StreamService`]).
pub trait StreamHandler: Send + Sync + 'static {
    /// Stream session `id` was established (its stream is open: pushes may start).
    fn opened(&self, id: u64, streams: &Arc<Streams>);
    /// A client record of stream session `id` for application function `function`, in
    /// sequence order, one at a time per session (open it with
    /// [`SessionManager::receive`]: data, or the client's end of stream). The answer
    /// goes back to the host: `Response::Done` when nothing is to be relayed; a record
    /// answered (`Response::App`) is sent after everything sealed before it.
    fn record(&self, id: u64, function: u32, record: Vec<u8>, streams: &Arc<Streams>) -> Response;
    /// Stream session `id` ended by the client's authenticated Close, by the host (its
    /// client went away, it shut down) or by the enclave dropping it (idle, a record that
    /// never came). Not called for ends the enclave code caused itself.
    fn closed(&self, id: u64);
}

/// A [`ChannelService`] whose stream sessions are served by a [`StreamHandler`] (see the
/// module documentation).
pub struct StreamService<H> {
    inner: ChannelService,
    streams: Arc<Streams>,
    handler: Arc<H>,
}

impl<H> std::fmt::Debug for StreamService<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamService")
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

/// The session id a channel message (ClientFinished, Close) names.
fn session_of(message: &[u8]) -> Option<u64> {
    Frame::parse(message, MAX_FRAME_BODY).ok().and_then(|f| f.session_id())
}

/// Ends stream `id` from the enclave because of `why`: its Close to the client, and the
/// handler told (once: a stream already ended is not ended again).
fn fail<H: StreamHandler>(id: u64, why: &str, reason: CloseReason, streams: &Streams, handler: &H) {
    if streams.is_open(id) {
        tracing::info!(session = id, why, "ending the stream session");
        let _ = streams.end_session(id, reason);
        handler.closed(id);
    }
}

/// A stream session's thread: its client records, in order, to the handler, each answered
/// from here.
fn serve_stream<H: StreamHandler>(id: u64, stream: Arc<Stream>, streams: Arc<Streams>, handler: Arc<H>) {
    let order_wait = streams.sessions.order_wait();
    loop {
        match stream.next_record(order_wait) {
            Ok(w) => {
                let answer = handler.record(id, w.function, w.record, &streams);
                stream.handled(streams.sessions.received(id).unwrap_or(u64::MAX));
                // A record the handler answered with goes out in its place in the order.
                let answer = match answer {
                    Response::App { record } => match stream.emit(record, |r| streams.push(id, r)) {
                        Ok(()) => Response::Done,
                        Err(e) => refusal(&EnclaveError::Unexpected(match e {
                            StreamError::Host(_) => "cannot push to the host",
                            _ => "cannot send the answer",
                        })),
                    },
                    other => other,
                };
                w.reply.send(answer);
            }
            Err("ended") => break,
            Err(why) => {
                fail(id, why, CloseReason::SequenceError, &streams, &*handler);
                break;
            }
        }
    }
}

impl<H: StreamHandler> StreamService<H> {
    /// Serves `inner`'s stream sessions with `handler`, pushing with `pusher`.
    pub fn new(inner: ChannelService, pusher: Pusher, handler: H) -> Self {
        let streams = Arc::new(Streams::new(inner.sessions().clone(), pusher));
        let handler = Arc::new(handler);
        // Every path that drops a session (the idle sweep, a gap, a Close) frees its
        // stream: the thread, the handler's resources (a backend socket).
        let (weak_streams, weak_handler): (Weak<Streams>, Weak<H>) =
            (Arc::downgrade(&streams), Arc::downgrade(&handler));
        inner.sessions().on_removed(Box::new(move |id| {
            if let (Some(streams), Some(handler)) = (weak_streams.upgrade(), weak_handler.upgrade()) {
                if streams.forget(id) {
                    handler.closed(id);
                }
            }
        }));
        Self {
            inner,
            streams,
            handler,
        }
    }

    /// The streams, for enclave code that pushes.
    pub fn streams(&self) -> &Arc<Streams> {
        &self.streams
    }

    /// The handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Sends later pushes to a new host connection.
    pub fn set_pusher(&self, pusher: Pusher) {
        self.streams.set_pusher(pusher);
    }

    fn ended(&self, id: u64) {
        if self.streams.forget(id) {
            self.handler.closed(id);
        }
    }

    /// A stream session was established: its stream, its thread, then the handler told.
    fn opened(&self, id: u64) {
        let stream = self.streams.open(id);
        let (streams, handler) = (self.streams.clone(), self.handler.clone());
        let spawned = std::thread::Builder::new()
            .name("sc-stream".into())
            .spawn(move || serve_stream(id, stream, streams, handler));
        match spawned {
            Ok(_) => self.handler.opened(id, &self.streams),
            Err(_) => fail(
                id,
                "no thread for the stream",
                CloseReason::InternalError,
                &self.streams,
                &*self.handler,
            ),
        }
    }

    /// Queues a client record of stream session `id` for its thread, which answers it.
    /// A refused record (behind the expected one, a flood) changes nothing.
    fn queue(&self, id: u64, function: u32, record: Vec<u8>, reply: Reply) {
        let sequence = match queue_position(id, &record) {
            Ok(sequence) => sequence,
            Err(e) => return reply.send(refusal(&e)),
        };
        let Ok(stream) = self.streams.stream(id) else {
            return reply.send(refusal(&EnclaveError::UnknownSession));
        };
        let waiting = Waiting {
            function,
            record,
            reply,
        };
        if let Err((e, waiting)) = stream.queue(sequence, waiting) {
            waiting.reply.send(refusal(&e));
        }
    }
}

impl<H: StreamHandler> EnclaveService for StreamService<H> {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } => {
                let session = session_of(&message);
                let answer = self.inner.call(Request::Channel { message });
                match (&answer, session) {
                    (Response::Channel(ChannelOutcome::Established { .. }), Some(id))
                        if self.streams.sessions.is_stream(id, UnixTime::now()) =>
                    {
                        self.opened(id)
                    }
                    // Only a Close that authenticated ends the stream (the session manager
                    // said Closed); a forged one changed nothing and changes nothing here.
                    (Response::Channel(ChannelOutcome::Closed { .. }), Some(id)) => self.ended(id),
                    _ => {}
                }
                answer
            }
            // Answered by the stream's thread; a caller that needs the answer here waits.
            Request::App {
                session_id,
                function,
                record,
            } if self.streams.is_open(session_id) => {
                // No limit: a stream's handler may wait for its backend (backpressure).
                crate::service::wait_for(None, |reply| self.queue(session_id, function, record, reply))
            }
            Request::Credit { session_id, bytes } => {
                self.streams.grant(session_id, bytes);
                Response::Done
            }
            Request::CloseSession { session_id } | Request::EndSession { session_id } => {
                self.ended(session_id);
                self.inner.call(request)
            }
            other => self.inner.call(other),
        }
    }

    fn call_later(&self, request: Request, reply: Reply) {
        match request {
            Request::App {
                session_id,
                function,
                record,
            } if self.streams.is_open(session_id) => self.queue(session_id, function, record, reply),
            other @ Request::App { .. } => self.inner.call_later(other, reply),
            other => reply.send(self.call(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Stream {
        Stream::new(Inbox::new(0, crate::order::Budget::new(1 << 20)), 0)
    }

    fn record(seq: u64) -> Vec<u8> {
        // Frame and record header only: enough for the outbox, which orders by number.
        let mut r = sc_protocol::msgs::frame_header(sc_protocol::msgs::MessageType::ApplicationData, 36).to_vec();
        let mut h = [0u8; 20];
        sc_protocol::msgs::RecordHeader {
            session_id: 1,
            epoch: 0,
            sequence: seq,
        }
        .write(&mut h);
        r.extend_from_slice(&h);
        r.extend_from_slice(&[0; 16]);
        r
    }

    #[test]
    fn records_sealed_by_several_threads_go_out_in_the_order_they_were_sealed() {
        let stream = stream();
        let out = Mutex::new(Vec::new());
        let push = |r: Vec<u8>| {
            lock(&out).push(sequence_of(&r).unwrap());
            Ok(())
        };
        // Sealed 0..5, handed to the outbox as 2, 0, 1, 4, 3 (threads racing to push).
        for seq in [2, 0, 1, 4, 3] {
            stream.emit(record(seq), push).unwrap();
        }
        assert_eq!(*lock(&out), [0, 1, 2, 3, 4]);
    }

    #[test]
    fn room_is_taken_whole_or_not_at_all_and_an_end_wakes_the_waiters() {
        let stream = Arc::new(stream());
        let window = u64::from(PUSH_WINDOW);
        // More than there is, without waiting: refused, and nothing taken.
        assert!(matches!(
            stream.take(1, window + 1, Some(Instant::now())),
            Err(StreamError::NoRoom)
        ));
        stream.take(1, window, Some(Instant::now())).unwrap();
        // A grant lets a waiter through.
        let waiter = {
            let stream = stream.clone();
            std::thread::spawn(move || stream.take(1, 10, None))
        };
        stream.give_back(10);
        waiter.join().unwrap().unwrap();
        // A waiter with no grant coming is woken by the stream's end.
        let waiter = {
            let stream = stream.clone();
            std::thread::spawn(move || stream.take(1, 10, None))
        };
        std::thread::sleep(Duration::from_millis(20));
        stream.end();
        assert!(matches!(waiter.join().unwrap(), Err(StreamError::NotOpen(1))));
        assert!(matches!(stream.take(1, 0, None), Err(StreamError::NotOpen(1))));
    }
}
