//! Keeps an enclave process running: when it exits, pending calls have already failed
//! (the boundary fails them the moment its pipe closes); the supervisor starts a new process
//! and installs it in the host. Clients then handshake again.

use crate::relay::Host;
use sc_boundary::{BoundaryError, ChildProcess};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A running supervisor; dropping it stops supervising (the enclave keeps running).
#[derive(Debug)]
pub struct Supervisor {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    current: Arc<Mutex<Arc<ChildProcess>>>,
}

impl Supervisor {
    /// Watches `current` every `poll` (choose well under a second); on exit, starts a
    /// replacement with `spawn` (retrying every `poll` on failure) and installs it in `host`.
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
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(poll);
                if !current.has_exited() {
                    continue;
                }
                tracing::warn!(pid = current.pid(), "enclave process exited; restarting it");
                match spawn() {
                    Ok(next) => {
                        current = Arc::new(next);
                        host.replace_enclave(current.clone());
                        *publish.lock().unwrap_or_else(|p| p.into_inner()) = current.clone();
                        tracing::info!(pid = current.pid(), "enclave restarted");
                    }
                    Err(e) => tracing::error!(error = %e, "enclave restart failed; retrying"),
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
