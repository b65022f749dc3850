//! The enclave as a separate process: started from a path, calls multiplexed over its
//! stdin/stdout by call id, so many host threads can have calls in flight at once.

use crate::call::{Request, Response, read_frame};
use crate::{BoundaryError, EnclaveTransport};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Pending = HashMap<u64, Sender<Result<Response, BoundaryError>>>;

/// Shared between callers and the reader thread.
struct Calls {
    /// `None` once the process is gone: no call may wait any longer.
    pending: Mutex<Option<Pending>>,
}

impl Calls {
    fn fail_all(&self) {
        let drained = self.pending.lock().unwrap_or_else(|p| p.into_inner()).take();
        for (_, tx) in drained.into_iter().flatten() {
            let _ = tx.send(Err(BoundaryError::EnclaveExited));
        }
    }
}

/// A running enclave process.
pub struct ChildProcess {
    child: Mutex<Child>,
    stdin: Mutex<ChildStdin>,
    calls: Arc<Calls>,
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

impl ChildProcess {
    /// Starts `program` with `args`; its stderr is inherited (for its logs). Calls wait at
    /// most `timeout` for an answer.
    pub fn spawn<I, A>(program: &Path, args: I, timeout: Duration) -> Result<Self, BoundaryError>
    where
        I: IntoIterator<Item = A>,
        A: AsRef<OsStr>,
    {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| BoundaryError::Spawn(format!("{}: {e}", program.display())))?;
        let (Some(stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err(BoundaryError::Spawn("no pipes to the enclave process".into()));
        };
        let calls = Arc::new(Calls {
            pending: Mutex::new(Some(HashMap::new())),
        });
        let reader_calls = calls.clone();
        std::thread::Builder::new()
            .name("enclave-reader".into())
            .spawn(move || {
                // Each answer goes to the caller waiting for its id. End of stream or a bad
                // frame means the enclave is gone or broken: fail everyone at once.
                while let Ok(Some((id, kind, body))) = read_frame(&mut stdout) {
                    let result = Response::decode(kind, &body).map_err(BoundaryError::Malformed);
                    let tx = reader_calls
                        .pending
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .as_mut()
                        .and_then(|p| p.remove(&id));
                    if let Some(tx) = tx {
                        let _ = tx.send(result);
                    }
                }
                tracing::warn!("enclave process output closed; failing pending calls");
                reader_calls.fail_all();
            })
            .map_err(|e| BoundaryError::Spawn(e.to_string()))?;
        Ok(Self {
            child: Mutex::new(child),
            stdin: Mutex::new(stdin),
            calls,
            next_id: AtomicU64::new(1),
            timeout,
        })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.lock().unwrap_or_else(|p| p.into_inner()).id()
    }

    /// Whether the process has exited (it is reaped if so).
    pub fn has_exited(&self) -> bool {
        !matches!(
            self.child.lock().unwrap_or_else(|p| p.into_inner()).try_wait(),
            Ok(None)
        )
    }

    fn register(&self, id: u64) -> Result<Receiver<Result<Response, BoundaryError>>, BoundaryError> {
        let (tx, rx) = channel();
        match self.calls.pending.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(p) => {
                p.insert(id, tx);
                Ok(rx)
            }
            None => Err(BoundaryError::EnclaveExited),
        }
    }

    fn forget(&self, id: u64) {
        if let Some(p) = self.calls.pending.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            p.remove(&id);
        }
    }
}

impl EnclaveTransport for ChildProcess {
    fn call(&self, request: Request) -> Result<Response, BoundaryError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let rx = self.register(id)?;
        let frame = request.encode(id);
        let written = {
            let mut stdin = self.stdin.lock().unwrap_or_else(|p| p.into_inner());
            stdin.write_all(&frame).and_then(|()| stdin.flush())
        };
        if written.is_err() {
            self.forget(id);
            return Err(BoundaryError::EnclaveExited);
        }
        match rx.recv_timeout(self.timeout) {
            Ok(result) => result,
            Err(RecvTimeoutError::Disconnected) => Err(BoundaryError::EnclaveExited),
            Err(RecvTimeoutError::Timeout) => {
                self.forget(id);
                Err(BoundaryError::Timeout)
            }
        }
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let mut child = self.child.lock().unwrap_or_else(|p| p.into_inner());
        let _ = child.kill();
        let _ = child.wait();
    }
}
