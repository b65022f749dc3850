//! Calls multiplexed over a byte stream pair to an enclave that runs [`crate::serve`] on
//! the other end (a child process's stdin and stdout, a vsock connection to a
//! confidential VM, a socketpair in tests). Many host threads can have calls in flight at
//! once; each is matched to its answer by call id.
//!
//! One reader thread reads every answer and hands it to its caller's slot. Why a thread of
//! its own: answers are always read, whoever is waiting, so the enclave's workers never
//! block writing answers while the host blocks writing calls (a caller may submit any
//! number of calls before it waits for one), and a caller's deadline concerns that caller
//! alone. It replaced a design where waiting callers took turns reading answers (which
//! saves a thread hand-off when the reader's own answer comes); measured against it, it is
//! at par with one caller and faster with 4 and 64 (`benches/demux.rs` has the figures).
//!
//! Deadlines: a call's deadline withdraws that call only (its late answer is discarded).
//! A *hung* enclave is a separate verdict: calls pending and no answer at all for
//! [`Deadlines::hung_after`]; then the `on_hung` hook runs (a child process is killed)
//! and every pending and later call fails. End of stream (the enclave exited) and a
//! malformed answer stream fail every pending and later call at once.

mod slots;
mod sync;

use crate::call::{ONE_WAY, Request, Response};
use crate::wire::read_frame;
use crate::{BoundaryError, EnclaveTransport, PendingCall};
use slots::{Answer, Slot, SlotRef, Table};
use std::io::{BufReader, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Read buffer of the answer stream: an answer's length, head and small body in one read.
const ANSWER_BUFFER: usize = 64 * 1024;

/// How often a waiting caller checks whether the enclave has hung.
const HUNG_CHECK: Duration = Duration::from_millis(100);

/// How long calls may take, and when a silent enclave counts as hung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    /// A call not answered within this is withdrawn and fails with
    /// [`BoundaryError::Timeout`]; other calls are not affected.
    pub call: Duration,
    /// With calls pending, no answer at all for this long means the enclave hung.
    pub hung_after: Duration,
}

impl Deadlines {
    /// `call` for both deadlines.
    pub fn new(call: Duration) -> Self {
        Self { call, hung_after: call }
    }
}

impl From<Duration> for Deadlines {
    fn from(call: Duration) -> Self {
        Self::new(call)
    }
}

/// How long a lone caller polls for its answer (yielding the core) before it sleeps.
/// Why: a lone call's answer usually comes within tens of microseconds, and putting the
/// caller to sleep and waking it again costs about as much (measured: without this, a lone
/// caller made 0.6x the calls of the design where it read its answer itself). With other
/// calls in flight the caller sleeps at once, leaving the cores to the reader and the
/// enclave.
const SPIN: Duration = Duration::from_micros(50);

/// Calls in flight at most (its own included) for a caller to poll before sleeping.
const SPIN_WHEN_PENDING: usize = 1;

struct Shared {
    calls: Table,
    /// Where pushed records go (none set: they are dropped, with a log line).
    push_sink: std::sync::RwLock<Option<crate::PushSink>>,
    writer: Mutex<Box<dyn Write + Send>>,
    next_id: AtomicU64,
    deadlines: Deadlines,
    on_hung: Box<dyn Fn() + Send + Sync>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Declares the enclave hung: fails every call and runs the hook (which should make the
    /// stream end).
    fn hung(&self) {
        tracing::warn!(
            after = ?self.deadlines.hung_after,
            "enclave answered nothing while calls were pending; treating it as hung and stopping it"
        );
        // Calls fail as timed out before the hook ends the stream (whose end would fail
        // them as exited).
        self.calls.fail_all(BoundaryError::Timeout);
        (self.on_hung)();
    }

    fn read_answers(&self, reader: impl Read) {
        let mut reader = BufReader::with_capacity(ANSWER_BUFFER, reader);
        let error = loop {
            match read_frame(&mut reader) {
                Ok(Some((0, crate::wire::PUSH, body))) => match crate::Push::decode(&body) {
                    Ok(push) => match self.push_sink.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
                        Some(sink) => sink(push),
                        None => tracing::debug!(session = push.session_id, "a push with no sink set; dropped"),
                    },
                    Err(what) => {
                        tracing::warn!(what, "malformed push from the enclave; failing pending calls");
                        break BoundaryError::Malformed(what);
                    }
                },
                Ok(Some((id, kind, body))) => {
                    self.calls
                        .deliver(id, Response::decode(kind, &body).map_err(BoundaryError::Malformed));
                }
                Ok(None) => break BoundaryError::EnclaveExited,
                Err(e) => {
                    tracing::warn!(error = %e, "enclave answer stream broke; failing pending calls");
                    break BoundaryError::EnclaveExited;
                }
            }
        };
        self.calls.fail_all(error);
    }

