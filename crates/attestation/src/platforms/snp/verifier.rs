//! The SEV-SNP verifier: reports (VCEK- and VLEK-signed) verified with the `sev` crate:
//! the report's ECDSA P-384 signature by its endorsement key, that key's certificate by the
//! ASK (VCEK) or ASVK (VLEK), and those by a trusted ARK. On top, this module checks what the
//! crate leaves to its callers: certificate validity at the caller's time, the report's key
//! type against the certificate, the chip id against the VCEK's hardware id, and the
//! certificate's TCB against the report's.

use super::certs::{Cert, endorsement_certs};
use super::policy::{KeyType, SnpPolicy};
use super::{REPORT_LEN, claims, policy_bits};
use crate::cache::BoundedCache;
use crate::platform::PlatformVerifier;
use sc_protocol::{AttestationError, Claims, Evidence, Mismatch, OtherError, TcbRejection, UnixTime};
use sev::certs::snp::Verifiable;
use sev::firmware::guest::AttestationReport;
use sev::parser::ByteParser;

/// Verifies SEV-SNP reports under a policy.
#[derive(Debug)]
pub struct SnpVerifier {
    policy: SnpPolicy,
    /// Endorsement keys whose chain verified: VEK fingerprint -> (ARK, intermediate). The RSA-4096 chain signatures are most of
    /// the cost, and one VCEK signs every report of its chip; validity periods are still
    /// checked on every use.
    chains: BoundedCache<[u8; 32], (Cert, Cert)>,
}

/// Chains remembered at most.
const CHAIN_CACHE: usize = 1024;

/// A verified report and the key type that signed it.
struct Verified {
    report: AttestationReport,
}

impl SnpVerifier {
    /// A verifier under `policy`.
    pub fn new(policy: SnpPolicy) -> Self {
        Self {
            policy,
            chains: BoundedCache::new(CHAIN_CACHE),
        }
    }

    /// The endorsement key certificate: from the evidence's collateral, else from the
    /// policy's `vek_dir`, else (a VCEK) from the policy's KDS. A VCEK is chosen by the
    /// report's chip id; a VLEK by key type.
    fn vek(
        &self,
        evidence: &Evidence<'_>,
        report: &AttestationReport,
        now: UnixTime,
    ) -> Result<Cert, AttestationError> {
        let carried = evidence.collateral.map(endorsement_certs).transpose()?;
        let candidates: Vec<&Cert> = carried
            .iter()
            .flatten()
            .chain(self.policy.endorsement_keys.iter())
            .collect();
        let is_vcek = report.key_info.signing_key() == 0;
        let fits = |c: &Cert| match is_vcek {
            true => c.subject().contains("VCEK") && c.hardware_id().is_some_and(|h| h[..] == report.chip_id[..]),
            false => c.subject().contains("VLEK"),
        };
        if let Some(c) = candidates.iter().copied().find(|c| fits(c)) {
            return Ok(c.clone());
        }
        if let (Some(kds), true) = (&self.policy.kds, is_vcek) {
            return kds.vcek(report, now);
        }
        // Else the evidence's own (its misfit is then reported precisely by the caller).
        carried.as_ref().and_then(|c| c.first()).cloned().ok_or_else(|| {
            AttestationError::collateral("no VCEK or VLEK certificate for this report (evidence, vek_dir or kds_url)")
        })
    }

    /// Finds ARK and intermediate that certify `vek` (or remembers them), with the policy's
    /// certificates and, failing that, the KDS's chain for the report's product; checks
    /// every link's validity at `now`.
    fn chain(&self, vek: &Cert, report: &AttestationReport, now: UnixTime) -> Result<(), AttestationError> {
        let (ark, mid) = self.chains.get_or_try_insert(vek.fingerprint(), || {
            if let Some(found) = self.find_chain(&self.policy.certificates, vek) {
                return Ok(found);
            }
            let Some(kds) = &self.policy.kds else {
                return Err(AttestationError::UntrustedRoot { cause: None });
            };
            let fetched = kds.chain(&kds.product_of(report)?, vek.subject().contains("VLEK"), now)?;
            let pool: Vec<Cert> = self.policy.certificates.iter().chain(&fetched).cloned().collect();
            self.find_chain(&pool, vek)
                .ok_or(AttestationError::UntrustedRoot { cause: None })
        })?;
        for c in [&ark, &mid, vek] {
            c.check_valid_at(now)?;
        }
        Ok(())
    }

