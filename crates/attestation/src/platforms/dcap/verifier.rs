//! The DCAP verifier: quotes verified with `dcap-qvl` against collateral supplied offline
//! (carried with the evidence or read from files), at the caller's time. On top of
//! dcap-qvl's checks (PCK chain to the Intel root, CRLs, QE identity, TCB level, collateral
//! validity), the policy decides which TCB statuses and advisories are acceptable and which
//! measurements are trusted.

use super::claims;
use super::collateral::Collateral;
use super::fit::QuoteNeeds;
use super::policy::DcapPolicy;
use crate::cache::BoundedCache;
use crate::platform::PlatformVerifier;
use dcap_qvl::verify::{QuoteVerifier, VerifiedReport};
use sc_protocol::{
    AttestationError, Claims, CollateralCandidate, Evidence, OtherError, PlatformId, TcbRejection, TcbStatus, UnixTime,
};
use std::sync::Arc;

/// Intel's SGX Root CA (DER), the default trust anchor of SGX and TDX quotes; the same
/// certificate dcap-qvl builds in (`tests/real_evidence.rs` compares it with the one
/// beside the shared evidence).
pub const INTEL_SGX_ROOT_CA: &[u8] = include_bytes!("intel_sgx_root_ca.der");

/// Verifies DCAP quotes of one platform (SGX or TDX) under its policy.
#[derive(Debug)]
pub struct DcapVerifier {
    platform: PlatformId,
    policy: DcapPolicy,
    /// Collateral carried with evidence, parsed, by SHA-256 of its bytes: enclaves send
    /// the same collateral with every handshake until it is renewed, and parsing it (CRLs,
    /// chains, TCB info) was a third of the verification time.
    carried: BoundedCache<[u8; 32], Arc<Collateral>>,
}

/// Carried collateral sets remembered at most.
const CARRIED_CACHE: usize = 64;

impl DcapVerifier {
    /// A verifier of the policy's platform ([`PlatformId::SGX_DCAP`] or
    /// [`PlatformId::TDX_DCAP`]).
    pub fn new(policy: DcapPolicy) -> Self {
        Self {
            platform: policy.platform,
            policy,
            carried: BoundedCache::new(CARRIED_CACHE),
        }
    }

    fn root(&self) -> &[u8] {
        self.policy.root_ca_der.as_deref().unwrap_or(INTEL_SGX_ROOT_CA)
    }

    /// Verifies `quote` with one collateral set: first whether it is the set the quote
    /// needs and is valid now (each failure typed, see `fit`), then dcap-qvl's checks.
    /// `own` is what the quote needs read with its own PCK chain; a collateral set that
    /// carries a PCK chain of its own is read again with it (as dcap-qvl does).
    fn verify_with(
        &self,
        quote: &[u8],
        own: &Result<QuoteNeeds, AttestationError>,
        c: &Collateral,
        now: UnixTime,
    ) -> Result<VerifiedReport, AttestationError> {
        let replaced;
        let needs = match c.qvl.pck_certificate_chain.as_deref() {
            Some(chain) => {
                replaced = QuoteNeeds::read(quote, Some(chain))?;
                &replaced
            }
            None => own.as_ref().map_err(Clone::clone)?,
        };
        needs.check_fits(c)?;
        needs.check_anchor(c, self.root())?;
        needs.check_valid_at(c, now)?;
        // Debug enclaves pass dcap-qvl; the policy's appraisal refuses them with its own
        // error (DebugNotAllowed) unless `allow_debug` is set.
        QuoteVerifier::new(self.root().to_vec())
            .allow_debug(true)
            .verify(quote, &c.qvl, now.as_millis() / 1000)
            .map_err(dcap_error)
    }

    /// Tries the evidence's own collateral, then each collateral set of the policy; the
    /// first that verifies wins. When none does, the refusal is the reason of the only
    /// candidate made for this quote, or, if there are several or none, the list of every
    /// candidate with its own reason.
    fn verify_any(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<VerifiedReport, AttestationError> {
        // Only the quote's own bytes are verified (trailing zero padding dropped, anything
        // else after it refused).
        let quote = super::canonical_quote(evidence.bytes)?;
        let carried = evidence
            .collateral
            .map(|bytes| {
                let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
                let key: [u8; 32] = digest.as_ref().try_into().unwrap_or_default();
                self.carried.get_or_try_insert(key, || {
                    Collateral::from_qvl_json(bytes, "the evidence's collateral").map(Arc::new)
                })
            })
            .transpose()?;
        let mut tried = Vec::new();
        // Read once for every candidate (the quote, its PCK chain and its extensions).
        let own = QuoteNeeds::read(quote, None);
        // The evidence's own collateral first; then the service's, fetched or cached;
        // then the policy's offline sets.
        let fetched = self.policy.service.as_ref().map(|service| {
            let c = own
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|needs| service.collateral(needs, now));
            (service.base().to_owned(), c)
        });
        let mut from_service = None;
        if let Some((source, result)) = fetched {
            match result {
                Ok(c) => from_service = Some(c),
                Err(e @ AttestationError::Malformed { .. }) => return Err(e),
                Err(reason) => tried.push(CollateralCandidate { source, reason }),
            }
        }
        for c in carried
            .as_deref()
            .into_iter()
            .chain(from_service.as_deref())
            .chain(self.policy.collateral.iter())
        {
            match self.verify_with(quote, &own, c, now) {
                Ok(report) => return Ok(report),
                // About the quote itself: every candidate would say the same.
                Err(e @ AttestationError::Malformed { .. }) => return Err(e),
                Err(reason) => tried.push(CollateralCandidate {
                    source: c.source.clone(),
                    reason,
                }),
            }
        }
        Err(most_relevant(tried))
    }

