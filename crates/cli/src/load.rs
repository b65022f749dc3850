//! `load`: a load generator for operators. N clients (a thread each) attest the target's
//! enclave and send requests to its statistics job back to back for the given time; a
//! client whose connection fails records why and connects again. A live progress line on
//! a terminal, then a summary: counts, rates, latency percentiles, errors by kind and an
//! ASCII histogram of request latency (`--json`: one JSON object instead).

use hdrhistogram::Histogram;
use sc_client::{ClientError, ClientTimeouts, TcpClient};
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// What `load` takes.
#[derive(Debug, Clone)]
pub struct LoadArgs<'a> {
    /// Server address (a node or a load balancer).
    pub target: &'a str,
    /// Client policy file.
    pub policy: &'a Path,
    /// Concurrent clients.
    pub clients: usize,
    /// How long to run.
    pub duration: Duration,
    /// Bytes per request (numbers for the statistics job).
    pub request_size: usize,
    /// Print JSON.
    pub json: bool,
}

/// A short name for an error kind (the summary's keys).
pub fn error_kind(e: &ClientError) -> &'static str {
    match e {
        ClientError::Handshake(_) => "handshake_refused",
        ClientError::Record(_) => "record",
        ClientError::Send(_) => "send",
        ClientError::ServerBusy => "busy",
        ClientError::HandshakeTimeout => "handshake_timeout",
        ClientError::RequestTimeout(_) => "request_timeout",
        ClientError::ConnectionClosed => "connection_closed",
        ClientError::EnclaveUnavailable => "enclave_unavailable",
        ClientError::Protocol(_) => "protocol",
        ClientError::Connection(_) => "connection_failed",
        ClientError::SessionClosed { .. } => "session_closed",
        _ => "other",
    }
}

/// Counters shared by the clients and the progress line.
#[derive(Default)]
struct Shared {
    handshakes: AtomicU64,
    requests: AtomicU64,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    stop: AtomicBool,
}

impl Shared {
    fn error(&self, e: &ClientError) {
        *self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(error_kind(e))
            .or_default() += 1;
    }
}

/// Latencies one client measured (microseconds).
struct Latencies {
    handshake: Histogram<u64>,
    request: Histogram<u64>,
}

impl Latencies {
    fn new() -> Self {
        // 1 µs to 10 minutes, 3 significant digits.
        let h = || Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds");
        Self {
            handshake: h(),
            request: h(),
        }
    }
}

fn micros(d: Duration) -> u64 {
    (d.as_micros() as u64).clamp(1, 600_000_000)
}

/// One client: connect, request until the end, connect again after a failure.
fn run_client(
    target: &str,
    config: Arc<sc_protocol::ClientConfig>,
    request: &[u8],
    end: Instant,
    shared: &Shared,
) -> Latencies {
    let mut lat = Latencies::new();
    let timeouts = ClientTimeouts::default();
    while Instant::now() < end && !shared.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let mut client = match TcpClient::connect_with(target, config.clone(), timeouts) {
            Ok(c) => c,
            Err(e) => {
                shared.error(&e);
                // Turned away: a short pause rather than a tight reconnect loop.
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let _ = lat.handshake.record(micros(started.elapsed()));
        shared.handshakes.fetch_add(1, Ordering::Relaxed);
        while Instant::now() < end {
            let sent = Instant::now();
            match client.request(request) {
                Ok(reply) if reply.starts_with(b"count=") => {
                    let _ = lat.request.record(micros(sent.elapsed()));
                    shared.requests.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {
                    *shared
                        .errors
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry("wrong_reply")
                        .or_default() += 1;
                }
                Err(e) => {
                    shared.error(&e);
                    break;
                }
            }
        }
        if Instant::now() >= end {
            let _ = client.close();
        }
    }
    lat
}

/// A request body of `size` bytes for the statistics job.
fn request_body(size: usize) -> Vec<u8> {
    let mut body: Vec<u8> = b"1,".iter().copied().cycle().take(size.max(1)).collect();
    if body.last() == Some(&b',') {
        body.pop();
    }
    body
}

/// The summary of one run.
#[derive(Debug, serde::Serialize)]
pub struct Summary {
    /// Clients.
    pub clients: usize,
    /// Seconds run.
    pub duration_secs: f64,
    /// Bytes per request.
    pub request_size: usize,
    /// Handshakes completed.
    pub handshakes: Rate,
    /// Requests answered.
    pub requests: Rate,
    /// Failures by kind.
    pub errors: BTreeMap<&'static str, u64>,
}

/// A count, its rate and its latency percentiles.
#[derive(Debug, serde::Serialize)]
pub struct Rate {
    /// How many.
    pub count: u64,
    /// Per second.
    pub per_sec: f64,
    /// Latency percentiles in milliseconds: p50, p90, p99, p99.9, max.
    pub latency_ms: BTreeMap<&'static str, f64>,
}

fn rate(h: &Histogram<u64>, secs: f64) -> Rate {
    let ms = |v: u64| v as f64 / 1000.0;
    let mut latency_ms = BTreeMap::new();
    if !h.is_empty() {
        for (name, q) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)] {
            latency_ms.insert(name, ms(h.value_at_quantile(q)));
        }
        latency_ms.insert("max", ms(h.max()));
    }
    Rate {
        count: h.len(),
        per_sec: h.len() as f64 / secs,
        latency_ms,
    }
}

