//! The boundary over a stream socket, so that the enclave program can run apart from the
//! host: in a confidential VM reached over vsock, or in development over a Unix or TCP
//! socket. The calls and their frames are the same as a child process's
//! ([`crate::ChildProcess`]); only the stream differs.
//!
//! * Enclave side: [`Listener::bind`] then [`serve_connections`], which serves one host
//!   connection at a time, for as long as the program runs (a host that restarts simply
//!   connects again).
//! * Host side: [`RemoteEnclave::connect`]. When the link drops, pending and later calls
//!   fail at once with [`BoundaryError::EnclaveExited`]; the host's supervisor connects
//!   again (`sc_host::Supervisor`).
//!
//! What crosses is what crosses a child process's pipe: protocol frames and ciphertext
//! records. The link needs no protection of its own for confidentiality; whoever can
//! reach the enclave's port can only do what the host can (ask it to handshake and to
//! answer records), so bind it where only the host can connect (vsock, a Unix socket with
//! its file's permissions).

mod address;
mod socket;

pub use address::{Address, AddressError};
pub use socket::Listener;

use crate::stream::{Deadlines, StreamTransport};
use crate::{BoundaryError, EnclaveService, EnclaveTransport, PendingCall, Request};
use socket::Socket;
use std::sync::Arc;
use std::time::Duration;

/// How long one write may block before the transport checks its deadline again.
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// An enclave program reached over a socket.
#[derive(Debug)]
pub struct RemoteEnclave {
    address: Address,
    socket: Socket,
    calls: StreamTransport,
}

impl RemoteEnclave {
    /// Connects to the enclave program at `address`. Calls are withdrawn after
    /// `deadlines.call`; with calls pending and no answer for `deadlines.hung_after` the
    /// link is shut down as hung.
    pub fn connect(address: &Address, deadlines: impl Into<Deadlines>) -> Result<Self, BoundaryError> {
        let unreachable = |e: std::io::Error| BoundaryError::Unreachable {
            address: address.to_string(),
            cause: sc_protocol::OtherError::new(e),
        };
        let socket = Socket::connect(address).map_err(unreachable)?;
        socket.set_write_timeout(Some(WRITE_SLICE)).map_err(unreachable)?;
        let hung = socket.try_clone().map_err(unreachable)?;
        let calls = StreamTransport::new(
            socket.try_clone().map_err(unreachable)?,
            socket.try_clone().map_err(unreachable)?,
            deadlines,
            move || hung.shutdown(),
        )?;
        Ok(Self {
            address: address.clone(),
            socket,
            calls,
        })
    }

    /// The address connected to.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// Whether the link is down (dropped, hung or broken); calls fail at once.
    pub fn is_down(&self) -> bool {
        self.calls.is_dead()
    }

    /// Closes the link (the enclave program goes back to waiting for a host).
    pub fn close(&self) {
        self.socket.shutdown();
    }
}

impl EnclaveTransport for RemoteEnclave {
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

impl Drop for RemoteEnclave {
    fn drop(&mut self) {
        self.close();
    }
}

/// The enclave program's side: serves each host connection on `listener` in turn with
/// `workers` threads, until accepting fails. A connection's end (the host exited or
/// dropped the link) is logged and the next is awaited.
pub fn serve_connections<S: EnclaveService>(
    service: Arc<S>,
    listener: &Listener,
    workers: usize,
) -> std::io::Result<()> {
    serve_connections_pushing(|_| service.clone(), listener, workers)
}

/// Like [`serve_connections`], for a service that pushes: `make` gets each host
/// connection's [`crate::Pusher`] (pushes go to the host connected now) and returns the
/// service to serve it with.
pub fn serve_connections_pushing<S: EnclaveService>(
    mut make: impl FnMut(crate::Pusher) -> Arc<S>,
    listener: &Listener,
    workers: usize,
) -> std::io::Result<()> {
    loop {
        let socket = listener.accept()?;
        tracing::info!("host connected");
        let (input, output) = (socket.try_clone()?, socket);
        match crate::serve_pushing(&mut make, input, output, workers) {
            Ok(()) => tracing::info!("host disconnected; waiting for the next"),
            Err(e) => tracing::warn!(error = %e, "host link failed; waiting for the next"),
        }
    }
}
