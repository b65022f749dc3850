//! Many nodes behind HAProxy (Debian's `haproxy`), with the shipped `deploy/haproxy.cfg`
//! (its frontend and server addresses moved to loopback ports; everything else as
//! shipped): 3 real `serve` nodes, 100 clients through HAProxy, one node killed and
//! restarted. Without `haproxy` installed the test says so and returns, unless
//! `SC_REQUIRE_HAPROXY=1` (CI), where it fails. Also: the shipped systemd unit passes
//! `systemd-analyze verify` where systemd is installed.

#[path = "common/serve_process.rs"]
mod serve_process;

use sc_client::{ClientError, ClientTimeouts, RetryPolicy, RetryingClient};
use serve_process::{Killed, ServeProcess, free_port, http_get, sample, within};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn have(tool: &str, require: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os(require).is_none(),
            "{require} is set but {tool} is not installed"
        );
        eprintln!("{tool} is not installed; skipped");
    }
    found
}

/// A node on fixed ports (so that it can come back where HAProxy expects it).
fn node(port: u16, ops: u16) -> ServeProcess {
    ServeProcess::start(&[
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--metrics-listen",
        &format!("127.0.0.1:{ops}"),
        "-q",
    ])
}

/// The shipped configuration with its addresses moved to loopback.
fn haproxy_config(front: u16, stats: u16, nodes: &[(u16, u16)]) -> String {
    let shipped = std::fs::read_to_string(repo().join("deploy/haproxy.cfg")).unwrap();
    let mut out = String::new();
    for line in shipped.lines() {
        let t = line.trim_start();
        if t.starts_with("bind :7000") {
            out.push_str(&format!("    bind 127.0.0.1:{front}\n"));
        } else if t.starts_with("bind 127.0.0.1:8404") {
            out.push_str(&format!("    bind 127.0.0.1:{stats}\n"));
        } else if t.starts_with("server node") {
            // Added once, for all nodes, in place of the first.
            if t.starts_with("server node1 ") {
                for (i, (port, ops)) in nodes.iter().enumerate() {
                    out.push_str(&format!("    server node{} 127.0.0.1:{port} port {ops}\n", i + 1));
                }
            }
        } else if t.starts_with("default-server") {
            // The shipped health-check port is per node here.
            out.push_str(&line.replace("check port 9100", "check"));
            out.push('\n');
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// HAProxy's view of node `name` (its status column: UP, DOWN, ...).
fn status(stats: SocketAddr, name: &str) -> String {
    let (_, csv) = http_get(stats, "/stats;csv");
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").trim_start_matches("# ").split(',').collect();
    let col = header.iter().position(|h| *h == "status").unwrap_or(17);
    lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&name))
        .and_then(|f| f.get(col).map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn three_nodes_behind_haproxy_spread_fail_over_and_come_back() {
    if !have("haproxy", "SC_REQUIRE_HAPROXY") {
        return;
    }
    let ports: Vec<(u16, u16)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let mut nodes: Vec<ServeProcess> = ports.iter().map(|&(p, o)| node(p, o)).collect();
    let (front, stats_port) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("haproxy.cfg");
    std::fs::write(&cfg, haproxy_config(front, stats_port, &ports)).unwrap();
    let check = Command::new("haproxy").arg("-c").arg("-f").arg(&cfg).output().unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let _haproxy = Killed(
        Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let stats: SocketAddr = format!("127.0.0.1:{stats_port}").parse().unwrap();
    assert!(
        within(Duration::from_secs(15), || (1..=3)
            .all(|i| status(stats, &format!("node{i}")) == "UP")),
        "nodes not UP in HAProxy: {:?}",
        (1..=3).map(|i| status(stats, &format!("node{i}"))).collect::<Vec<_>>()
    );
    let lb = format!("127.0.0.1:{front}");
    let policy = nodes[0].dir.path().join("policy.toml");
    let config = nodes[0].config();

    // 100 clients through HAProxy: every one attests and gets answers; all nodes serve.
    let out = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["load", "--target", &lb, "--policy"])
        .arg(&policy)
        .args(["--clients", "100", "--duration", "3s", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(summary["handshakes"]["count"].as_u64().unwrap() >= 100, "{summary}");
    assert!(summary["requests"]["count"].as_u64().unwrap() > 100, "{summary}");
    assert_eq!(summary["errors"], serde_json::json!({}), "{summary}");
    let served: Vec<f64> = nodes
        .iter()
        .map(|n| sample(&n.ops_get("/metrics").1, "sc_handshakes_total{outcome=\"established\"}"))
        .collect();
    assert!(served.iter().all(|&n| n >= 10.0), "load not spread: {served:?}");

    // Long-lived clients, then node 2 dies.
    let connect =
        || RetryingClient::connect(&lb, config.clone(), ClientTimeouts::default(), RetryPolicy::default()).unwrap();
    let mut idempotent: Vec<RetryingClient> = (0..30).map(|_| connect()).collect();
    let mut plain: Vec<RetryingClient> = (0..30).map(|_| connect()).collect();
    for c in idempotent.iter_mut().chain(plain.iter_mut()) {
        assert!(c.request(b"1").unwrap().starts_with(b"count=1"));
    }
    nodes[1].child.kill().unwrap();
    nodes[1].child.wait().unwrap();
    // Idempotent requests re-handshake onto a live node, transparently.
    for c in &mut idempotent {
        assert!(c.request_idempotent(b"1,2").unwrap().starts_with(b"count=2"));
    }
    let moved = idempotent.iter().filter(|c| c.connections() > 1).count();
    assert!((1..30).contains(&moved), "{moved} of 30 re-handshook");
    // Other requests on the dead node fail with a typed error and are not resent; the
    // client then connects again for the next one.
    let mut failed = 0;
    for c in &mut plain {
        match c.request(b"3") {
            Ok(r) => assert!(r.starts_with(b"count=1")),
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        ClientError::ConnectionClosed | ClientError::Connection(_) | ClientError::Send(_)
                    ),
                    "{e:?}"
                );
                failed += 1;
                assert!(c.request(b"3").unwrap().starts_with(b"count=1"));
            }
        }
    }
    assert!((1..30).contains(&failed), "{failed} of 30 failed");
    // New clients keep succeeding, and HAProxy marks the node down.
    for _ in 0..20 {
        let mut c = connect();
        assert!(c.request(b"4").unwrap().starts_with(b"count=1"));
    }
    assert!(within(Duration::from_secs(10), || status(stats, "node2").starts_with("DOWN")));
    // The node comes back on its ports; HAProxy marks it up and sends it clients again.
    nodes[1] = node(ports[1].0, ports[1].1);
    assert!(within(Duration::from_secs(10), || status(stats, "node2") == "UP"));
    let before = sample(
        &nodes[1].ops_get("/metrics").1,
        "sc_handshakes_total{outcome=\"established\"}",
    );
    let mut fresh: Vec<RetryingClient> = (0..30).map(|_| connect()).collect();
    for c in &mut fresh {
        assert!(c.request(b"5").unwrap().starts_with(b"count=1"));
    }
    let after = sample(
        &nodes[1].ops_get("/metrics").1,
        "sc_handshakes_total{outcome=\"established\"}",
    );
    assert!(after > before, "the restarted node got no clients");
}

#[test]
fn the_systemd_unit_verifies() {
    if !have("systemd-analyze", "SC_REQUIRE_SYSTEMD") {
        return;
    }
    // The unit as shipped, with ExecStart pointing at this build (verify checks it exists).
    let unit = std::fs::read_to_string(repo().join("deploy/secure-channel.service")).unwrap();
    for hardening in [
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "ProtectSystem=strict",
        "ReadOnlyPaths=",
    ] {
        assert!(unit.contains(hardening), "{hardening} missing");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secure-channel.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/secure-channel", env!("CARGO_BIN_EXE_secure-channel")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
