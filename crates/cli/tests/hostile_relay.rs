//! A hostile host from outside: a relay between real clients and a real `secure-channel
//! serve` (with its enclave process) that drops, swaps, duplicates, forges or cuts records
//! in either direction, for request/reply sessions (the Rust client, `connect`) and stream
//! sessions (`secure-channel tunnel` to `serve --forward`). Every case must end in an
//! error, or (where the enclave restores the client's order itself) in exactly the bytes
//! that were sent; never in wrong, missing or reordered bytes presented as a success.

#[path = "common/serve_process.rs"]
mod serve_process;

use sc_client::{ClientError, TcpClient};
use sc_protocol::RecordError;
use sc_test_support::relay::{Tamper, relay};
use serve_process::{ServeProcess, tunnel};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_secure-channel");

const REQUESTS: [&[u8]; 3] = [b"1,2,3", b"100,200", b"7"];
const ANSWERS: [&[u8]; 3] = [
    b"count=3 mean=2.00 max=3.00",
    b"count=2 mean=150.00 max=200.00",
    b"count=1 mean=7.00 max=7.00",
];

/// Three pipelined requests, then their replies: what came back, up to the first error.
fn pipelined(addr: SocketAddr, server: &ServeProcess) -> (Vec<Vec<u8>>, Option<ClientError>) {
    let mut c = match TcpClient::connect(addr, server.config(), Duration::from_secs(10)) {
        Ok(c) => c,
        Err(e) => return (vec![], Some(e)),
    };
    c.set_request_timeout(Some(Duration::from_secs(30))).unwrap();
    for r in REQUESTS {
        if let Err(e) = c.send(r) {
            return (vec![], Some(e));
        }
    }
    let mut got = Vec::new();
    for _ in REQUESTS {
        match c.recv() {
            Ok(reply) => got.push(reply),
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

#[test]
fn request_reply_sessions_never_deliver_edited_conversations() {
    let server = Arc::new(ServeProcess::start(&[]));
    // The faithful relay first: the relay itself is sound.
    let (got, err) = pipelined(relay(server.addr, Tamper::Nothing, Tamper::Nothing), &server);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, ANSWERS);

    let cases = [
        // Enclave to client: the replies.
        (Tamper::Nothing, Tamper::Drop(1)),
        (Tamper::Nothing, Tamper::SwapWithNext(0)),
        (Tamper::Nothing, Tamper::Duplicate(0)),
        (Tamper::Nothing, Tamper::ForgeClose(1)),
        (Tamper::Nothing, Tamper::ForgeEndOfStream(1)),
        (Tamper::Nothing, Tamper::CutBefore(2)),
        // Client to enclave: the requests.
        (Tamper::Drop(1), Tamper::Nothing),
        (Tamper::SwapWithNext(0), Tamper::Nothing),
        (Tamper::Duplicate(0), Tamper::Nothing),
        (Tamper::ForgeClose(1), Tamper::Nothing),
        (Tamper::CutBefore(2), Tamper::Nothing),
    ];
    // In parallel: a dropped request is found by the enclave's order wait (5 s).
    let runs: Vec<_> = cases
        .into_iter()
        .map(|(up, down)| {
            let server = server.clone();
            std::thread::spawn(move || {
                let (got, err) = pipelined(relay(server.addr, up, down), &server);
                (up, down, got, err)
            })
        })
        .collect();
    for run in runs {
        let (up, down, got, err) = run.join().unwrap();
        let case = format!("up {up:?}, down {down:?}: got {} replies, then {err:?}", got.len());
        // Whatever arrived is a prefix of the true answers, in order: never another
        // request's answer, never a repeat.
        assert_eq!(got[..], ANSWERS[..got.len()], "{case}");
        // And the edit is never passed off as a complete, successful exchange.
        assert!(err.is_some(), "{case}");
        eprintln!("{case}");
        match (up, down) {
            // A reply dropped, swapped or repeated: the client names it.
            (_, Tamper::Drop(_) | Tamper::SwapWithNext(_) | Tamper::Duplicate(_)) => assert!(
                matches!(err, Some(ClientError::Record(RecordError::OutOfSequence { .. }))),
                "{case}"
            ),
            // A forged end is not an end.
            (_, Tamper::ForgeClose(_) | Tamper::ForgeEndOfStream(_)) => {
                assert!(!matches!(err, Some(ClientError::SessionClosed { .. })), "{case}")
            }
            // A request dropped on the way: the enclave's Close, authenticated, says how
            // many requests it received in order (the first only).
            (Tamper::Drop(1), _) => assert!(
                matches!(err, Some(ClientError::SessionClosed { received: 1, .. })),
                "{case}"
            ),
            _ => {}
        }
    }
}

/// The CLI's `connect` through a relay that replaces the enclave's reply with a forged
/// Close: an error and a non-zero exit, never a result or a clean "session closed".
#[test]
fn connect_refuses_a_forged_end() {
    let server = ServeProcess::start(&[]);
    let policy = server.dir.path().join("policy.toml");
    let run = |addr: SocketAddr| {
        Command::new(EXE)
            .args(["connect", "--addr", &addr.to_string(), "--policy"])
            .arg(&policy)
            .args(["--data", "3,1,4,1,5", "--result-only", "--request-timeout", "10s"])
            .output()
            .unwrap()
    };
    let forged = run(relay(server.addr, Tamper::Nothing, Tamper::ForgeClose(0)));
    let stderr = String::from_utf8_lossy(&forged.stderr);
    assert!(!forged.status.success(), "{stderr}");
    assert!(!String::from_utf8_lossy(&forged.stdout).contains("count="));
    assert!(stderr.contains("authentication"), "{stderr}");
    // Faithful: the answer.
    let faithful = run(relay(server.addr, Tamper::Nothing, Tamper::Nothing));
    assert!(
        faithful.status.success(),
        "{}",
        String::from_utf8_lossy(&faithful.stderr)
    );
    assert!(String::from_utf8_lossy(&faithful.stdout).contains("count=5"));
}

/// The backend: each connection gets `len` bytes where every 4-byte word is its own
/// offset (a drop, swap or repeat shows), then a FIN. Each upload is read to its end and
/// its outcome kept: the seed it was made with (its first word), its length, whether it
/// ended with a FIN (clean) or an error (a reset), and whether its bytes are the pattern.
struct Backend {
    addr: SocketAddr,
    uploads: Arc<Mutex<Vec<Upload>>>,
}

#[derive(Debug, Clone, Copy)]
struct Upload {
    seed: u32,
    len: usize,
    clean: bool,
    intact: bool,
}

/// `len` bytes: word i is `4 i` xor `seed`.
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len / 4)
        .flat_map(|i| ((i as u32 * 4) ^ seed).to_be_bytes())
        .collect()
}

