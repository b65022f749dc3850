//! DCAP collateral fetched from a PCS/PCCS-compatible service and cached on disk, against a
//! real HTTP server on loopback serving the shared evidence's collateral in the service's
//! response format (bodies with their issuer-chain headers).

use sc_attestation::{Policy, VerifierRegistry};
use sc_protocol::{AttestationError, ErrorChain, Evidence, PlatformId, UnixTime, Verifier};
use sc_test_support::evidence::{Saved, pcs_responses, read};
use sc_test_support::http::{Reply, Server};
use std::path::Path;

const DCAP: &str = "intel-dcap-phala";
const JULY_2025: u64 = 1_751_328_000;
/// The TDX set's first item to expire is its PCK CRL, at 2025-07-19T10:00:35Z.
const PCK_CRL_EXPIRES: u64 = 1_752_919_235;
const MRTD: &str = "91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7";

/// A PCS serving the TDX quote's collateral (`file`'s), each response with its header.
fn pcs(file: &'static str) -> Server {
    let responses = pcs_responses(DCAP, file, Saved::BodyOnly);
    Server::start(move |target| {
        let name = match target {
            t if t.starts_with("/tdx/certification/v4/tcb?fmspc=") => "tcb_info.json",
            "/tdx/certification/v4/qe/identity" => "qe_identity.json",
            "/sgx/certification/v4/pckcrl?ca=platform&encoding=der" => "pck_crl",
            "/sgx/certification/v4/rootcacrl" => "root_ca_crl",
            _ => return Reply::not_found(),
        };
        let r = responses.iter().find(|r| r.name == name).cloned().unwrap();
        Reply::Answer {
            status: 200,
            headers: r
                .issuer_chain
                .map(|(header, pem)| {
                    let encoded = percent_encoding::utf8_percent_encode(&pem, percent_encoding::NON_ALPHANUMERIC);
                    vec![(header.to_owned(), encoded.to_string())]
                })
                .unwrap_or_default(),
            body: r.body,
        }
    })
}

fn registry(base: &Path, url: &str, extra: &str) -> VerifierRegistry {
    let policy = format!(
        "[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\ncollateral_service = \"{url}\"\ncollateral_cache = \"cache\"\n{extra}"
    );
    VerifierRegistry::from_policy(&Policy::from_toml(&policy, Some(base)).unwrap()).unwrap()
}

fn verify(reg: &VerifierRegistry, at: u64) -> Result<(), AttestationError> {
    let quote = read(DCAP, "tdx_quote");
    let stated = sc_attestation::platforms::inspect::describe(PlatformId::TDX_DCAP, &quote).unwrap();
    reg.verify(
        &Evidence::new(PlatformId::TDX_DCAP, &quote),
        &stated.report_data,
        UnixTime::from_secs(at),
    )
    .map(drop)
}

#[test]
fn fetched_cached_used_offline_refreshed_and_refused_when_stale() {
    let tmp = tempfile::tempdir().unwrap();
    let server = pcs("tdx_quote_collateral.json");
    let url = server.url();
    // First use: fetched (four requests), verified, cached.
    verify(&registry(tmp.path(), &url, ""), JULY_2025).unwrap();
    let first = server.requests();
    assert_eq!(first.len(), 4, "{first:?}");
    assert!(first[0].ends_with("fmspc=B0C06F000000"), "{first:?}");
    assert!(tmp.path().join("cache/tdx-B0C06F000000-platform").is_dir());
    // Used from the cache while valid: no request.
    verify(&registry(tmp.path(), &url, ""), JULY_2025 + 3600).unwrap();
    assert_eq!(server.requests().len(), 4);
    // Within a day of expiry it is fetched again.
    verify(&registry(tmp.path(), &url, ""), PCK_CRL_EXPIRES - 3600).unwrap();
    assert_eq!(server.requests().len(), 8);
    // The service goes down: the cache still serves while valid...
    drop(server);
    verify(&registry(tmp.path(), &url, ""), PCK_CRL_EXPIRES - 600).unwrap();
    // ...and once expired, verification fails closed, naming the stale item.
    let e = verify(&registry(tmp.path(), &url, ""), PCK_CRL_EXPIRES + 60).unwrap_err();
    match &e {
        AttestationError::StaleCollateral {
            item, expired, cause, ..
        } => {
            assert_eq!(item, "PCK CRL");
            assert_eq!(expired.to_string(), "2025-07-19T10:00:35Z");
            assert!(
                cause.as_ref().is_some_and(|c| c.to_string().contains("unreachable")),
                "{}",
                ErrorChain(&e)
            );
        }
        other => panic!("{}", ErrorChain(other)),
    }
}

#[test]
fn a_hanging_service_times_out() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(|_| Reply::Hang);
    let e = verify(
        &registry(tmp.path(), &server.url(), "fetch_timeout_secs = 1\n"),
        JULY_2025,
    )
    .unwrap_err();
    assert!(
        matches!(&e, AttestationError::Collateral { .. }) && ErrorChain(&e).to_string().contains("no answer within 1s"),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn another_fmspcs_data_is_refused_and_not_cached() {
    let tmp = tempfile::tempdir().unwrap();
    // This service answers every FMSPC with the v5 quote's platform (FMSPC 90C06F000000).
    let server = pcs("tdx_quote_outdated_collateral.json");
    let e = verify(&registry(tmp.path(), &server.url(), ""), JULY_2025).unwrap_err();
    assert!(
        matches!(&e, AttestationError::CollateralMismatch { item: "TCB info", found, .. } if found.contains("90C06F000000")),
        "{}",
        ErrorChain(&e)
    );
    assert!(!tmp.path().join("cache/tdx-B0C06F000000-platform").exists());
}

#[test]
fn oversize_and_error_answers_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let server = Server::start(|_| Reply::ok(vec![b'{'; 3 << 20]));
    let e = verify(&registry(tmp.path(), &server.url(), ""), JULY_2025).unwrap_err();
    assert!(
        ErrorChain(&e).to_string().contains("response larger than"),
        "{}",
        ErrorChain(&e)
    );
    let server = Server::start(|_| Reply::not_found());
    let e = verify(&registry(tmp.path(), &server.url(), ""), JULY_2025).unwrap_err();
    assert!(
        ErrorChain(&e).to_string().contains("HTTP status 404"),
        "{}",
        ErrorChain(&e)
    );
}

#[test]
fn service_settings_are_checked_when_the_policy_loads() {
    for (extra, message) in [
        ("collateral_service = \"ftp://x\"\n", "not an http(s) URL"),
        ("collateral_cache = \"c\"\n", "need collateral_service"),
    ] {
        let e = Policy::from_toml(
            &format!("[tdx]\nallow_unpinned_workload = true\nmrtds = [\"{MRTD}\"]\n{extra}"),
            None,
        )
        .unwrap_err();
        assert!(e.to_string().contains(message), "{e}");
    }
}
