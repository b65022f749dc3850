//! The README's main command, as a user runs it.

#[test]
fn demo_attests_runs_the_job_and_shows_only_ciphertext_sizes() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_secure-channel"))
        .args(["demo", "--data", "2.5, 7.5, 30"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("result: count=3 mean=13.33 max=30.00"), "{text}");
    assert!(text.contains("SIMULATED"));
    assert!(text.contains("simulated=true"));
    assert!(text.contains("bytes of ciphertext"));
    assert!(!text.contains("7.5"), "the account must not show the data");
}
