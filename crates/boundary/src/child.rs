//! The enclave as a separate process: started from a path, with a Unix socketpair as its
//! stdin and stdout, over which [`StreamTransport`] multiplexes calls. A socketpair rather
//! than pipes: its buffers (about 200 KiB) take a whole 64 KiB record in one write, where a
//! 64 KiB pipe blocks mid-frame.
//!
//! This module owns the process's lifecycle only: start, kill when hung, reap, stop on
//! drop. End of stream (the process died) fails every pending call at once with
//! [`BoundaryError::EnclaveExited`]; a hung process (calls pending, no answer for
//! [`Deadlines::hung_after`]) is killed and its calls fail with [`BoundaryError::Timeout`];
//! a supervisor restarts it.

use crate::stream::{Deadlines, StreamTransport};
use crate::{BoundaryError, EnclaveTransport, PendingCall, Request};
use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long one attempt to write a call may block; the write is retried until the
/// enclave counts as hung.
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// A running enclave process.
pub struct ChildProcess {
    child: Arc<Mutex<Child>>,
    socket: UnixStream,
    calls: StreamTransport,
}

impl std::fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildProcess")
            .field("pid", &self.pid())
            .field("calls", &self.calls)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl ChildProcess {
    /// Starts `program` with `args`; its stderr is inherited (for its logs). Calls are
    /// withdrawn after `deadlines.call`, and the process is stopped as hung after
    /// `deadlines.hung_after` without an answer (a plain `Duration` is both).
    pub fn spawn<I, A>(program: &Path, args: I, deadlines: impl Into<Deadlines>) -> Result<Self, BoundaryError>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        let mut command = Command::new(program);
        command.args(args);
        Self::spawn_command(command, deadlines)
    }

    /// Starts `command` (program, arguments, environment, and anything else the caller
    /// set, such as what the child closes before it runs) with the boundary as its stdin
    /// and stdout and its stderr inherited.
    pub fn spawn_command(mut command: Command, deadlines: impl Into<Deadlines>) -> Result<Self, BoundaryError> {
        let program = command.get_program().to_owned();
        let spawn_error = |e: std::io::Error| BoundaryError::Spawn {
            what: program.to_string_lossy().into_owned(),
            cause: sc_protocol::OtherError::new(e),
        };
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
        ours.set_write_timeout(Some(WRITE_SLICE)).map_err(spawn_error)?;
        let child = Arc::new(Mutex::new(child));
        let hung = child.clone();
        let calls = StreamTransport::new(
            ours.try_clone().map_err(spawn_error)?,
            ours.try_clone().map_err(spawn_error)?,
            deadlines,
            move || {
                // Killing the process closes its end: the answer reader sees the end of
                // the stream.
                let _ = lock(&hung).kill();
            },
        )?;
        Ok(Self {
            child,
            socket: ours,
            calls,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        lock(&self.child).id()
    }

    /// Whether the process has exited (it is reaped if so).
    pub fn has_exited(&self) -> bool {
        !matches!(lock(&self.child).try_wait(), Ok(None))
    }

    /// How the process ended, once it has (`None` while it runs).
    pub fn exit_status(&self) -> Option<std::process::ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }

    /// Stops the enclave program: closes the boundary so that its serve loop ends and it
    /// exits normally (flushing its logs), and kills it if it has not exited within half a
    /// second. Calls fail with `EnclaveExited` afterwards. (Dropping the last handle does
    /// the same.) Returns how it ended.
    pub fn stop(&self) -> Option<std::process::ExitStatus> {
        let _ = self.socket.shutdown(std::net::Shutdown::Both);
        let mut child = lock(&self.child);
        let deadline = Instant::now() + EXIT_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        child.wait().ok()
    }
}

impl EnclaveTransport for ChildProcess {
    fn submit(&self, request: Request) -> Result<PendingCall, BoundaryError> {
        self.calls.submit(request)
    }

    fn notify(&self, request: Request) -> Result<(), BoundaryError> {
        self.calls.notify(request)
    }

    fn set_push_sink(&self, sink: crate::PushSink) {
        self.calls.set_push_sink(sink);
    }
}

/// How long a dropped enclave process gets to exit by itself before it is killed.
const EXIT_GRACE: Duration = Duration::from_millis(500);

impl Drop for ChildProcess {
    /// [`ChildProcess::stop`].
    fn drop(&mut self) {
        self.stop();
    }
}
