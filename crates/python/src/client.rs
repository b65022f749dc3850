//! `Client`: a channel to an enclave over TCP (the Rust `TcpClient`), with the GIL
//! released while it waits on the network or computes.

use crate::claims::Claims;
use crate::errors::{ConnectionClosed, client_error};
use crate::policy::Policy;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyTuple};
use sc_client::{ClientError, ClientTimeouts, StreamSender, TcpClient};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A duration in seconds from Python: finite and positive, or ValueError.
pub(crate) fn seconds(name: &str, value: f64) -> PyResult<Duration> {
    if value.is_finite() && value > 0.0 && value < 1e9 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(PyValueError::new_err(format!(
            "{name} must be a positive number of seconds, not {value}"
        )))
    }
}

/// `"host:port"` or `(host, port)`.
fn address(arg: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = arg.extract::<String>() {
        if s.rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(PyValueError::new_err(format!(
                "address must be \"host:port\", not {s:?}"
            )));
        }
        return Ok(s);
    }
    if let Ok(t) = arg.cast::<PyTuple>() {
        if let Ok((host, port)) = t.extract::<(String, u16)>() {
            return Ok(if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            });
        }
    }
    Err(PyTypeError::new_err(format!(
        "address must be \"host:port\" or (host, port), not {}",
        arg.get_type().name()?
    )))
}

/// An attested channel to an enclave over TCP.
///
/// Open it with `Client.connect(address, policy)`; use it as a context manager or close
/// it. Safe to share between threads: sends are serialised, and so are receives.
#[pyclass(frozen, module = "secure_channel", name = "Client")]
pub struct Client {
    /// Sends without waiting for the receiver (pipelining from another thread).
    sender: StreamSender,
    send_lock: Mutex<()>,
    receiver: Mutex<Option<TcpClient>>,
    closed: AtomicBool,
    claims: Claims,
    session_id: u64,
}

impl Client {
    fn check_open(&self) -> PyResult<()> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ConnectionClosed::new_err("the client is closed"));
        }
        Ok(())
    }

    /// Runs `f` on the sender, one sender at a time (so that records leave in the order
    /// they were sealed).
    fn sending<T>(&self, f: impl FnOnce(&StreamSender) -> Result<T, ClientError>) -> Result<T, ClientError> {
        let _order = self.send_lock.lock().unwrap_or_else(|p| p.into_inner());
        f(&self.sender)
    }

    /// `f` on the sender, without the GIL.
    fn send_with(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&StreamSender) -> Result<(), ClientError> + Send,
    ) -> PyResult<()> {
        self.check_open()?;
        py.detach(|| self.sending(f)).map_err(|e| client_error(py, e, None))
    }

    /// `f` on the receiver, one receiver at a time, without the GIL; the record it returns.
    fn receive_with<'py>(
        &self,
        py: Python<'py>,
        f: impl FnOnce(&mut TcpClient) -> Result<Vec<u8>, ClientError> + Send,
    ) -> PyResult<Bound<'py, PyBytes>> {
        self.check_open()?;
        let got = py.detach(|| {
            let mut receiver = self.receiver.lock().unwrap_or_else(|p| p.into_inner());
            receiver.as_mut().map(f)
        });
        match got {
            Some(Ok(reply)) => Ok(PyBytes::new(py, &reply)),
            Some(Err(e)) => Err(client_error(py, e, None)),
            None => Err(ConnectionClosed::new_err("the client is closed")),
        }
    }
}

#[pymethods]
impl Client {
    /// Connects to `address` ("host:port" or (host, port)), attests the enclave against
    /// `policy` (a Policy or a policy file's path) and establishes the channel.
    ///
    /// `timeout` bounds the connection and the handshake, `request_timeout` each reply
    /// (None: wait for ever), in seconds. `streams=True` asks for a stream session (both
    /// sides send whenever they like; see docs/TUNNEL.md).
    ///
    /// Raises AttestationRejected (with `reason` and the `claims` the evidence stated),
    /// ServerBusy, HandshakeTimeout, ConnectionClosed, ProtocolError.
    #[classmethod]
    #[pyo3(signature = (address, policy, timeout=10.0, request_timeout=Some(30.0), streams=false))]
    fn connect(
        _cls: &Bound<'_, pyo3::types::PyType>,
        py: Python<'_>,
        address: &Bound<'_, PyAny>,
        policy: &Bound<'_, PyAny>,
        timeout: f64,
        request_timeout: Option<f64>,
        streams: bool,
    ) -> PyResult<Self> {
        let address = self::address(address)?;
        let policy = Policy::from_arg(policy)?;
        let timeouts = ClientTimeouts {
            connect: seconds("timeout", timeout)?,
            handshake: seconds("timeout", timeout)?,
            request: request_timeout.map(|t| seconds("request_timeout", t)).transpose()?,
        };
        let (config, verifier) = policy.client_config(streams, false)?;
        let client = py
            .detach(|| TcpClient::connect_with(address.as_str(), config, timeouts))
            .map_err(|e| client_error(py, e, verifier.take_refused()))?;
        let claims = client
            .client()
            .peer_claims()
            .ok_or_else(|| crate::errors::ProtocolError::new_err("established without claims"))?;
        Ok(Self {
            sender: client.sender(),
            send_lock: Mutex::new(()),
            session_id: client.client().session_id().unwrap_or_default(),
            receiver: Mutex::new(Some(client)),
            closed: AtomicBool::new(false),
            claims: claims.into(),
        })
    }

    /// The enclave's verified claims.
    #[getter]
    fn claims(&self) -> Claims {
        self.claims.clone()
    }

    /// The session's id.
    #[getter]
    fn session_id(&self) -> u64 {
        self.session_id
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Sends `data` encrypted and returns the enclave's decrypted reply.
    fn request<'py>(&self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
        // The reply read is the one for this request: the receiver is held across the send.
        self.receive_with(py, |r| {
            self.sending(|s| s.send(&data))?;
            r.recv()
        })
    }

    /// Sends `data` as one record without waiting for a reply (pipelining: replies come
    /// back in order through `recv()`).
    fn send(&self, py: Python<'_>, data: PyBackedBytes) -> PyResult<()> {
        self.send_with(py, |s| s.send(&data))
    }

    /// Receives the next reply (or, on a stream session, the next record the enclave
    /// sent). Raises StreamEnded at the end of the enclave's stream.
    fn recv<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        self.receive_with(py, TcpClient::recv)
    }

    /// Ends this side's stream (stream sessions): the enclave's data still comes.
    fn end_stream(&self, py: Python<'_>) -> PyResult<()> {
        self.send_with(py, StreamSender::end_stream)
    }

    /// Closes the session at the server and the connection. Idempotent. A thread blocked
    /// in `recv()` is woken (it raises ConnectionClosed).
    fn close(&self, py: Python<'_>) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        py.detach(|| match self.receiver.try_lock() {
            Ok(mut receiver) => {
                if let Some(client) = receiver.take() {
                    let _ = client.close();
                }
            }
            // Another thread is reading: cut the connection under it.
            Err(_) => self.sender.shutdown(),
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

    fn __repr__(&self) -> String {
        format!(
            "<secure_channel.Client session={} measurement={}{}>",
            self.session_id,
            self.claims.measurement_hex(),
            if self.closed() { " closed" } else { "" }
        )
    }
}
