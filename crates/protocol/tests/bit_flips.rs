//! Exhaustive tamper test: every single-bit flip of every handshake message of a real
//! transcript makes the handshake fail with a typed error, in both binding modes.

use sc_protocol::msgs::AlertCode;
use sc_protocol::{BindingMode, CipherSuite};
use sc_test_support::pair::*;

fn flip(m: &[u8], bit: usize) -> Vec<u8> {
    let mut v = m.to_vec();
    v[bit / 8] ^= 1 << (bit % 8);
    v
}

fn sweep(mode: BindingMode) {
    let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, mode);
    let (_, _, t) = pair.handshake();
    let messages = [&t.client_hello, &t.server_hello, &t.client_finished];
    for (which, msg) in messages.iter().enumerate() {
        for bit in 0..msg.len() * 8 {
            let tamper = |i: usize, m: &[u8]| if i == which { flip(m, bit) } else { m.to_vec() };
            let result = pair.run(tamper, tamper, tamper);
            // A typed error and never a session; and never one that reads as a failure of
            // our own (a flip is the peer's doing, not an internal error).
            let err = result
                .err()
                .unwrap_or_else(|| panic!("{mode:?}: flip of bit {bit} in message {which} accepted"));
            assert_ne!(
                err.alert_code(),
                AlertCode::InternalError,
                "{mode:?}: flip of bit {bit} in message {which}: {err:?}"
            );
        }
    }
}

#[test]
fn every_bit_flip_fails_per_session_mode() {
    sweep(BindingMode::PerSession);
}

#[test]
fn every_bit_flip_fails_identity_key_mode() {
    sweep(BindingMode::IdentityKey);
}
