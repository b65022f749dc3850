//! Registries of wire identifiers: protocol versions, cipher suites, key-exchange groups,
//! binding modes, attestation platforms and signature schemes.
//!
//! Offer lists on the wire carry raw codes so that a peer can offer what this
//! implementation does not know; only a *selected* value must be known, and an unknown
//! one is a typed error.

use ring::{aead, hkdf, hmac};

/// A protocol version (not the frame's wire version).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// Version 1: records were accepted in any order inside a replay window, and Close
    /// and EndOfStream carried nothing. No longer spoken (a host could drop or reorder
    /// records unnoticed); its code stays reserved.
    pub const V1: Self = Self(0x0001);
    /// Version 2, specified by docs/PROTOCOL.md: records accepted strictly in sequence,
    /// ends that name what they received.
    pub const V2: Self = Self(0x0002);
    /// Versions this implementation speaks, most preferred first.
    pub const SUPPORTED: &'static [Self] = &[Self::V2];

    /// Whether this implementation speaks `self`.
    pub fn is_supported(self) -> bool {
        Self::SUPPORTED.contains(&self)
    }
}

/// Key-exchange group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Group {
    /// X25519 (RFC 7748), 32-byte shares.
    X25519,
}

impl Group {
    /// Wire code.
    pub fn code(self) -> u16 {
        match self {
            Group::X25519 => 0x001d,
        }
    }

    /// Decodes a wire code this implementation knows.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            0x001d => Some(Group::X25519),
            _ => None,
        }
    }

    /// Length of a public key share.
    pub fn share_len(self) -> usize {
        match self {
            Group::X25519 => 32,
        }
    }
}

/// AEAD algorithm protecting records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgorithm {
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// The ring algorithm.
    pub(crate) fn ring(self) -> &'static aead::Algorithm {
        match self {
            AeadAlgorithm::Aes256Gcm => &aead::AES_256_GCM,
            AeadAlgorithm::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        self.ring().key_len()
    }
}

/// Hash function for the transcript and key schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
}

impl HashAlgorithm {
    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
        }
    }

    pub(crate) fn digest(self) -> &'static ring::digest::Algorithm {
        match self {
            HashAlgorithm::Sha256 => &ring::digest::SHA256,
            HashAlgorithm::Sha384 => &ring::digest::SHA384,
        }
    }

    pub(crate) fn hkdf(self) -> hkdf::Algorithm {
        match self {
            HashAlgorithm::Sha256 => hkdf::HKDF_SHA256,
            HashAlgorithm::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    pub(crate) fn hmac(self) -> hmac::Algorithm {
        match self {
            HashAlgorithm::Sha256 => hmac::HMAC_SHA256,
            HashAlgorithm::Sha384 => hmac::HMAC_SHA384,
        }
    }
}

/// A cipher suite: key exchange, record AEAD and hash, named by one wire code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CipherSuite {
    /// X25519 + AES-256-GCM + SHA-256. The default.
    X25519Aes256GcmSha256,
    /// X25519 + ChaCha20-Poly1305 + SHA-256. For CPUs without AES instructions.
    X25519ChaCha20Poly1305Sha256,
    /// X25519 + AES-256-GCM + SHA-384.
    X25519Aes256GcmSha384,
}

impl CipherSuite {
    /// Every suite this implementation supports, in default preference order.
    pub const ALL: &'static [Self] = &[
        Self::X25519Aes256GcmSha256,
        Self::X25519ChaCha20Poly1305Sha256,
        Self::X25519Aes256GcmSha384,
    ];

    /// Reserved code for the future SM2 + SM4-GCM + SM3 suite (docs/PROTOCOL.md, future
    /// extensions). Not implemented; listed so that no other suite takes the code.
    pub const RESERVED_SM2_SM4GCM_SM3: u16 = 0x0101;

    /// Wire code.
    pub fn code(self) -> u16 {
        match self {
            Self::X25519Aes256GcmSha256 => 0x0001,
            Self::X25519ChaCha20Poly1305Sha256 => 0x0002,
            Self::X25519Aes256GcmSha384 => 0x0003,
        }
    }

    /// Decodes a wire code this implementation knows.
    pub fn from_code(code: u16) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.code() == code)
    }

    /// Key-exchange group.
    pub fn group(self) -> Group {
        Group::X25519
    }

    /// Record AEAD.
    pub fn aead(self) -> AeadAlgorithm {
        match self {
            Self::X25519ChaCha20Poly1305Sha256 => AeadAlgorithm::ChaCha20Poly1305,
            Self::X25519Aes256GcmSha256 | Self::X25519Aes256GcmSha384 => AeadAlgorithm::Aes256Gcm,
        }
    }

    /// Transcript and key-schedule hash.
    pub fn hash(self) -> HashAlgorithm {
        match self {
            Self::X25519Aes256GcmSha384 => HashAlgorithm::Sha384,
            _ => HashAlgorithm::Sha256,
        }
    }
}

