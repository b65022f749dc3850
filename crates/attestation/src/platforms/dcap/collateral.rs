//! DCAP collateral in the forms it comes in, read into one shape ([`Collateral`]):
//!
//! * dcap-qvl's `QuoteCollateralV3` JSON: one file, or the bytes carried with the evidence;
//! * Intel PCS / PCCS API responses: the TCB info body (`{"tcbInfo":..,"signature":..}`),
//!   the QE identity body (`{"enclaveIdentity":..,"signature":..}`), the PCK CRL and the
//!   root CA CRL (DER, PEM or hex of the DER), and the issuer chains: in a PEM file, or in
//!   the response's own `*-Issuer-Chain` header when the file was saved with its headers
//!   (`curl -i` / `curl -D -`).
//!
//! What each file is, is read from its content, never its name, so that a directory of
//! responses saved under any names works. Several TCB infos, QE identities or PCK CRLs
//! (other FMSPCs, both CAs) make several candidates; the verifier picks the one the quote
//! needs.

use crate::x509::{self, check_window};
use dcap_qvl::QuoteCollateralV3;
use sc_protocol::{AttestationError, UnixTime};
use serde::Deserialize;
use serde_json::value::RawValue;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::der::Encode;

/// The form collateral was given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CollateralForm {
    /// dcap-qvl's `QuoteCollateralV3` JSON.
    DcapQvlJson,
    /// Intel PCS / PCCS API responses.
    IntelPcs,
}

impl std::fmt::Display for CollateralForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::DcapQvlJson => "dcap-qvl collateral JSON",
            Self::IntelPcs => "Intel PCS/PCCS responses",
        })
    }
}

/// One collateral set for one quote, parsed, with where it came from.
#[derive(Clone)]
pub struct Collateral {
    /// Where it came from ("the evidence's collateral", file names).
    pub source: String,
    /// The form it was given in.
    pub form: CollateralForm,
    /// The form dcap-qvl verifies.
    pub(super) qvl: QuoteCollateralV3,
    pub(super) tcb_info: SignedBodyHead,
    pub(super) qe_identity: SignedBodyHead,
    pub(super) root_ca_crl: CertificateList,
    pub(super) pck_crl: CertificateList,
    pub(super) pck_crl_issuer_chain: Vec<Certificate>,
    pub(super) tcb_info_issuer_chain: Vec<Certificate>,
    pub(super) qe_identity_issuer_chain: Vec<Certificate>,
}

impl std::fmt::Debug for Collateral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collateral")
            .field("source", &self.source)
            .field("form", &self.form)
            .field("tcb_info", &self.tcb_info)
            .field("qe_identity", &self.qe_identity)
            .finish_non_exhaustive()
    }
}

impl Collateral {
    /// Parses dcap-qvl's form, checking that every part is readable.
    pub fn from_qvl(qvl: QuoteCollateralV3, source: impl Into<String>) -> Result<Self, AttestationError> {
        Ok(Self {
            source: source.into(),
            form: CollateralForm::DcapQvlJson,
            tcb_info: SignedBodyHead::read(&qvl.tcb_info, "TCB info")?,
            qe_identity: SignedBodyHead::read(&qvl.qe_identity, "QE identity")?,
            root_ca_crl: x509::crl(&qvl.root_ca_crl, "root CA CRL")?,
            pck_crl: x509::crl(&qvl.pck_crl, "PCK CRL")?,
            pck_crl_issuer_chain: x509::certificates(qvl.pck_crl_issuer_chain.as_bytes())?,
            tcb_info_issuer_chain: x509::certificates(qvl.tcb_info_issuer_chain.as_bytes())?,
            qe_identity_issuer_chain: x509::certificates(qvl.qe_identity_issuer_chain.as_bytes())?,
            qvl,
        })
    }

