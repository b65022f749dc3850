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
//! * Each stream session's records are handled on a thread of its own, and answered from
//!   there ([`sc_boundary::Reply`]): a handler that waits (a backend that does not read)
//!   holds that session's calls, which is the backpressure, but no boundary worker, so
//!   the enclave keeps serving every other session. Why: with records handled on the
//!   workers, as many stuck uploads as workers stalled every handshake in the enclave
//!   (test `uploads_stuck_on_a_backend_do_not_stall_other_sessions`). The records waiting
//!   for their turn are bounded ([`MAX_WAITING`], [`MAX_WAITING_BYTES`]): the host is not
//!   trusted to keep its pipeline short.

use crate::service::ChannelService;
use crate::sessions::{EnclaveError, SessionManager};
use sc_boundary::{CallError, ChannelOutcome, EnclaveService, PUSH_WINDOW, Pusher, Reply, Request, Response};
use sc_protocol::msgs::{Frame, MAX_FRAME_BODY, MessageType, RecordHeader};
use sc_protocol::{Session, UnixTime};
use std::collections::BTreeMap;
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

/// The most client records of one stream session waiting to be handled (twice the host's
/// pipeline per connection); more is a host that floods the enclave, and is refused.
pub const MAX_WAITING: usize = 64;

/// The most bytes of client records of one stream session waiting to be handled: eight
/// times what the host keeps in flight per connection by default (its connection window,
/// 4 MiB), and a bound on what a host that floods the enclave costs it per session.
pub const MAX_WAITING_BYTES: usize = 32 * 1024 * 1024;

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
    /// The client's records waiting to be handled, by sequence number.
    inbox: Mutex<Inbox>,
    arrived: Condvar,
}

/// Records waiting for the stream's thread.
#[derive(Default)]
struct Inbox {
    /// The sequence number of the client's next record to hand over.
    next: u64,
    waiting: BTreeMap<u64, Waiting>,
    /// The bytes of the records waiting.
    bytes: usize,
    /// When the stream ended: the thread stops, and what waits is answered with an error.
    ended: bool,
}

/// One client record and where its answer goes.
struct Waiting {
    function: u32,
    record: Vec<u8>,
    reply: Reply,
}

