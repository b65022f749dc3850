//! The enclave's handshake driven by near-valid transcripts: a real ClientHello and
//! ClientFinished (from a seeded client), each with a few arbitrary edits, through the
//! session manager (which drives `EnclaveHandshake` and answers alerts). Nothing may panic,
//! an edited ClientFinished must never open a session, and the table's counts stay exact.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_fuzz::{Edit, apply};
use sc_boundary::ChannelOutcome;
use sc_enclave::{EnclaveLimits, SessionManager};
use sc_protocol::ClientHandshake;
use sc_test_support::double;

#[derive(Arbitrary, Debug)]
struct Input {
    seed: u8,
    hello_edits: Vec<Edit>,
    finished_edits: Vec<Edit>,
    send_finished_twice: bool,
}

fuzz_target!(|input: Input| {
    let m = SessionManager::new(double::enclave(), None, EnclaveLimits::default()).with_seed(1);
    let (hs, mut hello) =
        ClientHandshake::start(double::client(), &mut double::rng(u64::from(input.seed)), double::NOW).unwrap();
    let pristine_hello = hello.clone();
    apply(&mut hello, &input.hello_edits);
    let Ok(outcome) = m.handle_channel(&hello, double::NOW) else {
        return;
    };
    let ChannelOutcome::Accepted { server_hello, .. } = outcome else {
        assert_eq!(m.pending_handshakes(), 0, "a refused hello holds nothing");
        return;
    };
    assert_eq!(m.pending_handshakes(), 1);
    let Ok(est) = hs.read_server_hello(&server_hello, double::NOW) else {
        // The client refuses an answer to an edited hello (the transcripts differ).
        assert_ne!(hello, pristine_hello);
        return;
    };
    let mut finished = est.client_finished.clone();
    apply(&mut finished, &input.finished_edits);
    let result = m.handle_channel(&finished, double::NOW);
    if finished != est.client_finished {
        assert_eq!(m.open_sessions(), 0, "an edited ClientFinished never opens a session");
    } else {
        assert!(matches!(result, Ok(ChannelOutcome::Established { .. })));
        assert_eq!(m.open_sessions(), 1);
    }
    if input.send_finished_twice {
        let _ = m.handle_channel(&finished, double::NOW);
        assert!(m.open_sessions() <= 1);
    }
    // A ClientFinished edited to name another session leaves the handshake pending (it
    // expires at its deadline); the one handshake is never both pending and open.
    assert!(m.pending_handshakes() + m.open_sessions() <= 1);
});
