//! An adversarial host: the test plays the untrusted relay between two real clients and the
//! real enclave process, and drops, duplicates, replays, reorders, modifies and cross-wires
//! their messages. Every affected operation must fail with a typed error; no operation may
//! ever yield wrong plaintext.

mod common;

use common::*;
use sc_boundary::{ChannelOutcome, ChildProcess, EnclaveTransport, ErrorCode, Request, Response};
use sc_client::{Client, ClientError};
use sc_protocol::RecordError;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

struct Peer {
    client: Arc<Client>,
    outbox: Receiver<Vec<u8>>,
}

fn enclave(s: &Stack) -> ChildProcess {
    let root = s.dir.path().join("root.key");
    ChildProcess::spawn(
        &enclave_exe(),
        [Path::new("enclave"), Path::new("--sim-root"), &root],
        Duration::from_secs(10),
    )
    .unwrap()
}

fn peer(s: &Stack, timeout: Duration) -> Peer {
    let (tx, outbox) = channel();
    let hook = move |m: &[u8]| -> std::io::Result<()> {
        let _ = tx.send(m.to_vec());
        Ok(())
    };
    Peer {
        client: Arc::new(Client::new(s.client(), Box::new(hook), timeout)),
        outbox,
    }
}

fn channel_call(e: &ChildProcess, message: Vec<u8>) -> Response {
    e.call(Request::Channel { message }).unwrap()
}

/// Relays a handshake faithfully, except that `tamper` may rewrite the ServerHello.
fn handshake(e: &ChildProcess, p: &Peer, tamper: impl FnOnce(Vec<u8>) -> Option<Vec<u8>>) -> Result<(), ClientError> {
    let c = p.client.clone();
    let init = std::thread::spawn(move || c.init());
    let hello = p.outbox.recv().unwrap();
    let Response::Channel(ChannelOutcome::Accepted { server_hello, .. }) = channel_call(e, hello) else {
        panic!("no ServerHello")
    };
    if let Some(sh) = tamper(server_hello) {
        let _ = p.client.callback(&sh);
    }
    let result = init.join().unwrap();
    if result.is_ok() {
        let finished = p.outbox.recv().unwrap();
        assert_eq!(
            channel_call(e, finished),
            Response::Channel(ChannelOutcome::Established { ack: None })
        );
    }
    result
}

fn app(e: &ChildProcess, session_id: u64, record: Vec<u8>) -> Response {
    e.call(Request::App {
        session_id,
        function: 1,
        record,
    })
    .unwrap()
}

fn reply_record(r: Response) -> Vec<u8> {
    match r {
        Response::App { record } => record,
        other => panic!("expected a reply record, got {other:?}"),
    }
}

#[test]
fn modified_or_dropped_handshake_messages_fail_typed() {
    let s = stack();
    let e = enclave(&s);
    // Modified ServerHello: one byte of the evidence changed.
    let p = peer(&s, Duration::from_secs(5));
    let err = handshake(&e, &p, |mut sh| {
        let n = sh.len();
        sh[n / 2] ^= 0x40;
        Some(sh)
    })
    .unwrap_err();
    assert!(matches!(err, ClientError::Handshake(_)), "{err:?}");
    // Dropped ServerHello: the client times out, typed.
    let p = peer(&s, Duration::from_millis(300));
    assert!(matches!(
        handshake(&e, &p, |_| None).unwrap_err(),
        ClientError::HandshakeTimeout
    ));
}

