//! # sc-test-support: what the tests and benchmarks of every crate share
//!
//! One home for fixtures that were assembled by hand in several places:
//!
//! * [`double`]: deterministic configurations with the protocol core's test-double
//!   attestation (fixed key, measurement, time and seeds);
//! * [`pair`]: a client and an enclave handshaking in memory, with a tamper hook on each
//!   message (the untrusted host's position);
//! * [`sim`]: simulated-TEE policies, as a [`sc_attestation::Policy`] or as the TOML a
//!   policy file holds, and client configurations verifying against them;
//! * [`stack`]: the real process stack: the enclave program as its own process, the host
//!   with its supervisor, and the network server on a loopback port;
//! * [`evidence`]: the real evidence sets, and DCAP collateral re-shaped as Intel PCS
//!   responses;
//! * [`http`]: a loopback HTTP server with scripted answers (collateral services);
//! * [`relay`]: a hostile TCP relay that edits one direction's records;
//! * [`eventually`]: waiting for a condition with a limit.
//!
//! `publish = false`: shipped crates never depend on it.
//!
//! ```
//! use sc_protocol::{BindingMode, CipherSuite};
//! use sc_test_support::pair::Pair;
//!
//! // A handshake in memory; the host position may rewrite any message.
//! let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession);
//! let (mut client, mut enclave, _) = pair.handshake();
//! let record = client.seal(sc_test_support::double::NOW, b"hello").unwrap();
//! assert_eq!(enclave.open(sc_test_support::double::NOW, &record).unwrap(), b"hello");
//! // One flipped bit in the ServerHello and the client refuses.
//! let tampered = pair.run(|_, m| m.to_vec(), |_, m| { let mut m = m.to_vec(); m[20] ^= 1; m }, |_, m| m.to_vec());
//! assert!(tampered.is_err());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod double;
pub mod evidence;
pub mod http;
pub mod pair;
pub mod relay;
pub mod sim;
pub mod stack;

use std::time::{Duration, Instant};

/// Waits until `f` holds, checking every 10 ms, up to `limit`; returns whether it held.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}
