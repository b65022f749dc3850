//! The enclave as a separate process: started from a path, calls multiplexed by call id
//! over a Unix socketpair that is the child's stdin and stdout, so many host threads can
//! have calls in flight at once. A socketpair rather than pipes: its buffers (about 200 KiB)
//! take a whole 64 KiB record in one write, where a 64 KiB pipe blocks mid-frame.
//!
//! No thread of its own reads the answers. One waiting caller at a time is the *leader*:
//! it reads answers, keeps its own, hands the others to their callers, and when its own
//! has come passes the leader role to another waiting caller. An answer thus wakes the
//! thread that needs it directly, not a reader thread that then wakes it (each wake-up
//! costs tens of microseconds on a busy machine; it was the largest cost of a call).
//!
//! End of stream (the process died) fails every pending call at once with
//! [`BoundaryError::EnclaveExited`]. A read that times out leaves the stream in an unknown
//! state, so the enclave is then treated as hung: it is killed and every pending call fails
//! with [`BoundaryError::Timeout`]; a supervisor restarts it.

use crate::call::{ONE_WAY, Request, Response};
use crate::wire::read_frame;
use crate::{BoundaryError, EnclaveTransport, PendingCall};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, ErrorKind};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

type Answer = Result<Response, BoundaryError>;

/// Read buffer of the answer stream.
const ANSWER_BUFFER: usize = 64 * 1024;

/// How long a write to the enclave may block before the writer reads answers itself.
/// Why: the enclave stops reading calls while its answers are unread (its workers block
/// writing them); a caller that submits many calls before it waits for any must therefore
/// drain answers when its own write blocks, or both sides wait on each other for ever.
const DRAIN_AFTER: Duration = Duration::from_millis(2);

/// What a waiting caller can be woken with.
enum Wake {
    /// Its answer (or the failure of its call).
    Answer(Answer),
    /// The leader role: read answers now.
    Lead,
}

/// A sent call: how to wake its caller, and whether the caller is blocked waiting (only
/// such a caller may be handed the leader role).
struct Waiter {
    wake: Sender<Wake>,
    waiting: bool,
}

#[derive(Default)]
struct State {
    pending: HashMap<u64, Waiter>,
    leader: bool,
    dead: bool,
}

/// A running enclave process.
pub struct ChildProcess {
    inner: Arc<Inner>,
}

struct Inner {
    child: Mutex<Child>,
    writer: Mutex<UnixStream>,
    /// Answers, read through a buffer: an answer's length, head and small body in one read.
    reader: Mutex<BufReader<UnixStream>>,
    state: Mutex<State>,
    next_id: AtomicU64,
    timeout: Duration,
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProcess")
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChildProcess {
    /// Starts `program` with `args`; its stderr is inherited (for its logs). Calls wait at
    /// most `timeout` for an answer.
    pub fn spawn<I, A>(program: &Path, args: I, timeout: Duration) -> Result<Self, BoundaryError>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args);
        Self::spawn_command(command, timeout)
    }

    /// Starts `command` (program, arguments, environment, and anything else the caller
    /// set, such as what the child closes before it runs) with the boundary as its stdin
    /// and stdout and its stderr inherited. Calls wait at most `timeout` for an answer.
    pub fn spawn_command(mut command: Command, timeout: Duration) -> Result<Self, BoundaryError> {
        let program = command.get_program().to_owned();
        let spawn_error = |e: std::io::Error| BoundaryError::Spawn(format!("{}: {e}", program.to_string_lossy()));
        let (ours, theirs) = UnixStream::pair().map_err(spawn_error)?;
        let their_stdin: OwnedFd = theirs.try_clone().map_err(spawn_error)?.into();
        let their_stdout: OwnedFd = theirs.into();
        // The Command (holding the child's ends) is dropped at the end of this function, so
        // only the child keeps them open: its exit closes the socket and we see EOF at once.
        let child = command
            .stdin(Stdio::from(their_stdin))
            .stdout(Stdio::from(their_stdout))
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(spawn_error)?;
        drop(command);
        ours.set_write_timeout(Some(DRAIN_AFTER)).map_err(spawn_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                child: Mutex::new(child),
                writer: Mutex::new(ours.try_clone().map_err(spawn_error)?),
                reader: Mutex::new(BufReader::with_capacity(ANSWER_BUFFER, ours)),
                state: Mutex::new(State::default()),
                next_id: AtomicU64::new(1),
                timeout,
            }),
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        lock(&self.inner.child).id()
    }

    /// Whether the process has exited (it is reaped if so).
    pub fn has_exited(&self) -> bool {
        !matches!(lock(&self.inner.child).try_wait(), Ok(None))
    }
}

