//! Whether a collateral set is the one a quote needs, whether it and the quote's
//! certificates are valid at the verification time, and whether every chain ends at the
//! policy's trust anchor. Checked before dcap-qvl, which reports these as untyped text (an
//! expired CRL as a debug struct, a stale CRL or a certificate not yet valid as a chain
//! failure, a wrong anchor as a bad signature), so that each refusal names its true cause
//! with the item and its dates. Signatures are left to dcap-qvl: a failure found here on
//! bytes it has not yet verified is still a refusal, never an acceptance.

use super::collateral::Collateral;
use crate::x509::{self, check_certificate, check_crl, common_name, is_self_issued, revokes};
use dcap_qvl::config::PckCa;
use dcap_qvl::quote::Quote;
use sc_protocol::{AttestationError, UnixTime};
use x509_cert::Certificate;

/// The TEE a quote or collateral item is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tee {
    Sgx,
    Tdx,
}

impl Tee {
    fn name(self) -> &'static str {
        match self {
            Tee::Sgx => "SGX",
            Tee::Tdx => "TDX",
        }
    }

    /// The QE identity id of this TEE's quoting enclave.
    fn qe_id(self) -> &'static str {
        match self {
            Tee::Sgx => "QE",
            Tee::Tdx => "TD_QE",
        }
    }
}

/// What a quote needs from its collateral, read from the quote (unverified).
pub(super) struct QuoteNeeds {
    tee: Tee,
    /// The PCK certificate chain, leaf first.
    pck_chain: Vec<Certificate>,
    fmspc: [u8; 6],
    ca: PckCa,
}

impl QuoteNeeds {
    /// The path segment of the TEE in PCS URLs (`sgx`, `tdx`).
    pub(super) fn tee_path(&self) -> &'static str {
        match self.tee {
            Tee::Sgx => "sgx",
            Tee::Tdx => "tdx",
        }
    }

    /// The FMSPC, upper-case hex.
    pub(super) fn fmspc_hex(&self) -> String {
        hex::encode_upper(self.fmspc)
    }

    /// The PCK CA's name in PCS URLs (`processor`, `platform`).
    pub(super) fn ca_path(&self) -> &'static str {
        match self.ca {
            PckCa::Processor => "processor",
            PckCa::Platform => "platform",
        }
    }
}

fn ca_name(ca: &PckCa) -> &'static str {
    match ca {
        PckCa::Processor => "the PCK processor CA",
        PckCa::Platform => "the PCK platform CA",
    }
}

impl QuoteNeeds {
    /// Reads the TEE type, PCK chain, FMSPC and PCK CA from `quote` (its own bytes). A PCK
    /// chain given with the collateral replaces the quote's, as it does for dcap-qvl.
    pub(super) fn read(quote: &[u8], pck_chain: Option<&str>) -> Result<Self, AttestationError> {
        let parsed = Quote::parse(quote).map_err(|e| AttestationError::malformed_by("DCAP quote", e))?;
        let tee = if parsed.header.tee_type == 0x81 {
            Tee::Tdx
        } else {
            Tee::Sgx
        };
        let pck_chain = match pck_chain {
            Some(pem) => x509::certificates(pem.as_bytes())?,
            None => {
                let ders = dcap_qvl::intel::extract_cert_chain(&parsed).map_err(|e| {
                    AttestationError::malformed_by("the quote's PCK certificate chain", e.into_boxed_dyn_error())
                })?;
                ders.iter()
                    .map(|d| x509::certificates(d))
                    .collect::<Result<Vec<_>, _>>()?
                    .into_iter()
                    .flatten()
                    .collect()
            }
        };
        let leaf = pck_chain.first().ok_or(AttestationError::malformed(
            "the quote's PCK certificate chain is empty",
        ))?;
        let leaf_der = x509::der(leaf);
        let fmspc = dcap_qvl::intel::parse_pck_extension(&leaf_der)
            .map_err(|e| {
                AttestationError::malformed_by("the PCK certificate's SGX extension", e.into_boxed_dyn_error())
            })?
            .fmspc;
        let ca = dcap_qvl::intel::pck_ca(&leaf_der)
            .map_err(|e| AttestationError::malformed_by("the PCK certificate's issuer", e.into_boxed_dyn_error()))?;
        Ok(Self {
            tee,
            pck_chain,
            fmspc,
            ca,
        })
    }

