//! The child-process transport against real processes.

use sc_boundary::{BoundaryError, ChildProcess, EnclaveTransport, Request};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn pending_call_fails_within_a_second_when_the_process_dies() {
    // `sleep` reads nothing and answers nothing: a call to it stays pending.
    let child = Arc::new(ChildProcess::spawn(Path::new("sleep"), ["30"], Duration::from_secs(30)).unwrap());
    let caller = child.clone();
    let pending = std::thread::spawn(move || {
        let r = caller.call(Request::CloseSession { session_id: 1 });
        (r, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(200));
    let killed = Instant::now();
    std::process::Command::new("kill")
        .args(["-9", &child.pid().to_string()])
        .status()
        .unwrap();
    let (result, failed_at) = pending.join().unwrap();
    assert_eq!(result, Err(BoundaryError::EnclaveExited));
    assert!(failed_at.duration_since(killed) < Duration::from_secs(1));
    // The exit status becomes reapable a moment after the socket closes.
    let deadline = Instant::now() + Duration::from_secs(1);
    while !child.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.has_exited());
    // Later calls fail at once too.
    assert_eq!(
        child.call(Request::CloseSession { session_id: 2 }),
        Err(BoundaryError::EnclaveExited)
    );
}

#[test]
fn missing_program_is_a_spawn_error() {
    let err = ChildProcess::spawn(Path::new("/nonexistent/enclave"), ["x"], Duration::from_secs(1)).unwrap_err();
    let BoundaryError::Spawn { what, cause } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(what, "/nonexistent/enclave");
    let io = cause
        .get_ref()
        .downcast_ref::<std::io::Error>()
        .map(std::io::Error::kind);
    assert_eq!(io, Some(std::io::ErrorKind::NotFound), "the OS error is kept");
}

#[test]
fn garbage_from_the_process_fails_calls_instead_of_hanging() {
    // `yes` floods stdout with bytes that are not boundary frames.
    let child = ChildProcess::spawn(Path::new("yes"), ["garbage"], Duration::from_secs(5)).unwrap();
    let started = Instant::now();
    let r = child.call(Request::CloseSession { session_id: 1 });
    assert_eq!(r, Err(BoundaryError::EnclaveExited));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_hung_enclave_times_out_and_is_stopped() {
    let child = ChildProcess::spawn(Path::new("sleep"), ["30"], Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    assert_eq!(
        child.call(Request::CloseSession { session_id: 1 }),
        Err(BoundaryError::Timeout)
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let deadline = Instant::now() + Duration::from_secs(1);
    while !child.has_exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        child.has_exited(),
        "a hung enclave is stopped so a supervisor can restart it"
    );
    assert_eq!(
        child.call(Request::CloseSession { session_id: 2 }),
        Err(BoundaryError::EnclaveExited)
    );
}