    fn check_tcb(&self, claims: &Claims) -> Result<(), AttestationError> {
        let status = claims.tcb_status.clone().unwrap_or(TcbStatus::Unknown(String::new()));
        // Revoked is refused whatever the policy lists (the policy loader refuses it too).
        if status == TcbStatus::Revoked || !self.policy.accepted_tcb_statuses.contains(&status) {
            return Err(AttestationError::TcbNotAccepted(TcbRejection::Status(status)));
        }
        let unaccepted: Vec<String> = claims
            .advisory_ids
            .iter()
            .filter(|a| !self.policy.accepted_advisories.contains(a))
            .cloned()
            .collect();
        if !unaccepted.is_empty() {
            return Err(AttestationError::TcbNotAccepted(TcbRejection::Advisories {
                ids: unaccepted,
                status,
            }));
        }
        Ok(())
    }
}

/// The refusal to report after every candidate failed (see [`DcapVerifier::verify_any`]).
fn most_relevant(mut tried: Vec<CollateralCandidate>) -> AttestationError {
    let made_for_quote: Vec<usize> = (0..tried.len())
        .filter(|&i| !matches!(tried[i].reason, AttestationError::CollateralMismatch { .. }))
        .collect();
    match (tried.len(), made_for_quote.as_slice()) {
        (0, _) => AttestationError::collateral(
            "no collateral: send it with the evidence, or set collateral_dir in the policy",
        ),
        (1, _) => tried.swap_remove(0).reason,
        (_, &[only]) => tried.swap_remove(only).reason,
        _ => AttestationError::NoFittingCollateral(tried),
    }
}

/// What a pinned dcap-qvl message means.
#[derive(Clone, Copy)]
enum Pinned {
    CollateralSignature(&'static str),
    EvidenceSignature,
    NoTcbLevel,
}

/// dcap-qvl reports failures as `anyhow` text with no typed kinds. Its error is always
/// kept as the cause. The checks in `fit` run first and type the causes operators meet
/// most (dates, anchors, misfit collateral, revocation); of what remains, the typed
/// certificate-chain errors of its webpki are reached by downcasting, and only the exact
/// messages below (compared whole, at any level of the chain) are sorted into a variant.
/// Each is pinned by a test on real evidence (`tests/real_evidence.rs`:
/// `dcap_messages_that_are_classified_stay_pinned`), so a dependency update that rewords
/// one fails that test instead of silently changing the verdict's kind. Anything else is
/// [`AttestationError::Other`] in dcap-qvl's own words.
const PINNED: &[(&str, Pinned)] = &[
    ("No matching TCB level found", Pinned::NoTcbLevel),
    (
        "Signature is invalid for tcb_info in quote_collateral",
        Pinned::CollateralSignature("TCB info"),
    ),
    (
        "Signature is invalid for qe_identity in quote_collateral",
        Pinned::CollateralSignature("QE identity"),
    ),
    (
        "Failed to parse root CA CRL",
        Pinned::CollateralSignature("root CA CRL"),
    ),
    ("ISV enclave report signature is invalid", Pinned::EvidenceSignature),
    ("Signature is invalid for qe_report in quote", Pinned::EvidenceSignature),
    ("QE report hash mismatch", Pinned::EvidenceSignature),
];

fn dcap_error(e: anyhow::Error) -> AttestationError {
    let pinned = e
        .chain()
        .find_map(|c| PINNED.iter().find(|(m, _)| c.to_string() == *m).map(|(_, k)| *k));
    let chain_error = e.downcast_ref::<webpki::Error>().cloned();
    let cause = OtherError::new(e);
    match (pinned, chain_error) {
        (Some(Pinned::CollateralSignature(item)), _) => AttestationError::CollateralSignature {
            item,
            cause: Some(cause),
        },
        (Some(Pinned::EvidenceSignature), _) => AttestationError::BadSignature { cause: Some(cause) },
        (Some(Pinned::NoTcbLevel), _) => AttestationError::TcbNotAccepted(TcbRejection::NoMatchingLevel(cause)),
        (None, Some(webpki::Error::InvalidCrlSignatureForPublicKey)) => AttestationError::CollateralSignature {
            item: "PCK CRL",
            cause: Some(cause),
        },
        (None, Some(webpki::Error::CertRevoked)) => AttestationError::Revoked {
            item: "a certificate of the PCK or collateral chains".into(),
            by: "CRL",
        },
        (None, Some(_)) => AttestationError::UntrustedRoot { cause: Some(cause) },
        (None, None) => AttestationError::Other(cause),
    }
}

impl PlatformVerifier for DcapVerifier {
    fn verify(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<Claims, AttestationError> {
        let report = self.verify_any(evidence, now)?;
        let mut claims = claims(self.platform, &report.report)?;
        claims.tcb_status = Some(TcbStatus::from_name(&report.status));
        claims.advisory_ids = report.advisory_ids;
        self.check_tcb(&claims)?;
        self.policy.reference.appraise(&claims, now)?;
        Ok(claims)
    }
}
