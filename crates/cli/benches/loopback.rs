//! Loopback benchmark of the whole system beside rustls TLS 1.3 (prints figures; not a
//! criterion benchmark, and never a test). Ours: client -> host (TCP) -> enclave process
//! (pipes) with simulated attestation. Reference: a rustls client and server over TCP in
//! this process (ring provider, ECDSA P-256 certificate).
//!
//! `cargo bench -p sc-cli --bench loopback` (`SC_BENCH_SECS`: seconds per measurement,
//! `SC_BENCH_ROUNDS`: interleaved rounds, default 7; `SC_BENCH_ONLY=bulk`: bulk only; `SC_BENCH_ONLY=ours-bulk`: our pipelined bulk alone, for
//! profiling).

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sc_client::TcpClient;
use sc_host::HostLimits;
use sc_protocol::ClientConfig;
use sc_test_support::stack::{Stack, StackOptions};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BULK_MESSAGE: usize = 64 * 1024;
const CONCURRENCY: usize = 4;
/// Messages in flight in the windowed bulk measurement.
const WINDOW: usize = 8;

fn secs() -> Duration {
    Duration::from_secs_f64(
        std::env::var("SC_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(2.0),
    )
}

struct Ours {
    addr: SocketAddr,
    config: Arc<ClientConfig>,
    _stack: Stack,
}

fn ours() -> Ours {
    // Client data records go to the enclave's byte sink (function 2).
    let stack = Stack::start_with(StackOptions {
        limits: HostLimits {
            data_function: 2,
            ..HostLimits::default()
        },
        call_timeout: Duration::from_secs(30),
        ..StackOptions::new(&PathBuf::from(env!("CARGO_BIN_EXE_secure-channel")))
    });
    let config = Arc::new(
        stack
            .client_builder()
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            .build()
            .unwrap(),
    );
    Ours {
        addr: stack.addr,
        config,
        _stack: stack,
    }
}

struct Tls {
    addr: SocketAddr,
    client: Arc<rustls::ClientConfig>,
}

fn tls() -> Tls {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert_der = CertificateDer::from(cert.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let server = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der.clone()], key)
            .unwrap(),
    );
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der).unwrap();
    let client = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let server = server.clone();
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut conn = rustls::ServerConnection::new(server).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                // The same service as the enclave's sink: reply with the length received.
                let mut buf = vec![0u8; BULK_MESSAGE];
                loop {
                    let mut got = 0;
                    while got < BULK_MESSAGE {
                        match tls.read(&mut buf[got..]) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => got += n,
                        }
                    }
                    if tls.write_all(&(got as u64).to_be_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Tls { addr, client }
}

fn tls_connect(t: &Tls) -> (rustls::ClientConnection, TcpStream) {
    let mut stream = TcpStream::connect(t.addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut conn = rustls::ClientConnection::new(t.client.clone(), ServerName::try_from("localhost").unwrap()).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut stream).unwrap();
    }
    (conn, stream)
}

