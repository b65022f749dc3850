//! The handshake: one round trip, typed states that turn into a [`crate::Session`].
//!
//! ```text
//! client                                   enclave
//! ClientHandshake::start ── ClientHello ──▶ EnclaveHandshake::accept
//!                        ◀── ServerHello ── (evidence, [signature], Finished)
//! read_server_hello ──── ClientFinished ──▶ AwaitingClientFinished::read_client_finished
//! Session (may send at once)                Session
//! ```

mod client;
mod enclave;

pub use client::{ClientHandshake, Established};
pub use enclave::{AwaitingClientFinished, EnclaveHandshake};

use crate::codec::Codec;
use crate::error::Error;
use crate::msgs::{Alert, Frame, MessageType};

/// Largest handshake frame body accepted (a ServerHello with maximal evidence).
const MAX_HANDSHAKE_BODY: usize = crate::msgs::MAX_EVIDENCE_LEN + 64 * 1024;

/// Parses `bytes` as a frame of type `expected`; an alert becomes [`Error::PeerAlert`].
fn expect_frame(bytes: &[u8], expected: MessageType) -> Result<Frame<'_>, Error> {
    let frame = Frame::parse(bytes, MAX_HANDSHAKE_BODY)?;
    if frame.msg_type == expected {
        return Ok(frame);
    }
    if frame.msg_type == MessageType::Alert {
        let alert = Alert::read_exact(frame.body, "alert")?;
        return Err(Error::PeerAlert(alert.code));
    }
    Err(Error::UnexpectedMessage {
        expected,
        got: frame.msg_type,
    })
}

/// A new ephemeral key from the configured source.
fn ephemeral_key(
    source: crate::config::EphemeralKeys,
    rng: &mut dyn rand_core::CryptoRngCore,
) -> Result<crate::crypto::kx::EphemeralKey, Error> {
    use crate::crypto::kx::EphemeralKey;
    match source {
        crate::config::EphemeralKeys::Injected => Ok(EphemeralKey::from_random(random::<32>(rng)?)),
        crate::config::EphemeralKeys::SystemRng => EphemeralKey::from_system_rng().ok_or(Error::Random),
    }
}

/// Fills `N` bytes from the injected RNG.
fn random<const N: usize>(rng: &mut dyn rand_core::CryptoRngCore) -> Result<[u8; N], Error> {
    let mut out = [0u8; N];
    rng.try_fill_bytes(&mut out).map_err(|_| Error::Random)?;
    Ok(out)
}
