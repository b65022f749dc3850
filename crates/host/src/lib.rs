//! # sc-host: the untrusted relay (REE)
//!
//! The host owns the network and the enclave process but holds no key and never sees
//! plaintext: it routes channel messages between client connections and the enclave
//! through the [`sc_boundary`] call interface.
//!
//! * [`Host`]: the routing table (connection -> session, O(1)) and admission: caps on
//!   connections, pending handshakes and established sessions (in total and per source
//!   address, evicting the oldest unfinished handshake when full), deadlines, typed
//!   refusals ([`HostError`]), enclave restart, `fini`. Safe to share between threads.
//! * [`HostLimits`]: every cap and deadline, with defaults (docs/OPERATIONS.md).
//! * [`serve`] / [`spawn_server`] (feature `tokio`): the event-driven TCP server, which
//!   checks each frame's header before reading its body, holds every connection to its
//!   deadlines, answers refusals with the protocol's alerts, and keeps accepting through
//!   descriptor exhaustion.
//! * [`SessionRoutes`]: the same relay for callers that hand over single messages without
//!   a connection (the C interface): routes found by session id.
//! * [`Supervisor`]: restarts the enclave process when it exits.
//! * [`metrics`]: what the host counts; [`ops`] (feature `tokio`): the `/metrics`,
//!   `/healthz` and `/readyz` endpoint for operators. Readiness ([`Host::is_ready`]) is an
//!   enclave that answered an evidence probe, and a host that is not draining
//!   ([`Host::start_draining`]: stop accepting, finish handshakes, end sessions after
//!   their records in flight).
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

mod admission;
mod by_session;
mod limits;
pub mod metrics;
#[cfg(feature = "tokio")]
pub mod ops;
mod pushes;
mod relay;
#[cfg(feature = "tokio")]
mod server;
mod supervisor;

pub use admission::{ConnId, EvictHook};
pub use by_session::SessionRoutes;
pub use limits::{HostLimits, raise_fd_limit};
#[cfg(feature = "tokio")]
pub use ops::spawn_ops_endpoint;
pub use pushes::{PUSH_WINDOW, PushRoute};
pub use relay::{Clock, DrainHook, Host, HostError, PendingReply, Routed, Stage};
#[cfg(feature = "tokio")]
pub use server::{ENCLAVE_THREADS, serve, spawn_server};
pub use supervisor::{Supervised, Supervisor};
