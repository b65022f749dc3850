//! # sc-client: the data owner's side of the secure channel
//!
//! The application owns the network: it gives the client a **send hook** (how to send one
//! channel message to the server) and feeds every channel message it receives into
//! [`Client::callback`]. [`Client::init`] sends the ClientHello and blocks, on a condition
//! variable, never a sleep loop, until the reply has been fed in (from inside the send hook
//! on the same thread, or from a separate receive thread) or the timeout passes.
//!
//! With the `tokio` feature, `AsyncClient` runs the channel over any
//! `AsyncRead + AsyncWrite` stream. [`TcpClient`] is the ready-made TCP client;
//! [`RetryingClient`] adds a retry policy (new handshakes through restarts, drains and
//! load-balancer failovers, never resending a request whose fate is unknown unless it is
//! marked idempotent).
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use sc_client::Client;
//! use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
//! use sc_protocol::{ClientConfig, EnclaveConfig, EnclaveHandshake};
//! use std::time::Duration;
//!
//! // An in-memory "server" standing in for host + enclave (test-double attestation).
//! let enclave = EnclaveConfig::builder().attester(Arc::new(TestDoubleAttester::new([1; 32], [2; 32]))).build()?;
//! let config = Arc::new(ClientConfig::builder().verifier(Arc::new(TestDoubleVerifier::new([1; 32], &[[2; 32]]))).build()?);
//! let client: Arc<Mutex<Option<Arc<Client>>>> = Arc::new(Mutex::new(None));
//! let slot = client.clone();
//! let hook = move |message: &[u8]| -> std::io::Result<()> {
//!     if message[0] == 0x01 { // ClientHello: answer it and feed the reply back
//!         let now = sc_protocol::UnixTime::now();
//!         let (_, reply) = EnclaveHandshake::accept(&enclave, 7, message, &mut rand_core::OsRng, now).unwrap();
//!         let c = slot.lock().unwrap().clone().unwrap();
//!         c.callback(&reply).unwrap();
//!     }
//!     Ok(())
//! };
//! let c = Arc::new(Client::new(config, Box::new(hook), Duration::from_secs(5)));
//! *client.lock().unwrap() = Some(c.clone());
//! c.init()?;
//! assert_eq!(c.session_id(), Some(7));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

#[cfg(feature = "tokio")]
mod async_client;
mod blocking;
mod error;
mod retry;
mod tcp;

#[cfg(feature = "tokio")]
pub use async_client::AsyncClient;
pub use blocking::{Client, SendHook};
pub use error::{ClientError, ProtocolError};
pub use retry::{RetryPolicy, RetryingClient};
pub use tcp::ClientTimeouts;
pub use tcp::{StreamSender, TcpClient};
