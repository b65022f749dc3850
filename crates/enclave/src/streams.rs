//! Stream sessions (extension `streams`) in the enclave, one mechanism for every kind of
//! enclave code that pushes: the tunnel's backend forwarder ([`crate::forward`]) and the
//! C runtime's push API (`cc_sec_chl_enclave_push`) are both a [`StreamHandler`] plugged
//! into a [`StreamService`].
//!
//! * [`Streams`] keeps, per stream session, the room the host granted for pushes and the
//!   next client record to hand over. [`Streams::send`] seals data as records of at most
//!   [`CHUNK`] bytes, each pushed only within that room, so a slow client stops the
//!   sender rather than growing memory anywhere; [`Streams::end_stream`] is the enclave's
//!   half-close, [`Streams::end_session`] its Close.
//! * [`StreamService`] wraps the [`ChannelService`]: it opens a stream when a stream
//!   session is established, grants room on the host's `Credit` calls, hands the client's
//!   records of a stream session to the handler **in sequence order** (the host pipelines
//!   a connection's records and the enclave's workers take calls in parallel, so without
//!   this a later record could overtake an earlier one), and tells the handler when the
//!   client or the host ended the session. Sessions that did not negotiate streams go to
//!   the wrapped service unchanged.

use crate::service::ChannelService;
use crate::sessions::{EnclaveError, SessionManager};
use sc_boundary::{CallError, ChannelOutcome, EnclaveService, PUSH_WINDOW, Pusher, Request, Response};
use sc_protocol::msgs::{Frame, MAX_FRAME_BODY, MessageType, RecordHeader};
use sc_protocol::{Session, UnixTime};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::time::{Duration, Instant};

/// The most plaintext one pushed record carries. Why 60 KiB: large enough that the
/// per-record cost (a boundary frame, a host write, a client wake-up) is small beside
/// the copy, and small enough that a record fits the boundary's and the socket's
/// buffers; 16 KiB records measured 0.54x of 60 KiB ones through the tunnel.
pub const CHUNK: usize = 60 * 1024;

/// How long a client record may wait for the records before it (a host that lost one).
const ORDER_WAIT: Duration = Duration::from_secs(30);

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

/// One stream session's flow state.
struct Stream {
    /// Bytes the enclave may still push; `None` once the stream is forgotten.
    credit: Mutex<Option<u64>>,
    more: Condvar,
    /// The sequence number of the client's next record to hand over.
    next: Mutex<u64>,
    turn: Condvar,
}

