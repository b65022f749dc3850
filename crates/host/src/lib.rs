//! # sc-host: the untrusted relay (REE)
//!
//! The host owns the network and the enclave process but holds no key and never sees
//! plaintext: it routes channel messages between client connections and the enclave
//! through the [`sc_boundary`] call interface.
//!
//! * [`Host`]: the routing table (connection -> session, O(1)), limits with typed errors
//!   (established sessions, pending handshakes, message size), idle expiry, enclave
//!   restart, `fini`. Safe to share between threads (one thread per connection) and usable
//!   from async servers.
//! * [`serve_tcp`]: a thread-per-connection TCP server; [`read_message`] reads one channel
//!   frame from a stream.
//! * [`SessionRoutes`]: the same relay for callers that hand over single messages without
//!   a connection (the C interface): routes found by session id.
//! * [`Supervisor`]: restarts the enclave process when it exits.
//! * `serve_tokio` (feature `tokio`): the same server on tokio.
//!
//! ```
//! use std::sync::Arc;
//! use sc_boundary::{EnclaveService, InProcess, Request, Response};
//! use sc_host::{Host, HostLimits};
//!
//! struct NoEnclave; // stands in for a real enclave in this example
//! impl EnclaveService for NoEnclave {
//!     fn call(&self, _: Request) -> Response { Response::Done }
//! }
//! let host = Host::new(Arc::new(InProcess::new(Arc::new(NoEnclave))), HostLimits::default());
//! let conn = host.connect();
//! assert!(host.handle(conn, b"not a frame").is_err());
//! host.disconnect(conn);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod by_session;
mod relay;
mod supervisor;
mod tcp;
#[cfg(feature = "tokio")]
mod tokio_server;

pub use by_session::SessionRoutes;
pub use relay::{ConnId, Host, HostError, HostLimits, PendingReply, Routed};
pub use sc_protocol::io::read_message;
pub use supervisor::Supervisor;
pub use tcp::serve_tcp;
#[cfg(feature = "tokio")]
pub use tokio_server::serve_tokio;
