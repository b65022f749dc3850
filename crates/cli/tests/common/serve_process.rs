//! `secure-channel serve` as a real process, attackers' sockets from chosen loopback
//! sources, and the process figures (descriptors, threads, RSS) read from /proc. Shared by
//! the hostile-load tests and the load bench.
#![allow(dead_code)]

use sc_attestation::sim::SimRoot;
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::io::read_message;
use sc_protocol::msgs::{Alert, AlertCode, Frame, MessageType};
use sc_protocol::{ClientConfig, ClientHandshake, UnixTime};
use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `secure-channel serve` with its log.
pub struct ServeProcess {
    pub child: Child,
    pub addr: SocketAddr,
    /// The operations endpoint, when `--metrics-listen` was given.
    pub ops: Option<SocketAddr>,
    pub policy: String,
    pub log: Arc<Mutex<String>>,
    pub dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `serve` on a free loopback port with `args` added (limits).
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_fd_limit(None, args)
    }

    /// Like [`ServeProcess::start`], under `ulimit -n fd_limit` (soft and hard) if given.
    pub fn start_with_fd_limit(fd_limit: Option<u32>, args: &[&str]) -> Self {
        Self::start_full(fd_limit, None, args)
    }

    /// Like [`ServeProcess::start`], with `config` as its `--config` file (`serve.toml` in
    /// [`ServeProcess::dir`]).
    pub fn start_with_config(config: &str, args: &[&str]) -> Self {
        Self::start_full(None, Some(config), args)
    }

    fn start_full(fd_limit: Option<u32>, config: Option<&str>, args: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root.key");
        SimRoot::from_secret([0x42; 32]).write(&root).unwrap();
        let policy_path = dir.path().join("policy.toml");
        let exe = env!("CARGO_BIN_EXE_secure-channel");
        let mut argv: Vec<String> = vec![exe.into(), "serve".into()];
        // A free port unless the caller chose one.
        if !args.contains(&"--listen") {
            argv.extend(["--listen".into(), "127.0.0.1:0".into()]);
        }
        argv.extend([
            "--sim-root".into(),
            root.display().to_string(),
            "--policy-out".into(),
            policy_path.display().to_string(),
        ]);
        if let Some(text) = config {
            let path = dir.path().join("serve.toml");
            std::fs::write(&path, text).unwrap();
            argv.extend(["--config".to_string(), path.display().to_string()]);
        }
        argv.extend(args.iter().map(|s| s.to_string()));
        let mut cmd = match fd_limit {
            Some(n) => {
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg(format!("ulimit -n {n} && exec \"$@\""))
                    .arg("sh")
                    .args(&argv);
                c
            }
            None => {
                let mut c = Command::new(&argv[0]);
                c.args(&argv[1..]);
                c
            }
        };
        let mut child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|r| r.split(';').next())
            .unwrap_or_else(|| panic!("unexpected first line {first:?}; log: {}", log.lock().unwrap()))
            .parse()
            .unwrap();
        let ops = first
            .split("operations endpoint on ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(|a| a.parse().unwrap());
        let policy = std::fs::read_to_string(&policy_path).unwrap();
        Self {
            child,
            addr,
            ops,
            policy,
            log,
            dir,
        }
    }

    /// Sends `signal` (TERM, INT, HUP...) to the process.
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {signal}");
    }

    /// The exit status, if the process ends within `limit`.
    pub fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `GET path` on the operations endpoint: the status code and the body.
    pub fn ops_get(&self, path: &str) -> (u16, String) {
        http_get(self.ops.expect("started with --metrics-listen"), path)
    }

    pub fn config(&self) -> Arc<ClientConfig> {
        let policy = Policy::from_toml(&self.policy, None).unwrap();
        Arc::new(
            ClientConfig::builder()
                .verifier(Arc::new(VerifierRegistry::from_policy(&policy).unwrap()))
                .build()
                .unwrap(),
        )
    }

    fn proc_path(&self, what: &str) -> String {
        format!("/proc/{}/{what}", self.child.id())
    }

    /// Open descriptors.
    pub fn fds(&self) -> usize {
        std::fs::read_dir(self.proc_path("fd")).map(|d| d.count()).unwrap_or(0)
    }

    fn status_field(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(self.proc_path("status")).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Threads.
    pub fn threads(&self) -> u64 {
        self.status_field("Threads:")
    }

    /// Resident memory in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_field("VmRSS:")
    }

    pub fn log_contains(&self, text: &str) -> bool {
        self.log.lock().unwrap().contains(text)
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.1 (one request, then close): the status code and the body;
/// status 0 if nothing listens there.
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use std::io::Write;
    let Ok(mut s) = TcpStream::connect(addr) else {
        return (0, String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of the sample `series` (name with labels, as printed) in `metrics`, 0 if absent.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A TCP connection to `to` from loopback address `from` (127.0.0.x: distinct sources).
pub fn connect_from(from: Ipv4Addr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.bind(&SocketAddrV4::new(from, 0).into())?;
    socket.connect_timeout(&to.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// The i-th attacker source: 127.0.0.2, 127.0.0.3, ... (127.0.0.1 is the legitimate client).
pub fn source(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (i / 250) as u8, (2 + i % 250) as u8)
}

/// A fresh, valid ClientHello.
pub fn client_hello(config: &Arc<ClientConfig>) -> Vec<u8> {
    ClientHandshake::start(config.clone(), &mut rand_core::OsRng, UnixTime::now())
        .unwrap()
        .1
}

/// What the server sends next, as seen by a peer that waits up to `limit`: the alert code
/// and whether the stream then ended, if the next frame is an alert; `(None, false)` at
/// once if it is another frame; `(None, ended)` if none comes.
pub fn refusal(stream: &mut TcpStream, limit: Duration) -> (Option<AlertCode>, bool) {
    stream.set_read_timeout(Some(limit)).unwrap();
    let alert = match read_message(stream, 1 << 21) {
        Ok(Some(m)) => {
            let frame = Frame::parse(&m, 1 << 21).ok();
            match frame.filter(|f| f.msg_type == MessageType::Alert) {
                Some(f) => sc_protocol::codec::Codec::read_exact(f.body, "alert")
                    .ok()
                    .map(|a: Alert| a.code),
                None => return (None, false),
            }
        }
        _ => None,
    };
    let mut rest = [0u8; 64];
    let ended = match stream.read(&mut rest) {
        Ok(n) => n == 0,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    };
    (alert, ended)
}

/// Waits until `f` holds, up to `limit`.
pub fn within(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// A connection from `from` that completes the handshake by hand (no client library):
/// what an attacker holding an established session has.
pub fn established(config: &Arc<ClientConfig>, from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    use std::io::Write;
    let mut s = connect_from(from, to).unwrap();
    let (hs, hello) = ClientHandshake::start(config.clone(), &mut rand_core::OsRng, UnixTime::now()).unwrap();
    s.write_all(&hello).unwrap();
    let reply = read_message(&mut s, 1 << 21).unwrap().unwrap();
    let est = hs.read_server_hello(&reply, UnixTime::now()).unwrap();
    s.write_all(&est.client_finished).unwrap();
    s
}

/// A child process killed (and reaped) when dropped, even when an assertion fails.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `command` with its standard output piped and returns the process and the first
/// line it prints (the `... listening on ADDR` line of `serve`, `enclave --listen`,
/// `tunnel`).
pub fn spawn_reading_first_line(command: &mut Command) -> (Child, String) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

/// `secure-channel tunnel` to `server` with `policy` (its log discarded); the process
/// and its local address.
pub fn tunnel(server: SocketAddr, policy: &std::path::Path) -> (Killed, SocketAddr) {
    let (child, line) = spawn_reading_first_line(
        Command::new(env!("CARGO_BIN_EXE_secure-channel"))
            .args([
                "tunnel",
                "--listen",
                "127.0.0.1:0",
                "--server",
                &server.to_string(),
                "--policy",
            ])
            .arg(policy)
            .stderr(Stdio::null()),
    );
    let addr = line
        .strip_prefix("tunnel listening on ")
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    (Killed(child), addr)
}
