//! The client's handshake driven by near-valid ServerHellos: a real enclave's answer with a
//! few arbitrary edits. Nothing may panic, and an edited ServerHello is never accepted (the
//! transcript, the evidence binding and the Finished each cover every byte).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_protocol::{BindingMode, CipherSuite, ClientHandshake, EnclaveHandshake, SessionLimits};
use sc_test_support::double;

#[derive(Arbitrary, Debug)]
enum Edit {
    Flip { at: u16, bit: u8 },
    Set { at: u16, value: u8 },
    Truncate { len: u16 },
    Insert { at: u16, bytes: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
struct Input {
    identity_mode: bool,
    suite: u8,
    edits: Vec<Edit>,
}

fuzz_target!(|input: Input| {
    let mode = if input.identity_mode {
        BindingMode::IdentityKey
    } else {
        BindingMode::PerSession
    };
    let suite = CipherSuite::ALL[usize::from(input.suite) % CipherSuite::ALL.len()];
    let client = double::client_config(&[suite], &[mode], SessionLimits::default());
    let enclave = double::enclave_config(&[mode], SessionLimits::default());
    let (hs, hello) = ClientHandshake::start(client, &mut double::rng(1), double::NOW).unwrap();
    let (_, pristine) = EnclaveHandshake::accept(&enclave, 7, &hello, &mut double::rng(2), double::NOW).unwrap();
    let mut sh = pristine.clone();
    for e in &input.edits {
        match e {
            Edit::Flip { at, bit } if !sh.is_empty() => {
                let i = usize::from(*at) % sh.len();
                sh[i] ^= 1 << (bit % 8);
            }
            Edit::Set { at, value } if !sh.is_empty() => {
                let i = usize::from(*at) % sh.len();
                sh[i] = *value;
            }
            Edit::Truncate { len } => sh.truncate(usize::from(*len)),
            Edit::Insert { at, bytes } => {
                let i = usize::from(*at) % (sh.len() + 1);
                sh.splice(i..i, bytes.iter().copied().take(64));
            }
            _ => {}
        }
    }
    let result = hs.read_server_hello(&sh, double::NOW);
    if sh != pristine {
        assert!(result.is_err(), "an edited ServerHello was accepted");
    } else {
        assert!(result.is_ok());
    }
});
