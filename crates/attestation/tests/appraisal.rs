//! The attestation layer through real handshakes: the right enclave is accepted; every kind
//! of wrong one is refused with its own typed error.

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sc_attestation::sim::{SimAttester, SimEnclave, SimRoot};
use sc_attestation::{Policy, PolicyError, RefreshingIdentity, VerifierRegistry};
use sc_protocol::{
    AttestationError, BindingMode, ClientConfig, ClientHandshake, ConfigError, EnclaveConfig, EnclaveHandshake, Error,
    Mismatch, UnixTime,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);
const GOOD: [u8; 32] = [0xaa; 32];
const SIGNER: [u8; 32] = [0x5e; 32];

fn root() -> SimRoot {
    SimRoot::from_secret([1; 32])
}

fn enclave(measurement: [u8; 32]) -> SimEnclave {
    SimEnclave {
        measurement,
        signer: SIGNER,
        security_version: 3,
        debug: false,
    }
}

fn policy_text(allow_simulated: bool, extra: &str) -> String {
    format!(
        "allow_simulated = {allow_simulated}\n[simulated]\nroot_public_key = \"{}\"\nmeasurements = [\"{}\"]\n\
         signers = [\"{}\"]\nmin_security_version = 2\nmax_evidence_age_secs = 600\n{extra}",
        hex::encode(root().public_key()),
        hex::encode(GOOD),
        hex::encode(SIGNER)
    )
}

fn client(policy: &str, mode: BindingMode) -> Arc<ClientConfig> {
    let policy = Policy::from_toml(policy, None).unwrap();
    let verifier = Arc::new(VerifierRegistry::from_policy(&policy).unwrap());
    Arc::new(
        ClientConfig::builder()
            .verifier(verifier)
            .binding_modes(&[mode])
            .build()
            .unwrap(),
    )
}

fn attester(root: SimRoot, e: SimEnclave, at: UnixTime) -> Arc<SimAttester> {
    Arc::new(SimAttester::new(root, e, Arc::new(move || at)))
}

/// One handshake; returns the client's result.
fn handshake(client: Arc<ClientConfig>, enclave: &EnclaveConfig, now: UnixTime) -> Result<(), Error> {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (hs, ch) = ClientHandshake::start(client, &mut rng, now)?;
    let (pending, sh) = EnclaveHandshake::accept(enclave, 1, &ch, &mut rng, now)?;
    let est = hs.read_server_hello(&sh, now)?;
    let claims = est.session.peer_claims().unwrap();
    assert!(claims.simulated, "simulated evidence is always marked");
    pending.read_client_finished(&est.client_finished, now).map(drop)
}

fn per_session(a: Arc<SimAttester>) -> EnclaveConfig {
    EnclaveConfig::builder().attester(a).build().unwrap()
}

fn rejection(a: Arc<SimAttester>, policy: &str) -> Error {
    handshake(client(policy, BindingMode::PerSession), &per_session(a), NOW).unwrap_err()
}

#[test]
fn right_enclave_is_accepted_in_both_modes() {
    let a = attester(root(), enclave(GOOD), NOW);
    handshake(
        client(&policy_text(true, ""), BindingMode::PerSession),
        &per_session(a.clone()),
        NOW,
    )
    .unwrap();
    let id = RefreshingIdentity::new([4; 32], a, Duration::from_secs(300), NOW).unwrap();
    let cfg = EnclaveConfig::builder().identity(id.current(NOW)).build().unwrap();
    handshake(client(&policy_text(true, ""), BindingMode::IdentityKey), &cfg, NOW).unwrap();
}

