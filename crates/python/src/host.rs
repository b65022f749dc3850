//! `Host`: the untrusted relay for Python servers. It starts the enclave program (and
//! restarts it if it dies), and relays each client connection's messages to it; it only
//! ever sees ciphertext.

use crate::client::seconds;
use crate::errors::host_error;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyTuple};
use sc_boundary::ChildProcess;
use sc_host::{ConnId, HostLimits, Routed, SessionRoutes, Supervisor};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How often the supervisor checks that the enclave process is alive.
const SUPERVISE_EVERY: Duration = Duration::from_millis(200);
/// How often expired handshakes and idle sessions are swept.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What runs while the host is open.
struct Running {
    supervisor: Supervisor<ChildProcess>,
    _sweeper: Sender<()>,
}

/// The server's relay to its enclave program (thread-safe).
///
/// `Host(enclave, sim_root=None)` starts the enclave program: `enclave` is its path, or a
/// list of the program and its arguments (`["secure-channel", "enclave"]`); `sim_root`
/// names the simulated root key file (development without a TEE). For each client
/// connection, pass every message it sends to `feed(connection_id, message, send)`,
/// which calls `send(reply)` with what goes back; `disconnect(connection_id)` when the
/// connection goes. Servers that do not track connections pass each message to
/// `handle(message)` instead, which finds the session by the id in the message (as the C
/// host library does).
#[pyclass(frozen, module = "secure_channel", name = "Host")]
pub struct Host {
    host: Arc<sc_host::Host>,
    routes: Arc<SessionRoutes>,
    running: Mutex<Option<Running>>,
    connections: Mutex<HashMap<i64, ConnId>>,
}

fn command(enclave: &Bound<'_, PyAny>) -> PyResult<(PathBuf, Vec<OsString>)> {
    if let Ok(path) = enclave.extract::<PathBuf>() {
        return Ok((path, Vec::new()));
    }
    match enclave.extract::<Vec<OsString>>() {
        Ok(mut parts) if !parts.is_empty() => {
            let program = PathBuf::from(parts.remove(0));
            Ok((program, parts))
        }
        Ok(_) => Err(PyValueError::new_err("enclave: the command is empty")),
        Err(_) => Err(PyTypeError::new_err(
            "enclave must be the enclave program's path or a list of the program and its arguments",
        )),
    }
}

impl Host {
    fn connection(&self, id: i64) -> ConnId {
        *lock(&self.connections).entry(id).or_insert_with(|| self.host.connect())
    }

    fn forget(&self, id: i64) {
        if let Some(conn) = lock(&self.connections).remove(&id) {
            self.host.disconnect(conn);
        }
    }
}

