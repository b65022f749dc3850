//! The attested tunnel with real processes on loopback: an unmodified HTTP server
//! (`python3 -m http.server`) behind `serve --forward`, reached through `secure-channel
//! tunnel` with plain HTTP/1.0 requests (what curl sends, without needing curl).

#[path = "common/process_memory.rs"]
mod process_memory;
#[path = "common/serve_process.rs"]
mod serve_process;

use serve_process::{Killed, ServeProcess, free_port, spawn_reading_first_line, tunnel, within};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_secure-channel");

/// Python's `http.server` (threaded) serving `dir`, with a POST that answers the SHA-256
/// of the uploaded body; its request log goes to `log`.
const BACKEND: &str = r#"
import hashlib, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    def do_POST(self):
        left, digest = int(self.headers["Content-Length"]), hashlib.sha256()
        while left:
            chunk = self.rfile.read(min(65536, left))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
        body = digest.hexdigest().encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"#;

fn http_server(dir: &Path, log: &Path) -> (Killed, SocketAddr) {
    let port = free_port();
    let child = Command::new("python3")
        .args(["-c", BACKEND, &port.to_string()])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("python3");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    assert!(within(Duration::from_secs(10), || TcpStream::connect(addr).is_ok()));
    (Killed(child), addr)
}

/// `GET path` over HTTP/1.0: the status line and the body.
fn get(addr: SocketAddr, path: &str) -> (String, Vec<u8>) {
    request(addr, &format!("GET {path} HTTP/1.0\r\n\r\n"), &[])
}

/// One HTTP/1.0 exchange: `head`, then `body`; the status line and the answer's body.
fn request(addr: SocketAddr, head: &str, body: &[u8]) -> (String, Vec<u8>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut all = Vec::new();
    let _ = s.read_to_end(&mut all);
    let split = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(all.len(), |i| i + 4);
    let status = String::from_utf8_lossy(&all[..split])
        .lines()
        .next()
        .unwrap_or("")
        .to_owned();
    (status, all[split.min(all.len())..].to_vec())
}

/// A temporary directory with a `files` folder for the service, or `None` (and a note)
/// without python3.
fn workdir() -> Option<(tempfile::TempDir, std::path::PathBuf)> {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 is not installed; skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    Some((dir, files))
}