#[test]
fn each_wrong_enclave_gets_its_own_error() {
    let p = policy_text(true, "");
    let att = |e| Error::Attestation(e);
    assert_eq!(
        rejection(attester(root(), enclave([0xbb; 32]), NOW), &p),
        att(AttestationError::WrongMeasurement(Mismatch::of_bytes(
            &[0xbb; 32],
            [&GOOD[..]]
        )))
    );
    let mut e = enclave(GOOD);
    e.signer = [0x77; 32];
    assert_eq!(
        rejection(attester(root(), e, NOW), &p),
        att(AttestationError::WrongSigner(Mismatch::of_bytes(
            &[0x77; 32],
            [&SIGNER[..]]
        )))
    );
    let mut e = enclave(GOOD);
    e.debug = true;
    assert_eq!(
        rejection(attester(root(), e, NOW), &p),
        att(AttestationError::DebugNotAllowed)
    );
    let mut e = enclave(GOOD);
    e.security_version = 1;
    assert_eq!(
        rejection(attester(root(), e, NOW), &p),
        att(AttestationError::SecurityVersionTooLow { found: 1, min: 2 })
    );
    let forged_root = SimRoot::from_secret([2; 32]);
    let e = rejection(attester(forged_root, enclave(GOOD), NOW), &p);
    assert!(
        matches!(
            &e,
            Error::Attestation(AttestationError::UntrustedRoot { cause: Some(_) })
        ),
        "{e:?}"
    );
    assert_eq!(
        rejection(attester(root(), enclave(GOOD), NOW), &policy_text(false, "")),
        att(AttestationError::SimulatedNotAllowed)
    );
    // Debug is accepted only when the policy says so.
    let mut e = enclave(GOOD);
    e.debug = true;
    handshake(
        client(&policy_text(true, "allow_debug = true\n"), BindingMode::PerSession),
        &per_session(attester(root(), e, NOW)),
        NOW,
    )
    .unwrap();
}

#[test]
fn stale_identity_evidence_is_refused_and_refresh_fixes_it() {
    let old = NOW;
    let a = attester(root(), enclave(GOOD), old);
    let id = RefreshingIdentity::new([4; 32], a, Duration::from_secs(300), old).unwrap();
    let stale_cfg = EnclaveConfig::builder().identity(id.current(old)).build().unwrap();
    let later = NOW.saturating_add(Duration::from_secs(601));
    let err = handshake(
        client(&policy_text(true, ""), BindingMode::IdentityKey),
        &stale_cfg,
        later,
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::Attestation(AttestationError::Stale { .. })),
        "{err:?}"
    );

    // A refreshing identity re-attests the same key once the interval has passed; its
    // attester reads a clock that moves with the test.
    let clock = Arc::new(AtomicU64::new(old.as_millis()));
    let reader = clock.clone();
    let moving = Arc::new(SimAttester::new(
        root(),
        enclave(GOOD),
        Arc::new(move || UnixTime::from_millis(reader.load(Ordering::Relaxed))),
    ));
    let id = RefreshingIdentity::new([4; 32], moving, Duration::from_secs(300), old).unwrap();
    let first = id.current(old);
    clock.store(later.as_millis(), Ordering::Relaxed);
    assert_eq!(
        id.current(old.saturating_add(Duration::from_secs(299))).evidence(),
        first.evidence(),
        "not due yet"
    );
    // Due: the handshake path gets the current credential at once, and a refresh starts
    // behind it.
    assert_eq!(id.current(later).evidence(), first.evidence());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while id.attested_at() != later && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let refreshed = id.current(later);
    assert_eq!(first.public_key(), refreshed.public_key());
    assert_ne!(first.evidence(), refreshed.evidence());
    let cfg = stale_cfg.with_identity(refreshed);
    handshake(client(&policy_text(true, ""), BindingMode::IdentityKey), &cfg, later).unwrap();
}

#[test]
fn evidence_bound_to_another_transcript_is_refused() {
    // Take genuine per-session evidence from one handshake and present it in another.
    let a = attester(root(), enclave(GOOD), NOW);
    let cfg = per_session(a);
    let c = client(&policy_text(true, ""), BindingMode::PerSession);
    let (_, ch1) = ClientHandshake::start(c.clone(), &mut ChaCha20Rng::seed_from_u64(1), NOW).unwrap();
    let (_, sh1) = EnclaveHandshake::accept(&cfg, 1, &ch1, &mut ChaCha20Rng::seed_from_u64(2), NOW).unwrap();
    let (hs2, ch2) = ClientHandshake::start(c, &mut ChaCha20Rng::seed_from_u64(3), NOW).unwrap();
    let (_, mut sh2) = EnclaveHandshake::accept(&cfg, 1, &ch2, &mut ChaCha20Rng::seed_from_u64(4), NOW).unwrap();
    let at = |m: &[u8]| m.windows(5).position(|w| w == b"SCSIM").unwrap();
    let (a1, a2) = (at(&sh1), at(&sh2));
    let len = sc_attestation::sim::EVIDENCE_LEN;
    sh2[a2..a2 + len].copy_from_slice(&sh1[a1..a1 + len]);
    assert_eq!(
        hs2.read_server_hello(&sh2, NOW).unwrap_err(),
        Error::Attestation(AttestationError::ReportDataMismatch)
    );
}

