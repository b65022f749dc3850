//! Azure vTPM evidence as JSON, in the forms in use: version 0 (byte arrays; SNP under
//! `quote`/`report`, TDX under `tpm_quote`/`hcl_report`) and versions 1 and 2 (`version`,
//! `hcl_report`, `td_quote` and `vcek` in base64url, the TPM quote's parts in hex). The
//! attester here writes version 1.

use sc_protocol::AttestationError;
use serde::{Deserialize, Serialize};

/// The evidence's parts, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AzureEvidence {
    /// The HCL report (NV index 0x01400001).
    pub hcl_report: Vec<u8>,
    /// The `TPMS_ATTEST` quote message.
    pub quote_message: Vec<u8>,
    /// Its signature by the vTPM attestation key.
    pub quote_signature: Vec<u8>,
    /// The values of the PCRs the quote selects, in index order.
    pub pcrs: Vec<Vec<u8>>,
    /// SEV-SNP: the VCEK (DER or PEM), when the evidence carries it.
    pub vcek: Option<Vec<u8>>,
    /// TDX: the TD quote (a DCAP quote of the TD report).
    pub td_quote: Option<Vec<u8>>,
}

/// Bytes as JSON carries them: an array of numbers, or text (decoded per field).
#[derive(Deserialize)]
#[serde(untagged)]
enum Raw {
    List(Vec<u8>),
    Text(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuote {
    signature: Raw,
    message: Raw,
    pcrs: Vec<Raw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    #[serde(default)]
    version: Option<u32>,
    #[serde(alias = "report")]
    hcl_report: Raw,
    #[serde(alias = "quote")]
    tpm_quote: RawQuote,
    #[serde(default)]
    vcek: Option<Raw>,
    #[serde(default)]
    td_quote: Option<Raw>,
}

/// How a text field is encoded.
#[derive(Clone, Copy)]
enum Text {
    Hex,
    Base64Url,
    /// PEM as is, else base64url of the DER.
    PemOrBase64Url,
}

fn decode(raw: Raw, text: Text, what: &'static str) -> Result<Vec<u8>, AttestationError> {
    use base64ct::Encoding;
    let s = match raw {
        Raw::List(bytes) => return Ok(bytes),
        Raw::Text(s) => s,
    };
    match text {
        Text::Hex => crate::hex_text::decode(&s).ok_or(AttestationError::malformed(what)),
        Text::PemOrBase64Url if s.contains("-----BEGIN") => Ok(s.into_bytes()),
        Text::Base64Url | Text::PemOrBase64Url => base64ct::Base64UrlUnpadded::decode_vec(s.trim_end_matches('='))
            .map_err(|e| AttestationError::malformed_by(what, e)),
    }
}

impl AzureEvidence {
    /// Reads the evidence JSON.
    pub fn parse(bytes: &[u8]) -> Result<Self, AttestationError> {
        let raw: RawEvidence =
            serde_json::from_slice(bytes).map_err(|e| AttestationError::malformed_by("Azure vTPM evidence JSON", e))?;
        if raw.version.is_some_and(|v| v > 2) {
            return Err(AttestationError::malformed("Azure vTPM evidence: unknown version"));
        }
        Ok(Self {
            hcl_report: decode(raw.hcl_report, Text::Base64Url, "Azure evidence: hcl_report")?,
            quote_message: decode(raw.tpm_quote.message, Text::Hex, "Azure evidence: TPM quote message")?,
            quote_signature: decode(
                raw.tpm_quote.signature,
                Text::Hex,
                "Azure evidence: TPM quote signature",
            )?,
            pcrs: raw
                .tpm_quote
                .pcrs
                .into_iter()
                .map(|p| decode(p, Text::Hex, "Azure evidence: PCR value"))
                .collect::<Result<_, _>>()?,
            vcek: raw
                .vcek
                .map(|v| decode(v, Text::PemOrBase64Url, "Azure evidence: vcek"))
                .transpose()?,
            td_quote: raw
                .td_quote
                .map(|v| decode(v, Text::Base64Url, "Azure evidence: td_quote"))
                .transpose()?,
        })
    }

    /// Writes version 1 of the format.
    pub fn to_json(&self) -> Vec<u8> {
        use base64ct::Encoding;
        #[derive(Serialize)]
        struct Quote {
            signature: String,
            message: String,
            pcrs: Vec<String>,
        }
        #[derive(Serialize)]
        struct V1 {
            version: u32,
            hcl_report: String,
            tpm_quote: Quote,
            #[serde(skip_serializing_if = "Option::is_none")]
            vcek: Option<String>,
            #[serde(skip_serializing_if = "Option::is_none")]
            td_quote: Option<String>,
        }
        let b64 = |b: &[u8]| base64ct::Base64Url::encode_string(b);
        let v1 = V1 {
            version: 1,
            hcl_report: b64(&self.hcl_report),
            tpm_quote: Quote {
                signature: hex::encode(&self.quote_signature),
                message: hex::encode(&self.quote_message),
                pcrs: self.pcrs.iter().map(hex::encode).collect(),
            },
            vcek: self.vcek.as_deref().map(b64),
            td_quote: self.td_quote.as_deref().map(b64),
        };
        serde_json::to_vec(&v1).unwrap_or_default()
    }
}