fn backend(len: usize) -> Backend {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let uploads = Arc::new(Mutex::new(Vec::new()));
    let record = uploads.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let record = record.clone();
            std::thread::spawn(move || {
                let mut reader = conn.try_clone().unwrap();
                let up = std::thread::spawn(move || {
                    let mut all = Vec::new();
                    let clean = reader.read_to_end(&mut all).is_ok();
                    let seed = all.get(..4).map_or(0, |w| u32::from_be_bytes(w.try_into().unwrap()));
                    let intact = all == pattern(all.len() / 4 * 4, seed);
                    record.lock().unwrap().push(Upload {
                        seed,
                        len: all.len(),
                        clean,
                        intact,
                    });
                });
                let _ = conn.write_all(&pattern(len, 0));
                let _ = conn.shutdown(Shutdown::Write);
                let _ = up.join();
            });
        }
    });
    Backend { addr, uploads }
}

/// Through a tunnel whose server connection goes through a relay: uploads `upload` bytes
/// made with `seed` while downloading; the download, and how it ended (`Ok`: a clean end;
/// `Err`: a reset or an error).
fn exchange(local: SocketAddr, upload: usize, seed: u32) -> (Vec<u8>, std::io::Result<()>) {
    let mut s = TcpStream::connect(local).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let _ = w.write_all(&pattern(upload, seed));
        let _ = w.shutdown(Shutdown::Write);
    });
    let mut got = Vec::new();
    let ended = s.read_to_end(&mut got).map(|_| ());
    let _ = sender.join();
    (got, ended)
}

