//! Session capacity: establishes N real sessions (full handshakes, test-double attestation,
//! one request and reply each) in one `SessionManager` and reports resident memory per session. Prints figures; not a
//! criterion benchmark. `SC_SESSIONS=1000000 [SC_PARK=0] cargo bench -p sc-enclave --bench capacity`.

use sc_boundary::ChannelOutcome;
use sc_enclave::{EnclaveLimits, SessionManager};
use sc_protocol::ClientHandshake;
use sc_test_support::double;
use std::time::Instant;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn run(n: usize, park: bool) {
    let now = double::NOW;
    let limits = EnclaveLimits {
        park_sessions: park,
        ..EnclaveLimits::default()
    };
    let manager = SessionManager::new(double::enclave(), None, limits).with_seed(2);
    let client = double::client();
    let mut rng = double::rng(1);
    let before = resident_bytes();
    let started = Instant::now();
    for _ in 0..n {
        let (hs, ch) = ClientHandshake::start(client.clone(), &mut rng, now).unwrap();
        let ChannelOutcome::Accepted { server_hello: sh, .. } = manager.handle_channel(&ch, now).unwrap() else {
            panic!("no ServerHello")
        };
        let mut est = hs.read_server_hello(&sh, now).unwrap();
        assert_eq!(
            manager.handle_channel(&est.client_finished, now).unwrap(),
            ChannelOutcome::Established { ack: None }
        );
        // One request and reply, so each session has used both directions' keys.
        let id = est.session.id();
        let request = est.session.seal(now, b"request").unwrap();
        assert_eq!(manager.decrypt(id, &request, now).unwrap(), b"request");
        manager.encrypt(id, b"reply", now).unwrap();
    }
    let elapsed = started.elapsed();
    let after = resident_bytes();
    assert_eq!(manager.open_sessions(), n);
    println!(
        "sessions={n} park={park}: resident +{:.1} MiB, {:.0} bytes per session; {:.1} s of handshakes ({:.0}/s on one thread)",
        (after - before) as f64 / (1 << 20) as f64,
        (after - before) as f64 / n as f64,
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // One configuration per process: memory freed by an earlier run would be reused and hide
    // the next run's growth.
    let n = std::env::var("SC_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let park = std::env::var("SC_PARK").map(|v| v != "0").unwrap_or(true);
    run(n, park);
}
