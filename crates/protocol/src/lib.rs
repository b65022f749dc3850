//! # sc-protocol: the sans-IO core of the attested secure channel
//!
//! A data owner (client) and an enclave agree on session keys bound to remote attestation
//! of the enclave; the untrusted host between them relays ciphertext only. This crate is
//! the protocol and nothing else: bytes in, bytes out. It opens no socket, starts no
//! thread and reads no clock: the caller passes `now` and an RNG, so every run can be
//! reproduced. The one exception is opt-in: a configuration with
//! [`EphemeralKeys::SystemRng`] draws its ephemeral keys from ring's system RNG (for
//! ring's faster X25519); everything else still comes from the caller's RNG. It is
//! `no_std` (with `alloc`).
//!
//! * [`codec`] and [`msgs`]: the wire format of docs/PROTOCOL.md over a bounds-checked
//!   reader.
//! * [`ClientHandshake`] and [`EnclaveHandshake`]: typed handshake states that turn into a
//!   [`Session`]; one round trip, attestation verified through the [`Verifier`] and
//!   [`Attester`] traits, in either [`BindingMode`].
//! * [`Session`]: records accepted strictly in sequence, ends that say what they
//!   received ([`msgs::CloseBody`]), key update and expiry.
//!
//! ```
//! use std::sync::Arc;
//! use rand_core::OsRng;
//! use sc_protocol::testing::{TestDoubleAttester, TestDoubleVerifier};
//! use sc_protocol::{ClientConfig, ClientHandshake, EnclaveConfig, EnclaveHandshake, UnixTime};
//!
//! // Attestation: a test double here; real platforms come from the attestation crate.
//! let (key, measurement) = ([7u8; 32], [1u8; 32]);
//! let client = Arc::new(ClientConfig::builder()
//!     .verifier(Arc::new(TestDoubleVerifier::new(key, &[measurement])))
//!     .build()?);
//! let enclave = EnclaveConfig::builder()
//!     .attester(Arc::new(TestDoubleAttester::new(key, measurement)))
//!     .build()?;
//! let now = UnixTime::from_secs(1_700_000_000);
//!
//! let (hs, client_hello) = ClientHandshake::start(client, &mut OsRng, now)?;
//! let (pending, server_hello) = EnclaveHandshake::accept(&enclave, 1, &client_hello, &mut OsRng, now)?;
//! let mut established = hs.read_server_hello(&server_hello, now)?;
//! let mut enclave_session = pending.read_client_finished(&established.client_finished, now)?;
//!
//! let record = established.session.seal(now, b"private data")?;
//! assert_eq!(enclave_session.open(now, &record)?, b"private data");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

extern crate alloc;

pub mod attestation;
pub mod binding;
pub mod codec;
mod config;
mod crypto;
mod error;
mod handshake;
#[cfg(feature = "std")]
pub mod io;
pub mod msgs;
mod other_error;
mod record;
mod suite;
#[cfg(feature = "test-double")]
pub mod testing;
mod time;

pub use attestation::{
    AttestationError, Attester, AttesterError, Claims, CollateralCandidate, Evidence, Mismatch, TcbRejection,
    TcbStatus, Verifier,
};
pub use binding::IdentityCredential;
pub use config::{
    ClientConfig, ClientConfigBuilder, EnclaveConfig, EnclaveConfigBuilder, EphemeralKeys, KeyLog, KeyUpdateLimits,
    SessionLimits,
};
pub use error::{ConfigError, Error, RecordError};
pub use handshake::{AwaitingClientFinished, ClientHandshake, EnclaveHandshake, Established};
pub use other_error::{ErrorChain, OtherError};
pub use record::{Incoming, Role, Session};
pub use suite::{
    AeadAlgorithm, BindingMode, CipherSuite, Group, HashAlgorithm, PlatformId, ProtocolVersion, SignatureScheme,
};
pub use time::UnixTime;
