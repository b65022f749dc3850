//! `serve` with a hardware attester writes the client policy from the running enclave's
//! evidence (the boundary's evidence probe). No TEE is at hand here, so this test program
//! doubles as the enclave program: started by `serve` with `SC_REPLAY_EVIDENCE` set, it
//! answers the probe with real captured evidence (SEV-SNP, from the shared evidence sets)
//! instead of asking hardware. That is the one part mocked; `serve`, the boundary, the
//! probe and the verification are the real ones.
//!
//! Captured evidence cannot carry the report data of this run's probe nonce, so `serve`
//! must refuse to write a policy from it (a replay is exactly what the nonce is for), save
//! the evidence beside the policy path and say how to go on; `policy init` on the saved
//! evidence then writes the policy. (Built without libtest's harness: the enclave program
//! speaks the boundary protocol on stdout, where libtest would print.)

use sc_boundary::{CallError, EnclaveService, ErrorCode, ProbeEvidence, Request, Response};
use sc_protocol::PlatformId;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

/// The enclave program's side: evidence for the probe, refusals for everything else.
struct Replay {
    evidence: Vec<u8>,
    vcek: Vec<u8>,
}

impl EnclaveService for Replay {
    fn call(&self, request: Request) -> Response {
        match request {
            Request::Evidence { .. } => Response::Evidence(ProbeEvidence {
                platform: PlatformId::SEV_SNP,
                evidence: self.evidence.clone(),
                // As the configfs attester sends the certificate table beside a report.
                collateral: Some(self.vcek.clone()),
            }),
            _ => Response::Error(CallError::new(ErrorCode::Internal, "replay enclave: probe only")),
        }
    }
}

fn evidence_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../attestation/tests/evidence/amd-snp-virtee-milan")
}

fn snp_report() -> Vec<u8> {
    let text = std::fs::read_to_string(evidence_dir().join("report_milan.hex")).unwrap();
    sc_attestation::hex_text::decode(&text).unwrap()
}

fn run_as_enclave(evidence: &Path) {
    let evidence = std::fs::read(evidence).unwrap();
    let vcek = std::fs::read(evidence_dir().join("vcek_milan.der")).unwrap();
    sc_boundary::serve(
        Arc::new(Replay { evidence, vcek }),
        std::io::stdin(),
        std::io::stdout(),
        2,
    )
    .unwrap();
}

/// `serve --attester configfs-tsm` with the replaying enclave: the first stdout line.
fn serve_first_line(dir: &Path, policy: &Path) -> (String, String) {
    let report = dir.join("report.bin");
    std::fs::write(&report, snp_report()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--attester",
            "configfs-tsm",
            "--enclave",
        ])
        .arg(std::env::current_exe().unwrap())
        .arg("--policy-out")
        .arg(policy)
        .env("SC_REPLAY_EVIDENCE", &report)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    (line, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn replayed_evidence_writes_no_policy_and_is_saved_for_policy_init() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("client-policy.toml");
    let (line, log) = serve_first_line(dir.path(), &policy);
    // Listening, but no policy: the evidence does not carry this probe's report data.
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line}\n{log}");
    assert!(line.contains("NO client policy written"), "{line}");
    assert!(line.contains("report data"), "the reason names the report data: {line}");
    assert!(!policy.exists(), "a policy was written from replayed evidence");
    let saved = dir.path().join("client-policy.evidence");
    assert!(
        line.contains(&format!("policy init --evidence {}", saved.display())),
        "{line}"
    );
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        snp_report(),
        "the saved evidence is the enclave's"
    );
    assert!(log.contains("no client policy written"), "{log}");

    // The next step the line gives: `policy init` on the saved evidence, with its VCEK.
    let init = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["policy", "init", "--evidence"])
        .arg(&saved)
        .arg("--collateral")
        .arg(evidence_dir().join("vcek_milan.der"))
        .arg("--at")
        .arg("2025-06-15T00:00:00Z")
        .arg("--out")
        .arg(&policy)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let text = std::fs::read_to_string(&policy).unwrap();
    let stated = sc_attestation::platforms::inspect::describe(PlatformId::SEV_SNP, &snp_report()).unwrap();
    assert!(text.contains("[sev_snp]"), "{text}");
    assert!(text.contains(&hex::encode(&stated.measurement)), "{text}");
}

fn an_existing_policy_file_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("client-policy.toml");
    std::fs::write(&policy, "keep me").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--attester",
            "configfs-tsm",
            "--enclave",
        ])
        .arg(std::env::current_exe().unwrap())
        .arg("--policy-out")
        .arg(&policy)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists: not overwriting it"));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), "keep me");
}

fn main() {
    if let Some(evidence) = std::env::var_os("SC_REPLAY_EVIDENCE") {
        return run_as_enclave(Path::new(&evidence));
    }
    let tests: [(&str, fn()); 2] = [
        (
            "replayed_evidence_writes_no_policy_and_is_saved_for_policy_init",
            replayed_evidence_writes_no_policy_and_is_saved_for_policy_init,
        ),
        ("an_existing_policy_file_is_kept", an_existing_policy_file_is_kept),
    ];
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let mut ran = 0;
    for (name, test) in tests {
        if filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str())) {
            test();
            println!("test {name} ... ok");
            ran += 1;
        }
    }
    println!("test result: ok. {ran} passed");
}
