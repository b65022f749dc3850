//! X.509 reading shared by the platforms: PEM or DER certificates and CRLs, their names
//! and validity windows, checked at the caller's time with errors that name the item and
//! its dates.

use sc_protocol::{AttestationError, UnixTime};
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::der::{Decode, DecodePem, Encode};
use x509_cert::name::Name;

/// Certificates in a bundle: one DER certificate, or every PEM `CERTIFICATE` block in the
/// text (bytes around and between the blocks, such as the NUL that ends a DCAP quote's
/// chain, are ignored).
pub(crate) fn certificates(bytes: &[u8]) -> Result<Vec<Certificate>, AttestationError> {
    // DER starts with a SEQUENCE tag; anything else is read as PEM.
    if bytes.first() == Some(&0x30) {
        return Ok(vec![Certificate::from_der(bytes).map_err(|e| {
            AttestationError::collateral_by("unreadable DER certificate", e)
        })?]);
    }
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut rest = &text[..];
    while let Some(start) = rest.find(BEGIN) {
        let end = rest[start..]
            .find(END)
            .ok_or_else(|| AttestationError::collateral("PEM certificate without its END line"))?
            + start
            + END.len();
        out.push(
            Certificate::from_pem(&rest[start..end])
                .map_err(|e| AttestationError::collateral_by("unreadable PEM certificate", e))?,
        );
        rest = &rest[end..];
    }
    if out.is_empty() {
        return Err(AttestationError::collateral(
            "no certificate found (neither DER nor PEM)",
        ));
    }
    Ok(out)
}

/// A CRL in DER, or PEM (`X509 CRL`), or hex of the DER (as some collateral JSON holds it).
pub(crate) fn crl(bytes: &[u8], item: &str) -> Result<CertificateList, AttestationError> {
    let unreadable = |e: x509_cert::der::Error| AttestationError::collateral_by(format!("unreadable {item}"), e);
    // DER starts with a SEQUENCE tag (0x30), but so does hex text ("30..." or "0x..."):
    // DER is tried first and the text forms only if it does not read.
    let der_error = match CertificateList::from_der(bytes) {
        Ok(crl) => return Ok(crl),
        Err(e) => e,
    };
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN") {
        let (_label, der) = x509_cert::der::pem::decode_vec(text.trim().as_bytes()).map_err(|e| {
            AttestationError::collateral_by(format!("unreadable {item}"), x509_cert::der::Error::from(e))
        })?;
        return CertificateList::from_der(&der).map_err(unreadable);
    }
    match crate::hex_text::decode(&text) {
        Some(der) => CertificateList::from_der(&der).map_err(unreadable),
        None => Err(unreadable(der_error)),
    }
}

/// The DER encoding (for comparisons; a parsed certificate always re-encodes).
pub(crate) fn der(cert: &Certificate) -> Vec<u8> {
    cert.to_der().unwrap_or_default()
}

/// The name's common name, or the whole name if it has none.
pub(crate) fn common_name(name: &Name) -> String {
    let full = name.to_string();
    full.split(',')
        .find_map(|part| part.trim().strip_prefix("CN="))
        .map_or(full.clone(), str::to_owned)
}

/// Whether the certificate names itself as its issuer (a root).
pub(crate) fn is_self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate.subject == cert.tbs_certificate.issuer
}

/// `Ok` when `at` is within `[from, until]`; else [`AttestationError::NotYetValid`] or
/// [`AttestationError::Expired`] naming `item`.
pub(crate) fn check_window(
    item: impl FnOnce() -> String,
    from: UnixTime,
    until: Option<UnixTime>,
    at: UnixTime,
) -> Result<(), AttestationError> {
    if at < from {
        return Err(AttestationError::NotYetValid {
            item: item(),
            valid_from: from,
            at,
        });
    }
    match until {
        Some(until) if at > until => Err(AttestationError::Expired {
            item: item(),
            expired: until,
            at,
        }),
        _ => Ok(()),
    }
}

fn unix(t: x509_cert::time::Time) -> UnixTime {
    UnixTime::from_secs(t.to_unix_duration().as_secs())
}

/// Checks a certificate's validity period at `at`; `role` says what it is ("PCK
/// certificate"), the error adds its common name.
pub(crate) fn check_certificate(cert: &Certificate, role: &str, at: UnixTime) -> Result<(), AttestationError> {
    let v = &cert.tbs_certificate.validity;
    check_window(
        || format!("{role} ({})", common_name(&cert.tbs_certificate.subject)),
        unix(v.not_before),
        Some(unix(v.not_after)),
        at,
    )
}

/// Checks a CRL's `thisUpdate`..`nextUpdate` window at `at`.
pub(crate) fn check_crl(crl: &CertificateList, item: &str, at: UnixTime) -> Result<(), AttestationError> {
    let tbs = &crl.tbs_cert_list;
    check_window(|| item.to_owned(), unix(tbs.this_update), tbs.next_update.map(unix), at)
}

/// Whether `crl` lists `cert` as revoked (same issuer, same serial number).
pub(crate) fn revokes(crl: &CertificateList, cert: &Certificate) -> bool {
    let tbs = &crl.tbs_cert_list;
    tbs.issuer == cert.tbs_certificate.issuer
        && tbs
            .revoked_certificates
            .iter()
            .flatten()
            .any(|r| r.serial_number == cert.tbs_certificate.serial_number)
}
