//! A session's records in sequence at the enclave: calls that arrive out of order are run
//! in the client's order (replies sealed in the order of the requests), a record that
//! never comes ends the session with the enclave's Close saying how many arrived, a Close
//! counts what arrived even when it overtakes a reply, and every dropped session is
//! reported. Attestation is the test double (this file tests the enclave's dispatch).

use sc_boundary::{EnclaveService, Reply, Request, Response};
use sc_enclave::{ChannelService, EnclaveLimits, SessionManager};
use sc_protocol::msgs::{CloseBody, CloseReason};
use sc_protocol::{ClientHandshake, RecordError, Session, UnixTime};
use sc_test_support::double::{self, NOW};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn service(limits: EnclaveLimits) -> (ChannelService, Arc<SessionManager>) {
    let sessions = Arc::new(SessionManager::new(double::enclave(), None, limits));
    let mut service = ChannelService::new(sessions.clone(), Arc::new(|| NOW));
    service.register(1, Arc::new(|_, request: &[u8]| request.to_vec()));
    (service, sessions)
}

fn establish(service: &ChannelService, seed: u64) -> Session {
    let (hs, ch) = ClientHandshake::start(double::client(), &mut double::rng(seed), NOW).unwrap();
    let Response::Channel(sc_boundary::ChannelOutcome::Accepted { server_hello, .. }) =
        service.call(Request::Channel { message: ch })
    else {
        panic!("refused")
    };
    let est = hs.read_server_hello(&server_hello, NOW).unwrap();
    service.call(Request::Channel {
        message: est.client_finished,
    });
    est.session
}

/// Submits an application call answered later; its answer arrives on the receiver.
fn submit(service: &ChannelService, session_id: u64, record: Vec<u8>) -> Receiver<Response> {
    let (tx, rx) = channel();
    service.call_later(
        Request::App {
            session_id,
            function: 1,
            record,
        },
        Reply::new(move |r| tx.send(r).unwrap()),
    );
    rx
}

fn reply(r: Response) -> Vec<u8> {
    match r {
        Response::App { record } => record,
        other => panic!("expected a record, got {other:?}"),
    }
}

#[test]
fn calls_that_arrive_out_of_order_run_in_the_clients_order() {
    let (service, _) = service(EnclaveLimits::default());
    let mut client = establish(&service, 1);
    let id = client.id();
    let records: Vec<Vec<u8>> = (0..4u8).map(|i| client.seal(NOW, &[i]).unwrap()).collect();
    // 2 and 3 arrive first: they wait (no answer yet), then 0 and 1 let all four through.
    let late: Vec<_> = [2, 3]
        .iter()
        .map(|&i| submit(&service, id, records[i].clone()))
        .collect();
    assert!(late.iter().all(|rx| rx.try_recv().is_err()), "answered before its turn");
    let early: Vec<_> = [0, 1]
        .iter()
        .map(|&i| submit(&service, id, records[i].clone()))
        .collect();
    let answers: Vec<Vec<u8>> = early
        .into_iter()
        .chain(late)
        .map(|rx| reply(rx.recv().unwrap()))
        .collect();
    // Sealed in the order of the requests: they open in that order, each with its answer.
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(client.open(NOW, answer).unwrap(), [i as u8]);
    }
}

#[test]
fn a_record_that_never_comes_ends_the_session_with_a_close_that_says_so() {
    let (service, sessions) = service(EnclaveLimits {
        order_wait: Duration::from_secs(5),
        ..EnclaveLimits::default()
    });
    let mut client = establish(&service, 2);
    let id = client.id();
    let first = client.seal(NOW, b"first").unwrap();
    let _lost = client.seal(NOW, b"lost").unwrap();
    let third = client.seal(NOW, b"third").unwrap();
    assert_eq!(
        client
            .open(NOW, &reply(submit(&service, id, first).recv().unwrap()))
            .unwrap(),
        b"first"
    );
    let waiting = submit(&service, id, third);
    // Not yet: the gap is younger than the order wait.
    assert_eq!(sessions.expire_gaps(NOW.saturating_add(Duration::from_secs(4))), 0);
    assert!(waiting.try_recv().is_err());
    assert_eq!(sessions.expire_gaps(NOW.saturating_add(Duration::from_secs(5))), 1);
    let close = reply(waiting.recv().unwrap());
    assert_eq!(
        client.open(NOW, &close),
        Err(RecordError::PeerClosed(CloseBody {
            received: 1,
            reason: CloseReason::SequenceError
        }))
    );
    assert!(!sessions.is_open(id));
}

#[test]
fn a_close_that_overtakes_a_reply_still_counts_the_request() {
    let (service, sessions) = service(EnclaveLimits::default());
    let mut client = establish(&service, 3);
    let id = client.id();
    // The request reached the enclave (it ran); the host asks for the Close before the
    // reply is sealed.
    let request = client.seal(NOW, b"pay 10").unwrap();
    assert_eq!(sessions.decrypt(id, &request, NOW).unwrap(), b"pay 10");
    let close = sessions.end_session(id, NOW, CloseReason::Shutdown).unwrap().unwrap();
    let Err(RecordError::PeerClosed(body)) = client.open(NOW, &close) else {
        panic!("not a Close")
    };
    // Record 0 carried the request: the Close does not prove it unrun.
    assert_eq!(body.received, 1);
}

#[test]
fn every_dropped_session_is_reported_once() {
    let (service, sessions) = service(EnclaveLimits {
        idle_timeout: Duration::from_secs(60),
        ..EnclaveLimits::default()
    });
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = told.clone();
    sessions.on_removed(Box::new(move |id| sink.lock().unwrap().push(id)));
    let a = establish(&service, 4).id();
    let b = establish(&service, 5).id();
    assert!(sessions.remove(a));
    assert!(!sessions.remove(a));
    assert_eq!(sessions.expire(UnixTime::from_millis(NOW.as_millis() + 61_000)), 1);
    let mut told = told.lock().unwrap().clone();
    told.sort_unstable();
    let mut want = vec![a, b];
    want.sort_unstable();
    assert_eq!(told, want);
}

#[test]
fn records_raced_in_by_many_workers_are_all_answered_in_order() {
    let (service, _) = service(EnclaveLimits::default());
    let service = Arc::new(service);
    for round in 0..20u64 {
        let mut client = establish(&service, 100 + round);
        let id = client.id();
        let records: Arc<Vec<Vec<u8>>> = Arc::new(
            (0..64u32)
                .map(|i| client.seal(NOW, &i.to_be_bytes()).unwrap())
                .collect(),
        );
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (tx, rx) = channel();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (service, records, next, tx) = (service.clone(), records.clone(), next.clone(), tx.clone());
                std::thread::spawn(move || {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        if i >= records.len() {
                            return;
                        }
                        let tx = tx.clone();
                        service.call_later(
                            Request::App {
                                session_id: id,
                                function: 1,
                                record: records[i].clone(),
                            },
                            Reply::new(move |r| tx.send((i, r)).unwrap()),
                        );
                    }
                })
            })
            .collect();
        drop(tx);
        for w in workers {
            w.join().unwrap();
        }
        let mut answers: Vec<(usize, Response)> = (0..64)
            .map(|_| {
                rx.recv_timeout(Duration::from_secs(5))
                    .expect("a record never answered")
            })
            .collect();
        answers.sort_by_key(|(i, _)| *i);
        for (i, answer) in answers {
            assert_eq!(client.open(NOW, &reply(answer)).unwrap(), (i as u32).to_be_bytes());
        }
    }
}