impl Stream {
    fn new() -> Self {
        Self {
            credit: Mutex::new(Some(u64::from(PUSH_WINDOW))),
            more: Condvar::new(),
            next: Mutex::new(0),
            turn: Condvar::new(),
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
        self.turn.notify_all();
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

    fn open(&self, id: u64) {
        lock(&self.open).insert(id, Arc::new(Stream::new()));
    }

    /// Forgets stream `id`, waking whoever waits on it; whether it was open.
    fn forget(&self, id: u64) -> bool {
        match lock(&self.open).remove(&id) {
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
            self.push(id, record)?;
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
            self.push(id, record)?;
        }
        Ok(())
    }

    /// Ends the enclave's direction of stream session `id` (a half-close: the client reads
    /// the end, and may still send). Waits for room like [`Streams::send`].
    pub fn end_stream(&self, id: u64) -> Result<(), StreamError> {
        let stream = self.stream(id)?;
        let record = self.sessions.end_stream(id, UnixTime::now())?;
        stream.take(id, record.len() as u64, None)?;
        self.push(id, record)
    }

    /// Ends session `id` from the enclave's side: its Close goes to the client and the
    /// session is gone. The handler is not told (the enclave code ended it).
    pub fn end_session(&self, id: u64) -> Result<(), StreamError> {
        self.forget(id);
        match self.sessions.end_session(id, UnixTime::now())? {
            Some(close) => self.push(id, close),
            None => Ok(()),
        }
    }

    /// Runs `f` when the client's record `sequence` of stream `id` has its turn (every
    /// earlier record was handed over), one at a time per session.
    fn in_order<R>(&self, id: u64, sequence: u64, f: impl FnOnce() -> R) -> Result<R, EnclaveError> {
        let stream = self.stream(id).map_err(|_| EnclaveError::UnknownSession)?;
        let mut next = lock(&stream.next);
        let deadline = Instant::now() + ORDER_WAIT;
        while *next != sequence {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || *next > sequence || lock(&stream.credit).is_none() {
                return Err(EnclaveError::Unexpected("record out of order"));
            }
            next = stream
                .turn
                .wait_timeout(next, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        let answer = f();
        *next += 1;
        stream.turn.notify_all();
        Ok(answer)
    }
}

/// What enclave code does with stream sessions (the plug-in of a [`StreamService`]).
pub trait StreamHandler: Send + Sync + 'static {
    /// Stream session `id` was established (its stream is open: pushes may start).
    fn opened(&self, id: u64, streams: &Arc<Streams>);
    /// A client record of stream session `id` for application function `function`, in
    /// sequence order, one at a time per session (open it with
    /// [`SessionManager::receive`]: data, or the client's end of stream). The answer
    /// goes back to the host: `Response::Done` when nothing is to be relayed.
    fn record(&self, id: u64, function: u32, record: Vec<u8>, streams: &Arc<Streams>) -> Response;
    /// Stream session `id` ended by the client's Close or the host (its client went away,
    /// it shut down). Not called for ends the enclave code caused itself.
    fn closed(&self, id: u64);
}

/// A [`ChannelService`] whose stream sessions are served by a [`StreamHandler`] (see the
/// module documentation).
pub struct StreamService<H> {
    inner: ChannelService,
    streams: Arc<Streams>,
    handler: H,
}

impl<H> std::fmt::Debug for StreamService<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamService")
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

/// A refusal with its code and text (every cause).
pub(crate) fn refuse(e: &EnclaveError) -> Response {
    Response::Error(CallError::new(e.code(), sc_protocol::ErrorChain(e).to_string()))
}

/// The session id a channel message (ClientFinished, Close) names.
fn session_of(message: &[u8]) -> Option<u64> {
    Frame::parse(message, MAX_FRAME_BODY).ok().and_then(|f| f.session_id())
}

/// The sequence number of a record.
fn sequence_of(record: &[u8]) -> Option<u64> {
    Frame::parse(record, MAX_FRAME_BODY)
        .ok()
        .and_then(|f| RecordHeader::read(f.body).ok())
        .map(|h| h.sequence)
}

impl<H: StreamHandler> StreamService<H> {
    /// Serves `inner`'s stream sessions with `handler`, pushing with `pusher`.
    pub fn new(inner: ChannelService, pusher: Pusher, handler: H) -> Self {
        let streams = Arc::new(Streams::new(inner.sessions().clone(), pusher));
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

    fn record(&self, id: u64, function: u32, record: Vec<u8>) -> Response {
        let Some(sequence) = sequence_of(&record) else {
            return refuse(&EnclaveError::Unexpected("not a record"));
        };
        match self.streams.in_order(id, sequence, || {
            self.handler.record(id, function, record, &self.streams)
        }) {
            Ok(answer) => answer,
            Err(e) => {
                // Told once: a stream that ended while this record waited is not ended again.
                if self.streams.forget(id) {
                    tracing::info!(session = id, sequence, error = %e, "ending the stream session");
                    let _ = self.streams.end_session(id);
                    self.handler.closed(id);
                }
                refuse(&e)
            }
        }
    }
}

impl<H: StreamHandler> EnclaveService for StreamService<H> {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } => {
                let session = session_of(&message);
                let is_close = message.first() == Some(&MessageType::Close.code());
                let answer = self.inner.call(Request::Channel { message });
                match (&answer, session) {
                    (Response::Channel(ChannelOutcome::Established { .. }), Some(id))
                        if self.streams.sessions.is_stream(id, UnixTime::now()) =>
                    {
                        self.streams.open(id);
                        self.handler.opened(id, &self.streams);
                    }
                    (_, Some(id)) if is_close => self.ended(id),
                    _ => {}
                }
                answer
            }
            Request::App {
                session_id,
                function,
                record,
            } if self.streams.is_open(session_id) => self.record(session_id, function, record),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_is_taken_whole_or_not_at_all_and_an_end_wakes_the_waiters() {
        let stream = Arc::new(Stream::new());
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