#[test]
fn an_unmodified_http_server_through_the_attested_tunnel() {
    let Some((dir, files)) = workdir() else { return };
    std::fs::write(files.join("small.txt"), b"hello through the tunnel\n").unwrap();
    // Pseudo-random, so that a swapped or repeated chunk would show.
    let mut big = vec![0u8; 8 << 20];
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for b in &mut big {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    std::fs::write(files.join("big.bin"), &big).unwrap();
    let log = dir.path().join("http.log");
    let (_http, backend) = http_server(&files, &log);
    let server = ServeProcess::start(&["--forward", &backend.to_string(), "--frame-timeout", "1s"]);
    let policy = server.dir.path().join("policy.toml");
    let (_tunnel, local) = tunnel(server.addr, &policy);

    let (status, body) = get(local, "/small.txt");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, b"hello through the tunnel\n");
    let (status, body) = get(local, "/big.bin");
    assert!(status.contains("200"), "{status}");
    assert!(body == big, "8 MiB body differs ({} bytes)", body.len());

    // curl, an unmodified client, where installed.
    if Command::new("curl").arg("--version").output().is_ok() {
        let out = dir.path().join("curl.bin");
        let status = Command::new("curl")
            .args(["-sS", "--max-time", "60", "-o"])
            .arg(&out)
            .arg(format!("http://{local}/big.bin"))
            .status()
            .unwrap();
        assert!(status.success());
        assert!(std::fs::read(&out).unwrap() == big, "curl's copy differs");
    }

    // 100 MiB, byte for byte.
    let huge: Vec<u8> = big.iter().cycle().take(100 << 20).copied().collect();
    std::fs::write(files.join("huge.bin"), &huge).unwrap();
    let (status, body) = get(local, "/huge.bin");
    assert!(status.contains("200"), "{status}");
    assert!(body == huge, "100 MiB body differs ({} bytes)", body.len());
    drop((huge, body));

    // Parallel fetches, each on its own attested session.
    let fetches: Vec<_> = (0..32)
        .map(|_| std::thread::spawn(move || get(local, "/big.bin").1))
        .collect();
    for f in fetches {
        assert!(f.join().unwrap() == big);
    }

    // An upload of 50 MiB: the service hashes what it received.
    let upload: Vec<u8> = big.iter().cycle().take(50 << 20).copied().collect();
    let upload_file = dir.path().join("upload.bin");
    std::fs::write(&upload_file, &upload).unwrap();
    let expected = hex::encode(sc_attestation::measure_file(&upload_file).unwrap());
    let (status, body) = request(
        local,
        &format!("POST /upload HTTP/1.0\r\nContent-Length: {}\r\n\r\n", upload.len()),
        &upload,
    );
    assert!(status.contains("200"), "{status}");
    assert_eq!(String::from_utf8_lossy(&body), expected);

    // Clients that stop reading mid-download: the host holds at most the push window per
    // session, not the files (16 x 8 MiB would be 128 MiB).
    let rss = server.rss_kib();
    let enclave_pid = *process_memory::children(server.child.id())
        .first()
        .expect("an enclave process");
    let enclave_rss = process_memory::rss_kib(enclave_pid);
    let stalled: Vec<TcpStream> = (0..16)
        .map(|_| {
            let mut s = TcpStream::connect(local).unwrap();
            s.write_all(b"GET /big.bin HTTP/1.0\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    let grown = server.rss_kib().saturating_sub(rss) / 1024;
    assert!(grown < 32, "the host grew by {grown} MiB for 16 stalled downloads");
    let enclave_grown = process_memory::rss_kib(enclave_pid).saturating_sub(enclave_rss) / 1024;
    assert!(
        enclave_grown < 32,
        "the enclave grew by {enclave_grown} MiB for 16 stalled downloads"
    );
    // Longer than the frame deadline (1 s here): a reader that pauses is not cut off, and
    // what it then reads is whole.
    std::thread::sleep(Duration::from_millis(1000));
    for mut s in stalled {
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).unwrap();
        assert!(
            all.ends_with(&big),
            "a paused download came back incomplete ({} bytes)",
            all.len()
        );
    }

    // What the host held: a marked file fetched through the tunnel is nowhere in the
    // host's memory, while the enclave (which read it from the service) has it.
    let marker: String = (0..64)
        .map(|i| format!("tunnel-plaintext-{i:03}-{:x};", 0x5eed_u64 * i))
        .collect();
    std::fs::write(files.join("marked.txt"), &marker).unwrap();
    let (_, body) = get(local, "/marked.txt");
    assert_eq!(body, marker.as_bytes());
    let host_pid = server.child.id();
    let enclave_pid = *process_memory::children(host_pid).first().expect("an enclave process");
    // A slice from the middle: allocators overwrite the first bytes of freed blocks.
    let probe = &marker.as_bytes()[600..664];
    assert!(
        process_memory::contains(&process_memory::memory_of(enclave_pid), probe),
        "positive control: the enclave read the file"
    );
    assert!(
        !process_memory::contains(&process_memory::memory_of(host_pid), probe),
        "the host process holds the service's plaintext"
    );

    // A policy that does not accept this enclave: the tunnel refuses before any byte
    // reaches the backend.
    let requests_before = std::fs::read_to_string(&log).unwrap().lines().count();
    let wrong = dir.path().join("wrong.toml");
    let text = std::fs::read_to_string(&policy).unwrap();
    let measurement = text
        .lines()
        .find_map(|l| l.strip_prefix("measurements = [\""))
        .and_then(|r| r.get(..64))
        .unwrap()
        .to_owned();
    std::fs::write(&wrong, text.replace(&measurement, &"00".repeat(32))).unwrap();
    let (_refusing, refusing) = tunnel(server.addr, &wrong);
    let (status, body) = get(refusing, "/small.txt");
    assert!(status.is_empty() && body.is_empty(), "{status}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        requests_before,
        "a request reached the backend through a refused tunnel"
    );
}

#[test]
fn a_backend_that_is_down_ends_the_session() {
    let down = free_port();
    let server = ServeProcess::start(&["--forward", &format!("127.0.0.1:{down}")]);
    let policy = server.dir.path().join("policy.toml");
    let (_tunnel, local) = tunnel(server.addr, &policy);
    let (status, body) = get(local, "/");
    assert!(status.is_empty() && body.is_empty(), "{status}");
    assert!(within(Duration::from_secs(5), || server.log_contains("backend refused")));
}

/// The tunnel's enclave end running apart from the host (`enclave --listen --forward`, a
/// confidential VM's shape, here over a Unix socket): fetches work the same.
#[test]
fn the_tunnel_with_the_enclave_apart() {
    let Some((dir, files)) = workdir() else { return };
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(files.join("f.bin"), &body).unwrap();
    let (_http, backend) = http_server(&files, &dir.path().join("http.log"));
    // The same simulated root as the one `ServeProcess` writes (so its policy fits).
    let root = dir.path().join("root.key");
    sc_attestation::sim::SimRoot::from_secret([0x42; 32])
        .write(&root)
        .unwrap();
    let socket = format!("unix://{}", dir.path().join("enclave.sock").display());
    let (enclave, line) = spawn_reading_first_line(
        Command::new(EXE)
            .args(["enclave", "--sim-root"])
            .arg(&root)
            .args(["--listen", &socket, "--forward", &backend.to_string()])
            .stderr(Stdio::null()),
    );
    assert!(line.starts_with("enclave listening on"), "{line}");
    let _enclave = Killed(enclave);
    let server = ServeProcess::start(&["--enclave", &socket]);
    let (_tunnel, local) = tunnel(server.addr, &server.dir.path().join("policy.toml"));
    for _ in 0..3 {
        let (status, got) = get(local, "/f.bin");
        assert!(status.contains("200"), "{status}");
        assert!(got == body, "body differs ({} bytes)", got.len());
    }
}

/// A backend that speaks first (SSH, SMTP, database servers greet before the client says
/// anything): the enclave pushes the greeting as soon as the session is established,
/// possibly before the host has read the answer that says so; the client gets it whole,
/// on every one of many connections, without sending a byte first.
#[test]
fn a_backend_that_speaks_first_greets_every_client() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut conn = conn;
                let _ = conn.write_all(b"220 backend ready\r\n");
                // Then an echo of one line, and the end.
                let mut line = String::new();
                let _ = BufReader::new(&conn).read_line(&mut line);
                let _ = conn.write_all(line.as_bytes());
            });
        }
    });
    let server = ServeProcess::start(&["--forward", &backend.to_string()]);
    let (_tunnel, local) = tunnel(server.addr, &server.dir.path().join("policy.toml"));
    for i in 0..40 {
        let mut s = TcpStream::connect(local).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut reader = BufReader::new(s.try_clone().unwrap());
        let mut greeting = String::new();
        reader.read_line(&mut greeting).unwrap();
        assert_eq!(greeting, "220 backend ready\r\n", "connection {i}");
        s.write_all(format!("hello {i}\n").as_bytes()).unwrap();
        let mut echo = String::new();
        reader.read_line(&mut echo).unwrap();
        assert_eq!(echo, format!("hello {i}\n"));
    }
}

