//! The AMD certificates around an SEV-SNP report: the CA chain (ARK, then ASK or ASVK)
//! and the endorsement key certificate (VCEK or VLEK), with the extensions the verifier
//! compares against the report (hardware id, TCB components).

use sc_protocol::{AttestationError, UnixTime};
use sev::certs::snp::{Certificate, Verifiable};
use x509_cert::der::{Decode, Encode};

/// AMD's OID arc for VCEK/VLEK extensions: 1.3.6.1.4.1.3704.1.
const AMD_ARC: &str = "1.3.6.1.4.1.3704.1.";

/// A certificate with its parsed X.509 form.
#[derive(Clone)]
pub struct Cert {
    /// For signature checks (the sev crate's type).
    pub sev: Certificate,
    x509: x509_cert::Certificate,
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cert({})", self.subject())
    }
}

impl Cert {
    /// Parses one DER certificate. (Certificates are collateral: an unreadable one is a
    /// collateral problem, not malformed evidence.)
    pub fn from_der(der: &[u8]) -> Result<Self, AttestationError> {
        let x509 = x509_cert::Certificate::from_der(der)
            .map_err(|e| AttestationError::collateral_by("unreadable certificate", e))?;
        let sev =
            Certificate::from_der(der).map_err(|e| AttestationError::collateral_by("unreadable certificate", e))?;
        Ok(Self { sev, x509 })
    }

    /// Parses every certificate of a PEM bundle, or one DER certificate.
    pub fn parse_all(bytes: &[u8]) -> Result<Vec<Self>, AttestationError> {
        crate::x509::certificates(bytes)?
            .iter()
            .map(|c| {
                c.to_der()
                    .map_err(|e| AttestationError::collateral_by("unreadable certificate", e))
                    .and_then(|der| Self::from_der(&der))
            })
            .collect()
    }

    /// The subject, RFC 4514 style.
    pub fn subject(&self) -> String {
        self.x509.tbs_certificate.subject.to_string()
    }

    /// Whether the certificate names itself as issuer (a root).
    pub fn is_self_issued(&self) -> bool {
        self.x509.tbs_certificate.subject == self.x509.tbs_certificate.issuer
    }

    /// SHA-256 of the DER encoding.
    pub fn fingerprint(&self) -> [u8; 32] {
        let der = self.x509.to_der().unwrap_or_default();
        let mut out = [0u8; 32];
        out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &der).as_ref());
        out
    }

    /// Whether `self` signed `other`.
    pub fn signed(&self, other: &Cert) -> bool {
        (&self.sev, &other.sev).verify().is_ok()
    }

    /// Checks the validity period at `now` ([`AttestationError::Expired`] or
    /// [`AttestationError::NotYetValid`], naming the certificate and its dates).
    pub fn check_valid_at(&self, now: UnixTime) -> Result<(), AttestationError> {
        crate::x509::check_certificate(&self.x509, "certificate", now)
    }

    /// The end of the validity period.
    pub fn not_after(&self) -> Option<UnixTime> {
        let t = self.x509.tbs_certificate.validity.not_after.to_unix_duration();
        Some(UnixTime::from_secs(t.as_secs()))
    }

    /// The value of AMD extension `1.3.6.1.4.1.3704.1.<suffix>`, if present.
    fn amd_extension(&self, suffix: &str) -> Option<&[u8]> {
        let oid = format!("{AMD_ARC}{suffix}");
        self.x509
            .tbs_certificate
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.extn_id.to_string() == oid)
            .map(|e| e.extn_value.as_bytes())
    }

    /// The VCEK's hardware id (extension .4): the chip id it was issued for.
    pub fn hardware_id(&self) -> Option<Vec<u8>> {
        let raw = self.amd_extension("4")?;
        // Either the 64 bytes themselves or an OCTET STRING holding them.
        Some(match raw {
            [0x04, 0x40, rest @ ..] if rest.len() == 64 => rest.to_vec(),
            _ => raw.to_vec(),
        })
    }

    /// The TCB component in extension `.3.<n>` (an INTEGER): 1 bootloader, 2 TEE, 3 SNP,
    /// 8 microcode.
    pub fn tcb_component(&self, n: u8) -> Option<u8> {
        let raw = self.amd_extension(&format!("3.{n}"))?;
        let [0x02, len, value @ ..] = raw else { return None };
        if usize::from(*len) != value.len() || value.is_empty() {
            return None;
        }
        let significant: Vec<u8> = value.iter().copied().skip_while(|b| *b == 0).collect();
        match significant.as_slice() {
            [] => Some(0),
            [v] if value[0] & 0x80 == 0 => Some(*v),
            _ => None,
        }
    }
}

