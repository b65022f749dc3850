//! The attestation verbs, run as a user would: create a simulated root, measure an
//! executable, produce evidence, verify it against a policy file.

use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn policy(path: &Path, root_line: &str, measurement: &str) {
    std::fs::write(
        path,
        format!("allow_simulated = true\n[simulated]\n{root_line}\nmeasurements = [\"{measurement}\"]\nmax_evidence_age_secs = 600\n"),
    )
    .unwrap();
}

#[test]
fn create_measure_attest_verify() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let exe = env!("CARGO_BIN_EXE_secure-channel");

    let created = run(&["sim-root", "create", "--out", &p("root.key")]);
    assert!(created.status.success(), "{created:?}");
    let root_line = stdout(&created)
        .lines()
        .find(|l| l.starts_with("root_public_key"))
        .unwrap()
        .to_string();
    assert!(
        !run(&["sim-root", "create", "--out", &p("root.key")]).status.success(),
        "must not overwrite"
    );

    let measured = run(&["measure", exe]);
    assert!(measured.status.success());
    let measurement = stdout(&measured).trim().to_string();
    assert_eq!(measurement.len(), 64);

    let attested = run(&[
        "sim-attest",
        "--root",
        &p("root.key"),
        "--exe",
        exe,
        "--svn",
        "2",
        "--out",
        &p("ev.bin"),
    ]);
    assert!(attested.status.success(), "{attested:?}");
    assert!(stdout(&attested).contains("SIMULATED"));

    policy(&dir.path().join("good.toml"), &root_line, &measurement);
    let ok = run(&["verify", "--evidence", &p("ev.bin"), "--policy", &p("good.toml")]);
    let text = stdout(&ok);
    assert!(ok.status.success(), "{text}");
    assert!(text.contains(&format!("measurement: {measurement}")));
    assert!(text.contains("security_version: 2"));
    assert!(text.contains("verdict: ACCEPTED (SIMULATED"));

    policy(&dir.path().join("other.toml"), &root_line, &"ab".repeat(32));
    let rejected = run(&["verify", "--evidence", &p("ev.bin"), "--policy", &p("other.toml")]);
    assert_eq!(rejected.status.code(), Some(2));
    assert!(stdout(&rejected).contains("REJECTED: measurement is not in the policy"));

    let wrong_rd = run(&[
        "verify",
        "--evidence",
        &p("ev.bin"),
        "--policy",
        &p("good.toml"),
        "--report-data",
        &"11".repeat(64),
    ]);
    assert_eq!(wrong_rd.status.code(), Some(2));
    assert!(stdout(&wrong_rd).contains("report data does not match"));

    std::fs::write(
        dir.path().join("bad.toml"),
        "allow_simulated = true\n[simulated]\nroot_public_key = 5\n",
    )
    .unwrap();
    let bad = run(&["verify", "--evidence", &p("ev.bin"), "--policy", &p("bad.toml")]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("policy line 3"),
        "{bad:?}"
    );
}
