//! The DCAP verifier: quotes verified with `dcap-qvl` against collateral supplied offline
//! (carried with the evidence or read from files), at the caller's time. On top of
//! dcap-qvl's checks (PCK chain to the Intel root, CRLs, QE identity, TCB level, collateral
//! validity), the policy decides which TCB statuses and advisories are acceptable and which
//! measurements are trusted.

use super::claims;
use super::policy::{DcapPolicy, parse_collateral};
use crate::platform::PlatformVerifier;
use dcap_qvl::QuoteCollateralV3;
use dcap_qvl::verify::{QuoteVerifier, VerifiedReport};
use sc_protocol::{AttestationError, Claims, Evidence, OtherError, PlatformId, TcbRejection, TcbStatus, UnixTime};

/// Verifies DCAP quotes of one platform (SGX or TDX) under its policy.
#[derive(Debug)]
pub struct DcapVerifier {
    platform: PlatformId,
    policy: DcapPolicy,
}

impl DcapVerifier {
    /// A verifier of the policy's platform ([`PlatformId::SGX_DCAP`] or
    /// [`PlatformId::TDX_DCAP`]).
    pub fn new(policy: DcapPolicy) -> Self {
        Self {
            platform: policy.platform,
            policy,
        }
    }

    fn verify_quote(
        &self,
        quote: &[u8],
        collateral: &QuoteCollateralV3,
        now: UnixTime,
    ) -> Result<VerifiedReport, AttestationError> {
        let verifier = match &self.policy.root_ca_der {
            Some(root) => QuoteVerifier::new(root.clone()),
            None => QuoteVerifier::new_prod(),
        };
        // Debug enclaves pass dcap-qvl; the policy's appraisal refuses them with its own
        // error (DebugNotAllowed) unless `allow_debug` is set.
        verifier
            .allow_debug(true)
            .verify(quote, collateral, now.as_millis() / 1000)
            .map_err(dcap_error)
    }

    /// Tries the evidence's own collateral, else each configured collateral file; the
    /// first that verifies wins, else the last error is reported.
    fn verify_any(&self, evidence: &Evidence<'_>, now: UnixTime) -> Result<VerifiedReport, AttestationError> {
        // Only the quote's own bytes are verified (trailing zero padding dropped, anything
        // else after it refused).
        let quote = super::canonical_quote(evidence.bytes)?;
        let carried = evidence.collateral.map(parse_collateral).transpose()?;
        let candidates: Vec<&QuoteCollateralV3> = carried.iter().chain(self.policy.collateral.iter()).collect();
        let mut last = AttestationError::collateral(
            "no collateral: send it with the evidence or set collateral_dir in the policy",
        );
        for c in candidates {
            match self.verify_quote(quote, c, now) {
                Ok(r) => return Ok(r),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn check_tcb(&self, claims: &Claims) -> Result<(), AttestationError> {
        let status = claims.tcb_status.clone().unwrap_or(TcbStatus::Unknown(String::new()));
        // Revoked is refused whatever the policy lists (the policy loader refuses it too).
        if status == TcbStatus::Revoked || !self.policy.accepted_tcb_statuses.contains(&status) {
            return Err(AttestationError::TcbNotAccepted(TcbRejection::Status(status)));
        }
        if let Some(id) = claims
            .advisory_ids
            .iter()
            .find(|a| !self.policy.accepted_advisories.contains(a))
        {
            return Err(AttestationError::TcbNotAccepted(TcbRejection::Advisory {
                id: id.clone(),
                status,
            }));
        }
        Ok(())
    }
}

/// What a pinned dcap-qvl message means.
#[derive(Clone, Copy)]
enum Pinned {
    Collateral(&'static str),
    NoTcbLevel,
}

/// dcap-qvl reports failures as `anyhow` text with no typed kinds. Its error is always
/// kept as the cause. Only the exact messages below (compared whole, at any level of its
/// chain) are sorted into a typed variant, and each is pinned by a test on real evidence
/// (`tests/real_evidence.rs`: `dcap_messages_that_are_classified_stay_pinned`), so a
/// dependency update that rewords one fails that test instead of silently changing the
/// verdict's kind. Anything else is [`AttestationError::Other`] in dcap-qvl's own words.
const PINNED: &[(&str, Pinned)] = &[
    ("TCBInfo expired", Pinned::Collateral("TCB info has expired")),
    (
        "TCBInfo issue date is in the future",
        Pinned::Collateral("TCB info is not yet valid"),
    ),
    ("No matching TCB level found", Pinned::NoTcbLevel),
];

fn dcap_error(e: anyhow::Error) -> AttestationError {
    let pinned = e
        .chain()
        .find_map(|c| PINNED.iter().find(|(m, _)| c.to_string() == *m).map(|(_, k)| *k));
    let cause = OtherError::new(e);
    match pinned {
        Some(Pinned::Collateral(what)) => AttestationError::Collateral {
            what: what.into(),
            cause: Some(cause),
        },
        Some(Pinned::NoTcbLevel) => AttestationError::TcbNotAccepted(TcbRejection::NoMatchingLevel(cause)),
        None => AttestationError::Other(cause),
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
        for (i, accepted) in self.policy.rtmrs.iter().enumerate() {
            let name = ["rtmr0", "rtmr1", "rtmr2", "rtmr3"][i];
            let value = claims
                .extra_measurements
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v);
            if !accepted.is_empty() && !value.is_some_and(|v| accepted.contains(v)) {
                return Err(AttestationError::PolicyMismatch(name));
            }
        }
        Ok(claims)
    }
}
