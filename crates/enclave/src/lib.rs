//! # sc-enclave: the enclave (TEE) side of the secure channel
//!
//! * [`SessionManager`]: every handshake and session of one enclave, sharded by session id,
//!   with capacity limits, idle expiry, and `encrypt`/`decrypt` by session id for
//!   application code.
//! * [`ChannelService`]: the enclave's [`sc_boundary::EnclaveService`]: channel messages go
//!   to the session manager; application calls carry ciphertext in and out, and only here,
//!   inside the enclave, is it decrypted and handed to a registered function.
//!
//! * [`program`]: the body of an enclave program (attest, sweep, serve the boundary), shared
//!   by the demo enclave (`secure-channel enclave` in `crates/cli`) and the C runtime
//!   (`libtsecure_channel.a`).
//!
//! ```
//! use std::sync::Arc;
//! use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
//! use sc_protocol::testing::TestDoubleAttester;
//! use sc_protocol::{EnclaveConfig, UnixTime};
//!
//! let config = EnclaveConfig::builder()
//!     .attester(Arc::new(TestDoubleAttester::new([1; 32], [2; 32]))) // test double, no TEE
//!     .build()?;
//! let sessions = Arc::new(SessionManager::new(config, None, EnclaveLimits::default()));
//! let mut service = ChannelService::new(sessions, Arc::new(|| UnixTime::from_secs(1_800_000_000)));
//! service.register(1, Arc::new(|_session, request: &[u8]| request.to_ascii_uppercase()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

mod error;
pub mod forward;
pub mod order;
pub mod program;
mod service;
mod sessions;
pub mod streams;
mod sync;

pub use error::EnclaveError;
pub use service::{AppCall, AppFunction, ChannelService, RecordFunction};
pub use sessions::{EnclaveLimits, Plaintext, SessionManager};
