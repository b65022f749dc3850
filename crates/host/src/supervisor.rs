//! Keeps an enclave process running: when it exits, pending calls have already failed
//! (the boundary fails them the moment its pipe closes); the supervisor starts a new process
//! and installs it in the host. Clients then handshake again.

use crate::relay::Host;
use sc_boundary::{BoundaryError, ChildProcess};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running supervisor; dropping it stops supervising (the enclave keeps running).
#[derive(Debug)]
pub struct Supervisor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    current: Arc<Mutex<Arc<ChildProcess>>>,
}

/// The longest wait between restarts of an enclave that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// An enclave that ran this long before exiting counts as having started well: the next
/// restart is immediate again.
const STABLE_AFTER: Duration = Duration::from_secs(10);

impl Supervisor {
    /// Watches `current` every `poll` (choose well under a second); on exit, starts a
    /// replacement with `spawn` and installs it in `host`. An enclave that keeps failing
    /// (exits within 10 s of its start, or cannot be started) is restarted after a wait
    /// that doubles from `poll` up to 30 s, with one log line per restart
    /// naming how it ended, rather than restarted ten times a second.
    pub fn start(
        host: Arc<Host>,
        mut current: Arc<ChildProcess>,
        spawn: impl Fn() -> Result<ChildProcess, BoundaryError> + Send + 'static,
        poll: Duration,
    ) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let shared = Arc::new(Mutex::new(current.clone()));
        let publish = shared.clone();
        let thread = std::thread::spawn(move || {
            let mut started = Instant::now();
            let mut backoff = poll;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(poll);
                let Some(status) = current.exit_status() else { continue };
                host.mark_unready();
                backoff = if started.elapsed() >= STABLE_AFTER {
                    poll
                } else {
                    (backoff * 2).min(MAX_BACKOFF)
                };
                tracing::warn!(pid = current.pid(), %status, retry_in = ?backoff, "enclave process exited; restarting it");
                loop {
                    if sleep_unless_stopped(&flag, backoff) {
                        return;
                    }
                    match spawn() {
                        Ok(next) => {
                            current = Arc::new(next);
                            started = Instant::now();
                            host.replace_enclave(current.clone());
                            *publish.lock().unwrap_or_else(|p| p.into_inner()) = current.clone();
                            host.metrics().enclave_restarted();
                            let ready = host.check_ready();
                            tracing::info!(pid = current.pid(), ready, "enclave restarted");
                            break;
                        }
                        Err(e) => {
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            tracing::error!(error = %e, retry_in = ?backoff, "enclave restart failed");
                        }
                    }
                }
            }
        });
        Self {
            stop,
            thread: Some(thread),
            current: shared,
        }
    }

    /// The enclave process being watched (the latest restart's, if any).
    pub fn current(&self) -> Arc<ChildProcess> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sleeps `total` in short steps; `true` if the supervisor was stopped meanwhile.
fn sleep_unless_stopped(stop: &AtomicBool, total: Duration) -> bool {
    let deadline = Instant::now() + total;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(50)));
    }
    stop.load(Ordering::Relaxed)
}