/// Sessions whose backend stops reading hold the enclave's calls for them (that is the
/// backpressure), but never the enclave as a whole: while several uploads are stuck on a
/// backend that reads nothing, new clients still attest and get their requests answered.
#[test]
fn uploads_stuck_on_a_backend_do_not_stall_other_sessions() {
    // A backend that accepts and never reads.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let backend = listener.local_addr().unwrap();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    let server = ServeProcess::start(&["--forward", &backend.to_string()]);
    let (_tunnel, local) = tunnel(server.addr, &server.dir.path().join("policy.toml"));
    // More stuck uploads than the enclave has workers.
    let uploads = 2 * std::thread::available_parallelism().map_or(2, |n| n.get()).max(2);
    for _ in 0..uploads {
        let mut s = TcpStream::connect(local).unwrap();
        std::thread::spawn(move || {
            let chunk = vec![7u8; 1 << 20];
            for _ in 0..64 {
                if s.write_all(&chunk).is_err() {
                    return;
                }
            }
        });
    }
    assert!(within(Duration::from_secs(10), || held.lock().unwrap().len() == uploads));
    std::thread::sleep(Duration::from_secs(1)); // the uploads fill every buffer and block
    for i in 0..3 {
        let started = std::time::Instant::now();
        let mut client = sc_client::TcpClient::connect(server.addr, server.config(), Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("client {i}: {e} after {:?}", started.elapsed()));
        client.set_request_timeout(Some(Duration::from_secs(5))).unwrap();
        assert_eq!(client.request(b"1,2").unwrap(), b"count=2 mean=1.50 max=2.00");
    }
}
