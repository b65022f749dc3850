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
    // The refusal shows the presented value beside the accepted one.
    assert!(
        stdout(&rejected).contains(&format!(
            "REJECTED: measurement is not in the policy: presented {measurement}; the policy accepts {}",
            "ab".repeat(32)
        )),
        "{}",
        stdout(&rejected)
    );
    // Evidence issued after the verification time (beyond the allowed skew) is refused.
    let early = run(&[
        "verify",
        "--evidence",
        &p("ev.bin"),
        "--policy",
        &p("good.toml"),
        "--at",
        "2001-01-01T00:00:00Z",
    ]);
    assert_eq!(early.status.code(), Some(2));
    assert!(
        stdout(&early).contains("is from the future: the verification time is 2001-01-01T00:00:00Z"),
        "{}",
        stdout(&early)
    );
    let bad_at = run(&[
        "verify",
        "--evidence",
        &p("ev.bin"),
        "--policy",
        &p("good.toml"),
        "--at",
        "yesterday",
    ]);
    assert!(
        String::from_utf8_lossy(&bad_at.stderr).contains("\"yesterday\" is neither RFC 3339"),
        "{bad_at:?}"
    );

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

/// Real hardware evidence through `verify`: claims printed, verdict, exit code.
#[test]
fn verify_real_evidence_files() {
    let evidence = Path::new(env!("CARGO_MANIFEST_DIR")).join("../attestation/tests/evidence");
    let dir = tempfile::tempdir().unwrap();
    let tdx_policy = dir.path().join("tdx.toml");
    std::fs::write(
        &tdx_policy,
        "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\"]\n",
    )
    .unwrap();
    let dcap = evidence.join("intel-dcap-phala");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let args = |at: &str| {
        vec![
            "verify".to_string(),
            "--evidence".into(),
            s(&dcap.join("tdx_quote")),
            "--collateral".into(),
            s(&dcap.join("tdx_quote_collateral.json")),
            "--policy".into(),
            s(&tdx_policy),
            "--at".into(),
            at.into(),
        ]
    };
    let ok = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(args("1751328000"))
        .output()
        .unwrap();
    let text = stdout(&ok);
    assert!(ok.status.success(), "{text}");
    assert!(
        text.contains("Intel TDX (DCAP quote)") && text.contains("tcb_status: UpToDate"),
        "{text}"
    );
    assert!(text.contains("verdict: ACCEPTED"), "{text}");
    // After the collateral expired.
    let late = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(args("2025-07-20T00:00:00Z"))
        .output()
        .unwrap();
    assert_eq!(late.status.code(), Some(2));
    let text = stdout(&late);
    assert!(
        text.contains(
            "verdict: REJECTED: PCK CRL expired at 2025-07-19T10:00:35Z; the verification time is 2025-07-20T00:00:00Z"
        ),
        "{text}"
    );
    assert!(text.contains("\nhint: fetch fresh collateral"), "{text}");

    // An SEV-SNP report (hex text) whose measurement the policy lacks: the claims show the
    // value to compare.
    let snp_policy = dir.path().join("snp.toml");
    std::fs::write(
        &snp_policy,
        format!("[sev_snp]\nmeasurements = [\"{}\"]\n", "ab".repeat(48)),
    )
    .unwrap();
    let virtee = evidence.join("amd-snp-virtee-milan");
    let out = run(&[
        "verify",
        "--evidence",
        &s(&virtee.join("report_milan.hex")),
        "--collateral",
        &s(&virtee.join("vcek_milan.der")),
        "--policy",
        &s(&snp_policy),
        "--at",
        "1749945600",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("measurement: 7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "verdict: REJECTED: measurement is not in the policy: presented 7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f; the policy accepts {}",
            "ab".repeat(48)
        )),
        "{text}"
    );

    // The virtCCA token: parsed, refused as unbound.
    let out = run(&[
        "verify",
        "--evidence",
        &s(&evidence.join("huawei-virtcca-secgear/virtcca.cbor.hex")),
        "--policy",
        &s(&tdx_policy),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stdout(&out).contains("not bound to a hardware key"), "{}", stdout(&out));
}

/// The formats `verify` reads and says it read: a quote as 0x-prefixed hex, collateral as
/// Intel PCS responses in a directory or as separate files, and the reason with a hint
/// when the collateral is for another platform.
#[test]
fn verify_detects_the_formats_it_is_given() {
    use sc_test_support::evidence::{Saved, dir as set_dir, read, write_pcs_responses};
    let dir = tempfile::tempdir().unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let policy = dir.path().join("sgx.toml");
    std::fs::write(
        &policy,
        "[sgx]\nmrenclaves = [\"0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"]\naccepted_tcb_statuses = [\"ConfigurationAndSWHardeningNeeded\"]\naccepted_advisories = [\"INTEL-SA-00289\", \"INTEL-SA-00615\"]\n",
    )
    .unwrap();
    let quote = dir.path().join("quote.hex");
    std::fs::write(
        &quote,
        format!("0x{}\n", hex::encode(read("intel-dcap-phala", "sgx_quote"))),
    )
    .unwrap();
    let pcs = dir.path().join("pcs");
    std::fs::create_dir(&pcs).unwrap();
    write_pcs_responses(
        "intel-dcap-phala",
        "sgx_quote_collateral.json",
        Saved::WithHeaders,
        &pcs,
    );
    let verify = |collateral: &[String]| {
        let mut args = vec![
            "verify".to_string(),
            "--evidence".into(),
            s(&quote),
            "--policy".into(),
            s(&policy),
        ];
        for c in collateral {
            args.extend(["--collateral".to_string(), c.clone()]);
        }
        args.extend(["--at".to_string(), "2025-07-01T00:00:00Z".into()]);
        let out = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
            .args(&args)
            .output()
            .unwrap();
        (out.status.code(), stdout(&out))
    };
    // A directory of PCS responses.
    let (code, text) = verify(&[s(&pcs)]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("evidence: Intel SGX (DCAP quote)"), "{text}");
    assert!(text.contains("collateral: Intel PCS/PCCS responses ("), "{text}");
    assert!(text.contains("verdict: ACCEPTED"), "{text}");
    // The same responses as separate files.
    let files: Vec<String> = std::fs::read_dir(&pcs)
        .unwrap()
        .map(|e| s(&e.unwrap().path()))
        .collect();
    let (code, text) = verify(&files);
    assert_eq!(code, Some(0), "{text}");
    // dcap-qvl JSON.
    let (code, text) = verify(&[s(&set_dir("intel-dcap-phala").join("sgx_quote_collateral.json"))]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("collateral: dcap-qvl collateral JSON ("), "{text}");
    // TDX collateral for the SGX quote: the reason and what to do.
    let (code, text) = verify(&[s(&set_dir("intel-dcap-phala").join("tdx_quote_collateral.json"))]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("verdict: REJECTED: TCB info is for TDX; this evidence needs SGX"),
        "{text}"
    );
    assert!(
        text.contains("\nhint: this collateral was made for another platform"),
        "{text}"
    );
}

/// `verify --json`: one JSON object with the same facts, for scripts.
#[test]
fn verify_speaks_json() {
    use sc_test_support::evidence::{dir as set_dir, read};
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("tdx.toml");
    std::fs::write(
        &policy,
        format!(
            "[tdx]\nmrtds = [\"{}\"]\nallow_unpinned_workload = true\n",
            "11".repeat(48)
        ),
    )
    .unwrap();
    let quote = dir.path().join("quote");
    std::fs::write(&quote, read("intel-dcap-phala", "tdx_quote")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["verify", "--json", "--evidence"])
        .arg(&quote)
        .arg("--collateral")
        .arg(set_dir("intel-dcap-phala").join("tdx_quote_collateral.json"))
        .arg("--policy")
        .arg(&policy)
        .args(["--at", "2025-07-01T00:00:00Z"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"], "rejected");
    assert_eq!(v["evidence"]["code"], 3);
    assert_eq!(v["collateral"][0]["form"], "dcap-qvl collateral JSON");
    assert!(v["claims"]["measurement"].as_str().unwrap().starts_with("91eb2b44"));
    assert!(v["claims"]["extra"]["rtmr1"].is_string());
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .starts_with("measurement is not in the policy: presented 91eb2b44")
    );
    assert!(v["hint"].as_str().is_some());
}

/// `policy init`: verified evidence in, a policy accepting exactly its workload out.
#[test]
fn policy_init_writes_a_policy_that_accepts_its_evidence() {
    use sc_test_support::evidence::dir as set_dir;
    let dcap = set_dir("intel-dcap-phala");
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("tdx.toml");
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let init = run(&[
        "policy",
        "init",
        "--evidence",
        &s(&dcap.join("tdx_quote")),
        "--collateral",
        &s(&dcap.join("tdx_quote_collateral.json")),
        "--at",
        "2025-07-01T00:00:00Z",
        "--out",
        &s(&policy),
    ]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("rtmr1 = [\"0084452c"), "{text}");
    assert!(text.contains("# RTMR1: what the image measured at run time"), "{text}");
    // The written policy accepts the evidence it came from.
    let ok = run(&[
        "verify",
        "--evidence",
        &s(&dcap.join("tdx_quote")),
        "--collateral",
        &s(&dcap.join("tdx_quote_collateral.json")),
        "--policy",
        &s(&policy),
        "--at",
        "2025-07-01T00:00:00Z",
    ]);
    assert!(stdout(&ok).contains("verdict: ACCEPTED"), "{}", stdout(&ok));
    // Never over an existing file; evidence that does not verify writes nothing.
    let again = run(&[
        "policy",
        "init",
        "--evidence",
        &s(&dcap.join("tdx_quote")),
        "--out",
        &s(&policy),
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists: not overwriting it"));
    let sgx = run(&[
        "policy",
        "init",
        "--evidence",
        &s(&dcap.join("sgx_quote")),
        "--collateral",
        &s(&dcap.join("sgx_quote_collateral.json")),
        "--at",
        "2025-07-01T00:00:00Z",
    ]);
    assert!(!sgx.status.success());
    assert!(
        String::from_utf8_lossy(&sgx.stderr).contains(
            "does not verify, so no policy was written: TCB not accepted: status ConfigurationAndSWHardeningNeeded"
        ),
        "{}",
        String::from_utf8_lossy(&sgx.stderr)
    );
}
