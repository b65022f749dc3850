//! `Channel`: the client for applications that own their transport (the C library's
//! init/callback flow): the channel hands each message to a `send` callable, and the
//! application feeds back each message it receives.

use crate::claims::Claims;
use crate::client::seconds;
use crate::errors::client_error;
use crate::policy::{Policy, Recording};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyTuple};
use sc_client::Client;
use std::sync::{Arc, Mutex};

/// A client channel over a transport the application owns.
///
/// `send` is called with each message to deliver to the server (bytes); every message
/// received from the server goes to `feed()`, either from inside `send` (read the answer
/// there, as the C examples do) or from a thread that reads the connection. `open()` runs
/// the handshake; then `encrypt()` requests and `decrypt()` replies.
#[pyclass(frozen, module = "secure_channel", name = "Channel")]
pub struct Channel {
    client: Client,
    verifier: Arc<Recording>,
    /// What `send` raised, to raise again from the call that sent.
    hook_error: Arc<Mutex<Option<PyErr>>>,
}

impl Channel {
    /// The exception for a failure: the send callable's own if it raised.
    fn error(&self, py: Python<'_>, e: sc_client::ClientError) -> PyErr {
        if let Some(raised) = self.hook_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            return raised;
        }
        client_error(py, e, self.verifier.take_refused())
    }
}

#[pymethods]
impl Channel {
    /// A channel accepting enclaves by `policy` (a Policy or a policy file's path) that
    /// sends with `send(message: bytes)`; the handshake waits at most `timeout` seconds.
    /// `acknowledgements=True` asks the server to answer every message the client sends
    /// (for transports that read one answer after each send).
    #[new]
    #[pyo3(signature = (policy, send, timeout=10.0, acknowledgements=false))]
    fn new(policy: &Bound<'_, PyAny>, send: Bound<'_, PyAny>, timeout: f64, acknowledgements: bool) -> PyResult<Self> {
        if !send.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err("send must be callable"));
        }
        let policy = Policy::from_arg(policy)?;
        let (config, verifier) = policy.client_config(false, acknowledgements)?;
        let hook_error: Arc<Mutex<Option<PyErr>>> = Arc::default();
        let (send, raised) = (send.unbind(), hook_error.clone());
        let hook = move |message: &[u8]| -> std::io::Result<()> {
            Python::attach(|py| match send.call1(py, (PyBytes::new(py, message),)) {
                Ok(_) => Ok(()),
                Err(e) => {
                    let text = e.to_string();
                    *raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    Err(std::io::Error::other(format!("the send callable raised: {text}")))
                }
            })
        };
        Ok(Self {
            client: Client::new(config, Box::new(hook), seconds("timeout", timeout)?),
            verifier,
            hook_error,
        })
    }

    /// Runs the handshake: sends the ClientHello, waits for the ServerHello to be fed,
    /// verifies the enclave, sends the ClientFinished. Raises what `Client.connect` raises,
    /// or what `send` raised.
    fn open(&self, py: Python<'_>) -> PyResult<()> {
        py.detach(|| self.client.init()).map_err(|e| self.error(py, e))
    }

    /// Feeds one message received from the server.
    fn feed(&self, py: Python<'_>, message: PyBackedBytes) -> PyResult<()> {
        py.detach(|| self.client.callback(&message))
            .map_err(|e| self.error(py, e))
    }

    /// Encrypts `data` into a record for the server.
    fn encrypt<'py>(&self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
        let record = py
            .detach(|| self.client.encrypt(&data))
            .map_err(|e| self.error(py, e))?;
        Ok(PyBytes::new(py, &record))
    }

    /// Decrypts a record from the server. Raises SessionClosed for the enclave's Close.
    fn decrypt<'py>(&self, py: Python<'py>, record: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
        let data = py
            .detach(|| self.client.decrypt(&record))
            .map_err(|e| self.error(py, e))?;
        Ok(PyBytes::new(py, &data))
    }

    /// Ends the session: its Close goes out through `send`. Idempotent.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        match py.detach(|| self.client.finish()) {
            Ok(()) | Err(sc_client::ClientError::NotEstablished) => Ok(()),
            Err(e) => Err(self.error(py, e)),
        }
    }

    /// The enclave's verified claims (None before the handshake completes).
    #[getter]
    fn claims(&self) -> Option<Claims> {
        self.client.peer_claims().map(Claims::from)
    }

    /// The session's id (None before the handshake).
    #[getter]
    fn session_id(&self) -> Option<u64> {
        self.client.session_id()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
