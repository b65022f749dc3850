//! The host under hostile load: a real `secure-channel serve` process, real TCP on
//! loopback, attackers from distinct 127.0.0.x sources. Every loop is bounded in count and
//! time; these tests assert behaviour (refusals, deadlines, recovery), never speed.

#[path = "common/serve_process.rs"]
mod serve_process;

use sc_client::{ClientError, TcpClient};
use sc_protocol::msgs::{AlertCode, MessageType, frame_header};
use serve_process::*;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn legit_request(server: &ServeProcess) -> Result<Vec<u8>, ClientError> {
    let mut c = TcpClient::connect(server.addr, server.config(), Duration::from_secs(10))?;
    let reply = c.request(b"1,2,3")?;
    c.close()?;
    Ok(reply)
}

#[test]
fn unfinished_hello_flood_from_many_sources_leaves_room_and_recovers() {
    let server = ServeProcess::start(&[
        "--max-pending",
        "100",
        "--max-pending-per-source",
        "8",
        "--handshake-timeout",
        "2s",
    ]);
    let config = server.config();
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    let (fds, threads) = (server.fds(), server.threads());

    // 10 sources x 10 unfinished hellos, 8 pending handshakes allowed per source.
    let mut flood: Vec<TcpStream> = Vec::new();
    for i in 0..100 {
        let mut s = connect_from(source(i % 10), server.addr).unwrap();
        s.write_all(&client_hello(&config)).unwrap();
        flood.push(s);
    }
    // During the flood a legitimate client from its own address is served.
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");

    // Over its share, a source is told the server is busy; within its share, a hello gets
    // its ServerHello and then, unfinished, the timeout alert at the handshake deadline.
    let started = Instant::now();
    let mut busy = 0;
    let mut timed_out = 0;
    for s in &mut flood {
        match refusal(s, Duration::from_secs(6)) {
            (Some(AlertCode::Busy), true) => busy += 1,
            (None, _) => {
                // That was the ServerHello; the deadline's alert follows.
                if refusal(s, Duration::from_secs(6)) == (Some(AlertCode::Timeout), true) {
                    timed_out += 1;
                }
            }
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(busy, 20, "2 of each source's 10 hellos exceed its share of 8");
    assert_eq!(timed_out, 80, "every admitted hello is dropped at its deadline");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    drop(flood);
    assert!(
        within(Duration::from_secs(3), || server.fds() <= fds
            && server.threads() <= threads + 2),
        "descriptors {} (baseline {fds}), threads {} (baseline {threads})",
        server.fds(),
        server.threads()
    );
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
}

#[test]
fn a_full_pending_table_evicts_the_oldest_handshake() {
    // One slot per source would refuse the legitimate client's source only if it were
    // already holding one; a full table evicts the oldest instead of refusing.
    let server = ServeProcess::start(&["--max-pending", "4", "--handshake-timeout", "20s"]);
    let config = server.config();
    let mut held: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut s = connect_from(source(i), server.addr).unwrap();
            s.write_all(&client_hello(&config)).unwrap();
            s
        })
        .collect();
    // Wait until all four hold a slot (their ServerHellos arrived).
    for s in &mut held {
        assert_eq!(
            refusal(s, Duration::from_secs(5)).0,
            None,
            "a ServerHello, not an alert"
        );
    }
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    // The oldest was evicted with a busy alert, long before its 20 s deadline.
    assert_eq!(
        refusal(&mut held[0], Duration::from_secs(5)),
        (Some(AlertCode::Busy), true)
    );
}

#[test]
fn held_frame_headers_cost_no_memory_and_are_dropped_at_the_frame_deadline() {
    let server = ServeProcess::start(&["--frame-timeout", "2s", "--handshake-timeout", "8s"]);
    let rss = server.rss_kib();
    // Before the handshake, a header announcing ~1 MiB is refused at once, unread.
    let mut early = connect_from(source(0), server.addr).unwrap();
    early
        .write_all(&frame_header(MessageType::ClientHello, 1 << 20))
        .unwrap();
    assert_eq!(
        refusal(&mut early, Duration::from_secs(2)),
        (Some(AlertCode::DecodeError), true)
    );
    // After it, 300 established connections each announce a ~1 MiB record and send no body.
    let config = server.config();
    let mut held: Vec<TcpStream> = (0..300)
        .map(|i| established(&config, source(i % 10), server.addr))
        .collect();
    let sent_at = Instant::now();
    for s in &mut held {
        s.write_all(&frame_header(MessageType::ApplicationData, (1 << 20) - 64))
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let grown_mib = server.rss_kib().saturating_sub(rss) / 1024;
    assert!(grown_mib < 64, "RSS grew by {grown_mib} MiB for 300 held 1 MiB headers");
    assert_eq!(legit_request(&server).unwrap(), b"count=3 mean=2.00 max=3.00");
    // Each is closed at its frame deadline, with the timeout alert.
    for s in &mut held {
        assert_eq!(refusal(s, Duration::from_secs(5)), (Some(AlertCode::Timeout), true));
    }
    assert!(sent_at.elapsed() < Duration::from_secs(5), "{:?}", sent_at.elapsed());
}
