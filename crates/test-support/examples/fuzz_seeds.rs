//! Writes the fuzz targets' seed inputs (real messages, real evidence, real policies) to
//! `fuzz/corpus/<target>/`: `cargo run -p sc-test-support --example fuzz_seeds`.
//! docs/FUZZING.md says how the corpora grow from here.

use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot};
use sc_protocol::{Attester, BindingMode, CipherSuite};
use sc_test_support::double::NOW;
use sc_test_support::pair::Pair;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = root().join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn evidence_file(set: &str, file: &str) -> Vec<u8> {
    let path = root().join("crates/attestation/tests/evidence").join(set).join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if file.ends_with(".hex") {
        let text: String = String::from_utf8(bytes).unwrap().split_whitespace().collect();
        (0..text.len() / 2)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    } else {
        bytes
    }
}

/// `u8 platform | u16 collateral length | collateral | evidence` (the evidence target's framing).
fn framed(platform: u8, collateral: &[u8], evidence: &[u8]) -> Vec<u8> {
    let mut out = vec![platform];
    out.extend_from_slice(&(collateral.len() as u16).to_be_bytes());
    out.extend_from_slice(collateral);
    out.extend_from_slice(evidence);
    out
}

fn main() {
    // Wire messages: whole frames and bare bodies, both binding modes.
    for (mode, name) in [
        (BindingMode::PerSession, "session"),
        (BindingMode::IdentityKey, "identity"),
    ] {
        let pair = Pair::new(CipherSuite::X25519Aes256GcmSha256, mode);
        let (mut client, _, t) = pair.handshake();
        for (kind, m) in [
            ("client_hello", &t.client_hello),
            ("server_hello", &t.server_hello),
            ("client_finished", &t.client_finished),
        ] {
            write("wire_decode", &format!("{name}_{kind}"), m);
            write("wire_decode", &format!("{name}_{kind}_body"), &m[6..]);
        }
        write(
            "wire_decode",
            &format!("{name}_record"),
            &client.seal(NOW, b"record").unwrap(),
        );
    }
    let alert = sc_protocol::msgs::Alert {
        session_id: 7,
        code: sc_protocol::msgs::AlertCode::Busy,
    }
    .to_frame();
    write("wire_decode", "alert", &alert);
    write("wire_decode", "alert_body", &alert[6..]);

    // Evidence: each platform's real evidence with its collateral (framed).
    let dcap = "intel-dcap-phala";
    write(
        "evidence",
        "sgx",
        &framed(
            1,
            &evidence_file(dcap, "sgx_quote_collateral.json"),
            &evidence_file(dcap, "sgx_quote"),
        ),
    );
    write(
        "evidence",
        "tdx",
        &framed(
            2,
            &evidence_file(dcap, "tdx_quote_collateral.json"),
            &evidence_file(dcap, "tdx_quote"),
        ),
    );
    let snp = "amd-snp-trustee";
    write(
        "evidence",
        "snp_vcek",
        &framed(
            3,
            &evidence_file(snp, "milan/test-vcek.der"),
            &evidence_file(snp, "milan/test-report.bin"),
        ),
    );
    write(
        "evidence",
        "snp_vlek",
        &framed(
            3,
            &evidence_file(snp, "milan/test-vlek.der"),
            &evidence_file(snp, "milan/test-vlek-report.bin"),
        ),
    );
    write(
        "evidence",
        "virtcca",
        &framed(4, &[], &evidence_file("huawei-virtcca-secgear", "virtcca.cbor.hex")),
    );
    write(
        "evidence",
        "azure-snp",
        &framed(
            6,
            &[],
            &evidence_file("azure-cvm-trustee", "az-snp-vtpm/evidence-v1.json"),
        ),
    );
    write(
        "evidence",
        "azure-tdx",
        &framed(
            7,
            &[],
            &evidence_file("azure-cvm-trustee", "az-tdx-vtpm/evidence-v1.json"),
        ),
    );
    let enclave = SimEnclave {
        measurement: [3; 32],
        signer: [4; 32],
        security_version: 1,
        debug: false,
    };
    let sim = SimAttester::new(SimRoot::from_secret([1; 32]), enclave, Arc::new(|| NOW));
    write("evidence", "simulated", &framed(0, &[], &sim.attest(&[5; 64]).unwrap()));

    // Policies and basevalue files.
    write(
        "policy_files",
        "simulated",
        sc_test_support::sim::policy_text(&[1; 32], &[[2; 32]]).as_bytes(),
    );
    write(
        "policy_files",
        "hardware",
        b"[sgx]\nmrenclaves = [\"33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb\"]\n\
          accepted_tcb_statuses = [\"UpToDate\"]\n\
          [tdx]\nallow_unpinned_workload = true\nmrtds = [\"91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7\"]\n\
          rtmr1 = [\"0084452c01668329d4bc06acdf58a7205c26743304509973949e5619bf81a6a7aea8c323c173019b3093d54e579e9378\"]\n\
          [sev_snp]\nmeasurements = [\"a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c\"]\n\
          guest_policies = [\"0x30000\"]\nmin_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }\nsigning_keys = [\"vcek\"]\n",
    );
    write(
        "policy_files",
        "basevalues",
        b"# taid img_hash mem_hash\ne3d37f4a-f24c-48d0-8884-3bdd6c44e988 \
          cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd \
          0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    println!("seeds written under {}", root().join("fuzz/corpus").display());
}
