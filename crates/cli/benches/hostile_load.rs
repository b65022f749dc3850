//! Load bench of the host under hostile load (prints figures; never a test). Starts
//! `secure-channel serve` (release build, default limits) and runs, all at once and kept
//! at size for the measurement (a connection the server closes is reopened):
//!
//! * unfinished ClientHellos (`SC_FLOOD_HELLOS`, default 5,000);
//! * slowloris connections trickling a frame header a byte a second (`SC_FLOOD_SLOWLORIS`,
//!   default 5,000);
//! * established connections holding a ~1 MiB record header with no body
//!   (`SC_FLOOD_HEADERS`, default 1,000);
//!
//! from `SC_FLOOD_SOURCES` loopback sources (127.0.0.2..., default 50), while a legitimate
//! client on 127.0.0.1 connects, attests, sends a request and closes, again and again, for
//! `SC_FLOOD_SECS` (default 20). Reports the legitimate clients' success rate and handshake
//! latency, the server's RSS, descriptors and threads (before, peak during, after), and
//! how long the server took to return to its baseline once the flood stopped.
//!
//! `cargo bench -p sc-cli --bench hostile_load`

#[path = "../tests/common/serve_process.rs"]
mod serve_process;

use sc_client::TcpClient;
use sc_protocol::io::read_message_async;
use sc_protocol::msgs::{MessageType, frame_header};
use sc_protocol::{ClientConfig, ClientHandshake, UnixTime};
use serve_process::{ServeProcess, source};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn connect(from: std::net::Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from.into(), 0))?;
    socket.connect(to).await
}

