//! The configfs-tsm and Gramine attesters against directory trees that behave like the
//! kernel's and Gramine's interfaces. SIMULATED: these trees stand in for hardware this
//! machine lacks. `inblob`/`user_report_data` and `outblob`/`quote` are named pipes served
//! by a "kernel" thread, so that, as on the real interface, reading the evidence waits until
//! it has been produced from the report data just written.

use sc_attestation::attesters::{ConfigFsTsm, GramineAttester};
use sc_protocol::{Attester, PlatformId};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread::JoinHandle;

fn mkfifo(path: &Path) {
    assert!(Command::new("mkfifo").arg(path).status().unwrap().success());
}

/// Serves `requests` reports: reads the request pipe, runs `bump` (the generation
/// counter), writes `answer(request)` to the answer pipe.
fn kernel(
    request: PathBuf,
    answer: PathBuf,
    requests: usize,
    bump: impl Fn() + Send + 'static,
    respond: impl Fn(&[u8]) -> Vec<u8> + Send + 'static,
) -> JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let mut data = Vec::new();
            std::fs::File::open(&request).unwrap().read_to_end(&mut data).unwrap();
            bump();
            std::fs::OpenOptions::new()
                .write(true)
                .open(&answer)
                .unwrap()
                .write_all(&respond(&data))
                .unwrap();
            seen.push(data);
        }
        seen
    })
}

/// A configfs-tsm report entry: provider, generation, pipes, optional auxblob.
fn tsm_entry(dir: &Path, provider: &str, auxblob: Option<&[u8]>) -> PathBuf {
    let entry = dir.join("entry");
    std::fs::create_dir(&entry).unwrap();
    std::fs::write(entry.join("provider"), format!("{provider}\n")).unwrap();
    std::fs::write(entry.join("generation"), "0\n").unwrap();
    mkfifo(&entry.join("inblob"));
    mkfifo(&entry.join("outblob"));
    if let Some(a) = auxblob {
        std::fs::write(entry.join("auxblob"), a).unwrap();
    }
    entry
}

fn bump_generation(entry: &Path, by: u64) -> impl Fn() + Send + 'static {
    let path = entry.join("generation");
    move || {
        let g: u64 = std::fs::read_to_string(&path).unwrap().trim().parse().unwrap();
        std::fs::write(&path, format!("{}\n", g + by)).unwrap();
    }
}

#[test]
fn configfs_tsm_returns_the_evidence_for_the_report_data_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let entry = tsm_entry(tmp.path(), "tdx_guest", None);
    let k = kernel(
        entry.join("inblob"),
        entry.join("outblob"),
        2,
        bump_generation(&entry, 1),
        |rd| [b"TDX-QUOTE:".as_slice(), rd].concat(),
    );
    let attester = ConfigFsTsm::fixed_entry(&entry).unwrap();
    assert_eq!(attester.platform(), PlatformId::TDX_DCAP);
    for rd in [[7u8; 64], [9u8; 64]] {
        let evidence = attester.attest(&rd).unwrap();
        assert_eq!(evidence, [b"TDX-QUOTE:".as_slice(), &rd].concat());
    }
    assert_eq!(
        k.join().unwrap(),
        vec![vec![7u8; 64], vec![9u8; 64]],
        "the kernel got the report data"
    );
}

#[test]
fn configfs_tsm_detects_another_writer_on_the_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let entry = tsm_entry(tmp.path(), "sev_guest", Some(b"cert table"));
    // This "kernel" counts two writes per request: someone else used the entry meanwhile.
    let k = kernel(
        entry.join("inblob"),
        entry.join("outblob"),
        2,
        bump_generation(&entry, 2),
        |rd| rd.to_vec(),
    );
    let attester = ConfigFsTsm::fixed_entry(&entry).unwrap();
    assert_eq!(attester.platform(), PlatformId::SEV_SNP);
    let e = attester.attest(&[1; 64]).unwrap_err();
    assert!(e.what.contains("another writer"), "{e}");
    let e = attester.report(&[2; 64]).unwrap_err();
    assert!(e.what.contains("another writer"), "{e}");
    k.join().unwrap();
}

#[test]
fn configfs_tsm_reports_auxblob_and_refuses_unknown_providers_and_missing_trees() {
    let tmp = tempfile::tempdir().unwrap();
    let entry = tsm_entry(tmp.path(), "sev_guest", Some(b"cert table"));
    let k = kernel(
        entry.join("inblob"),
        entry.join("outblob"),
        2,
        bump_generation(&entry, 1),
        |rd| rd.to_vec(),
    );
    let attester = ConfigFsTsm::fixed_entry(&entry).unwrap();
    let report = attester.report(&[3; 64]).unwrap();
    assert_eq!(report.provider, "sev_guest");
    assert_eq!(report.outblob, vec![3; 64]);
    assert_eq!(report.auxblob.as_deref(), Some(&b"cert table"[..]));
    // The certificate table travels with the evidence as collateral.
    let (evidence, collateral) = attester.attest_with_collateral(&[4; 64]).unwrap();
    assert_eq!((evidence, collateral), (vec![4; 64], Some(b"cert table".to_vec())));
    k.join().unwrap();

    let other = tempfile::tempdir().unwrap();
    let unknown = tsm_entry(other.path(), "quantum_guest", None);
    assert!(
        ConfigFsTsm::fixed_entry(&unknown)
            .unwrap_err()
            .what
            .contains("unknown provider")
    );
    // The operating system's error is kept as the cause, not replaced by a fixed text.
    // The message names the path, the OS error and what to check.
    let e = ConfigFsTsm::per_report(&tmp.path().join("no-such-dir")).unwrap_err();
    let path = e
        .cause
        .as_ref()
        .and_then(|c| c.get_ref().downcast_ref::<sc_attestation::attesters::PathError>());
    assert_eq!(
        path.map(|p| p.source.kind()),
        Some(std::io::ErrorKind::NotFound),
        "{e:?}"
    );
    let text = sc_protocol::ErrorChain(&e).to_string();
    assert!(text.contains("is configfs mounted at /sys/kernel/config"), "{text}");
    assert!(
        text.contains(&tmp.path().join("no-such-dir").display().to_string()),
        "{text}"
    );
    assert!(text.contains("No such file or directory"), "{text}");
    assert!(ConfigFsTsm::fixed_entry(&tmp.path().join("no-such-entry")).is_err());
}

#[test]
fn gramine_returns_the_quote_for_the_report_data_it_wrote() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(root.join("attestation_type"), "dcap").unwrap();
    mkfifo(&root.join("user_report_data"));
    mkfifo(&root.join("quote"));
    let k = kernel(
        root.join("user_report_data"),
        root.join("quote"),
        1,
        || {},
        |rd| [b"SGX-QUOTE:".as_slice(), rd].concat(),
    );
    let attester = GramineAttester::at(root).unwrap();
    assert_eq!(attester.platform(), PlatformId::SGX_DCAP);
    assert_eq!(
        attester.attest(&[5; 64]).unwrap(),
        [b"SGX-QUOTE:".as_slice(), &[5; 64]].concat()
    );
    assert_eq!(k.join().unwrap(), vec![vec![5u8; 64]]);

    std::fs::write(root.join("attestation_type"), "epid").unwrap();
    assert!(GramineAttester::at(root).unwrap_err().what.contains("not dcap"));
    assert!(GramineAttester::at(&root.join("missing")).is_err());
}