    /// When the first of its items expires, and which (`None` if a date is unreadable).
    pub fn valid_until(&self) -> Option<(UnixTime, &'static str)> {
        let crl = |c: &CertificateList| {
            c.tbs_cert_list
                .next_update
                .map(|t| UnixTime::from_secs(t.to_unix_duration().as_secs()))
        };
        [
            (self.tcb_info.next_update(), "TCB info"),
            (self.qe_identity.next_update(), "QE identity"),
            (crl(&self.pck_crl), "PCK CRL"),
            (crl(&self.root_ca_crl), "root CA CRL"),
        ]
        .into_iter()
        .map(|(t, item)| t.map(|t| (t, item)))
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .min_by_key(|(t, _)| *t)
    }

    /// Parses `QuoteCollateralV3` JSON.
    pub fn from_qvl_json(bytes: &[u8], source: impl Into<String>) -> Result<Self, AttestationError> {
        Self::from_qvl(parse_collateral(bytes)?, source)
    }
}

/// Parses collateral in dcap-qvl's `QuoteCollateralV3` JSON form.
pub fn parse_collateral(bytes: &[u8]) -> Result<QuoteCollateralV3, AttestationError> {
    serde_json::from_slice(bytes).map_err(|e| AttestationError::collateral_by("unreadable collateral JSON", e))
}

/// A signed JSON body of Intel PCS: the signed object's exact text and its signature.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PcsBody<'a> {
    #[serde(borrow, default)]
    tcb_info: Option<&'a RawValue>,
    #[serde(borrow, default)]
    enclave_identity: Option<&'a RawValue>,
    signature: String,
}

/// A signed body: the text Intel signed, its raw r||s signature, its issuer chain if the
/// response's headers were saved with it, and the file it came from.
struct Signed {
    text: String,
    signature: Vec<u8>,
    chain: Option<String>,
    file: String,
}

/// A CRL in DER, with its issuer chain if its headers were saved with it.
struct Crl {
    der: Vec<u8>,
    issuer: String,
    chain: Option<String>,
    file: String,
}

/// What a file turned out to be.
enum Piece {
    Qvl(Box<Collateral>),
    TcbInfo(Signed),
    QeIdentity(Signed),
    Crl(Crl),
    /// A PEM chain, with its first certificate's common name.
    Chain {
        pem: String,
        leaf: String,
    },
}

/// Splits an HTTP response saved with its headers (`HTTP/1.1 200 OK` ... blank line ...
/// body) into its issuer-chain header (URL-decoded) and body; other files pass unchanged.
fn split_response(bytes: &[u8]) -> (Option<String>, &[u8]) {
    if !bytes.starts_with(b"HTTP/") {
        return (None, bytes);
    }
    let (head, body) = match find(bytes, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| find(bytes, b"\n\n").map(|i| (i, 2)))
    {
        Some((i, sep)) => (&bytes[..i], &bytes[i + sep..]),
        None => (bytes, &bytes[bytes.len()..]),
    };
    let chain = String::from_utf8_lossy(head).lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim().to_ascii_lowercase().ends_with("issuer-chain").then(|| {
            percent_encoding::percent_decode_str(value.trim())
                .decode_utf8_lossy()
                .into_owned()
        })
    });
    (chain, body)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one file as a piece of collateral; `None` if it is none of them (a README).
