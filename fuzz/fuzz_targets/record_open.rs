//! Records against a live session: both sides seal (with key updates every few records),
//! and the host delivers any of them, in any order, any number of times, edited or not, to
//! either side (reflection included). Nothing may panic; a side accepts only records the
//! other side sealed, unedited, each at most once, with the plaintext that was sealed, and
//! strictly in the order they were sealed with none skipped (protocol v2, §10).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_protocol::msgs::CloseReason;
use sc_protocol::{BindingMode, CipherSuite, Incoming, KeyUpdateLimits, SessionLimits};
use sc_test_support::double::NOW;
use sc_test_support::pair::Pair;

#[derive(Arbitrary, Debug)]
enum Op {
    /// The client (true) or the enclave seals a record of `len` bytes.
    Seal { by_client: bool, len: u8 },
    /// Deliver sealed record `index` to the client (true) or the enclave, edited or not.
    Deliver {
        index: u8,
        to_client: bool,
        flip: Option<(u16, u8)>,
    },
    /// Close from the client (true) or the enclave.
    Close { by_client: bool },
}

struct Sealed {
    by_client: bool,
    record: Vec<u8>,
    plaintext: Option<Vec<u8>>,
    accepted: bool,
}

fuzz_target!(|ops: Vec<Op>| {
    let limits = SessionLimits {
        key_update: KeyUpdateLimits {
            max_records: 3,
            ..KeyUpdateLimits::default()
        },
        ..SessionLimits::default()
    };
    let pair = Pair::with_limits(CipherSuite::X25519Aes256GcmSha256, BindingMode::PerSession, limits);
    let (mut client, mut enclave, _) = pair.handshake();
    let mut sealed: Vec<Sealed> = Vec::new();
    // How many of the other side's records each side accepted: [client, enclave].
    let mut received = [0usize; 2];
    for op in ops.iter().take(64) {
        match op {
            Op::Seal { by_client, len } => {
                let plaintext = vec![*len; usize::from(*len)];
                let side = if *by_client { &mut client } else { &mut enclave };
                if let Ok(record) = side.seal(NOW, &plaintext) {
                    sealed.push(Sealed {
                        by_client: *by_client,
                        record,
                        plaintext: Some(plaintext),
                        accepted: false,
                    });
                }
            }
            Op::Close { by_client } => {
                let side = if *by_client { &mut client } else { &mut enclave };
                if let Ok(record) = side.seal_close(NOW, CloseReason::Normal) {
                    sealed.push(Sealed {
                        by_client: *by_client,
                        record,
                        plaintext: None,
                        accepted: false,
                    });
                }
            }
            Op::Deliver { index, to_client, flip } => {
                let Some(s) = (!sealed.is_empty()).then(|| usize::from(*index) % sealed.len()) else {
                    continue;
                };
                let mut bytes = sealed[s].record.clone();
                if let Some((at, bit)) = flip {
                    let i = usize::from(*at) % bytes.len();
                    bytes[i] ^= 1 << (bit % 8);
                }
                let edited = bytes != sealed[s].record;
                let receiver = if *to_client { &mut client } else { &mut enclave };
                let opened = match receiver.open_in_place(NOW, &mut bytes) {
                    Ok(Incoming::Data(p)) => Some(p.to_vec()),
                    Ok(Incoming::Close(_)) => None,
                    Ok(Incoming::EndOfStream { .. }) => panic!("an EndOfStream on a session without streams"),
                    Err(_) => continue,
                };
                assert!(!edited, "an edited record was accepted");
                assert_ne!(sealed[s].by_client, *to_client, "a reflected record was accepted");
                assert!(!sealed[s].accepted, "a record was accepted twice");
                assert_eq!(opened, sealed[s].plaintext, "accepted with other content");
                // Strictly in order: the receiver's n-th accepted record is the sender's
                // n-th sealed one.
                let r = &mut received[usize::from(!*to_client)];
                let nth = sealed.iter().enumerate().filter(|(_, x)| x.by_client == sealed[s].by_client).nth(*r);
                assert_eq!(nth.map(|(i, _)| i), Some(s), "a record accepted out of order or after a gap");
                *r += 1;
                sealed[s].accepted = true;
            }
        }
    }
});