#[test]
fn duplicated_replayed_modified_reordered_and_cross_wired_records() {
    let s = stack();
    let e = enclave(&s);
    let (a, b) = (peer(&s, Duration::from_secs(5)), peer(&s, Duration::from_secs(5)));
    handshake(&e, &a, Some).unwrap();
    handshake(&e, &b, Some).unwrap();
    let (ida, idb) = (a.client.session_id().unwrap(), b.client.session_id().unwrap());
    assert_ne!(ida, idb);

    // Faithful relay works.
    let r1 = a.client.encrypt(b"1,2").unwrap();
    let reply1 = reply_record(app(&e, ida, r1.clone()));
    assert_eq!(a.client.decrypt(&reply1).unwrap(), b"count=2 mean=1.50 max=2.00");

    // Duplicate (replay) of a request: the enclave refuses it.
    let dup = app(&e, ida, r1.clone());
    assert!(
        matches!(&dup, Response::Error(err) if err.message.contains("out of sequence")),
        "{dup:?}"
    );
    // Replay of a reply to the client: refused.
    assert!(matches!(
        a.client.decrypt(&reply1),
        Err(ClientError::Record(RecordError::OutOfSequence {
            expected: 1,
            received: 0
        }))
    ));

    // Modified request: refused by the enclave, and it does not take the genuine
    // record's place: the genuine one, delivered after it, is answered.
    let genuine = a.client.encrypt(b"9,9").unwrap();
    let mut m = genuine.clone();
    let last = m.len() - 1;
    m[last] ^= 1;
    let modified = app(&e, ida, m);
    assert!(
        matches!(&modified, Response::Error(err) if err.message.contains("authentication")),
        "{modified:?}"
    );
    let answered = reply_record(app(&e, ida, genuine));
    assert_eq!(a.client.decrypt(&answered).unwrap(), b"count=2 mean=9.00 max=9.00");

    // Reordered replies: the later one is refused (out of sequence), and the session
    // still accepts them only in order: never one answer in place of the other.
    let x = reply_record(app(&e, ida, a.client.encrypt(b"3").unwrap()));
    let y = reply_record(app(&e, ida, a.client.encrypt(b"4").unwrap()));
    assert!(matches!(
        a.client.decrypt(&y),
        Err(ClientError::Record(RecordError::OutOfSequence { .. }))
    ));
    assert_eq!(a.client.decrypt(&x).unwrap(), b"count=1 mean=3.00 max=3.00");
    assert_eq!(a.client.decrypt(&y).unwrap(), b"count=1 mean=4.00 max=4.00");

    // Cross-wired: A's request presented as B's session, B's reply given to A.
    let ra = a.client.encrypt(b"5").unwrap();
    let crossed = app(&e, idb, ra.clone());
    assert!(
        matches!(&crossed, Response::Error(err) if err.message.contains("another session")),
        "{crossed:?}"
    );
    let rb = reply_record(app(&e, idb, b.client.encrypt(b"6").unwrap()));
    assert!(matches!(
        a.client.decrypt(&rb),
        Err(ClientError::Record(RecordError::WrongSession))
    ));
    // The cross-wired record, delivered to its own session after all: answered there.
    assert_eq!(
        a.client.decrypt(&reply_record(app(&e, ida, ra))).unwrap(),
        b"count=1 mean=5.00 max=5.00"
    );
    // A reflected request (the client's own record sent back to it): refused (by its
    // number, or, where the numbers happen to match, by its keys: records.rs).
    let own = a.client.encrypt(b"7").unwrap();
    assert!(matches!(
        a.client.decrypt(&own),
        Err(ClientError::Record(
            RecordError::Authentication | RecordError::OutOfSequence { .. }
        ))
    ));

    // Both sessions still work after all of that, once every record the client sent has
    // reached the enclave in order (the reflected one too).
    assert_eq!(
        a.client.decrypt(&reply_record(app(&e, ida, own))).unwrap(),
        b"count=1 mean=7.00 max=7.00"
    );
    assert_eq!(
        a.client
            .decrypt(&reply_record(app(&e, ida, a.client.encrypt(b"8").unwrap())))
            .unwrap(),
        b"count=1 mean=8.00 max=8.00"
    );
    assert_eq!(b.client.decrypt(&rb).unwrap(), b"count=1 mean=6.00 max=6.00");

    // Dropped close: the session stays; a replayed close after the real one is refused.
    a.client.finish().unwrap();
    let close = a.outbox.recv().unwrap();
    assert_eq!(
        channel_call(&e, close.clone()),
        Response::Channel(ChannelOutcome::Closed { reply: None })
    );
    assert!(matches!(channel_call(&e, close), Response::Error(_)));
    assert!(matches!(app(&e, ida, vec![0; 64]), Response::Error(err) if err.code == ErrorCode::UnknownSession));
}

