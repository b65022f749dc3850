//! Calls answered later, from another thread (`EnclaveService::call_later`, `Reply`): over
//! a real socketpair with the serve loop on ONE worker, a call held for a while does not
//! hold the others, and its answer still reaches its caller; in process the same; a reply
//! dropped unanswered reaches its caller as an error.

use sc_boundary::{EnclaveService, EnclaveTransport, ErrorCode, InProcess, Reply, Request, Response, StreamTransport};
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// App calls of session 1 are held until `release` says; session 2's reply is dropped
/// unanswered; everything else is answered at once.
struct Holding {
    held: Mutex<Sender<Reply>>,
}

impl EnclaveService for Holding {
    fn call(&self, _request: Request) -> Response {
        Response::Done
    }

    fn call_later(&self, request: Request, reply: Reply) {
        match request {
            Request::App { session_id: 1, .. } => self.held.lock().unwrap().send(reply).unwrap(),
            Request::App { session_id: 2, .. } => drop(reply),
            other => reply.send(self.call(other)),
        }
    }
}

fn holding() -> (Holding, Receiver<Reply>) {
    let (held, waiting) = channel();
    (Holding { held: Mutex::new(held) }, waiting)
}

fn app(session_id: u64) -> Request {
    Request::App {
        session_id,
        function: 1,
        record: vec![1],
    }
}

fn exercise(transport: &dyn EnclaveTransport, waiting: &Receiver<Reply>) {
    let held = transport.submit(app(1)).unwrap();
    let reply = waiting.recv_timeout(Duration::from_secs(5)).unwrap();
    // The call is held, yet another call is answered.
    assert_eq!(
        transport.call(Request::CloseSession { session_id: 9 }).unwrap(),
        Response::Done
    );
    // A dropped reply answers its caller with an error.
    match transport.call(app(2)).unwrap() {
        Response::Error(e) => assert_eq!(e.code, ErrorCode::Internal),
        other => panic!("{other:?}"),
    }
    // Released from another thread, the held answer reaches its caller.
    std::thread::spawn(move || reply.send(Response::App { record: vec![42] }));
    assert_eq!(held.wait().unwrap(), Response::App { record: vec![42] });
}

#[test]
fn a_held_call_holds_no_worker_over_a_real_stream() {
    let (host, enclave) = UnixStream::pair().unwrap();
    let (input, output) = (enclave.try_clone().unwrap(), enclave);
    let (service, waiting) = holding();
    let service = Arc::new(service);
    // One worker: with the call held on it, nothing else would be read.
    std::thread::spawn(move || sc_boundary::serve(service, input, output, 1));
    let transport = StreamTransport::new(host.try_clone().unwrap(), host, Duration::from_secs(5), || {}).unwrap();
    exercise(&transport, &waiting);
}

#[test]
fn a_held_call_in_process() {
    let (service, waiting) = holding();
    let transport = InProcess::new(Arc::new(service));
    exercise(&transport, &waiting);
}
