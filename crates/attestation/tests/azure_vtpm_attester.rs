//! The Azure vTPM attester against a software TPM (`swtpm`, provisioned with `tpm2-tools`
//! as Azure's paravisor provisions the vTPM: an RSA attestation key persistent at
//! 0x81000003 and the HCL report in NV index 0x01400001).
//!
//! The fake part is the HCL report only: it is the report captured on Azure
//! (tests/evidence/azure-cvm-trustee), with its variable data replaced by one naming this
//! swtpm's attestation key (no hardware can vouch for a key made here). So the verifier
//! must accept everything the TPM produced (quote signed by the key the HCL report names,
//! PCR digest, nonce) and then refuse the binding to the hardware report, whose report
//! data holds the hash of the original variable data.
//!
//! Needs `swtpm` and `tpm2-tools` (Debian packages; `.ci/run` installs them). Without them
//! the test says so and passes, unless `SC_REQUIRE_SWTPM` is set (CI sets it).

use sc_attestation::attesters::{AzureVtpmAttester, TpmStream};
use sc_attestation::platforms::azure::AzureEvidence;
use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, Attester, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::read;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SET: &str = "azure-cvm-trustee";

/// A running swtpm (killed on drop) with its data port.
struct Swtpm {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Two free consecutive loopback ports (swtpm's TCTI takes the control port as data + 1).
fn free_ports() -> u16 {
    for _ in 0..100 {
        let a = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = a.local_addr().unwrap().port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two free consecutive ports");
}

fn start_swtpm() -> Option<Swtpm> {
    if !(have("swtpm") && have("tpm2_createprimary")) {
        assert!(
            std::env::var_os("SC_REQUIRE_SWTPM").is_none(),
            "SC_REQUIRE_SWTPM is set but swtpm or tpm2-tools is missing"
        );
        eprintln!("SKIPPED: swtpm and tpm2-tools are not installed (apt-get install swtpm tpm2-tools)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let port = free_ports();
    let child = Command::new("swtpm")
        .args(["socket", "--tpm2", "--tpmstate"])
        .arg(format!("dir={}", dir.path().display()))
        .arg("--server")
        .arg(format!("type=tcp,port={port},bindaddr=127.0.0.1"))
        .arg("--ctrl")
        .arg(format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1))
        .args(["--flags", "not-need-init,startup-clear"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let swtpm = Swtpm { child, port, dir };
    // Ready when its control port answers: probing the data port itself took swtpm's one
    // data connection, and the next client's was sometimes reset.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port + 1)).is_err() {
        assert!(Instant::now() < deadline, "swtpm did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    // And ready to answer: one command through tpm2-tools (a first command sent while
    // swtpm was still starting was sometimes answered with a reset).
    swtpm.tool(&["tpm2_getcap", "properties-fixed"]);
    Some(swtpm)
}

impl Swtpm {
    /// Runs a tpm2-tools command against this TPM, then flushes its transient objects
    /// (without a resource manager they would fill the TPM's slots).
    fn tool(&self, args: &[&str]) {
        let tcti = format!("swtpm:host=127.0.0.1,port={}", self.port);
        for cmd in [args, &["tpm2_flushcontext", "-t"][..]] {
            let out = Command::new(cmd[0])
                .args(&cmd[1..])
                .args(["-T", &tcti])
                .current_dir(self.dir.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{cmd:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn attester(&self) -> AzureVtpmAttester {
        let deadline = Instant::now() + Duration::from_secs(10);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", self.port)) {
                Ok(s) => break s,
                Err(e) => assert!(Instant::now() < deadline, "swtpm data port: {e}"),
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        AzureVtpmAttester::new(Box::new(TpmStream(stream)), PlatformId::AZURE_SNP_VTPM)
    }
}

/// The captured HCL report with its variable data replaced by `var_data`.
fn hcl_with_var_data(var_data: &[u8]) -> Vec<u8> {
    let captured = read(SET, "az-snp-vtpm/hcl-report.bin");
    let mut out = captured[..1236].to_vec();
    out[1216 + 16..1216 + 20].copy_from_slice(&u32::try_from(var_data.len()).unwrap().to_le_bytes());
    out.extend_from_slice(var_data);
    out
}

fn b64url(bytes: &[u8]) -> String {
    use base64ct::Encoding;
    base64ct::Base64UrlUnpadded::encode_string(bytes)
}

#[test]
fn the_attester_quotes_the_vtpm_and_the_verifier_checks_all_but_the_hardware() {
    let Some(tpm) = start_swtpm() else { return };
    // Provision as the paravisor does: an RSA-2048 restricted signing key, persistent.
    tpm.tool(&[
        "tpm2_createprimary",
        "-C",
        "o",
        "-g",
        "sha256",
        "-G",
        "rsa",
        "-c",
        "primary.ctx",
    ]);
    tpm.tool(&[
        "tpm2_create",
        "-C",
        "primary.ctx",
        "-G",
        "rsa2048:rsassa-sha256:null",
        "-a",
        "fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign",
        "-u",
        "ak.pub",
        "-r",
        "ak.priv",
    ]);
    tpm.tool(&[
        "tpm2_load",
        "-C",
        "primary.ctx",
        "-u",
        "ak.pub",
        "-r",
        "ak.priv",
        "-c",
        "ak.ctx",
    ]);
    tpm.tool(&["tpm2_evictcontrol", "-C", "o", "-c", "ak.ctx", "0x81000003"]);
    let (n, e) = tpm.attester().ak_public().unwrap();
    assert_eq!(n.len(), 256);
    assert_eq!(e, 65_537);
    let var_data = format!(
        "{{\"keys\":[{{\"kid\":\"HCLAkPub\",\"key_ops\":[\"sign\"],\"kty\":\"RSA\",\"e\":\"{}\",\"n\":\"{}\"}}],\"user-data\":\"\"}}",
        b64url(&e.to_be_bytes()[1..]),
        b64url(&n)
    );
    let hcl = hcl_with_var_data(var_data.as_bytes());
    std::fs::write(tpm.dir.path().join("hcl.bin"), &hcl).unwrap();
    let size = hcl.len().to_string();
    tpm.tool(&[
        "tpm2_nvdefine",
        "0x01400001",
        "-C",
        "o",
        "-s",
        &size,
        "-a",
        "ownerread|ownerwrite|authread|authwrite",
    ]);
    tpm.tool(&["tpm2_nvwrite", "0x01400001", "-C", "o", "-i", "hcl.bin"]);
    // Something measured into PCR 7.
    let measured = "ab".repeat(32);
    tpm.tool(&["tpm2_pcrextend", &format!("7:sha256={measured}")]);

    let attester = tpm.attester();
    assert_eq!(attester.hcl_report().unwrap(), hcl);
    let report_data = [0x5a; 64];
    let evidence = attester.attest(&report_data).unwrap();
    let parts = AzureEvidence::parse(&evidence).unwrap();
    assert_eq!(parts.hcl_report, hcl);
    assert_eq!(parts.pcrs.len(), 24);
    assert_ne!(parts.pcrs[7], vec![0; 32], "PCR 7 was extended");
    assert_eq!(parts.pcrs[0], vec![0; 32]);
    // The nonce is the report data (TPM2B_DATA in the quote message).
    let nonce = [&[0, 64][..], &report_data[..]].concat();
    assert!(parts.quote_message.windows(66).any(|w| w == nonce.as_slice()));

    // The verifier: quote signature by the HCL's key, PCR digest and nonce all pass; the
    // hardware report (captured, for another key) does not vouch for this key.
    let measurement = sc_attestation::platforms::inspect::describe(
        PlatformId::AZURE_SNP_VTPM,
        &read(SET, "az-snp-vtpm/evidence-v1.json"),
    )
    .unwrap()
    .measurement;
    let policy = format!(
        "[azure_snp]\nallow_unpinned_workload = true\nmeasurements = [\"{}\"]\n",
        hex::encode(measurement)
    );
    let reg = VerifierRegistry::from_policy(&Policy::from_toml(&policy, None).unwrap()).unwrap();
    let at = UnixTime::from_secs(1_748_736_000);
    let e = reg
        .verify(&Evidence::new(PlatformId::AZURE_SNP_VTPM, &evidence), &report_data, at)
        .unwrap_err();
    assert!(
        matches!(&e, AttestationError::NotBound(m) if m.contains("variable data")),
        "{}",
        ErrorChain(&e)
    );

    // The captured variable data (Azure's key) with this TPM's quote: the signature fails.
    let mut foreign = parts.clone();
    foreign.hcl_report = read(SET, "az-snp-vtpm/hcl-report.bin");
    let e = reg
        .verify(
            &Evidence::new(PlatformId::AZURE_SNP_VTPM, &foreign.to_json()),
            &report_data,
            at,
        )
        .unwrap_err();
    assert!(
        ErrorChain(&e)
            .to_string()
            .contains("not signed by the vTPM attestation key"),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn tpm_failures_are_attester_errors() {
    let Some(tpm) = start_swtpm() else { return };
    // No NV index and no key provisioned: typed errors with the TPM's response code.
    let attester = tpm.attester();
    let e = attester.hcl_report().unwrap_err();
    assert!(
        ErrorChain(&e).to_string().contains("TPM response code 0x"),
        "{}",
        ErrorChain(&e)
    );
    let e = attester.attest(&[0; 64]).unwrap_err();
    assert!(ErrorChain(&e).to_string().contains("HCL report"), "{}", ErrorChain(&e));
    // A transport that is gone.
    drop(tpm);
    let dead = AzureVtpmAttester::new(
        Box::new(TpmStream(std::io::Cursor::new(Vec::<u8>::new()))),
        PlatformId::AZURE_SNP_VTPM,
    );
    assert!(dead.attest(&[0; 64]).is_err());
}