/// GUID of a VCEK entry in an SEV-SNP certificate table.
const VCEK_GUID: u128 = 0x63da758d_e664_4564_adc5_f4b93be8accd;
/// GUID of a VLEK entry.
const VLEK_GUID: u128 = 0xa8074bc2_a25a_483e_aae6_39c045a0b8a1;
/// Entries read at most (the table has a handful).
const MAX_TABLE_ENTRIES: usize = 64;

/// Whether table entry bytes `stored` are `guid`, in either byte order met in practice:
/// the textual order (as AMD's tools and the `sev` crate write it), or the mixed-endian
/// EFI layout (first three fields little-endian, as the Linux kernel's `guid_t` and
/// firmware write it).
fn is_guid(stored: &[u8; 16], guid: u128) -> bool {
    let textual = guid.to_be_bytes();
    let mut efi = textual;
    efi[..4].reverse();
    efi[4..6].reverse();
    efi[6..8].reverse();
    *stored == textual || *stored == efi
}

/// One certificate table entry: its GUID and its bytes.
pub type TableEntry<'a> = ([u8; 16], &'a [u8]);

/// Parses an SEV-SNP certificate table: 24-byte entries (GUID, u32 offset, u32 length,
/// little-endian; offsets from the table's start) ended by an all-zero entry. Every
/// offset and length is checked. (The sev crate's parser reads through raw pointers
/// without bounds checks, so it must not see untrusted bytes.)
pub fn parse_cert_table(table: &[u8]) -> Result<Vec<TableEntry<'_>>, AttestationError> {
    let bad = AttestationError::collateral;
    let mut out = Vec::new();
    for i in 0..=MAX_TABLE_ENTRIES {
        let entry = table
            .get(i * 24..i * 24 + 24)
            .ok_or(bad("certificate table: no closing entry"))?;
        let guid: [u8; 16] = entry[..16].try_into().map_err(|_| bad("certificate table"))?;
        if guid == [0; 16] {
            return Ok(out);
        }
        let word = |at: usize| u32::from_le_bytes([entry[at], entry[at + 1], entry[at + 2], entry[at + 3]]) as usize;
        let (offset, length) = (word(16), word(20));
        let data = offset
            .checked_add(length)
            .and_then(|end| table.get(offset..end))
            .ok_or(bad("certificate table: entry outside the table"))?;
        out.push((guid, data));
    }
    Err(bad("certificate table: too many entries"))
}

/// The endorsement key certificates in SEV-SNP collateral: a DER or PEM certificate (or
/// bundle), or the certificate table a guest gets with its report (configfs-tsm
/// `auxblob`), from which the VCEK and VLEK entries are taken.
pub fn endorsement_certs(collateral: &[u8]) -> Result<Vec<Cert>, AttestationError> {
    let text = String::from_utf8_lossy(&collateral[..collateral.len().min(64)]).into_owned();
    if text.trim_start().starts_with('{') {
        return Err(AttestationError::collateral(
            "the SEV-SNP collateral is JSON (DCAP collateral?); expected a VCEK/VLEK certificate (DER or PEM) or the certificate table",
        ));
    }
    let looks_like_certificate = collateral.first() == Some(&0x30) || text.contains("-----BEGIN");
    if looks_like_certificate {
        return Cert::parse_all(collateral).map_err(|e| {
            AttestationError::collateral_by("the SEV-SNP collateral's VCEK/VLEK certificate is unreadable", e)
        });
    }
    parse_cert_table(collateral)
        .map_err(|e| {
            AttestationError::collateral_by(
                "the SEV-SNP collateral is neither a certificate (DER or PEM) nor a certificate table",
                e,
            )
        })?
        .into_iter()
        .filter(|(g, _)| is_guid(g, VCEK_GUID) || is_guid(g, VLEK_GUID))
        .map(|(_, der)| Cert::from_der(der))
        .collect()
}

/// The built-in AMD certificates (Milan, Genoa, Turin: ARK and ASK), from the sev crate.
pub fn builtin() -> Vec<Cert> {
    use sev::certs::snp::builtin::{genoa, milan, turin};
    [milan::ARK, milan::ASK, genoa::ARK, genoa::ASK, turin::ARK, turin::ASK]
        .iter()
        .filter_map(|pem| Cert::parse_all(pem).ok())
        .flatten()
        .collect()
}
