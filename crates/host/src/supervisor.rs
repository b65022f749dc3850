//! Keeps an enclave reachable: when its process exits (or the link to a remote enclave
//! drops), pending calls have already failed (the boundary fails them the moment its
//! stream ends) and the host reports not ready; the supervisor starts a new process (or
//! connects again) and installs it in the host, which probes it for readiness. Clients
//! then handshake again.

use crate::relay::Host;
use sc_boundary::remote::RemoteEnclave;
use sc_boundary::{BoundaryError, ChildProcess, EnclaveTransport};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// An enclave the supervisor can watch: a child process, or the link to a remote one.
pub trait Supervised: EnclaveTransport + Send + Sync + 'static {
    /// How it ended, once it has (an exit status; "the link dropped").
    fn ended(&self) -> Option<String>;
}

impl Supervised for ChildProcess {
    fn ended(&self) -> Option<String> {
        self.exit_status().map(|s| format!("process {s}"))
    }
}

impl Supervised for RemoteEnclave {
    fn ended(&self) -> Option<String> {
        self.is_down().then(|| format!("link to {} dropped", self.address()))
    }
}

/// A running supervisor; dropping it stops supervising (the enclave keeps running).
#[derive(Debug)]
pub struct Supervisor<T = ChildProcess> {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    current: Arc<Mutex<Arc<T>>>,
}

/// The longest wait between restarts of an enclave that keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// An enclave that ran this long before exiting counts as having started well: the next
/// restart is immediate again.
const STABLE_AFTER: Duration = Duration::from_secs(10);

impl<T: Supervised> Supervisor<T> {
    /// Watches `current` every `poll` (choose well under a second); when it ends, makes a
    /// replacement with `spawn` (a new process, a new connection) and installs it in
    /// `host`. An enclave that keeps failing (ends within 10 s of its start, or cannot be
    /// started or reached) is retried after a wait that doubles from `poll` up to 30 s,
    /// with one log line per attempt naming how it ended, rather than ten times a second.
    pub fn start(
        host: Arc<Host>,
        mut current: Arc<T>,
        spawn: impl Fn() -> Result<T, BoundaryError> + Send + 'static,
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
                let Some(how) = current.ended() else { continue };
                host.mark_unready();
                backoff = if started.elapsed() >= STABLE_AFTER {
                    poll
                } else {
                    (backoff * 2).min(MAX_BACKOFF)
                };
                tracing::warn!(ended = %how, retry_in = ?backoff, "enclave gone; starting or reaching it again");
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
                            tracing::info!(ready, "enclave back");
                            break;
                        }
                        Err(e) => {
                            backoff = (backoff * 2).min(MAX_BACKOFF);
                            tracing::error!(error = %sc_protocol::ErrorChain(&e), retry_in = ?backoff, "enclave restart or reconnection failed");
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

    /// The enclave being watched (the latest restart's, if any).
    pub fn current(&self) -> Arc<T> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl<T> Drop for Supervisor<T> {
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
