//! Calls per second through the boundary's call demultiplexer, at 1, 4 and 64 concurrent
//! callers, against a real enclave process (this bench binary re-run as a child that
//! serves an echo service with `sc_boundary::serve`). Prints figures; run with
//! `cargo bench -p sc-boundary --bench demux` (`SC_BENCH_SECS` per point, default 2).
//!
//! The design it measures (a reader thread, callers waiting on their own slot) replaced
//! one where waiting callers took turns reading answers. Measured in one run, interleaved,
//! on a 2-core machine (reader thread / callers reading, two rounds each): 64 B calls, 1
//! caller 0.95x and 0.96x, 4 callers 1.16x and 1.38x, 64 callers 1.47x and 1.52x; 16 KiB
//! calls, 1 caller 0.92x and 1.13x, 4 callers 1.01x and 1.06x, 64 callers 0.68x and 1.13x.

use sc_boundary::{ChildProcess, EnclaveService, EnclaveTransport, Request, Response};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "SC_DEMUX_BENCH_CHILD";

/// Echoes an application call's record, as an enclave function answering at once would.
struct Echo;

impl EnclaveService for Echo {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::App { record, .. } => Response::App { record },
            _ => Response::Done,
        }
    }
}

fn command() -> std::process::Command {
    let exe = std::env::current_exe().unwrap();
    let mut command = std::process::Command::new(exe);
    command.env(CHILD_ENV, "1");
    command
}

/// Calls per second with `callers` threads making calls of `size` bytes for `secs`.
fn rate(enclave: &Arc<dyn EnclaveTransport>, callers: usize, size: usize, secs: f64) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..callers)
        .map(|i| {
            let (enclave, stop, done) = (enclave.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || {
                let record = vec![i as u8; size];
                while !stop.load(Ordering::Relaxed) {
                    let answer = enclave
                        .call(Request::App {
                            session_id: i as u64,
                            function: 1,
                            record: record.clone(),
                        })
                        .unwrap();
                    assert!(matches!(answer, Response::App { record: r } if r.len() == size));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let n = done.load(Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for t in threads {
        t.join().unwrap();
    }
    n as f64 / elapsed
}

fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
        sc_boundary::serve(Arc::new(Echo), std::io::stdin(), std::io::stdout(), workers).unwrap();
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let secs: f64 = std::env::var("SC_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let enclave: Arc<dyn EnclaveTransport> =
        Arc::new(ChildProcess::spawn_command(command(), Duration::from_secs(10)).unwrap());
    println!("boundary demultiplexer: calls/s to an echo enclave process ({secs} s per point)");
    for size in [64usize, 16 * 1024] {
        for callers in [1usize, 4, 64] {
            let r = rate(&enclave, callers, size, secs);
            println!("  {size:>6} B calls, {callers:>2} callers: {r:>9.0} calls/s");
        }
    }
}
