//! The mission's core claim, checked on real processes: while a session runs, the host
//! process's memory holds neither the client's plaintext nor the session keys. Positive
//! control: the same scan finds the plaintext in the enclave process, so a scan that found
//! nothing anywhere could not pass.

#[path = "common/process_memory.rs"]
mod process_memory;

use process_memory::{children, contains, memory_of};
use sc_client::TcpClient;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct CapturedKeys(Mutex<Vec<(&'static str, Vec<u8>)>>);

impl sc_protocol::KeyLog for CapturedKeys {
    fn log(&self, _session_id: u64, label: &'static str, secret: &[u8]) {
        self.0.lock().unwrap().push((label, secret.to_vec()));
    }
}

/// Kills the host and its enclave even when an assertion fails.
struct Reap(Vec<u32>);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

#[test]
fn host_memory_holds_no_plaintext_and_no_keys_while_the_enclave_holds_the_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.key");
    let policy = dir.path().join("policy.toml");
    assert!(
        Command::new(env!("CARGO_BIN_EXE_secure-channel"))
            .args(["sim-root", "create", "--out"])
            .arg(&root)
            .output()
            .unwrap()
            .status
            .success()
    );
    let mut host = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["serve", "--listen", "127.0.0.1:0", "--sim-root"])
        .arg(&root)
        .arg("--policy-out")
        .arg(&policy)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(host.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .strip_prefix("listening on ")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();

    // A distinctive dataset: a few KiB of digits that occur nowhere else.
    let dataset: String = (0..400u64)
        .map(|i| format!("{}.{:04},", 7_000_003 * i % 99_991, i))
        .collect();
    let keys = Arc::new(CapturedKeys::default());
    let config = Arc::new(
        sc_protocol::ClientConfig::builder()
            .verifier(Arc::new(
                sc_attestation::VerifierRegistry::from_policy(&sc_attestation::Policy::load(&policy).unwrap()).unwrap(),
            ))
            .key_log(keys.clone())
            .build()
            .unwrap(),
    );
    let mut client = TcpClient::connect(addr.as_str(), config, Duration::from_secs(10)).unwrap();
    let reply = client.request(dataset.as_bytes()).unwrap();
    assert!(reply.starts_with(b"count=400"));

    // The session is open now. Scan both server-side processes.
    let host_pid = host.id();
    let enclave_pid = *children(host_pid).first().expect("the host runs an enclave process");
    let _reap = Reap(vec![host_pid, enclave_pid]);
    let host_memory = memory_of(host_pid);
    let enclave_memory = memory_of(enclave_pid);
    // A slice from the middle: allocators overwrite the first bytes of freed blocks.
    let probe = &dataset.as_bytes()[1000..1064];

    assert!(
        contains(&enclave_memory, probe),
        "positive control: the enclave decrypted the data"
    );
    assert!(
        !contains(&host_memory, probe),
        "the host process holds client plaintext"
    );
    let keys = keys.0.lock().unwrap();
    assert_eq!(keys.len(), 4);
    for (label, secret) in keys.iter() {
        assert!(!contains(&host_memory, secret), "the host process holds {label}");
    }
    client.close().unwrap();
    let _ = host.kill();
    let _ = host.wait();
}