fn classify(file: &str, bytes: &[u8]) -> Result<Option<Piece>, AttestationError> {
    let (chain, body) = split_response(bytes);
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    // Names the file in a collateral error (once: "file: what: cause").
    let context = |e: AttestationError| match e {
        AttestationError::Collateral { what, cause } => AttestationError::Collateral {
            what: format!("{file}: {what}"),
            cause,
        },
        other => AttestationError::collateral_by(file.to_owned(), other),
    };
    if trimmed.starts_with('{') {
        if trimmed.contains("\"tcb_info\"") {
            return Collateral::from_qvl_json(body, file)
                .map(|c| Some(Piece::Qvl(Box::new(c))))
                .map_err(context);
        }
        let pcs: PcsBody<'_> = serde_json::from_str(trimmed)
            .map_err(|e| AttestationError::collateral_by(format!("{file}: unreadable PCS response"), e))?;
        let signature = crate::hex_text::decode(&pcs.signature)
            .ok_or_else(|| AttestationError::collateral(format!("{file}: the signature is not hex")))?;
        return Ok(match (pcs.tcb_info, pcs.enclave_identity) {
            (Some(info), None) => Some(Piece::TcbInfo(Signed {
                text: info.get().to_owned(),
                signature,
                chain,
                file: file.into(),
            })),
            (None, Some(identity)) => Some(Piece::QeIdentity(Signed {
                text: identity.get().to_owned(),
                signature,
                chain,
                file: file.into(),
            })),
            _ => {
                return Err(AttestationError::collateral(format!(
                    "{file}: a PCS response with neither tcbInfo nor enclaveIdentity"
                )));
            }
        });
    }
    if trimmed.starts_with("-----BEGIN CERTIFICATE") {
        let certs = x509::certificates(body).map_err(context)?;
        let leaf = certs
            .first()
            .map(|c| x509::common_name(&c.tbs_certificate.subject))
            .unwrap_or_default();
        return Ok(Some(Piece::Chain {
            pem: text.into_owned(),
            leaf,
        }));
    }
    let looks_like_crl = body.first() == Some(&0x30)
        || trimmed.starts_with("-----BEGIN X509 CRL")
        || crate::hex_text::decode(&text).is_some_and(|d| d.first() == Some(&0x30));
    if looks_like_crl {
        let crl = x509::crl(body, "CRL").map_err(context)?;
        let der = crl
            .to_der()
            .map_err(|e| AttestationError::collateral_by(format!("{file}: CRL"), e))?;
        return Ok(Some(Piece::Crl(Crl {
            der,
            issuer: x509::common_name(&crl.tbs_cert_list.issuer),
            chain,
            file: file.into(),
        })));
    }
    Ok(None)
}

/// The collateral candidates in a set of files (name, content): each dcap-qvl JSON file is
/// one; PCS responses are assembled into one per combination of TCB info, QE identity and
/// PCK CRL found. Files that are no collateral at all are skipped; an unreadable piece, or
/// PCS responses that lack a part, is an error naming the file or the part.
pub fn from_files(files: &[(String, Vec<u8>)]) -> Result<Vec<Collateral>, AttestationError> {
    let mut out = Vec::new();
    let (mut infos, mut identities, mut crls, mut chains) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, bytes) in files {
        match classify(name, bytes)? {
            Some(Piece::Qvl(c)) => out.push(*c),
            Some(Piece::TcbInfo(s)) => infos.push(s),
            Some(Piece::QeIdentity(s)) => identities.push(s),
            Some(Piece::Crl(c)) => crls.push(c),
            Some(Piece::Chain { pem, leaf }) => chains.push((leaf, pem)),
            None => {}
        }
    }
    let (roots, pcks): (Vec<Crl>, Vec<Crl>) = crls.into_iter().partition(|c| c.issuer.contains("Root CA"));
    if infos.is_empty() && identities.is_empty() && roots.is_empty() && pcks.is_empty() {
        return Ok(out);
    }
    let missing = |part: &str| {
        AttestationError::collateral(format!(
            "Intel PCS collateral without {part} (expected TCB info and QE identity responses, the PCK CRL, the root CA CRL and their issuer chains)"
        ))
    };
    let root = roots.first().ok_or_else(|| missing("the root CA CRL"))?;
    if infos.is_empty() {
        return Err(missing("a TCB info response"));
    }
    if identities.is_empty() {
        return Err(missing("a QE identity response"));
    }
    if pcks.is_empty() {
        return Err(missing("a PCK CRL"));
    }
    let chain_for = |own: &Option<String>, leaf_has: &str, what: &str| {
        own.clone()
            .or_else(|| {
                chains
                    .iter()
                    .find(|(leaf, _)| leaf.contains(leaf_has))
                    .map(|(_, pem)| pem.clone())
            })
            .ok_or_else(|| {
                missing(&format!(
                    "the {what} issuer chain (a PEM file, or the response's header)"
                ))
            })
    };
    for info in &infos {
        for identity in &identities {
            for pck in &pcks {
                let qvl = QuoteCollateralV3 {
                    pck_crl_issuer_chain: chain_for(&pck.chain, &pck.issuer, "PCK CRL")?,
                    root_ca_crl: root.der.clone(),
                    pck_crl: pck.der.clone(),
                    tcb_info_issuer_chain: chain_for(&info.chain, "TCB Signing", "TCB info")?,
                    tcb_info: info.text.clone(),
                    tcb_info_signature: info.signature.clone(),
                    qe_identity_issuer_chain: chain_for(&identity.chain, "TCB Signing", "QE identity")?,
                    qe_identity: identity.text.clone(),
                    qe_identity_signature: identity.signature.clone(),
                    pck_certificate_chain: None,
                };
                let source = format!("{} + {} + {} + {}", info.file, identity.file, pck.file, root.file);
                out.push(Collateral {
                    form: CollateralForm::IntelPcs,
                    ..Collateral::from_qvl(qvl, source)?
                });
            }
        }
    }
    Ok(out)
}

