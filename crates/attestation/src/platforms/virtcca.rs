//! Huawei virtCCA (Arm CCA style) attestation tokens: CBOR tag 399 holding a CVM token (a
//! COSE_Sign1 by the realm attestation key, RAK) and, on real deployments, a platform token
//! signed by the device's attestation key that vouches for the RAK.
//!
//! Only parsing is implemented. A token without a platform token is refused: nothing binds
//! its RAK to hardware, so its signature proves nothing about where it came from (the
//! original secGear verifier checks the device certificate chain and the token separately,
//! and accepts such tokens). A token with a platform token is refused as unsupported until
//! its verification is implemented.

use crate::platform::{Platform, PlatformVerifier};
use ciborium::Value;
use sc_protocol::{AttestationError, Claims, Evidence, PlatformId, UnixTime};
use std::sync::Arc;

/// virtCCA: recognised and described; its evidence is refused with its reason (it has no
/// policy section).
pub(crate) const PLATFORM: Platform = Platform {
    sections: &[],
    // CBOR tag 399 (a CCA token collection).
    detect: |bytes| bytes.starts_with(&[0xd9, 0x01, 0x8f]).then_some(PlatformId::ARM_CCA),
    describe: |platform, bytes| (platform == PlatformId::ARM_CCA).then(|| describe(bytes)),
    unconfigured: Some((PlatformId::ARM_CCA, || Arc::new(VirtCcaVerifier))),
};

/// What a token claims, NOT verified.
fn describe(bytes: &[u8]) -> Result<Claims, AttestationError> {
    let token = parse(bytes)?;
    let mut report_data = [0u8; 64];
    let n = token.challenge.len().min(64);
    report_data[..n].copy_from_slice(&token.challenge[..n]);
    Ok(Claims {
        platform: PlatformId::ARM_CCA,
        measurement: token.rim,
        extra_measurements: token
            .rems
            .into_iter()
            .enumerate()
            .map(|(i, r)| (format!("rem{i}"), r))
            .collect(),
        signer: None,
        security_version: None,
        tcb_status: None,
        advisory_ids: Vec::new(),
        debug: false,
        report_data,
        issued_at: None,
        simulated: false,
    })
}

/// CBOR tag of a CCA token collection.
const TAG_COLLECTION: u64 = 399;
/// Collection key of the platform token.
const PLATFORM_TOKEN: i128 = 44234;
/// Collection key of the CVM (realm) token.
const CVM_TOKEN: i128 = 44241;
/// CVM token claims: challenge (report data), initial measurement (RIM), RAK.
const CHALLENGE: i128 = 10;
const RIM: i128 = 44238;
const REMS: i128 = 44239;

/// What a parsed token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CvmToken {
    /// The challenge (64 bytes): where report data goes.
    pub challenge: Vec<u8>,
    /// The realm initial measurement.
    pub rim: Vec<u8>,
    /// The realm extensible measurements.
    pub rems: Vec<Vec<u8>>,
    /// Whether a platform token came with it.
    pub has_platform_token: bool,
}

fn int_key(v: &Value) -> Option<i128> {
    v.as_integer().map(i128::from)
}

fn lookup(map: &[(Value, Value)], key: i128) -> Option<&Value> {
    map.iter().find(|(k, _)| int_key(k) == Some(key)).map(|(_, v)| v)
}

fn untag(v: &Value) -> &Value {
    match v {
        Value::Tag(_, inner) => untag(inner),
        other => other,
    }
}

/// Parses a token collection (binary CBOR).
pub fn parse(bytes: &[u8]) -> Result<CvmToken, AttestationError> {
    let bad = AttestationError::malformed;
    let cbor = |what| move |e| AttestationError::malformed_by(what, e);
    let value: Value = ciborium::from_reader(bytes).map_err(cbor("virtCCA token CBOR"))?;
    let collection = match &value {
        Value::Tag(TAG_COLLECTION, inner) => inner.as_map().ok_or(bad("virtCCA token collection"))?,
        _ => return Err(bad("virtCCA token: expected CBOR tag 399")),
    };
    let cvm = lookup(collection, CVM_TOKEN).ok_or(bad("virtCCA token without CVM token"))?;
    // The CVM token is a COSE_Sign1: [protected, unprotected, payload, signature], often
    // wrapped in a byte string and tag 18.
    let cvm = match untag(cvm) {
        Value::Bytes(b) => ciborium::from_reader::<Value, _>(&b[..]).map_err(cbor("virtCCA CVM token"))?,
        other => other.clone(),
    };
    let sign1 = untag(&cvm)
        .as_array()
        .ok_or(bad("virtCCA CVM token is not COSE_Sign1"))?;
    let [_, _, Value::Bytes(payload), Value::Bytes(_signature)] = sign1.as_slice() else {
        return Err(bad("virtCCA CVM token is not COSE_Sign1"));
    };
    let mut claims: Value = ciborium::from_reader(&payload[..]).map_err(cbor("virtCCA CVM claims"))?;
    // virtCCA wraps the claims map in one more byte string.
    if let Value::Bytes(inner) = &claims {
        claims = ciborium::from_reader(&inner[..]).map_err(cbor("virtCCA CVM claims"))?;
    }
    let claims = claims.as_map().ok_or(bad("virtCCA CVM claims"))?;
    let bytes_of = |k| lookup(claims, k).and_then(Value::as_bytes).cloned();
    Ok(CvmToken {
        challenge: bytes_of(CHALLENGE).ok_or(bad("virtCCA challenge"))?,
        rim: bytes_of(RIM).ok_or(bad("virtCCA RIM"))?,
        rems: lookup(claims, REMS)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_bytes).cloned().collect())
            .unwrap_or_default(),
        has_platform_token: lookup(collection, PLATFORM_TOKEN).is_some(),
    })
}

/// Parses virtCCA evidence and refuses it with the reason (see the module docs).
#[derive(Debug, Default)]
pub struct VirtCcaVerifier;

impl PlatformVerifier for VirtCcaVerifier {
    fn verify(&self, evidence: &Evidence<'_>, _now: UnixTime) -> Result<Claims, AttestationError> {
        let token = parse(evidence.bytes)?;
        if !token.has_platform_token {
            return Err(AttestationError::NotBound(
                "the CVM token has no platform token vouching for its signing key",
            ));
        }
        Err(AttestationError::Unsupported(
            "virtCCA platform token verification is not implemented",
        ))
    }
}