/// An ASCII histogram of `h` over log-spaced buckets (doubling), one line each.
fn ascii_histogram(h: &Histogram<u64>) -> String {
    if h.is_empty() {
        return "  (no requests)\n".into();
    }
    let mut out = String::new();
    let (mut lo, total) = (h.min().max(1), h.len() as f64);
    let mut rows = Vec::new();
    while lo <= h.max() {
        let hi = lo * 2;
        let n = h.count_between(lo, hi - 1);
        rows.push((lo, hi, n));
        lo = hi;
    }
    let widest = rows.iter().map(|r| r.2).max().unwrap_or(1).max(1);
    for (lo, hi, n) in rows {
        let bar = "#".repeat(((n as f64 / widest as f64) * 40.0).round() as usize);
        out.push_str(&format!(
            "  {:>9.3} - {:>9.3} ms |{bar:<40}| {:5.1}%\n",
            lo as f64 / 1000.0,
            hi as f64 / 1000.0,
            100.0 * n as f64 / total
        ));
    }
    out
}

/// `load`.
pub fn load(args: LoadArgs<'_>, out: &mut dyn Write) -> Result<()> {
    if args.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    let text = std::fs::read_to_string(args.policy)
        .map_err(|e| format!("cannot read the client policy {}: {e}", args.policy.display()))?;
    let config = crate::net::client_config(&text, args.policy.parent())?;
    let request = Arc::new(request_body(args.request_size));
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let end = started + args.duration;
    let workers: Vec<_> = (0..args.clients)
        .map(|_| {
            let (target, config, request, shared) =
                (args.target.to_owned(), config.clone(), request.clone(), shared.clone());
            std::thread::spawn(move || run_client(&target, config, &request, end, &shared))
        })
        .collect();
    // The live line, on a terminal only (not in logs or pipes).
    let live = std::io::stderr().is_terminal() && !args.json;
    let (mut last_h, mut last_r, mut last_t) = (0, 0, started);
    while Instant::now() < end && !workers.iter().all(|w| w.is_finished()) {
        std::thread::sleep(Duration::from_millis(250).min(end.saturating_duration_since(Instant::now())));
        if live && last_t.elapsed() >= Duration::from_secs(1) {
            let (h, r) = (
                shared.handshakes.load(Ordering::Relaxed),
                shared.requests.load(Ordering::Relaxed),
            );
            let dt = last_t.elapsed().as_secs_f64();
            let errors = shared.errors.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let errors: Vec<String> = errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
            eprint!(
                "\r{:6.1}s  handshakes/s {:8.1}  requests/s {:10.1}  errors {}\x1b[K",
                started.elapsed().as_secs_f64(),
                (h - last_h) as f64 / dt,
                (r - last_r) as f64 / dt,
                if errors.is_empty() {
                    "none".into()
                } else {
                    errors.join(" ")
                }
            );
            (last_h, last_r, last_t) = (h, r, Instant::now());
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    if live {
        eprintln!();
    }
    let mut all = Latencies::new();
    for w in workers {
        let lat = w.join().map_err(|_| "a client thread panicked")?;
        all.handshake.add(&lat.handshake)?;
        all.request.add(&lat.request)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let summary = Summary {
        clients: args.clients,
        duration_secs: secs,
        request_size: args.request_size,
        handshakes: rate(&all.handshake, secs),
        requests: rate(&all.request, secs),
        errors: shared.errors.lock().unwrap_or_else(|p| p.into_inner()).clone(),
    };
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
        return Ok(());
    }
    writeln!(
        out,
        "{} clients for {:.1} s against {}, {} bytes per request",
        args.clients, secs, args.target, args.request_size
    )?;
    for (name, r) in [("handshakes", &summary.handshakes), ("requests", &summary.requests)] {
        let l = |k| r.latency_ms.get(k).copied().unwrap_or(0.0);
        writeln!(
            out,
            "{name:<11} {:>9} ({:>9.1}/s)  p50 {:.3} ms  p90 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            r.count,
            r.per_sec,
            l("p50"),
            l("p90"),
            l("p99"),
            l("max")
        )?;
    }
    let errors: Vec<String> = summary.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
    writeln!(
        out,
        "errors      {}",
        if errors.is_empty() {
            "none".into()
        } else {
            errors.join(" ")
        }
    )?;
    writeln!(out, "request latency:\n{}", ascii_histogram(&all.request))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_numbers_of_the_asked_size() {
        assert_eq!(request_body(1), b"1");
        assert_eq!(request_body(5), b"1,1,1");
        assert_eq!(request_body(6), b"1,1,1");
        assert!(
            String::from_utf8(request_body(1000))
                .unwrap()
                .split(',')
                .all(|v| v == "1")
        );
    }

    #[test]
    fn the_histogram_has_a_row_per_doubling_and_sums_to_everything() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3).unwrap();
        for v in [100, 150, 300, 300, 5000] {
            h.record(v).unwrap();
        }
        let text = ascii_histogram(&h);
        let rows: Vec<&str> = text.lines().collect();
        assert!(rows.len() >= 6, "{text}");
        let total: f64 = rows
            .iter()
            .map(|r| {
                r.rsplit('|')
                    .next()
                    .unwrap()
                    .trim()
                    .trim_end_matches('%')
                    .parse::<f64>()
                    .unwrap()
            })
            .sum();
        assert!((total - 100.0).abs() < 0.5, "{text}");
        let r = rate(&h, 2.0);
        assert_eq!(r.count, 5);
        assert_eq!(r.per_sec, 2.5);
        assert!(r.latency_ms["max"] >= 4.99);
    }
}