impl Inner {
    /// Marks the enclave unusable and fails every pending call with `error`.
    fn fail_all(&self, error: BoundaryError) {
        let pending = {
            let mut st = lock(&self.state);
            st.dead = true;
            st.leader = false;
            std::mem::take(&mut st.pending)
        };
        for (_, w) in pending {
            let _ = w.wake.send(Wake::Answer(Err(error.clone())));
        }
    }

    /// Passes the leader role to a waiting caller, or leaves it free.
    fn hand_over(&self) {
        let mut st = lock(&self.state);
        match st.pending.values_mut().find(|w| w.waiting) {
            Some(w) => {
                w.waiting = false;
                let _ = w.wake.send(Wake::Lead);
            }
            None => st.leader = false,
        }
    }

    /// A caller whose wait timed out withdraws its call.
    fn give_up(&self, id: u64, rx: &Receiver<Wake>) -> Answer {
        let was_pending = lock(&self.state).pending.remove(&id).is_some();
        match rx.try_recv() {
            // Its answer was dispatched just now: use it.
            Ok(Wake::Answer(a)) if !was_pending => a,
            // It was made leader just as it gave up: pass the role on.
            Ok(Wake::Lead) => {
                self.hand_over();
                Err(BoundaryError::Timeout)
            }
            _ => Err(BoundaryError::Timeout),
        }
    }

    /// Reads answers until ours arrives or the deadline passes.
    fn lead(&self, id: u64, rx: &Receiver<Wake>, deadline: Instant) -> Answer {
        let mut reader = lock(&self.reader);
        loop {
            // Our answer may have been dispatched before we became leader.
            if let Ok(Wake::Answer(a)) = rx.try_recv() {
                drop(reader);
                self.hand_over();
                return a;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(reader);
                lock(&self.state).pending.remove(&id);
                self.hand_over();
                return Err(BoundaryError::Timeout);
            }
            let _ = reader.get_ref().set_read_timeout(Some(left));
            match read_frame(&mut *reader) {
                Ok(Some((from, kind, body))) => {
                    let answer = Response::decode(kind, &body).map_err(BoundaryError::Malformed);
                    let waiter = lock(&self.state).pending.remove(&from);
                    if from == id {
                        drop(reader);
                        self.hand_over();
                        return answer;
                    }
                    if let Some(w) = waiter {
                        let _ = w.wake.send(Wake::Answer(answer));
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    drop(reader);
                    tracing::warn!("enclave did not answer in time; treating it as hung and stopping it");
                    let _ = lock(&self.child).kill();
                    self.fail_all(BoundaryError::Timeout);
                    return Err(BoundaryError::Timeout);
                }
                _ => {
                    drop(reader);
                    tracing::warn!("enclave process closed its end; failing pending calls");
                    self.fail_all(BoundaryError::EnclaveExited);
                    return Err(BoundaryError::EnclaveExited);
                }
            }
        }
    }

    /// Sends a call; its answer is collected by [`Inner::wait`].
    fn submit(&self, request: &Request) -> Result<(u64, Receiver<Wake>, Instant), BoundaryError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = channel();
        {
            let mut st = lock(&self.state);
            if st.dead {
                return Err(BoundaryError::EnclaveExited);
            }
            st.pending.insert(
                id,
                Waiter {
                    wake: tx,
                    waiting: false,
                },
            );
        }
        let deadline = Instant::now() + self.timeout;
        self.write_call(id, request, deadline)?;
        Ok((id, rx, deadline))
    }

