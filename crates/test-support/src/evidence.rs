//! The real evidence sets beside the attestation crate's tests, and the same DCAP
//! collateral re-shaped as Intel PCS / PCCS API responses (for tests of the formats the
//! verifier reads and of fetching from a collateral service).

use std::path::{Path, PathBuf};

/// The folder of real evidence set `set` (`intel-dcap-phala`, `amd-snp-trustee`...).
pub fn dir(set: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../attestation/tests/evidence")
        .join(set)
}

/// A file of a real evidence set.
pub fn read(set: &str, file: &str) -> Vec<u8> {
    let path = dir(set).join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// How a PCS response is saved to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// The body only; issuer chains go to their own PEM files, CRLs are DER.
    BodyOnly,
    /// `curl -i` style: status line, headers (the issuer chain URL-encoded, as the
    /// service sends it), blank line, body; CRLs are PEM.
    WithHeaders,
}

/// One recorded response of a collateral service.
#[derive(Debug, Clone)]
pub struct Response {
    /// A file name for it.
    pub name: &'static str,
    /// The body as the service sends it.
    pub body: Vec<u8>,
    /// The issuer-chain header (name, PEM value) the service sends with it, if any.
    pub issuer_chain: Option<(&'static str, String)>,
}

impl Response {
    /// The bytes of the file `saved` writes.
    pub fn file(&self, saved: Saved) -> Vec<u8> {
        match (saved, &self.issuer_chain) {
            (Saved::WithHeaders, Some((header, pem))) => {
                let encoded = percent_encoding::utf8_percent_encode(pem, percent_encoding::NON_ALPHANUMERIC);
                let mut out =
                    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{header}: {encoded}\r\n\r\n")
                        .into_bytes();
                out.extend_from_slice(&self.body);
                out
            }
            _ => self.body.clone(),
        }
    }
}

fn hex_field(v: &serde_json::Value, field: &str) -> Vec<u8> {
    hex::decode(v[field].as_str().unwrap_or_default()).unwrap_or_default()
}

fn pem(label: &str, der: &[u8]) -> String {
    pem::encode(&pem::Pem::new(label, der))
}

/// The collateral of a dcap-qvl JSON file (`set`, `file`) as the responses of Intel PCS
/// v4: TCB info, QE identity, PCK CRL (each with its issuer-chain header) and the root
/// CA CRL. `saved` decides the CRLs' encoding (DER or PEM).
pub fn pcs_responses(set: &str, file: &str, saved: Saved) -> Vec<Response> {
    let v: serde_json::Value = serde_json::from_slice(&read(set, file)).unwrap_or_default();
    let text = |f: &str| v[f].as_str().unwrap_or_default().to_owned();
    let signed = |key: &str, body_field: &str, sig_field: &str| {
        format!(
            "{{\"{key}\":{},\"signature\":\"{}\"}}",
            text(body_field),
            hex::encode(hex_field(&v, sig_field))
        )
        .into_bytes()
    };
    let crl = |der: Vec<u8>| match saved {
        Saved::BodyOnly => der,
        Saved::WithHeaders => pem("X509 CRL", &der).into_bytes(),
    };
    vec![
        Response {
            name: "tcb_info.json",
            body: signed("tcbInfo", "tcb_info", "tcb_info_signature"),
            issuer_chain: Some(("TCB-Info-Issuer-Chain", text("tcb_info_issuer_chain"))),
        },
        Response {
            name: "qe_identity.json",
            body: signed("enclaveIdentity", "qe_identity", "qe_identity_signature"),
            issuer_chain: Some(("SGX-Enclave-Identity-Issuer-Chain", text("qe_identity_issuer_chain"))),
        },
        Response {
            name: "pck_crl",
            body: crl(hex_field(&v, "pck_crl")),
            issuer_chain: Some(("SGX-PCK-CRL-Issuer-Chain", text("pck_crl_issuer_chain"))),
        },
        Response {
            name: "root_ca_crl",
            body: crl(hex_field(&v, "root_ca_crl")),
            issuer_chain: None,
        },
    ]
}

/// Writes `pcs_responses` into `dir` as saved files; with [`Saved::BodyOnly`], the issuer
/// chains go to `*_issuer_chain.pem` files beside them.
pub fn write_pcs_responses(set: &str, file: &str, saved: Saved, dir: &Path) {
    for r in pcs_responses(set, file, saved) {
        std::fs::write(dir.join(r.name), r.file(saved)).unwrap();
        if let (Saved::BodyOnly, Some((_, chain))) = (saved, &r.issuer_chain) {
            std::fs::write(dir.join(format!("{}_issuer_chain.pem", r.name)), chain).unwrap();
        }
    }
}
