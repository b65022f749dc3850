//! The call demultiplexer against the enclave's real serve loop on threads, over a
//! socketpair, with delays injected into the service: deadlines withdraw one call only, a
//! hung enclave is detected separately, and callers may submit any number of calls
//! before waiting.

use sc_boundary::{BoundaryError, Deadlines, EnclaveService, EnclaveTransport, Request, Response, StreamTransport};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Function 1 waits until `release` is set (or `hold` passes); every other function
/// echoes the record at once.
struct Service {
    release: AtomicBool,
    hold: Duration,
    served: AtomicUsize,
}

impl Service {
    fn new(hold: Duration) -> Arc<Self> {
        Arc::new(Self {
            release: AtomicBool::new(false),
            hold,
            served: AtomicUsize::new(0),
        })
    }
}

impl EnclaveService for Service {
    fn call(&self, request: Request) -> Response {
        let Request::App { function, record, .. } = request else {
            return Response::Done;
        };
        if function == 1 {
            let start = Instant::now();
            while !self.release.load(Ordering::SeqCst) && start.elapsed() < self.hold {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.served.fetch_add(1, Ordering::SeqCst);
        Response::App { record }
    }
}

struct Pair {
    transport: Arc<StreamTransport>,
    hung: Arc<AtomicBool>,
    enclave_end: Arc<Mutex<Option<UnixStream>>>,
}

/// A transport to `service` served by `workers` threads at the other end of a socketpair.
fn pair(service: Arc<Service>, workers: usize, deadlines: Deadlines) -> Pair {
    let (host, enclave) = UnixStream::pair().unwrap();
    host.set_write_timeout(Some(Duration::from_millis(50))).unwrap();
    let (input, output) = (enclave.try_clone().unwrap(), enclave.try_clone().unwrap());
    std::thread::spawn(move || sc_boundary::serve(service, input, output, workers));
    let hung = Arc::new(AtomicBool::new(false));
    let enclave_end = Arc::new(Mutex::new(Some(enclave)));
    let (flag, end) = (hung.clone(), enclave_end.clone());
    let shutdown = host.try_clone().unwrap();
    let transport = StreamTransport::new(host.try_clone().unwrap(), host, deadlines, move || {
        flag.store(true, Ordering::SeqCst);
        // As killing a process would: the stream ends.
        let _ = shutdown.shutdown(std::net::Shutdown::Both);
        end.lock().unwrap().take();
    })
    .unwrap();
    Pair {
        transport: Arc::new(transport),
        hung,
        enclave_end,
    }
}

fn app(function: u32, len: usize) -> Request {
    Request::App {
        session_id: 7,
        function,
        record: vec![function as u8; len],
    }
}

#[test]
fn a_deadline_withdraws_that_call_only_whoever_waits_first() {
    let service = Service::new(Duration::from_millis(1500));
    let p = pair(
        service.clone(),
        4,
        Deadlines {
            call: Duration::from_millis(300),
            hung_after: Duration::from_secs(10),
        },
    );
    // The slow call is submitted first and waited for first, so whichever design reads
    // answers, its caller is the one waiting when its deadline passes.
    let slow = p.transport.submit(app(1, 8)).unwrap();
    let t = p.transport.clone();
    let fast = std::thread::spawn(move || {
        (0..200)
            .map(|_| t.call(app(2, 100)))
            .filter(|r| matches!(r, Ok(Response::App { record }) if record.len() == 100))
            .count()
    });
    let started = Instant::now();
    assert_eq!(slow.wait(), Err(BoundaryError::Timeout));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(fast.join().unwrap(), 200, "every other call was answered");
    assert!(!p.transport.is_dead(), "a withdrawn call does not end the boundary");
    assert!(!p.hung.load(Ordering::SeqCst));
    // The late answer, when it comes, is discarded; calls go on.
    service.release.store(true, Ordering::SeqCst);
    assert!(matches!(p.transport.call(app(2, 5)), Ok(Response::App { .. })));
    assert_eq!(p.transport.pending(), 0);
}

#[test]
fn an_enclave_silent_with_calls_pending_is_declared_hung() {
    let service = Service::new(Duration::from_secs(30));
    let p = pair(
        service.clone(),
        2,
        Deadlines {
            call: Duration::from_secs(10),
            hung_after: Duration::from_millis(400),
        },
    );
    // Both workers stuck in function 1: nothing is answered any more.
    let stuck: Vec<_> = (0..3).map(|_| p.transport.submit(app(1, 8)).unwrap()).collect();
    let started = Instant::now();
    for call in stuck {
        assert_eq!(call.wait(), Err(BoundaryError::Timeout));
    }
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(p.hung.load(Ordering::SeqCst), "the hook ran");
    assert!(p.transport.is_dead());
    assert!(p.transport.call(app(2, 1)).is_err(), "later calls fail at once");
    service.release.store(true, Ordering::SeqCst);
}

#[test]
fn calls_may_be_submitted_without_limit_before_any_is_waited_for() {
    // 64 KiB records: far more than the socket buffers hold in both directions.
    let p = pair(Service::new(Duration::ZERO), 2, Deadlines::new(Duration::from_secs(20)));
    let calls: Vec<_> = (0..400)
        .map(|_| p.transport.submit(app(2, 64 * 1024)).unwrap())
        .collect();
    let answered = calls
        .into_iter()
        .map(|c| c.wait())
        .filter(|r| matches!(r, Ok(Response::App { record }) if record.len() == 64 * 1024))
        .count();
    assert_eq!(answered, 400);
}

#[test]
fn the_end_of_the_stream_fails_pending_and_later_calls_at_once() {
    let service = Service::new(Duration::from_secs(30));
    let p = pair(service.clone(), 2, Deadlines::new(Duration::from_secs(30)));
    let pending = p.transport.submit(app(1, 8)).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // The enclave side closes (as when its process exits).
    if let Some(end) = p.enclave_end.lock().unwrap().take() {
        end.shutdown(std::net::Shutdown::Both).unwrap();
    }
    let started = Instant::now();
    assert_eq!(pending.wait(), Err(BoundaryError::EnclaveExited));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(p.transport.call(app(2, 1)), Err(BoundaryError::EnclaveExited));
    assert!(!p.hung.load(Ordering::SeqCst));
    service.release.store(true, Ordering::SeqCst);
}

/// Found by fuzzing (boundary_codec, a leak report): the reader thread outlived a dropped
/// transport. Dropping a transport whose stream has ended now joins it.
#[test]
fn dropping_a_transport_whose_stream_ended_ends_its_reader() {
    struct Signals(std::io::Cursor<Vec<u8>>, Arc<AtomicBool>);
    impl std::io::Read for Signals {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            self.0.read(buf)
        }
    }
    impl Drop for Signals {
        fn drop(&mut self) {
            // Slow to drop, so that only a join (not luck) sees the flag set in time.
            std::thread::sleep(Duration::from_millis(20));
            self.1.store(true, Ordering::SeqCst);
        }
    }
    let dropped = Arc::new(AtomicBool::new(false));
    let transport = StreamTransport::new(
        Signals(std::io::Cursor::new(vec![0xff; 3]), dropped.clone()),
        std::io::sink(),
        Deadlines::new(Duration::from_secs(1)),
        || {},
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !transport.is_dead() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(transport.is_dead());
    drop(transport);
    assert!(
        dropped.load(Ordering::SeqCst),
        "the reader thread ended with the transport"
    );
}