    /// Writes one call, reading answers meanwhile whenever the write blocks.
    fn write_call(&self, id: u64, request: &Request, deadline: Instant) -> Result<(), BoundaryError> {
        let mut writer = lock(&self.writer);
        if request
            .write_to(id, &mut *writer, deadline, &mut || self.drain())
            .is_err()
        {
            drop(writer);
            self.fail_all(BoundaryError::EnclaveExited);
            return Err(BoundaryError::EnclaveExited);
        }
        Ok(())
    }

    /// Reads the answers that have arrived, handing each to its caller, unless a leader is
    /// reading already. Only whole frames: it stops when no frame has begun to arrive.
    fn drain(&self) {
        {
            let mut st = lock(&self.state);
            if st.leader || st.dead {
                return;
            }
            st.leader = true;
        }
        let mut reader = lock(&self.reader);
        let mut read_one = false;
        loop {
            if reader.buffer().is_empty() {
                // Wait a moment for the first answer only; after that, take what has
                // arrived and go back to writing.
                if read_one {
                    break;
                }
                let _ = reader.get_ref().set_read_timeout(Some(DRAIN_AFTER));
                match reader.fill_buf() {
                    Ok(buffered) if !buffered.is_empty() => {}
                    // Nothing has arrived (or the stream ended: the next leader sees it).
                    _ => break,
                }
            }
            read_one = true;
            // A frame has begun: the enclave is writing it, so the rest follows.
            let _ = reader.get_ref().set_read_timeout(Some(self.timeout));
            match read_frame(&mut *reader) {
                Ok(Some((from, kind, body))) => {
                    let answer = Response::decode(kind, &body).map_err(BoundaryError::Malformed);
                    if let Some(w) = lock(&self.state).pending.remove(&from) {
                        let _ = w.wake.send(Wake::Answer(answer));
                    }
                }
                _ => {
                    drop(reader);
                    tracing::warn!("enclave answer stream broke while draining; failing pending calls");
                    self.fail_all(BoundaryError::EnclaveExited);
                    return;
                }
            }
        }
        drop(reader);
        self.hand_over();
    }

    /// Waits for call `id`: leads reading if nobody does, else waits to be woken. The role is
    /// taken only here, by a thread that is actually waiting, so a caller that submitted and
    /// is busy elsewhere never holds up anyone else's answer.
    fn wait(&self, id: u64, rx: &Receiver<Wake>, deadline: Instant) -> Answer {
        let leading = {
            let mut st = lock(&self.state);
            match rx.try_recv() {
                Ok(Wake::Answer(a)) => return a,
                Ok(Wake::Lead) => true,
                Err(_) if !st.leader => {
                    st.leader = true;
                    true
                }
                Err(_) => {
                    if let Some(w) = st.pending.get_mut(&id) {
                        w.waiting = true;
                    }
                    false
                }
            }
        };
        if !leading {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(Wake::Answer(a)) => return a,
                Ok(Wake::Lead) => {}
                Err(RecvTimeoutError::Timeout) => return self.give_up(id, rx),
                Err(RecvTimeoutError::Disconnected) => return Err(BoundaryError::EnclaveExited),
            }
        }
        self.lead(id, rx, deadline)
    }
}

impl EnclaveTransport for ChildProcess {
    fn submit(&self, request: Request) -> Result<PendingCall, BoundaryError> {
        let (id, rx, deadline) = self.inner.submit(&request)?;
        let inner = self.inner.clone();
        Ok(PendingCall::later(move || inner.wait(id, &rx, deadline)))
    }

    /// A one-way call: written with call id 0, so the enclave answers nothing.
    fn notify(&self, request: Request) -> Result<(), BoundaryError> {
        if lock(&self.inner.state).dead {
            return Err(BoundaryError::EnclaveExited);
        }
        self.inner
            .write_call(ONE_WAY, &request, Instant::now() + self.inner.timeout)
    }
}

/// How long a dropped enclave process gets to exit by itself before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

impl Drop for ChildProcess {
    /// Closes the boundary so that the enclave program's serve loop ends and it exits
    /// normally (flushing its logs); kills it if it has not exited within half a second.
    fn drop(&mut self) {
        let _ = lock(&self.inner.writer).shutdown(std::net::Shutdown::Both);
        let mut child = lock(&self.inner.child);
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            if !matches!(child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}