/// Reads until the server closes (or `limit` passes).
async fn until_closed(s: &mut TcpStream, limit: Duration) {
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(limit, async {
        loop {
            match s.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
}

#[derive(Clone, Copy)]
enum Attack {
    Hello,
    Slowloris,
    HeldHeader,
}

/// One attacker connection, reopened whenever the server closes it, until `stop`.
async fn attacker(
    kind: Attack,
    from: std::net::Ipv4Addr,
    to: SocketAddr,
    config: Arc<ClientConfig>,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicU64>,
) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = connect(from, to).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        match kind {
            Attack::Hello => {
                let hello = ClientHandshake::start(config.clone(), &mut rand_core::OsRng, UnixTime::now())
                    .unwrap()
                    .1;
                if s.write_all(&hello).await.is_ok() {
                    until_closed(&mut s, Duration::from_secs(60)).await;
                }
            }
            Attack::Slowloris => {
                let header = frame_header(MessageType::ClientHello, 1000);
                for b in header.iter().cycle().take(600) {
                    if stop.load(Ordering::Relaxed) || s.write_all(&[*b]).await.is_err() {
                        break;
                    }
                    // Stop early when the server closes.
                    let mut probe = [0u8; 64];
                    if let Ok(Ok(0) | Err(_)) = tokio::time::timeout(Duration::from_secs(1), s.read(&mut probe)).await {
                        break;
                    }
                }
            }
            Attack::HeldHeader => {
                let (hs, hello) =
                    ClientHandshake::start(config.clone(), &mut rand_core::OsRng, UnixTime::now()).unwrap();
                if s.write_all(&hello).await.is_err() {
                    continue;
                }
                let Ok(Ok(Some(reply))) =
                    tokio::time::timeout(Duration::from_secs(30), read_message_async(&mut s, 1 << 21)).await
                else {
                    continue;
                };
                let Ok(est) = hs.read_server_hello(&reply, UnixTime::now()) else {
                    continue;
                };
                let mut header = est.client_finished.clone();
                header.extend_from_slice(&frame_header(MessageType::ApplicationData, (1 << 20) - 64));
                if s.write_all(&header).await.is_ok() {
                    until_closed(&mut s, Duration::from_secs(60)).await;
                }
            }
        }
        // Give the connection back before reopening it (a real flood would not wait).
        drop(s);
    }
}

#[derive(Default, Clone, Copy)]
struct Figures {
    rss_mib: f64,
    fds: usize,
    threads: u64,
}

fn figures(server: &ServeProcess) -> Figures {
    Figures {
        rss_mib: server.rss_kib() as f64 / 1024.0,
        fds: server.fds(),
        threads: server.threads(),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn main() {
    let _ = sc_host::raise_fd_limit();
    let (hellos, slowloris, headers) = (
        env("SC_FLOOD_HELLOS", 5000),
        env("SC_FLOOD_SLOWLORIS", 5000),
        env("SC_FLOOD_HEADERS", 1000),
    );
    let sources = env("SC_FLOOD_SOURCES", 50).max(1);
    let secs = Duration::from_secs(env("SC_FLOOD_SECS", 20) as u64);
    let server = ServeProcess::start(&[]);
    let config = server.config();
    // Warm up, then the baseline.
    for _ in 0..20 {
        let mut c = TcpClient::connect(server.addr, config.clone(), Duration::from_secs(10)).unwrap();
        c.request(b"1").unwrap();
        c.close().unwrap();
    }
    std::thread::sleep(Duration::from_secs(2));
    let before = figures(&server);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let opened = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    let plan = [
        (Attack::Hello, hellos),
        (Attack::Slowloris, slowloris),
        (Attack::HeldHeader, headers),
    ];
    let mut n = 0;
    for (kind, count) in plan {
        for _ in 0..count {
            tasks.push(rt.spawn(attacker(
                kind,
                source(n % sources),
                server.addr,
                config.clone(),
                stop.clone(),
                opened.clone(),
            )));
            n += 1;
        }
    }
    // Let the flood build up before measuring.
    std::thread::sleep(Duration::from_secs(3));

    let (mut ok, mut failed, mut lat, mut errors) = (0u64, 0u64, Vec::new(), std::collections::BTreeMap::new());
    let mut peak = before;
    let end = Instant::now() + secs;
    let mut next_sample = Instant::now();
    while Instant::now() < end {
        if Instant::now() >= next_sample {
            let f = figures(&server);
            peak.rss_mib = peak.rss_mib.max(f.rss_mib);
            peak.fds = peak.fds.max(f.fds);
            peak.threads = peak.threads.max(f.threads);
            next_sample = Instant::now() + Duration::from_millis(250);
        }
        let t = Instant::now();
        let result = TcpClient::connect(server.addr, config.clone(), Duration::from_secs(10)).and_then(|mut c| {
            let hs = t.elapsed();
            c.request(b"1,2,3")?;
            c.close()?;
            Ok(hs)
        });
        match result {
            Ok(hs) => {
                ok += 1;
                lat.push(hs.as_secs_f64() * 1e3);
            }
            Err(e) => {
                failed += 1;
                *errors.entry(e.to_string()).or_insert(0u64) += 1;
            }
        }
    }
    let during_opened = opened.load(Ordering::Relaxed);
    stop.store(true, Ordering::Relaxed);
    let stopped = Instant::now();
    for t in tasks {
        t.abort();
    }
    drop(rt);
    // Recovery: descriptors and threads back to (about) the baseline.
    let mut recovered = None;
    while stopped.elapsed() < Duration::from_secs(60) {
        let f = figures(&server);
        if f.fds <= before.fds + 2 && f.threads <= before.threads + 2 {
            recovered = Some(stopped.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = figures(&server);
    lat.sort_by(|a, b| a.total_cmp(b));

    println!(
        "hostile load: {hellos} unfinished hellos + {slowloris} slowloris + {headers} held 1 MiB headers \
         from {sources} sources (kept at size: {during_opened} attacker connections opened), {} s measured",
        secs.as_secs()
    );
    let total = ok + failed;
    println!(
        "legitimate clients (connect + attest + request + close, sequential): {ok}/{total} succeeded ({:.2}%), \
         handshake p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        100.0 * ok as f64 / total.max(1) as f64,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(f64::NAN)
    );
    for (e, n) in &errors {
        println!("  failures: {n} x {e}");
    }
    println!("{:<14} {:>10} {:>8} {:>8}", "server", "RSS MiB", "fds", "threads");
    for (name, f) in [("before", before), ("peak during", peak), ("after", after)] {
        println!("{name:<14} {:>10.1} {:>8} {:>8}", f.rss_mib, f.fds, f.threads);
    }
    match recovered {
        Some(t) => println!("recovered to baseline {:.2} s after the flood stopped", t.as_secs_f64()),
        None => {
            println!("NOT recovered to baseline within 60 s; the server's sockets by state:");
            let ss = std::process::Command::new("ss").args(["-tanpH"]).output();
            let mut states = std::collections::BTreeMap::new();
            let pid = format!("pid={},", server.child.id());
            for line in ss
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default()
                .lines()
            {
                if line.contains(&pid) {
                    let state = line.split_whitespace().next().unwrap_or("?").to_string();
                    *states.entry(state).or_insert(0) += 1;
                }
            }
            println!("  {states:?}");
        }
    }
}
