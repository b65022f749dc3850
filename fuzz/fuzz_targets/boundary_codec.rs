//! The boundary's codec from both ends, on arbitrary streams: the enclave's serve loop
//! reading calls, and the host's transport reading answers. Neither may panic or hang; a
//! malformed stream ends in errors, never in a call answered with another call's answer.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sc_boundary::{ChannelOutcome, Deadlines, EnclaveService, EnclaveTransport, Request, Response, StreamTransport};
use std::io::Cursor;
use std::sync::Arc;
use std::time::Duration;

/// Answers every call by echoing it, so that an answer shows which call it was for.
struct Echo;

impl EnclaveService for Echo {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Channel { message } => Response::Channel(ChannelOutcome::Refused { alert: message }),
            Request::App { record, .. } => Response::App { record },
            Request::CloseSession { .. } | Request::Credit { .. } => Response::Done,
            Request::EndSession { session_id } => Response::Channel(ChannelOutcome::Closed {
                reply: (session_id & 1 == 1).then(|| session_id.to_be_bytes().to_vec()),
            }),
            Request::Evidence { nonce } => Response::Evidence(sc_boundary::ProbeEvidence {
                platform: sc_protocol::PlatformId(u16::from_be_bytes([nonce[0], nonce[1]])),
                evidence: nonce.to_vec(),
                collateral: (nonce[2] & 1 == 1).then(|| nonce[3..].to_vec()),
            }),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// What the host sends the enclave.
    calls: Vec<u8>,
    /// What the enclave answers the host.
    answers: Vec<u8>,
    /// How many calls the host makes before it reads.
    submit: u8,
}

fuzz_target!(|input: Input| {
    // The enclave side: a serve loop over the arbitrary call stream.
    let _ = sc_boundary::serve(Arc::new(Echo), Cursor::new(input.calls), std::io::sink(), 1);

    // The host side: calls submitted, answers read from the arbitrary answer stream.
    let transport = StreamTransport::new(
        Cursor::new(input.answers),
        std::io::sink(),
        Deadlines::new(Duration::from_millis(200)),
        || {},
    )
    .unwrap();
    let calls: Vec<_> = (0..input.submit % 8)
        .filter_map(|i| {
            transport
                .submit(Request::App {
                    session_id: u64::from(i),
                    function: 1,
                    record: vec![i; 4],
                })
                .ok()
        })
        .collect();
    for call in calls {
        let _ = call.wait();
    }
    // The answer stream is a finite buffer: its end makes the transport dead, and dropping
    // a dead transport joins its reader thread (so nothing outlives the input).
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while !transport.is_dead() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(transport.is_dead(), "the end of the answer stream was not noticed");
});
