//! What an operator can do about a refusal: one line per kind of [`AttestationError`],
//! printed by tools under the error itself (docs/ATTESTATION.md, "When verification
//! fails", has the same table with more words).

use sc_protocol::{AttestationError, TcbRejection};

/// A one-line suggestion for `error`, when there is a useful one.
pub fn hint(error: &AttestationError) -> Option<&'static str> {
    use AttestationError as E;
    Some(match error {
        E::UnsupportedPlatform(_) => "add a section for this platform to the policy ([sgx], [tdx], [sev_snp]...)",
        E::Malformed { .. } => {
            "the evidence itself is damaged or not of the platform named; check how it was captured and transported"
        }
        E::UntrustedRoot { .. } => {
            "the chain does not reach the trust anchor: check root_ca / ca_chain in the policy and the intermediate certificates in the collateral"
        }
        E::BadSignature { .. } => {
            "the evidence was altered after it was signed (or is not from this platform); capture it again"
        }
        E::WrongMeasurement(_) => {
            "the code is not the one the policy expects: add its measurement to the policy if it is trusted (`verify` prints it)"
        }
        E::WrongSigner(_) => "the enclave is signed by a key the policy does not list",
        E::DebugNotAllowed => {
            "debug enclaves expose their memory to the host; set allow_debug = true only for development"
        }
        E::SecurityVersionTooLow { .. } => {
            "the enclave's security version is older than the policy's minimum: deploy the updated enclave"
        }
        E::FromTheFuture { .. } => {
            "the attester's clock is ahead of the verifier's (or the verification time asked for is too early): fix the clocks"
        }
        E::Stale { .. } => "the evidence is older than the policy allows: attest again",
        E::ReportDataMismatch => {
            "the evidence was made for another handshake or key (a replay, or the wrong --report-data)"
        }
        E::SimulatedNotAllowed => {
            "simulated evidence has no hardware behind it; set allow_simulated = true only for development"
        }
        E::TcbNotAccepted(TcbRejection::Status(_) | TcbRejection::Advisories { .. }) => {
            "the platform needs a firmware or microcode update, or the policy must accept this status/advisory (accepted_tcb_statuses, accepted_advisories)"
        }
        E::TcbNotAccepted(TcbRejection::NoMatchingLevel(_)) => {
            "no TCB level in the collateral covers this platform: its TCB is below every level Intel publishes; update the platform"
        }
        E::TcbNotAccepted(_) => {
            "the platform's TCB is below what the policy or its certificate requires: update firmware, or fetch the certificate for the current TCB"
        }
        E::Collateral { .. } => {
            "supply the collateral for this evidence (with the evidence, --collateral, or collateral_dir / vek_dir in the policy)"
        }
        E::Expired { .. } => "fetch fresh collateral (or check the clock, or the --at time asked for)",
        E::NotYetValid { .. } => {
            "the clock is behind, or the verification time asked for is earlier than the collateral: check the clock and --at"
        }
        E::StaleCollateral { .. } => {
            "the collateral service could not be reached and the cached copy expired: restore access to it (collateral_service / kds_url) or supply fresh collateral"
        }
        E::Revoked { .. } => {
            "the platform's key was revoked by its vendor: the platform cannot be trusted until it is re-provisioned"
        }
        E::CollateralSignature { .. } => {
            "the collateral was altered or corrupted: fetch it again from the collateral service"
        }
        E::TrustAnchorMismatch { .. } => {
            "root_ca in the policy is not the root this chain ends at: use the vendor's root (Intel SGX Root CA for DCAP), or remove root_ca for the default"
        }
        E::CollateralMismatch { .. } => {
            "this collateral was made for another platform: fetch the collateral for this evidence's FMSPC, CA and TEE type"
        }
        E::NoFittingCollateral(_) => {
            "none of the collateral given is for this evidence: each candidate's reason is listed; fetch collateral for this platform"
        }
        E::ChipIdMismatch => "the VCEK is for another chip: fetch the VCEK for this report's chip id",
        E::KeyTypeMismatch { .. } => "supply the certificate of the key type the report names (VCEK or VLEK)",
        E::NotBound(_) => "this evidence cannot be tied to a hardware key; it cannot authenticate a channel",
        E::PolicyMismatch { .. } => {
            "a value the policy constrains (named) differs: update the policy if the new value is trusted"
        }
        E::Unsupported(_) => "this build cannot verify this platform",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::hint;
    use sc_protocol::{AttestationError, UnixTime};

    #[test]
    fn the_causes_operators_meet_have_hints() {
        let at = UnixTime::from_secs(0);
        for e in [
            AttestationError::Expired {
                item: "PCK CRL".into(),
                expired: at,
                at,
            },
            AttestationError::TrustAnchorMismatch {
                chain: "PCK certificate chain",
                root: "CN=x".into(),
            },
            AttestationError::NoFittingCollateral(Vec::new()),
            AttestationError::WrongMeasurement(sc_protocol::Mismatch::of_bytes(&[1], [&[2][..]])),
        ] {
            assert!(hint(&e).is_some_and(|h| !h.is_empty()), "{e:?}");
        }
    }
}