/// A host over TCP that relays the handshake to the real enclave process and then, for
/// the first request it sees (on any connection), does `on_request` (given the enclave
/// and the request's record; it returns what the client gets back). Later requests are
/// relayed faithfully. Counts the requests the enclave was given.
fn scripted_host(
    e: Arc<ChildProcess>,
    on_request: impl Fn(&ChildProcess, u64, Vec<u8>, &AtomicUsize) -> Vec<u8> + Send + Sync + 'static,
) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    use sc_protocol::io::read_message;
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let (counter, on_request) = (ran.clone(), Arc::new(on_request));
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let (e, counter, on_request, first) = (e.clone(), counter.clone(), on_request.clone(), first.clone());
            std::thread::spawn(move || {
                let mut session = 0;
                while let Ok(Some(m)) = read_message(&mut conn, 1 << 21) {
                    let out = match m[0] {
                        0x10 if first.swap(false, AtomicOrdering::SeqCst) => on_request(&e, session, m, &counter),
                        0x10 => {
                            counter.fetch_add(1, AtomicOrdering::SeqCst);
                            reply_record(app(&e, session, m))
                        }
                        _ => match channel_call(&e, m) {
                            Response::Channel(ChannelOutcome::Accepted {
                                session_id,
                                server_hello,
                            }) => {
                                session = session_id;
                                server_hello
                            }
                            Response::Channel(ChannelOutcome::Established { ack: Some(ack) }) => ack,
                            _ => continue,
                        },
                    };
                    if conn.write_all(&out).is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, ran)
}

/// The enclave's own Close for `session` (the host's EndSession: a drain).
fn end_session(e: &ChildProcess, session: u64) -> Vec<u8> {
    match e.call(Request::EndSession { session_id: session }).unwrap() {
        Response::Channel(ChannelOutcome::Closed { reply: Some(close) }) => close,
        other => panic!("no Close: {other:?}"),
    }
}

#[test]
fn a_retrying_client_never_resends_a_request_the_enclave_may_have_run() {
    use sc_client::{ClientTimeouts, RetryPolicy, RetryingClient};
    let s = stack();
    let e = Arc::new(enclave(&s));
    let policy = RetryPolicy {
        attempts: 3,
        first_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    };

    // The host runs the request, discards the reply and asks the enclave for its Close:
    // the Close comes after the reply in the enclave's sequence, so the client sees that
    // a record is missing (and the Close itself counts the request as received); it
    // reports the failure and does not send the request again.
    let (addr, ran) = scripted_host(e.clone(), |e, session, record, ran| {
        ran.fetch_add(1, AtomicOrdering::SeqCst);
        let _discarded = app(e, session, record);
        end_session(e, session)
    });
    let mut client = RetryingClient::connect(&addr.to_string(), s.client(), ClientTimeouts::default(), policy).unwrap();
    let err = client.request(b"1,2,3").unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Record(RecordError::OutOfSequence {
                expected: 0,
                received: 1
            })
        ),
        "{err:?}"
    );
    assert_eq!(client.connections(), 1, "the request was sent again");
    assert_eq!(ran.load(AtomicOrdering::SeqCst), 1);

    // The host asks for the Close before the request reaches the enclave: the Close
    // counts nothing, which proves the request never arrived, so it is sent again, on a
    // new connection, and runs once.
    let (addr, ran) = scripted_host(e.clone(), |e, session, _record, _ran| end_session(e, session));
    let mut client = RetryingClient::connect(&addr.to_string(), s.client(), ClientTimeouts::default(), policy).unwrap();
    assert_eq!(client.request(b"1,2,3").unwrap(), b"count=3 mean=2.00 max=3.00");
    assert_eq!(client.connections(), 2);
    assert_eq!(ran.load(AtomicOrdering::SeqCst), 1);
}
