//! Records the enclave pushes on its own (stream sessions): over a real socketpair with the
//! enclave's serve loop on threads, and in process. Pushes arrive in the order pushed,
//! beside the answers, and a push before any sink is set is not delivered to a later one.

use sc_boundary::{
    EnclaveService, EnclaveTransport, InProcess, Push, PushSink, Pusher, Request, Response, StreamTransport,
};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// On an app call, pushes the record back three times (numbered) for the call's session,
/// then answers Done; records the credit it is granted.
struct Streamer {
    pusher: Pusher,
    credit: Mutex<Vec<(u64, u32)>>,
}

impl EnclaveService for Streamer {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::App { session_id, record, .. } => {
                for i in 0..3u8 {
                    let mut r = record.clone();
                    r.push(i);
                    if self.pusher.push(session_id, r).is_err() {
                        return Response::Error(sc_boundary::CallError::new(sc_boundary::ErrorCode::Internal, "push"));
                    }
                }
                Response::Done
            }
            Request::Credit { session_id, bytes } => {
                self.credit.lock().unwrap().push((session_id, bytes));
                Response::Done
            }
            _ => Response::Done,
        }
    }
}

fn collecting() -> (PushSink, Arc<Mutex<Vec<Push>>>) {
    let got: Arc<Mutex<Vec<Push>>> = Arc::default();
    let into = got.clone();
    (Arc::new(move |p| into.lock().unwrap().push(p)), got)
}

fn wait_for(got: &Mutex<Vec<Push>>, n: usize) -> Vec<Push> {
    let end = Instant::now() + Duration::from_secs(5);
    while got.lock().unwrap().len() < n && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    got.lock().unwrap().clone()
}

#[test]
fn pushes_cross_a_real_stream_in_order_beside_the_answers() {
    let (host, enclave) = UnixStream::pair().unwrap();
    host.set_write_timeout(Some(Duration::from_millis(50))).unwrap();
    let (input, output) = (enclave.try_clone().unwrap(), enclave);
    let granted: Arc<Mutex<Option<Arc<Streamer>>>> = Arc::default();
    let keep = granted.clone();
    std::thread::spawn(move || {
        sc_boundary::serve_pushing(
            |pusher| {
                let s = Arc::new(Streamer {
                    pusher,
                    credit: Mutex::default(),
                });
                *keep.lock().unwrap() = Some(s.clone());
                s
            },
            input,
            output,
            2,
        )
    });
    let transport = StreamTransport::new(host.try_clone().unwrap(), host, Duration::from_secs(5), || {}).unwrap();
    let (sink, got) = collecting();
    transport.set_push_sink(sink);
    for session_id in [7u64, 9] {
        let answer = transport
            .call(Request::App {
                session_id,
                function: 1,
                record: vec![session_id as u8],
            })
            .unwrap();
        assert_eq!(answer, Response::Done);
    }
    let pushes = wait_for(&got, 6);
    let seen: Vec<(u64, Vec<u8>)> = pushes.into_iter().map(|p| (p.session_id, p.record)).collect();
    assert_eq!(
        seen,
        vec![
            (7, vec![7, 0]),
            (7, vec![7, 1]),
            (7, vec![7, 2]),
            (9, vec![9, 0]),
            (9, vec![9, 1]),
            (9, vec![9, 2]),
        ]
    );
    // Credit is a one-way call the enclave's service receives.
    transport
        .notify(Request::Credit {
            session_id: 7,
            bytes: 4096,
        })
        .unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    let service = granted.lock().unwrap().clone().unwrap();
    while service.credit.lock().unwrap().is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(*service.credit.lock().unwrap(), vec![(7, 4096)]);
}

#[test]
fn in_process_pushes_reach_the_sink_once_one_is_set() {
    let transport = InProcess::pushing(|pusher| {
        Arc::new(Streamer {
            pusher,
            credit: Mutex::default(),
        })
    });
    let call = || {
        transport.call(Request::App {
            session_id: 1,
            function: 1,
            record: vec![1],
        })
    };
    // No sink yet: the push fails, and the service says so.
    assert!(matches!(call().unwrap(), Response::Error(_)));
    let (sink, got) = collecting();
    transport.set_push_sink(sink);
    assert_eq!(call().unwrap(), Response::Done);
    assert_eq!(got.lock().unwrap().len(), 3);
}
