//! One started enclave and the server around it: the relay, the enclave process's
//! supervisor and the idle-session sweeper.

use sc_boundary::{BoundaryError, ChildProcess};
use sc_host::{Host, HostLimits, SessionRoutes, Supervisor};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a call into the enclave may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the supervisor checks that the enclave process is alive.
const SUPERVISE_EVERY: Duration = Duration::from_millis(200);
/// How often expired handshakes and idle sessions are swept: often enough that a pending
/// handshake is released within a second of its deadline (the original's timer ticked
/// every 60 s, for idle sessions only).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Threads that run while the server is initialised; dropping them stops them.
struct Serving {
    supervisor: Supervisor,
    _sweeper: Sender<()>,
}

/// An enclave process with its relay.
pub(crate) struct Server {
    path: PathBuf,
    /// The enclave process to supervise next time serving starts (after restarts, the
    /// latest one).
    child: Mutex<Arc<ChildProcess>>,
    routes: Arc<SessionRoutes>,
    serving: Mutex<Option<Serving>>,
}

/// Starts the enclave program. It gets its boundary socket and stdio and nothing else the
/// host application has open, on the first start and on every restart.
fn spawn(path: &Path) -> Result<ChildProcess, BoundaryError> {
    use std::os::unix::process::CommandExt;
    let mut command = std::process::Command::new(path);
    // SAFETY: the hook runs in the child between fork and exec; it only makes system calls
    // (close_range, fcntl), which are async-signal-safe, and allocates nothing.
    unsafe { command.pre_exec(close_inherited_descriptors) };
    ChildProcess::spawn_command(command, CALL_TIMEOUT)
}

/// Marks every descriptor above stderr close-on-exec, so that the exec that follows
/// closes them all. Why: a C host application's sockets (its listener, its clients'
/// connections) are usually opened without close-on-exec; in the enclave they would keep
/// connections open that the host has closed, and a restarted enclave would hold them
/// too. Marking rather than closing leaves the standard library's exec-error pipe working.
fn close_inherited_descriptors() -> std::io::Result<()> {
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only changes descriptor flags.
    let r = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) };
    if r == 0 {
        return Ok(());
    }
    // Kernels before 5.11: each descriptor up to the limit.
    // SAFETY: sysconf has no preconditions.
    let max = unsafe { libc::sysconf(libc::_SC_OPEN_MAX) };
    let max = if max > 0 { max.min(1 << 20) as libc::c_int } else { 1024 };
    for fd in 3..max {
        // SAFETY: fcntl on a descriptor that may not be open fails with EBADF, harmlessly.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

impl Server {
    /// Starts the enclave program at `path`.
    pub(crate) fn start(path: &Path) -> Result<Self, BoundaryError> {
        let child = Arc::new(spawn(path)?);
        let host = Arc::new(Host::new(child.clone(), HostLimits::default()));
        Ok(Self {
            path: path.to_path_buf(),
            child: Mutex::new(child),
            routes: Arc::new(SessionRoutes::new(host)),
            serving: Mutex::new(None),
        })
    }

    fn serving(&self) -> MutexGuard<'_, Option<Serving>> {
        self.serving.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn host(&self) -> &Arc<Host> {
        self.routes.host()
    }

    pub(crate) fn routes(&self) -> &SessionRoutes {
        &self.routes
    }

    /// Starts supervision and idle expiry (no-op when already serving).
    pub(crate) fn serve(&self) {
        let mut serving = self.serving();
        if serving.is_some() {
            return;
        }
        let path = self.path.clone();
        let current = self.child.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let supervisor = Supervisor::start(self.host().clone(), current, move || spawn(&path), SUPERVISE_EVERY);
        let (stop, stopped) = channel::<()>();
        let routes = Arc::downgrade(&self.routes);
        std::thread::spawn(move || {
            // Wakes every SWEEP_EVERY; ends when the sender is dropped.
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SWEEP_EVERY) {
                match routes.upgrade() {
                    Some(r) => r.expire(Instant::now()),
                    None => return,
                };
            }
        });
        *serving = Some(Serving {
            supervisor,
            _sweeper: stop,
        });
    }

    /// Destroys every session and stops serving.
    pub(crate) fn fini(&self) {
        if let Some(s) = self.serving().take() {
            *self.child.lock().unwrap_or_else(|p| p.into_inner()) = s.supervisor.current();
        }
        self.routes.fini();
    }
}