/// How the enclave's attestation is bound to the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingMode {
    /// Fresh evidence per handshake; its report data binds the handshake transcript.
    PerSession,
    /// Cached evidence binds a long-lived enclave identity key, which signs each transcript.
    IdentityKey,
}

impl BindingMode {
    /// Wire code.
    pub fn code(self) -> u8 {
        match self {
            BindingMode::PerSession => 1,
            BindingMode::IdentityKey => 2,
        }
    }

    /// Decodes a wire code this implementation knows.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(BindingMode::PerSession),
            2 => Some(BindingMode::IdentityKey),
            _ => None,
        }
    }
}

/// Signature scheme of an enclave identity key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureScheme {
    /// Ed25519 (RFC 8032): 32-byte keys, 64-byte signatures.
    Ed25519,
}

impl SignatureScheme {
    /// Wire code.
    pub fn code(self) -> u16 {
        match self {
            SignatureScheme::Ed25519 => 0x0001,
        }
    }

    /// Decodes a wire code this implementation knows.
    pub fn from_code(code: u16) -> Option<Self> {
        match code {
            0x0001 => Some(SignatureScheme::Ed25519),
            _ => None,
        }
    }
}

/// An attestation platform (the format of the evidence). A raw code so that verifiers for
/// new platforms can be registered without changing this crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlatformId(pub u16);

impl PlatformId {
    /// The project's simulated TEE (development and CI; never trusted by default).
    pub const SIMULATED: Self = Self(0x0001);
    /// Intel SGX, DCAP ECDSA quote (v3).
    pub const SGX_DCAP: Self = Self(0x0002);
    /// Intel TDX, DCAP ECDSA quote (v4/v5).
    pub const TDX_DCAP: Self = Self(0x0003);
    /// AMD SEV-SNP attestation report.
    pub const SEV_SNP: Self = Self(0x0004);
    /// Arm CCA / Huawei virtCCA token.
    pub const ARM_CCA: Self = Self(0x0005);
    /// Azure confidential VM on AMD SEV-SNP: the paravisor's HCL report (holding the SNP
    /// report), a vTPM quote whose nonce is the report data, and the VCEK.
    pub const AZURE_SNP_VTPM: Self = Self(0x0006);
    /// Azure confidential VM on Intel TDX: the HCL report, a vTPM quote whose nonce is the
    /// report data, and the TD quote.
    pub const AZURE_TDX_VTPM: Self = Self(0x0007);
    /// The in-crate test double (feature `test-double`). Never accepted by real verifiers.
    pub const TEST_DOUBLE: Self = Self(0xfffe);

    /// The platform's name, for messages ("TDX", "SEV-SNP"); `None` for codes this
    /// build does not know.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::SIMULATED => "simulated",
            Self::SGX_DCAP => "SGX",
            Self::TDX_DCAP => "TDX",
            Self::SEV_SNP => "SEV-SNP",
            Self::ARM_CCA => "Arm CCA",
            Self::AZURE_SNP_VTPM => "Azure SEV-SNP",
            Self::AZURE_TDX_VTPM => "Azure TDX",
            Self::TEST_DOUBLE => "test double",
            _ => return None,
        })
    }
}

impl core::fmt::Display for PlatformId {
    /// `TDX (0x0003)`, or `0x7778` for an unknown code.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} (0x{:04x})", self.0),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}
