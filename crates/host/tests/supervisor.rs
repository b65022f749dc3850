//! The supervisor with real processes: an enclave program that keeps failing is restarted
//! with a growing wait, not ten times a second.

use sc_boundary::ChildProcess;
use sc_host::{Host, HostLimits, Supervisor};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A program that exits at once with status 3.
fn failing() -> Result<ChildProcess, sc_boundary::BoundaryError> {
    ChildProcess::spawn(Path::new("sh"), ["-c", "exit 3"], Duration::from_secs(5))
}

#[test]
fn a_failing_enclave_is_restarted_with_backoff() {
    let first = Arc::new(failing().unwrap());
    let host = Arc::new(Host::new(first.clone(), HostLimits::default()));
    let starts = Arc::new(AtomicUsize::new(0));
    let counter = starts.clone();
    let poll = Duration::from_millis(10);
    let supervisor = Supervisor::start(
        host,
        first,
        move || {
            counter.fetch_add(1, Ordering::SeqCst);
            failing()
        },
        poll,
    );
    std::thread::sleep(Duration::from_millis(1500));
    drop(supervisor);
    let n = starts.load(Ordering::SeqCst);
    // Waits of 20, 40, 80, 160, 320, 640 ms: about 6 restarts in 1.5 s. Restarting at
    // every poll would be well over 50 (a slower machine only lowers the count).
    assert!((1..=10).contains(&n), "{n} restarts in 1.5 s");
}

#[test]
fn a_stopped_supervisor_does_not_wait_out_its_backoff() {
    let first = Arc::new(failing().unwrap());
    let host = Arc::new(Host::new(first.clone(), HostLimits::default()));
    let supervisor = Supervisor::start(host, first, failing, Duration::from_millis(10));
    std::thread::sleep(Duration::from_millis(700));
    let t = std::time::Instant::now();
    drop(supervisor);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}