    fn submit(&self, request: &Request) -> Result<(u64, SlotRef, Instant), BoundaryError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = self.calls.register(id)?;
        let deadline = Instant::now() + self.deadlines.call;
        if let Err(e) = self.write(id, request) {
            self.calls.forget(id);
            return Err(e);
        }
        Ok((id, slot, deadline))
    }

    /// Writes one call. A write that cannot finish within `hung_after` (the enclave reads
    /// no calls) or fails leaves a partial frame in the stream: the stream is then
    /// unusable for everyone.
    fn write(&self, id: u64, request: &Request) -> Result<(), BoundaryError> {
        let mut writer = lock(&self.writer);
        let deadline = Instant::now() + self.deadlines.hung_after;
        match request.write_to(id, &mut *writer, deadline) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
                Err(BoundaryError::Malformed("call exceeds the boundary's frame limit"))
            }
            Err(e) => {
                drop(writer);
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
                    self.hung();
                } else {
                    self.calls.fail_all(BoundaryError::EnclaveExited);
                }
                Err(BoundaryError::EnclaveExited)
            }
        }
    }

    /// Waits for call `id`'s answer until `deadline`, checking meanwhile whether the
    /// enclave has hung.
    fn wait(&self, id: u64, slot: &Slot, deadline: Instant) -> Answer {
        if self.calls.pending() <= SPIN_WHEN_PENDING {
            // Yielding, not spinning: when other threads can run (the reader, the enclave,
            // other callers), they get the core.
            let start = Instant::now();
            while !slot.is_filled() && start.elapsed() < SPIN {
                std::thread::yield_now();
            }
        }
        loop {
            let now = Instant::now();
            if now >= deadline {
                // If the enclave has meanwhile been silent for `hung_after`, it is declared
                // hung first.
                if self.calls.silent_for(self.deadlines.hung_after) {
                    self.hung();
                }
                return self.calls.withdraw(id, slot);
            }
            if let Some(answer) = slot.wait_for(deadline.saturating_duration_since(now).min(HUNG_CHECK)) {
                return answer;
            }
            if self.calls.silent_for(self.deadlines.hung_after) {
                self.hung();
            }
        }
    }
}

/// An [`EnclaveTransport`] over a stream pair to an enclave running [`crate::serve`].
///
/// Its reader thread ends when the answer stream ends. Dropping a transport whose stream
/// has ended joins that thread; dropping one whose stream is still open leaves the thread
/// to end with the stream (a generic reader cannot be interrupted), so close the stream
/// (as [`crate::ChildProcess`] does) to release it.
pub struct StreamTransport {
    shared: Arc<Shared>,
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for StreamTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTransport")
            .field("pending", &self.shared.calls.pending())
            .field("dead", &self.shared.calls.is_dead())
            .finish_non_exhaustive()
    }
}

impl StreamTransport {
    /// Calls over `writer`, answers from `reader` (read by a thread of the transport's own,
    /// which ends with the stream). `on_hung` runs once if the enclave is found hung; it
    /// should end the stream (kill the process, shut the socket down).
    pub fn new(
        reader: impl Read + Send + 'static,
        writer: impl Write + Send + 'static,
        deadlines: impl Into<Deadlines>,
        on_hung: impl Fn() + Send + Sync + 'static,
    ) -> Result<Self, BoundaryError> {
        let shared = Arc::new(Shared {
            calls: Table::default(),
            push_sink: std::sync::RwLock::default(),
            writer: Mutex::new(Box::new(writer)),
            next_id: AtomicU64::new(1),
            deadlines: deadlines.into(),
            on_hung: Box::new(on_hung),
        });
        let reading = shared.clone();
        let reader = std::thread::Builder::new()
            .name("sc-boundary-answers".into())
            .spawn(move || reading.read_answers(reader))
            .map_err(|e| BoundaryError::Spawn {
                what: "the boundary's answer reader thread".into(),
                cause: sc_protocol::OtherError::new(e),
            })?;
        Ok(Self {
            shared,
            reader: Mutex::new(Some(reader)),
        })
    }

    /// Whether the stream is unusable (the enclave exited, hung or broke the stream).
    pub fn is_dead(&self) -> bool {
        self.shared.calls.is_dead()
    }

    /// Calls sent and not yet answered or withdrawn.
    pub fn pending(&self) -> usize {
        self.shared.calls.pending()
    }
}

impl Drop for StreamTransport {
    /// Joins the reader thread if the stream has ended (it is then returning: the wait is
    /// bounded, so a stream that a hung verdict could not end never blocks the drop).
    fn drop(&mut self) {
        let Some(reader) = lock(&self.reader).take() else {
            return;
        };
        if !self.is_dead() {
            return;
        }
        let deadline = Instant::now() + Duration::from_millis(100);
        while !reader.is_finished() && Instant::now() < deadline {
            std::thread::yield_now();
        }
        if reader.is_finished() {
            let _ = reader.join();
        }
    }
}

impl EnclaveTransport for StreamTransport {
    fn set_push_sink(&self, sink: crate::PushSink) {
        *self.shared.push_sink.write().unwrap_or_else(|p| p.into_inner()) = Some(sink);
    }

    fn submit(&self, request: Request) -> Result<PendingCall, BoundaryError> {
        let (id, slot, deadline) = self.shared.submit(&request)?;
        let shared = self.shared.clone();
        Ok(PendingCall::later(move || shared.wait(id, &slot, deadline)))
    }

    /// A one-way call: written with call id 0, so the enclave answers nothing.
    fn notify(&self, request: Request) -> Result<(), BoundaryError> {
        if self.shared.calls.is_dead() {
            return Err(BoundaryError::EnclaveExited);
        }
        self.shared.write(ONE_WAY, &request)
    }
}