/// The collateral candidates in a directory (every regular file in it, and each
/// subdirectory one level down read as its own set), in name order.
pub fn from_dir(dir: &std::path::Path) -> Result<Vec<Collateral>, AttestationError> {
    let unreadable =
        |path: &std::path::Path, e| AttestationError::collateral_by(format!("cannot read {}", path.display()), e);
    let listing = |dir: &std::path::Path| -> Result<Vec<std::path::PathBuf>, AttestationError> {
        let mut paths = std::fs::read_dir(dir)
            .and_then(|entries| entries.map(|e| e.map(|e| e.path())).collect::<Result<Vec<_>, _>>())
            .map_err(|e| unreadable(dir, e))?;
        paths.sort();
        Ok(paths)
    };
    let read_files = |paths: &[std::path::PathBuf]| -> Result<Vec<(String, Vec<u8>)>, AttestationError> {
        paths
            .iter()
            .filter(|p| p.is_file())
            .map(|p| Ok((p.display().to_string(), std::fs::read(p).map_err(|e| unreadable(p, e))?)))
            .collect()
    };
    let top = listing(dir)?;
    let mut out = from_files(&read_files(&top)?)?;
    for sub in top.iter().filter(|p| p.is_dir()) {
        out.extend(from_files(&read_files(&listing(sub)?)?)?);
    }
    Ok(out)
}

/// The fields of a TCB info or QE identity body that say what it is for and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct SignedBodyHead {
    /// `SGX`/`TDX` (TCB info), `QE`/`TD_QE`/`QVE` (identities).
    #[serde(default)]
    pub(super) id: Option<String>,
    /// TCB info only.
    #[serde(default)]
    pub(super) fmspc: Option<String>,
    issue_date: String,
    next_update: String,
}

impl SignedBodyHead {
    /// When it stops being valid (`nextUpdate`).
    pub(super) fn next_update(&self) -> Option<UnixTime> {
        parse_date(&self.next_update)
    }

    /// Reads the head of a signed JSON body (the text dcap-qvl verifies).
    pub(super) fn read(json: &str, item: &str) -> Result<Self, AttestationError> {
        serde_json::from_str(json).map_err(|e| AttestationError::collateral_by(format!("unreadable {item}"), e))
    }

    /// Checks its `issueDate`..`nextUpdate` window at `now`.
    pub(super) fn check(&self, item: &str, now: UnixTime) -> Result<(), AttestationError> {
        let date = |s: &str| {
            parse_date(s).ok_or_else(|| AttestationError::collateral(format!("{item}: unreadable date {s:?}")))
        };
        check_window(
            || item.to_owned(),
            date(&self.issue_date)?,
            Some(date(&self.next_update)?),
            now,
        )
    }
}

/// An RFC 3339 date of DCAP collateral.
fn parse_date(s: &str) -> Option<UnixTime> {
    humantime::parse_rfc3339(s)
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| UnixTime::from_secs(d.as_secs()))
}
