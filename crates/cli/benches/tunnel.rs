//! The attested tunnel beside stunnel (TLS 1.3, Debian's `stunnel4`) and direct TCP, on
//! the same loopback path, in one run: throughput of one large transfer and connections
//! per second of small requests (each a new connection, as HTTP/1.0 clients make them:
//! for the tunnel a new attested handshake, for stunnel a new TLS handshake). Prints each
//! figure with its spread over the rounds and the ratios.
//!
//! `cargo bench -p sc-cli --bench tunnel`. Sizes: `SC_TUNNEL_BYTES` (default 1 GiB),
//! `SC_TUNNEL_ROUNDS` (3), `SC_TUNNEL_SECS` (3 s per request round), `SC_TUNNEL_CLIENTS`
//! (8 concurrent requesters). Without stunnel the stunnel rows are left out.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/common/serve_process.rs"]
mod serve_process;

use serve_process::{Killed, free_port, spawn_reading_first_line};

const EXE: &str = env!("CARGO_BIN_EXE_secure-channel");

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The backend: reads an 8-byte big-endian size, answers that many bytes, closes.
fn backend() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                let mut size = [0u8; 8];
                if s.read_exact(&mut size).is_err() {
                    return;
                }
                let mut left = u64::from_be_bytes(size);
                let chunk = vec![0x5a; 256 * 1024];
                while left > 0 {
                    let n = left.min(chunk.len() as u64) as usize;
                    if s.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n as u64;
                }
            });
        }
    });
    addr
}

/// One exchange through `addr`: ask for `size` bytes and read them all.
fn fetch(addr: SocketAddr, size: u64) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_nodelay(true);
    if s.write_all(&size.to_be_bytes()).is_err() {
        return false;
    }
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    got == size
}

/// MB/s of one transfer of `bytes`.
fn throughput(addr: SocketAddr, bytes: u64) -> f64 {
    let t = Instant::now();
    assert!(fetch(addr, bytes), "transfer through {addr} incomplete");
    bytes as f64 / 1e6 / t.elapsed().as_secs_f64()
}

/// Small exchanges (a new connection each) per second, `clients` at once for `secs`.
fn requests_per_sec(addr: SocketAddr, clients: u64, secs: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let t = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (done, stop) = (done.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if fetch(addr, 100) {
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

fn wait_listening(addr: SocketAddr) {
    let end = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < end, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// serve --forward and tunnel; returns the tunnel's local address.
fn our_tunnel(backend: SocketAddr, dir: &std::path::Path, keep: &mut Vec<Killed>) -> SocketAddr {
    let root = dir.join("root.key");
    let policy = dir.join("policy.toml");
    Command::new(EXE)
        .args(["sim-root", "create", "--out"])
        .arg(&root)
        .output()
        .unwrap();
    let (serve, line) = spawn_reading_first_line(
        Command::new(EXE)
            .args(["serve", "-q", "--listen", "127.0.0.1:0", "--sim-root"])
            .arg(&root)
            .arg("--policy-out")
            .arg(&policy)
            .args(["--forward", &backend.to_string()])
            .stderr(Stdio::null()),
    );
    let server = line["listening on ".len()..].split(';').next().unwrap().to_owned();
    keep.push(Killed(serve));
    let port = free_port();
    keep.push(Killed(
        Command::new(EXE)
            .args([
                "tunnel",
                "-q",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--server",
                &server,
                "--policy",
            ])
            .arg(&policy)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    ));
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_listening(addr);
    addr
}

/// An stunnel server and client pair (TLS 1.3); returns the client side's address.
fn stunnel(backend: SocketAddr, dir: &std::path::Path, keep: &mut Vec<Killed>) -> Option<SocketAddr> {
    if Command::new("stunnel").arg("-version").output().is_err() {
        return None;
    }
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let pem = dir.join("stunnel.pem");
    std::fs::write(&pem, format!("{}{}", cert.cert.pem(), cert.key_pair.serialize_pem())).unwrap();
    let (server_port, client_port) = (free_port(), free_port());
    let conf = |name: &str, body: String| {
        let path = dir.join(name);
        std::fs::write(&path, format!("foreground = yes\npid =\ndebug = 3\n{body}")).unwrap();
        path
    };
    let server = conf(
        "server.conf",
        format!(
            "[s]\naccept = 127.0.0.1:{server_port}\nconnect = {backend}\ncert = {}\nsslVersion = TLSv1.3\n",
            pem.display()
        ),
    );
    let client = conf(
        "client.conf",
        format!(
            "[c]\nclient = yes\naccept = 127.0.0.1:{client_port}\nconnect = 127.0.0.1:{server_port}\nsslVersion = TLSv1.3\n"
        ),
    );
    for c in [server, client] {
        keep.push(Killed(
            Command::new("stunnel")
                .arg(c)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()?,
        ));
    }
    let addr = format!("127.0.0.1:{client_port}").parse().unwrap();
    wait_listening(addr);
    Some(addr)
}

/// Median and (min, max) of `xs`.
fn summary(xs: &mut [f64]) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    (xs[xs.len() / 2], xs[0], xs[xs.len() - 1])
}

fn main() {
    let bytes = env_or("SC_TUNNEL_BYTES", 1 << 30);
    let rounds = env_or("SC_TUNNEL_ROUNDS", 3).max(1);
    let secs = env_or("SC_TUNNEL_SECS", 3);
    let clients = env_or("SC_TUNNEL_CLIENTS", 8);
    let dir = tempfile::tempdir().unwrap();
    let mut keep = Vec::new();
    let backend = backend();
    let mut paths = vec![
        ("direct TCP", backend),
        ("attested tunnel", our_tunnel(backend, dir.path(), &mut keep)),
    ];
    if let Some(s) = stunnel(backend, dir.path(), &mut keep) {
        paths.push(("stunnel (TLS 1.3)", s));
    }
    println!(
        "transfer {} MB, {rounds} rounds; small requests: {clients} clients x {secs} s, a new connection each",
        bytes / 1_000_000
    );
    let mut results = Vec::new();
    for (name, addr) in &paths {
        // Rounds interleave nothing: each path's rounds run back to back, paths in turn.
        let mut mbps: Vec<f64> = (0..rounds).map(|_| throughput(*addr, bytes)).collect();
        let mut rps: Vec<f64> = (0..rounds).map(|_| requests_per_sec(*addr, clients, secs)).collect();
        let (m, ml, mh) = summary(&mut mbps);
        let (r, rl, rh) = summary(&mut rps);
        println!("{name:<18} {m:8.1} MB/s ({ml:.1}-{mh:.1})   {r:8.1} conn/s ({rl:.1}-{rh:.1})");
        results.push((*name, m, r));
    }
    let get = |n: &str| results.iter().find(|r| r.0 == n).map(|r| (r.1, r.2));
    if let (Some(t), Some(d)) = (get("attested tunnel"), get("direct TCP")) {
        println!(
            "tunnel / direct:  throughput {:.2}x, connections {:.2}x",
            t.0 / d.0,
            t.1 / d.1
        );
    }
    if let (Some(t), Some(s)) = (get("attested tunnel"), get("stunnel (TLS 1.3)")) {
        println!(
            "tunnel / stunnel: throughput {:.2}x, connections {:.2}x",
            t.0 / s.0,
            t.1 / s.1
        );
    }
}