#[test]
fn tunnels_never_pass_off_an_edited_stream_as_complete() {
    const LEN: usize = 2 << 20;
    const UPLOAD: usize = 1 << 20;
    let back = backend(LEN);
    let server = ServeProcess::start(&["--forward", &back.addr.to_string()]);
    let policy = server.dir.path().join("policy.toml");
    let expected = pattern(LEN, 0);

    // Faithful: every byte both ways, clean ends.
    let (_t, local) = tunnel(relay(server.addr, Tamper::Nothing, Tamper::Nothing), &policy);
    let (got, ended) = exchange(local, UPLOAD, 0x0100_0000);
    assert!(ended.is_ok(), "{ended:?}");
    assert!(got == expected, "faithful download differs ({} bytes)", got.len());

    // Enclave to client (the download).
    for down in [
        Tamper::Drop(5),
        Tamper::SwapWithNext(5),
        Tamper::Duplicate(5),
        Tamper::ForgeClose(5),
        Tamper::ForgeEndOfStream(5),
        Tamper::CutBefore(5),
    ] {
        let (_t, local) = tunnel(relay(server.addr, Tamper::Nothing, down), &policy);
        let (got, ended) = exchange(local, UPLOAD, 0x0200_0000);
        let case = format!("down {down:?}: {} bytes, end {ended:?}", got.len());
        // What came is a prefix of the stream, and the end is a reset, never a clean end.
        assert!(got.len() < expected.len() && got[..] == expected[..got.len()], "{case}");
        assert!(
            matches!(&ended, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "{case}"
        );
    }

    // Client to enclave (the upload): a lost or forged record never becomes a clean end
    // at the backend (a lost record is found by the enclave's order wait, 5 s).
    let cases = [
        Tamper::Drop(3),
        Tamper::ForgeClose(3),
        Tamper::ForgeEndOfStream(3),
        Tamper::CutBefore(3),
    ];
    let runs: Vec<_> = cases
        .into_iter()
        .enumerate()
        .map(|(i, up)| {
            let (relay_addr, policy) = (relay(server.addr, up, Tamper::Nothing), policy.clone());
            std::thread::spawn(move || {
                let (tunnel, local) = tunnel(relay_addr, &policy);
                let (_, ended) = exchange(local, UPLOAD, 0x0300_0000 + i as u32);
                drop(tunnel);
                eprintln!("up {up:?}: local end {ended:?}");
            })
        })
        .collect();
    for run in runs {
        run.join().unwrap();
    }
    let ended = |seed: u32| back.uploads.lock().unwrap().iter().any(|u| u.seed == seed);
    assert!(
        serve_process::within(Duration::from_secs(40), || (0..cases.len() as u32)
            .all(|i| ended(0x0300_0000 + i))),
        "{:?}",
        back.uploads.lock().unwrap()
    );
    let uploads = back.uploads.lock().unwrap().clone();
    for u in &uploads {
        // Every upload that ended cleanly is whole and intact.
        if u.clean {
            assert!(u.intact && u.len == UPLOAD, "an edited upload ended cleanly: {u:?}");
        }
        // The edited ones ended with a reset.
        if u.seed >= 0x0300_0000 {
            assert!(!u.clean, "{u:?}");
        }
    }
    assert!(uploads.iter().any(|u| u.seed == 0x0100_0000 && u.clean), "{uploads:?}");
}
