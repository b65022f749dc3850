//! The client's handshake driven by near-valid ServerHellos: a real enclave's answer with a
//! few arbitrary edits. Nothing may panic, and an edited ServerHello is never accepted (the
//! transcript, the evidence binding and the Finished each cover every byte).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_fuzz::{Edit, apply};
use sc_protocol::{BindingMode, CipherSuite, ClientHandshake, EnclaveHandshake, SessionLimits};
use sc_test_support::double;

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
    apply(&mut sh, &input.edits);
    let result = hs.read_server_hello(&sh, double::NOW);
    if sh != pristine {
        assert!(result.is_err(), "an edited ServerHello was accepted");
    } else {
        assert!(result.is_ok());
    }
});