/// Sequential handshakes for latency percentiles (microseconds).
fn latencies(mut handshake: impl FnMut(), d: Duration) -> Vec<f64> {
    let mut out = Vec::new();
    let end = Instant::now() + d;
    while Instant::now() < end {
        let t = Instant::now();
        handshake();
        out.push(t.elapsed().as_secs_f64() * 1e6);
    }
    out.sort_by(|a, b| a.total_cmp(b));
    out
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

/// Handshakes per second with `CONCURRENCY` client threads.
fn rate(handshake: impl Fn() + Send + Sync + 'static, d: Duration) -> f64 {
    let handshake = Arc::new(handshake);
    let (count, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let threads: Vec<_> = (0..CONCURRENCY)
        .map(|_| {
            let (h, c, s) = (handshake.clone(), count.clone(), stop.clone());
            std::thread::spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    h();
                    c.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    let start = Instant::now();
    std::thread::sleep(d);
    stop.store(true, Ordering::Relaxed);
    let n = count.load(Ordering::Relaxed) as f64;
    let elapsed = start.elapsed().as_secs_f64();
    for t in threads {
        t.join().unwrap();
    }
    n / elapsed
}

/// Throughput in MB/s of `exchange`, which moves `per_call` 64 KiB messages.
fn bulk(mut exchange: impl FnMut(&[u8]), per_call: usize, d: Duration) -> f64 {
    let message = vec![0x5a; BULK_MESSAGE];
    let (mut bytes, start) = (0usize, Instant::now());
    while start.elapsed() < d {
        exchange(&message);
        bytes += message.len() * per_call;
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// Bulk throughput (MB/s) of ours and of rustls, one after the other: `window` messages are
/// sent, then their `window` acknowledgements read (1: strict request/ack).
fn bulk_pair(o: &Ours, t: &Tls, d: Duration, window: usize) -> (f64, f64) {
    let mut ours_client = TcpClient::connect(o.addr, o.config.clone(), Duration::from_secs(10)).unwrap();
    let ours = bulk(
        |m| {
            for _ in 0..window {
                ours_client.send(m).unwrap();
            }
            for _ in 0..window {
                assert_eq!(ours_client.recv().unwrap(), (m.len() as u64).to_be_bytes());
            }
        },
        window,
        d,
    );
    ours_client.close().unwrap();
    let (mut conn, mut stream) = tls_connect(t);
    let tls = bulk(
        |m| {
            let mut s = rustls::Stream::new(&mut conn, &mut stream);
            for _ in 0..window {
                s.write_all(m).unwrap();
            }
            for _ in 0..window {
                let mut ack = [0u8; 8];
                s.read_exact(&mut ack).unwrap();
                assert_eq!(u64::from_be_bytes(ack), m.len() as u64);
            }
        },
        window,
        d,
    );
    (ours, tls)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let d = secs();
    let rounds: usize = std::env::var("SC_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    let o = ours();
    let t = tls();
    let ours_hs = |addr: SocketAddr, config: Arc<ClientConfig>| {
        move || {
            let c = TcpClient::connect(addr, config.clone(), Duration::from_secs(10)).unwrap();
            c.close().unwrap();
        }
    };
    let (tls_client, tls_addr) = (t.client.clone(), t.addr);
    let tls_hs = move || {
        let t = Tls {
            addr: tls_addr,
            client: tls_client.clone(),
        };
        let (mut conn, mut stream) = tls_connect(&t);
        conn.send_close_notify();
        let _ = conn.complete_io(&mut stream);
    };
    let bulk_only = std::env::var("SC_BENCH_ONLY").is_ok_and(|v| v == "bulk");
    if std::env::var("SC_BENCH_ONLY").is_ok_and(|v| v == "ours-bulk") {
        // For profiling: only our pipelined bulk, no reference.
        let mut c = TcpClient::connect(o.addr, o.config.clone(), Duration::from_secs(10)).unwrap();
        let mbs = bulk(
            |m| {
                for _ in 0..WINDOW {
                    c.send(m).unwrap();
                }
                for _ in 0..WINDOW {
                    c.recv().unwrap();
                }
            },
            WINDOW,
            d,
        );
        println!("ours, {WINDOW} in flight: {mbs:.0} MB/s");
        return;
    }

    // Rounds interleave the stacks so that each sees the same machine conditions; medians
    // are reported. One measurement per stack swings widely on a shared machine.
    let names = ["ours (secure-channel serve's server)", "rustls TLS 1.3 (ECDSA P-256)"];
    let mut rates: [Vec<f64>; 2] = Default::default();
    let mut lats: [Vec<f64>; 2] = Default::default();
    let (mut ours_bulk, mut tls_bulk) = (Vec::new(), Vec::new());
    let (mut ours_stream, mut tls_stream) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let (ob, tb) = bulk_pair(&o, &t, d, 1);
        ours_bulk.push(ob);
        tls_bulk.push(tb);
        let (ob, tb) = bulk_pair(&o, &t, d, WINDOW);
        ours_stream.push(ob);
        tls_stream.push(tb);
        if bulk_only {
            continue;
        }
        lats[0].extend(latencies(ours_hs(o.addr, o.config.clone()), d / 2));
        rates[0].push(rate(ours_hs(o.addr, o.config.clone()), d));
        lats[1].extend(latencies(tls_hs.clone(), d / 2));
        rates[1].push(rate(tls_hs.clone(), d));
    }

    println!(
        "loopback; {rounds} interleaved rounds, medians; {CONCURRENCY} client threads for rates; {:.1} s per measurement",
        d.as_secs_f64()
    );
    if !bulk_only {
        println!(
            "{:<32} {:>11} {:>8} {:>8}",
            "handshakes", "per second", "p50 us", "p99 us"
        );
        let tls_rate = median(rates[1].clone());
        for i in 0..2 {
            let mut l = lats[i].clone();
            l.sort_by(|a, b| a.total_cmp(b));
            let r = median(rates[i].clone());
            println!(
                "{:<32} {r:>11.0} {:>8.0} {:>8.0}   rate {:.2}x rustls (rounds: {})",
                names[i],
                pct(&l, 0.5),
                pct(&l, 0.99),
                r / tls_rate,
                rates[i].iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" ")
            );
        }
    }
    println!("bulk, 64 KiB messages on one connection (ours: client -> host -> enclave process):");
    for (name, ours, tls) in [
        (format!("{WINDOW} in flight"), &ours_stream, &tls_stream),
        ("request/ack, 1 in flight".to_string(), &ours_bulk, &tls_bulk),
    ] {
        let ratios: Vec<f64> = ours.iter().zip(tls.iter()).map(|(a, b)| a / b).collect();
        let rounds = |v: &[f64]| v.iter().map(|x| format!("{x:.0}")).collect::<Vec<_>>().join(" ");
        println!(
            "  {name:<26} ours {:>5.0} MB/s, rustls {:>5.0} MB/s; median ratio {:.2}x rustls (rounds: {})",
            median(ours.clone()),
            median(tls.clone()),
            median(ratios.clone()),
            ratios.iter().map(|x| format!("{x:.2}")).collect::<Vec<_>>().join(" ")
        );
        println!(
            "  {:<26} ours MB/s by round: {}; rustls: {}",
            "",
            rounds(ours),
            rounds(tls)
        );
    }
}