    /// A trusted, self-signed ARK in `certs` and an intermediate it signed that signed `vek`.
    fn find_chain(&self, certs: &[Cert], vek: &Cert) -> Option<(Cert, Cert)> {
        let arks = certs
            .iter()
            .filter(|c| c.is_self_issued() && self.policy.trusted_arks.contains(&c.fingerprint()));
        for ark in arks {
            if !ark.signed(ark) {
                continue;
            }
            let mids = certs.iter().filter(|c| !c.is_self_issued());
            for mid in mids {
                if mid.signed(vek) && ark.signed(mid) {
                    return Some((ark.clone(), mid.clone()));
                }
            }
        }
        None
    }

    fn verify_report(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Verified, AttestationError> {
        if evidence.bytes.len() != REPORT_LEN {
            return Err(AttestationError::malformed("SEV-SNP report length"));
        }
        super::check_canonical(evidence.bytes)?;
        let report = AttestationReport::from_bytes(evidence.bytes)
            .map_err(|e| AttestationError::malformed_by("SEV-SNP report", e))?;
        let vek = self.vek(evidence, &report, now)?;
        self.chain(&vek, &report, now)?;

        // The certificate must fit the report before its signature is worth checking; a
        // misfit gets its precise reason (the wrong chip's VCEK, a VLEK for a VCEK report).
        let report_key = match report.key_info.signing_key() {
            0 => KeyType::Vcek,
            1 => KeyType::Vlek,
            _ => return Err(AttestationError::malformed("SEV-SNP report has no signing key")),
        };
        let subject = vek.subject();
        let cert_key = if subject.contains("VLEK") {
            KeyType::Vlek
        } else if subject.contains("VCEK") {
            KeyType::Vcek
        } else {
            return Err(AttestationError::malformed(
                "endorsement certificate is neither VCEK nor VLEK",
            ));
        };
        if report_key != cert_key {
            return Err(AttestationError::KeyTypeMismatch {
                report: report_key.name(),
                certificate: cert_key.name(),
            });
        }
        if !self.policy.signing_keys.contains(&report_key) {
            return Err(AttestationError::PolicyMismatch {
                field: "signing key type".into(),
                mismatch: Mismatch {
                    presented: report_key.name().into(),
                    accepted: self.policy.signing_keys.iter().map(|k| k.name().into()).collect(),
                },
            });
        }
        if report_key == KeyType::Vcek {
            let hwid = vek
                .hardware_id()
                .ok_or(AttestationError::malformed("VCEK without hardware id"))?;
            if hwid[..] != report.chip_id[..] {
                return Err(AttestationError::ChipIdMismatch);
            }
        }
        let t = &report.reported_tcb;
        let reported = [(1, t.bootloader), (2, t.tee), (3, t.snp), (8, t.microcode)];
        if reported.iter().any(|(n, v)| vek.tcb_component(*n) != Some(*v)) {
            return Err(AttestationError::TcbNotAccepted(TcbRejection::CertificateMismatch));
        }
        (&vek.sev, &report)
            .verify()
            .map_err(|e| AttestationError::BadSignature {
                cause: Some(OtherError::new(e)),
            })?;
        Ok(Verified { report })
    }
}

impl PlatformVerifier for SnpVerifier {
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError> {
        let Verified { report } = self.verify_report(evidence, now)?;
        let claims = claims(&report);
        if let Some(min) = &self.policy.min_tcb {
            let t = &report.reported_tcb;
            let ok =
                t.bootloader >= min.bootloader && t.tee >= min.tee && t.snp >= min.snp && t.microcode >= min.microcode;
            if !ok {
                return Err(AttestationError::TcbNotAccepted(TcbRejection::BelowMinimum));
            }
        }
        if !self.policy.guest_policies.is_empty() && !self.policy.guest_policies.contains(&policy_bits(&report)) {
            return Err(AttestationError::PolicyMismatch {
                field: "guest policy".into(),
                mismatch: Mismatch {
                    presented: format!("{:#x}", policy_bits(&report)),
                    accepted: self.policy.guest_policies.iter().map(|p| format!("{p:#x}")).collect(),
                },
            });
        }
        self.policy.reference.appraise(&claims, now)?;
        Ok(claims)
    }
}