impl Stream {
    fn new() -> Self {
        Self {
            credit: Mutex::new(Some(u64::from(PUSH_WINDOW))),
            more: Condvar::new(),
            inbox: Mutex::default(),
            arrived: Condvar::new(),
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
        lock(&self.inbox).ended = true;
        self.arrived.notify_all();
    }

    /// Queues client record `sequence` for the stream's thread; refused (answered at
    /// once) when it is behind the next one (a replay), too far ahead, or too many wait.
    fn queue(&self, sequence: u64, waiting: Waiting) -> Result<(), (EnclaveError, Waiting)> {
        let mut inbox = lock(&self.inbox);
        let refused = if inbox.ended {
            Some(EnclaveError::UnknownSession)
        } else if sequence < inbox.next || inbox.waiting.contains_key(&sequence) {
            Some(EnclaveError::Unexpected("record out of order"))
        } else if inbox.waiting.len() >= MAX_WAITING
            || sequence - inbox.next >= MAX_WAITING as u64
            || inbox.bytes + waiting.record.len() > MAX_WAITING_BYTES
        {
            Some(EnclaveError::Busy)
        } else {
            None
        };
        if let Some(e) = refused {
            return Err((e, waiting));
        }
        inbox.bytes += waiting.record.len();
        inbox.waiting.insert(sequence, waiting);
        drop(inbox);
        self.arrived.notify_all();
        Ok(())
    }

    /// The next record in order, waiting for it; `Err` with why once the stream ended or
    /// the next record did not come in [`ORDER_WAIT`] while later ones wait.
    fn next_record(&self) -> Result<Waiting, &'static str> {
        let mut inbox = lock(&self.inbox);
        let mut gap_since: Option<Instant> = None;
        loop {
            if inbox.ended {
                return Err("ended");
            }
            let next = inbox.next;
            if let Some(w) = inbox.waiting.remove(&next) {
                inbox.next += 1;
                inbox.bytes -= w.record.len();
                return Ok(w);
            }
            if inbox.waiting.is_empty() {
                gap_since = None;
                inbox = self.arrived.wait(inbox).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            let since = *gap_since.get_or_insert_with(Instant::now);
            let left = ORDER_WAIT.saturating_sub(since.elapsed());
            if left.is_zero() {
                return Err("record out of order");
            }
            inbox = self
                .arrived
                .wait_timeout(inbox, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
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
        let stream = Arc::new(Stream::new());
        lock(&self.open).insert(id, stream.clone());
        stream
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
        stream.take(id, Session::record_len(0) as u64, deadline)?;
        let record = self.sessions.end_stream(id, UnixTime::now())?;
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
    handler: Arc<H>,
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

/// Ends stream `id` from the enclave because of `why`: its Close to the client, and the
/// handler told (once: a stream already ended is not ended again).
fn fail<H: StreamHandler>(id: u64, why: &str, streams: &Streams, handler: &H) {
    if streams.forget(id) {
        tracing::info!(session = id, why, "ending the stream session");
        let _ = streams.end_session(id);
        handler.closed(id);
    }
}

/// A stream session's thread: its client records, in order, to the handler, each answered
/// from here.
fn serve_stream<H: StreamHandler>(id: u64, stream: Arc<Stream>, streams: Arc<Streams>, handler: Arc<H>) {
    loop {
        match stream.next_record() {
            Ok(w) => w.reply.send(handler.record(id, w.function, w.record, &streams)),
            Err("ended") => break,
            Err(why) => {
                fail(id, why, &streams, &*handler);
                break;
            }
        }
    }
    // What still waits is answered with an error as its reply drops.
    let waiting = std::mem::take(&mut lock(&stream.inbox).waiting);
    drop(waiting);
}

impl<H: StreamHandler> StreamService<H> {
    /// Serves `inner`'s stream sessions with `handler`, pushing with `pusher`.
    pub fn new(inner: ChannelService, pusher: Pusher, handler: H) -> Self {
        let streams = Arc::new(Streams::new(inner.sessions().clone(), pusher));
        Self {
            inner,
            streams,
            handler: Arc::new(handler),
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
            Err(_) => fail(id, "no thread for the stream", &self.streams, &*self.handler),
        }
    }

    /// Queues a client record of stream session `id` for its thread, which answers it.
    fn queue(&self, id: u64, function: u32, record: Vec<u8>, reply: Reply) {
        let Some(sequence) = sequence_of(&record) else {
            return reply.send(refuse(&EnclaveError::Unexpected("not a record")));
        };
        let Ok(stream) = self.streams.stream(id) else {
            return reply.send(refuse(&EnclaveError::UnknownSession));
        };
        let waiting = Waiting {
            function,
            record,
            reply,
        };
        if let Err((e, waiting)) = stream.queue(sequence, waiting) {
            // A replayed or duplicated record ends the session, as it would on the wire.
            if matches!(e, EnclaveError::Unexpected(_)) {
                fail(id, "record out of order", &self.streams, &*self.handler);
            }
            waiting.reply.send(refuse(&e));
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
                        self.opened(id)
                    }
                    (_, Some(id)) if is_close => self.ended(id),
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
                let (answer, answered) = std::sync::mpsc::sync_channel(1);
                let reply = Reply::new(move |r| {
                    let _ = answer.send(r);
                });
                self.queue(session_id, function, record, reply);
                answered
                    .recv()
                    .unwrap_or_else(|_| refuse(&EnclaveError::UnknownSession))
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
            other => reply.send(self.call(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting(tag: u8, answers: &std::sync::mpsc::Sender<(u8, Response)>) -> Waiting {
        let answers = answers.clone();
        Waiting {
            function: 1,
            record: vec![tag],
            reply: Reply::new(move |r| answers.send((tag, r)).unwrap()),
        }
    }

    #[test]
    fn records_come_out_in_order_and_the_host_cannot_flood_or_replay() {
        let (answers, answered) = std::sync::mpsc::channel();
        let stream = Stream::new();
        // Out of order in, in order out.
        for seq in [2u64, 0, 1] {
            stream
                .queue(seq, waiting(seq as u8, &answers))
                .map_err(|(e, _)| e)
                .unwrap();
        }
        let order: Vec<u8> = (0..3).map(|_| stream.next_record().unwrap().record[0]).collect();
        assert_eq!(order, [0, 1, 2]);
        // A replay of a record already handed over, and of one already waiting, are refused.
        let (e, _) = stream.queue(1, waiting(9, &answers)).unwrap_err();
        assert!(matches!(e, EnclaveError::Unexpected(_)));
        stream.queue(4, waiting(4, &answers)).map_err(|(e, _)| e).unwrap();
        let (e, _) = stream.queue(4, waiting(9, &answers)).unwrap_err();
        assert!(matches!(e, EnclaveError::Unexpected(_)));
        // Too far ahead of the next one, or too many bytes waiting: the host is flooding;
        // refused as busy.
        let (e, _) = stream.queue(3 + MAX_WAITING as u64, waiting(9, &answers)).unwrap_err();
        assert!(matches!(e, EnclaveError::Busy));
        let mut big = waiting(9, &answers);
        big.record = vec![0; MAX_WAITING_BYTES];
        let (e, _) = stream.queue(5, big).unwrap_err();
        assert!(matches!(e, EnclaveError::Busy));
        // The end: the thread hears it; nothing more is taken; what waited (record 4) is
        // answered with an error when its reply drops.
        stream.end();
        assert!(matches!(stream.next_record(), Err("ended")));
        let (e, _) = stream.queue(3, waiting(9, &answers)).unwrap_err();
        assert!(matches!(e, EnclaveError::UnknownSession));
        drop(std::mem::take(&mut lock(&stream.inbox).waiting));
        drop(answers);
        let answered: Vec<(u8, Response)> = answered.iter().collect();
        assert!(
            answered
                .iter()
                .any(|(tag, r)| *tag == 4 && matches!(r, Response::Error(_)))
        );
        // Every reply here was dropped unanswered (the records handed out, the refused
        // ones, record 4): each answered once, with an error, so no caller waits for ever.
        assert_eq!(answered.len(), 3 + 5 + 1);
        assert!(answered.iter().all(|(_, r)| matches!(r, Response::Error(_))));
    }

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