    /// Whether `collateral` was made for this quote: TEE type of the TCB info and QE
    /// identity, FMSPC, and the CA of the PCK CRL. A misfit is
    /// [`AttestationError::CollateralMismatch`]: the collateral is for other evidence.
    pub(super) fn check_fits(&self, c: &Collateral) -> Result<(), AttestationError> {
        let tcb_info_tee = match c.tcb_info.id.as_deref() {
            // TCB info v2 has no id: it is SGX's.
            None | Some("SGX") => Some(Tee::Sgx),
            Some("TDX") => Some(Tee::Tdx),
            Some(_) => None,
        };
        if tcb_info_tee != Some(self.tee) {
            return Err(AttestationError::CollateralMismatch {
                item: "TCB info",
                found: c.tcb_info.id.clone().unwrap_or_else(|| "SGX".into()),
                expected: self.tee.name().into(),
            });
        }
        let fmspc = hex::encode_upper(self.fmspc);
        let info_fmspc = c.tcb_info.fmspc.clone().unwrap_or_default();
        if !info_fmspc.eq_ignore_ascii_case(&fmspc) {
            return Err(AttestationError::CollateralMismatch {
                item: "TCB info",
                found: format!("FMSPC {info_fmspc}"),
                expected: format!("FMSPC {fmspc} (from the PCK certificate)"),
            });
        }
        let qe_id = c.qe_identity.id.clone().unwrap_or_default();
        if qe_id != self.tee.qe_id() {
            return Err(AttestationError::CollateralMismatch {
                item: "QE identity",
                found: format!("the {qe_id} quoting enclave"),
                expected: format!("the {} quoting enclave (a {} quote)", self.tee.qe_id(), self.tee.name()),
            });
        }
        let crl_issuer = common_name(&c.pck_crl.tbs_cert_list.issuer);
        let crl_ca = if crl_issuer.contains("Platform") {
            Some(PckCa::Platform)
        } else if crl_issuer.contains("Processor") {
            Some(PckCa::Processor)
        } else {
            None
        };
        if crl_ca.as_ref().map(ca_name) != Some(ca_name(&self.ca)) {
            return Err(AttestationError::CollateralMismatch {
                item: "PCK CRL",
                found: format!("CRLs of {crl_issuer}"),
                expected: format!("CRLs of {} (the PCK certificate's issuer)", ca_name(&self.ca)),
            });
        }
        Ok(())
    }

    /// Every chain (the quote's PCK chain, the collateral's issuer chains) must end at the
    /// trust anchor `root` (DER), when it ends at a root at all.
    pub(super) fn check_anchor(&self, c: &Collateral, root: &[u8]) -> Result<(), AttestationError> {
        let chains: [(&'static str, &[Certificate]); 4] = [
            ("PCK certificate chain", &self.pck_chain),
            ("PCK CRL issuer chain", &c.pck_crl_issuer_chain),
            ("TCB info issuer chain", &c.tcb_info_issuer_chain),
            ("QE identity issuer chain", &c.qe_identity_issuer_chain),
        ];
        for (chain, certs) in chains {
            if let Some(top) = certs.last().filter(|t| is_self_issued(t)) {
                if x509::der(top) != root {
                    return Err(AttestationError::TrustAnchorMismatch {
                        chain,
                        root: top.tbs_certificate.subject.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    /// Validity at `now` of every certificate and collateral item, in the order a reader
    /// would look for it: the quote's own certificates, revocation of its PCK chain, the
    /// CRLs, the TCB info and QE identity, then the collateral's issuer chains.
    pub(super) fn check_valid_at(&self, c: &Collateral, now: UnixTime) -> Result<(), AttestationError> {
        let roles = ["PCK certificate", "PCK CA certificate", "root CA certificate"];
        for (i, cert) in self.pck_chain.iter().enumerate() {
            check_certificate(cert, roles[i.min(2)], now)?;
        }
        for cert in &self.pck_chain {
            for (crl, name) in [(&c.pck_crl, "PCK CRL"), (&c.root_ca_crl, "root CA CRL")] {
                if revokes(crl, cert) {
                    return Err(AttestationError::Revoked {
                        item: format!(
                            "certificate {} (serial {})",
                            common_name(&cert.tbs_certificate.subject),
                            hex::encode(cert.tbs_certificate.serial_number.as_bytes())
                        ),
                        by: name,
                    });
                }
            }
        }
        check_crl(&c.root_ca_crl, "root CA CRL", now)?;
        check_crl(&c.pck_crl, "PCK CRL", now)?;
        c.tcb_info.check("TCB info", now)?;
        c.qe_identity.check("QE identity", now)?;
        for (role, certs) in [
            ("PCK CRL issuer certificate", &c.pck_crl_issuer_chain),
            ("TCB signing certificate", &c.tcb_info_issuer_chain),
            ("QE identity signing certificate", &c.qe_identity_issuer_chain),
        ] {
            for cert in certs {
                check_certificate(cert, role, now)?;
            }
        }
        Ok(())
    }
}
