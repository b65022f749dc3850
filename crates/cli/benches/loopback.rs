//! Loopback benchmark of the whole system beside rustls TLS 1.3 (prints figures; not a
//! criterion benchmark, and never a test). Ours: client -> host (TCP) -> enclave process
//! (pipes) with simulated attestation. Reference: a rustls client and server over TCP in
//! this process (ring provider, ECDSA P-256 certificate).
//!
//! `cargo bench -p sc-cli --bench loopback` (`SC_BENCH_SECS` sets seconds per measurement).

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry, measure_file};
use sc_boundary::ChildProcess;
use sc_client::TcpClient;
use sc_host::{Host, HostLimits, serve_tcp, serve_tokio};
use sc_protocol::ClientConfig;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const BULK_MESSAGE: usize = 64 * 1024;
const CONCURRENCY: usize = 4;

fn secs() -> Duration {
    Duration::from_secs_f64(
        std::env::var("SC_BENCH_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(3.0),
    )
}

struct Ours {
    threaded: SocketAddr,
    tokio: SocketAddr,
    config: Arc<ClientConfig>,
    _dir: tempfile::TempDir,
    _child: Arc<ChildProcess>,
    _rt: tokio::runtime::Runtime,
}

fn ours() -> Ours {
    let dir = tempfile::tempdir().unwrap();
    let root_path = dir.path().join("root.key");
    let root = SimRoot::from_secret([0x42; 32]);
    root.write(&root_path).unwrap();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_secure-channel"));
    let child = Arc::new(
        ChildProcess::spawn(
            &exe,
            [Path::new("enclave"), Path::new("--sim-root"), &root_path],
            Duration::from_secs(30),
        )
        .unwrap(),
    );
    // Client data records go to the enclave's byte sink (function 2).
    let limits = HostLimits {
        data_function: 2,
        ..HostLimits::default()
    };
    let host = Arc::new(Host::new(child.clone(), limits));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let threaded = listener.local_addr().unwrap();
    let h = host.clone();
    std::thread::spawn(move || serve_tcp(h, listener));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tokio = rt.block_on(async {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = l.local_addr().unwrap();
        tokio::spawn(serve_tokio(host, l));
        a
    });
    let policy = format!(
        "allow_simulated = true\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\nmax_evidence_age_secs = 600\n",
        hex::encode(root.public_key()),
        hex::encode(measure_file(&exe).unwrap())
    );
    let verifier = Arc::new(VerifierRegistry::from_policy(&Policy::from_toml(&policy, None).unwrap()).unwrap());
    let config = Arc::new(ClientConfig::builder().verifier(verifier).build().unwrap());
    Ours {
        threaded,
        tokio,
        config,
        _dir: dir,
        _child: child,
        _rt: rt,
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

/// Request/acknowledge throughput in MB/s (64 KiB messages).
fn bulk(mut exchange: impl FnMut(&[u8]), d: Duration) -> f64 {
    let message = vec![0x5a; BULK_MESSAGE];
    let (mut bytes, start) = (0usize, Instant::now());
    while start.elapsed() < d {
        exchange(&message);
        bytes += message.len();
    }
    bytes as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let d = secs();
    let o = ours();
    let t = tls();
    let ours_hs = |addr: SocketAddr, config: Arc<ClientConfig>| {
        move || {
            let c = TcpClient::connect(addr, config.clone(), Duration::from_secs(10)).unwrap();
            c.close().unwrap();
        }
    };
    let tls_client = t.client.clone();
    let tls_addr = t.addr;
    let tls_hs = move || {
        let t = Tls {
            addr: tls_addr,
            client: tls_client.clone(),
        };
        let (mut conn, mut stream) = tls_connect(&t);
        conn.send_close_notify();
        let _ = conn.complete_io(&mut stream);
    };

    println!(
        "loopback, {CONCURRENCY} client threads for rates, {:.0} s per measurement",
        d.as_secs_f64()
    );
    println!(
        "{:<34} {:>12} {:>10} {:>10}",
        "handshakes", "per second", "p50 us", "p99 us"
    );
    let mut rows = Vec::new();
    for (name, addr) in [("ours, threaded host", o.threaded), ("ours, tokio host", o.tokio)] {
        let lat = latencies(ours_hs(addr, o.config.clone()), d);
        let r = rate(ours_hs(addr, o.config.clone()), d);
        rows.push((name, r, pct(&lat, 0.5), pct(&lat, 0.99)));
    }
    let tls_hs_seq = tls_hs.clone();
    let lat = latencies(tls_hs_seq, d);
    let tls_rate = rate(tls_hs, d);
    rows.push((
        "rustls TLS 1.3 (ECDSA P-256)",
        tls_rate,
        pct(&lat, 0.5),
        pct(&lat, 0.99),
    ));
    for (name, r, p50, p99) in &rows {
        println!(
            "{name:<34} {r:>12.0} {p50:>10.0} {p99:>10.0}   rate {:.2}x rustls",
            r / tls_rate
        );
    }

    let mut ours_client = TcpClient::connect(o.threaded, o.config.clone(), Duration::from_secs(10)).unwrap();
    let ours_bulk = bulk(
        |m| {
            let ack = ours_client.request(m).unwrap();
            assert_eq!(ack, (m.len() as u64).to_be_bytes());
        },
        d,
    );
    let (mut conn, mut stream) = tls_connect(&t);
    let tls_bulk = bulk(
        |m| {
            let mut s = rustls::Stream::new(&mut conn, &mut stream);
            s.write_all(m).unwrap();
            let mut ack = [0u8; 8];
            s.read_exact(&mut ack).unwrap();
            assert_eq!(u64::from_be_bytes(ack), m.len() as u64);
        },
        d,
    );
    println!("bulk, 64 KiB messages, request/ack on one connection:");
    println!(
        "  ours (client -> host -> enclave process)  {ours_bulk:>8.0} MB/s   {:.2}x rustls",
        ours_bulk / tls_bulk
    );
    println!("  rustls TLS 1.3                              {tls_bulk:>8.0} MB/s");
}