#[test]
fn no_verifier_or_empty_policy_refuses_to_start() {
    assert_eq!(ClientConfig::builder().build().unwrap_err(), ConfigError::NoVerifier);
    let err = Policy::from_toml("allow_simulated = true\n", None).unwrap_err();
    assert!(matches!(err, PolicyError::Empty));
    assert!(err.to_string().contains("add a [sgx], [tdx] or [sev_snp] section"));
}

#[test]
fn basevalue_file_supplies_reference_values() {
    let dir = tempfile::tempdir().unwrap();
    let measured = [0xcd; 32];
    std::fs::write(
        dir.path().join("tas.txt"),
        format!(
            "# trusted\ne3d37f4a-f24c-48d0-8884-3bdd6c44e988 {} {}\n",
            hex::encode(measured),
            hex::encode([0; 32])
        ),
    )
    .unwrap();
    let text = policy_text(true, "basevalues = \"tas.txt\"\n");
    std::fs::write(dir.path().join("policy.toml"), &text).unwrap();
    let policy = Policy::load(&dir.path().join("policy.toml")).unwrap();
    let verifier = Arc::new(VerifierRegistry::from_policy(&policy).unwrap());
    let c = Arc::new(ClientConfig::builder().verifier(verifier).build().unwrap());
    handshake(c, &per_session(attester(root(), enclave(measured), NOW)), NOW).unwrap();

    std::fs::write(
        dir.path().join("tas.txt"),
        "e3d37f4a-f24c-48d0-8884-3bdd6c44e988 00 11\n",
    )
    .unwrap();
    let err = Policy::load(&dir.path().join("policy.toml")).unwrap_err();
    assert!(err.to_string().contains("line 1, field img_hash"), "{err}");
}