#[pymethods]
impl Host {
    /// Starts the enclave program and the relay. The keyword limits override the host's
    /// defaults (docs/OPERATIONS.md): established sessions, handshakes in progress, the
    /// largest message, the handshake and idle deadlines (seconds), and the enclave
    /// function client records go to.
    #[new]
    #[pyo3(signature = (
        enclave, *, sim_root=None, call_timeout=30.0, max_sessions=None, max_pending=None,
        max_message=None, handshake_timeout=None, idle_timeout=None, data_function=None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        enclave: &Bound<'_, PyAny>,
        sim_root: Option<PathBuf>,
        call_timeout: f64,
        max_sessions: Option<usize>,
        max_pending: Option<usize>,
        max_message: Option<usize>,
        handshake_timeout: Option<f64>,
        idle_timeout: Option<f64>,
        data_function: Option<u32>,
    ) -> PyResult<Self> {
        let mut limits = HostLimits::default();
        let positive = |name: &str, v: usize| {
            if v == 0 {
                Err(PyValueError::new_err(format!("{name} must be at least 1")))
            } else {
                Ok(v)
            }
        };
        if let Some(v) = max_sessions {
            limits.max_sessions = positive("max_sessions", v)?;
        }
        if let Some(v) = max_pending {
            limits.max_pending = positive("max_pending", v)?;
        }
        if let Some(v) = max_message {
            limits.max_message = positive("max_message", v)?;
        }
        if let Some(v) = handshake_timeout {
            limits.handshake_timeout = seconds("handshake_timeout", v)?;
        }
        if let Some(v) = idle_timeout {
            limits.idle_timeout = seconds("idle_timeout", v)?;
        }
        if let Some(v) = data_function {
            limits.data_function = v;
        }
        let (program, mut args) = command(enclave)?;
        if let Some(root) = sim_root {
            args.push("--sim-root".into());
            args.push(root.into_os_string());
        }
        let timeout = seconds("call_timeout", call_timeout)?;
        let spawn = move || ChildProcess::spawn(&program, &args, timeout);
        let child = Arc::new(py.detach(&spawn).map_err(|e| host_error(e.into()))?);
        let host = Arc::new(sc_host::Host::new(child.clone(), limits));
        let supervisor = Supervisor::start(host.clone(), child, spawn, SUPERVISE_EVERY);
        let routes = Arc::new(SessionRoutes::new(host.clone()));
        let (stop, stopped) = channel::<()>();
        let sweeping = Arc::downgrade(&routes);
        std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(SWEEP_EVERY) {
                match sweeping.upgrade() {
                    Some(r) => r.expire(Instant::now()),
                    None => return,
                };
            }
        });
        Ok(Self {
            host,
            routes,
            running: Mutex::new(Some(Running {
                supervisor,
                _sweeper: stop,
            })),
            connections: Mutex::default(),
        })
    }

    /// Relays `message`, received on connection `connection_id` (any integer the server
    /// chooses), and calls `send(reply)` with what goes back. Waits (without the GIL) for
    /// the enclave's answer. On an error the connection is forgotten (close it).
    fn feed(&self, py: Python<'_>, connection_id: i64, message: PyBackedBytes, send: Bound<'_, PyAny>) -> PyResult<()> {
        if !send.is_callable() {
            return Err(PyTypeError::new_err("send must be callable"));
        }
        let conn = self.connection(connection_id);
        let routed = py.detach(|| self.host.handle(conn, &message));
        match routed {
            Ok(Routed::Reply(reply)) => {
                send.call1((PyBytes::new(py, &reply),))?;
            }
            Ok(Routed::ClosedWithReply(reply)) => {
                send.call1((PyBytes::new(py, &reply),))?;
                self.forget(connection_id);
            }
            Ok(Routed::Closed) => self.forget(connection_id),
            Ok(_) => {}
            Err(e) => {
                self.forget(connection_id);
                return Err(host_error(e));
            }
        }
        Ok(())
    }

    /// Relays `message` from some client, finding its session by the id the message
    /// carries (a ClientHello opens a new one); returns the reply to send back to that
    /// client, or None. For servers that do not track connections.
    fn handle<'py>(&self, py: Python<'py>, message: PyBackedBytes) -> PyResult<Option<Bound<'py, PyBytes>>> {
        match py.detach(|| self.routes.handle(&message)).map_err(host_error)? {
            Routed::Reply(reply) | Routed::ClosedWithReply(reply) => Ok(Some(PyBytes::new(py, &reply))),
            _ => Ok(None),
        }
    }

    /// Connection `connection_id` went away: its session is dropped in the enclave.
    fn disconnect(&self, connection_id: i64) {
        self.forget(connection_id);
    }

    /// Calls the enclave's application function `function_id` with a client's encrypted
    /// `record` of session `session_id`; returns the enclave's encrypted answer.
    fn call<'py>(
        &self,
        py: Python<'py>,
        function_id: u32,
        session_id: u64,
        record: PyBackedBytes,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let answer = py
            .detach(|| self.host.app_call(session_id, function_id, &record))
            .map_err(host_error)?;
        Ok(PyBytes::new(py, &answer))
    }

    /// The connections the host relays for now.
    #[getter]
    fn connections(&self) -> usize {
        lock(&self.connections).len()
    }

    /// The enclave program's process id (the current one, after restarts).
    #[getter]
    fn enclave_pid(&self) -> Option<u32> {
        lock(&self.running).as_ref().map(|r| r.supervisor.current().pid())
    }

    /// Drops every session and stops the enclave program. Idempotent.
    fn close(&self, py: Python<'_>) {
        let running = lock(&self.running).take();
        py.detach(|| {
            lock(&self.connections).clear();
            self.routes.fini();
            if let Some(r) = running {
                let child = r.supervisor.current();
                drop(r);
                child.stop();
            }
        });
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> bool {
        self.close(py);
        false
    }
}