#[test]
fn malformed_policy_names_line_and_field() {
    let cases = [
        (
            "allow_simulated = true\n[simulated]\nroot_public_key = \"zz\"\nmeasurements = []\n",
            3,
            "64 hex",
        ),
        (
            "allow_simulated = true\n[simulated]\nmeasurments = []\n",
            3,
            "measurments",
        ),
        ("allow_simulated = true\n\n[simulated\n", 3, ""),
        ("allow_simulated = \"yes\"\n", 1, ""),
        // A section no platform reads: named, with its line and the known sections.
        (
            "allow_simulated = true\n\n[sev_snpp]\nmeasurements = []\n",
            3,
            "`sev_snpp`",
        ),
        ("alow_simulated = true\n", 1, "sev_snp"),
        // A value only the platform can judge, at its section's line.
        (
            "[tdx]\nmrtds = []\nallow_unpinned_workload = true\naccepted_tcb_statuses = [\"Revoked\"]\n",
            1,
            "tdx: accepted_tcb_statuses: Revoked can never be accepted",
        ),
        (
            "[tdx]\nmrtds = []\nallow_unpinned_workload = true\naccepted_tcb_statuses = [\"ConfigurationAndSwHardeningNeeded\"]\n",
            1,
            "unknown status \"ConfigurationAndSwHardeningNeeded\" (known: UpToDate, SWHardeningNeeded",
        ),
        (
            "[sgx]\nmrenclaves = []\naccepted_advisories = [\"INTEL-SA-615\"]\n",
            1,
            "\"INTEL-SA-615\" is not an Intel advisory id",
        ),
        // A policy that does not identify the workload, with the reason.
        (
            "[tdx]\nmrtds = []\n",
            1,
            "no RTMR is pinned (rtmr0..rtmr3): MRTD identifies the TD image, not the workload",
        ),
        (
            "[sev_snp]\nmeasurements = []\n",
            1,
            "no measurement is listed: the policy would accept any guest",
        ),
        (
            "[azure_snp]\nmeasurements = []\n",
            1,
            "no PCR is pinned (pcrs): the measurement is the paravisor's",
        ),
    ];
    for (text, line, needle) in cases {
        match Policy::from_toml(text, None).unwrap_err() {
            PolicyError::Invalid { line: l, message } => {
                assert_eq!(l, line, "{message}");
                assert!(message.contains(needle), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn measurement_follows_the_executable() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::write(&a, b"enclave v1").unwrap();
    std::fs::write(&b, b"enclave v2").unwrap();
    let ma = sc_attestation::measure_file(&a).unwrap();
    assert_ne!(ma, sc_attestation::measure_file(&b).unwrap());
    assert_eq!(hex::encode(ma), hex::encode(independent_sha256(b"enclave v1")));
}

/// SHA-256 by an independent implementation: coreutils' sha256sum.
fn independent_sha256(data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, data).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&f)
        .output()
        .expect("sha256sum (coreutils)");
    assert!(out.status.success());
    hex::decode(&String::from_utf8_lossy(&out.stdout)[..64]).unwrap()
}

/// A stand-in platform verifier that needs collateral, registered beside the simulated one.
struct NeedsCollateral;

impl sc_attestation::PlatformVerifier for NeedsCollateral {
    fn verify(
        &self,
        evidence: &sc_protocol::Evidence<'_>,
        _now: UnixTime,
    ) -> Result<sc_protocol::Claims, AttestationError> {
        let collateral = evidence.collateral.ok_or(AttestationError::collateral("missing"))?;
        Ok(sc_protocol::Claims {
            platform: evidence.platform,
            measurement: collateral.to_vec(),
            extra_measurements: Vec::new(),
            signer: None,
            security_version: None,
            tcb_status: None,
            advisory_ids: Vec::new(),
            debug: false,
            report_data: [7; 64],
            issued_at: None,
            simulated: false,
        })
    }
}

#[test]
fn registry_dispatches_by_platform_and_passes_collateral() {
    use sc_protocol::{Evidence, PlatformId, Verifier};
    let policy = Policy::from_toml(&policy_text(true, ""), None).unwrap();
    let mut registry = VerifierRegistry::from_policy(&policy).unwrap();
    let other = PlatformId(0x7777);
    registry.register(other, Arc::new(NeedsCollateral));

    let e = Evidence::new(other, b"quote");
    assert_eq!(
        registry.verify(&e, &[7; 64], NOW).unwrap_err(),
        AttestationError::collateral("missing")
    );
    let claims = registry.verify(&e.with_collateral(b"tcb"), &[7; 64], NOW).unwrap();
    assert_eq!(claims.measurement, b"tcb");
    assert_eq!(
        registry.verify(&e.with_collateral(b"tcb"), &[8; 64], NOW).unwrap_err(),
        AttestationError::ReportDataMismatch
    );
    assert_eq!(
        registry
            .verify(&Evidence::new(PlatformId(0x7778), b"x"), &[7; 64], NOW)
            .unwrap_err(),
        AttestationError::UnsupportedPlatform(PlatformId(0x7778))
    );
    // The simulated platform still answers beside it.
    let evidence = {
        use sc_protocol::Attester;
        attester(root(), enclave(GOOD), NOW).attest(&[1; 64]).unwrap()
    };
    assert!(
        registry
            .verify(&Evidence::new(PlatformId::SIMULATED, &evidence), &[1; 64], NOW)
            .is_ok()
    );
}

#[test]
fn cached_signature_checks_never_skip_the_appraisal() {
    use sc_protocol::{Attester, Evidence, PlatformId, Verifier};
    let registry = VerifierRegistry::from_policy(&Policy::from_toml(&policy_text(true, ""), None).unwrap()).unwrap();
    let evidence = attester(root(), enclave(GOOD), NOW).attest(&[1; 64]).unwrap();
    let e = Evidence::new(PlatformId::SIMULATED, &evidence);
    registry.verify(&e, &[1; 64], NOW).unwrap();
    registry.verify(&e, &[1; 64], NOW).unwrap();
    // Same bytes, now too old: the age check still runs.
    let late = NOW.saturating_add(Duration::from_secs(601));
    assert!(matches!(
        registry.verify(&e, &[1; 64], late),
        Err(AttestationError::Stale { .. })
    ));
    // Same bytes, another handshake's report data: refused.
    assert_eq!(
        registry.verify(&e, &[2; 64], NOW),
        Err(AttestationError::ReportDataMismatch)
    );
    // A tampered copy has another digest and is verified afresh.
    let mut forged = evidence.clone();
    forged[40] ^= 1;
    assert!(matches!(
        registry.verify(&Evidence::new(PlatformId::SIMULATED, &forged), &[1; 64], NOW),
        Err(AttestationError::UntrustedRoot { .. })
    ));
}
