//! Validated configurations. A builder checks everything once; a built config cannot be
//! invalid, so the handshake never re-validates.

use crate::attestation::{Attester, Verifier};
use crate::binding::IdentityCredential;
use crate::error::ConfigError;
use crate::msgs::MAX_RECORD_PLAINTEXT;
use crate::suite::{BindingMode, CipherSuite};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::time::Duration;

/// When the sender moves to a new key epoch. The defaults stay far below AES-GCM's
/// confidentiality limit (about 2^24.5 full records per key, and 2^36 bytes keeps the
/// distinguishing advantage under 2^-57 for any record size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUpdateLimits {
    /// Records sealed under one key before updating.
    pub max_records: u64,
    /// Plaintext bytes sealed under one key before updating.
    pub max_bytes: u64,
}

impl Default for KeyUpdateLimits {
    fn default() -> Self {
        Self {
            max_records: 1 << 24,
            max_bytes: 1 << 36,
        }
    }
}

/// Limits that apply to an established session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    /// Largest record plaintext accepted or produced (at most 16 MiB).
    pub max_record_plaintext: usize,
    /// Key update thresholds.
    pub key_update: KeyUpdateLimits,
    /// Time after the handshake at which the session expires (re-handshake then).
    pub lifetime: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self {
            max_record_plaintext: 1024 * 1024,
            key_update: KeyUpdateLimits::default(),
            lifetime: Duration::from_secs(24 * 3600),
        }
    }
}

impl SessionLimits {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.max_record_plaintext == 0 || self.max_record_plaintext > MAX_RECORD_PLAINTEXT {
            return Err(ConfigError::InvalidLimit("max_record_plaintext must be 1..=16 MiB"));
        }
        if self.key_update.max_records == 0 || self.key_update.max_bytes == 0 {
            return Err(ConfigError::InvalidLimit("key update limits must be non-zero"));
        }
        if self.lifetime.is_zero() {
            return Err(ConfigError::InvalidLimit("session lifetime must be non-zero"));
        }
        Ok(())
    }
}

const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where ephemeral key-exchange keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EphemeralKeys {
    /// From the RNG passed to the handshake: reproducible, works without an OS. The default.
    #[default]
    Injected,
    /// From ring's system RNG with ring's X25519 (about 20 us faster per side). Handshakes are
    /// then not reproducible from the injected RNG alone; the nonce still comes from it.
    SystemRng,
}

/// Receives a session's epoch-0 secrets, like a TLS key log file: for debugging and for
/// tests that must know the keys (for example to prove that a relay's memory never holds
/// them). **Never install one in production:** whoever reads the log reads the traffic.
pub trait KeyLog: Send + Sync {
    /// One secret: `label` is `c2e_traffic_secret`, `c2e_key`, `e2c_traffic_secret` or
    /// `e2c_key` (client-to-enclave, enclave-to-client).
    fn log(&self, session_id: u64, label: &'static str, secret: &[u8]);
}

/// Client configuration. Build with [`ClientConfig::builder`].
#[derive(Clone)]
pub struct ClientConfig {
    pub(crate) suites: Vec<CipherSuite>,
    pub(crate) binding_modes: Vec<BindingMode>,
    pub(crate) verifier: Arc<dyn Verifier>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) limits: SessionLimits,
    pub(crate) key_log: Option<Arc<dyn KeyLog>>,
    pub(crate) ephemeral_keys: EphemeralKeys,
    pub(crate) accept_collateral: bool,
    pub(crate) acknowledgements: bool,
    pub(crate) streams: bool,
}

impl ClientConfig {
    /// Starts a builder with the defaults: every suite, both binding modes, 30 s handshake
    /// timeout, default limits, and no verifier (which must be set).
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder {
            suites: CipherSuite::ALL.to_vec(),
            binding_modes: alloc::vec![BindingMode::IdentityKey, BindingMode::PerSession],
            verifier: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            limits: SessionLimits::default(),
            key_log: None,
            ephemeral_keys: EphemeralKeys::Injected,
            accept_collateral: false,
            acknowledgements: false,
            streams: false,
        }
    }

    /// The session limits.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }
}

/// Builder for [`ClientConfig`].
pub struct ClientConfigBuilder {
    suites: Vec<CipherSuite>,
    binding_modes: Vec<BindingMode>,
    verifier: Option<Arc<dyn Verifier>>,
    handshake_timeout: Duration,
    limits: SessionLimits,
    key_log: Option<Arc<dyn KeyLog>>,
    ephemeral_keys: EphemeralKeys,
    accept_collateral: bool,
    acknowledgements: bool,
    streams: bool,
}

impl ClientConfigBuilder {
    /// The verifier that appraises enclave evidence. Required.
    pub fn verifier(mut self, verifier: Arc<dyn Verifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// Suites to offer, preferred first.
    pub fn suites(mut self, suites: &[CipherSuite]) -> Self {
        self.suites = suites.to_vec();
        self
    }

    /// Binding modes to accept, preferred first.
    pub fn binding_modes(mut self, modes: &[BindingMode]) -> Self {
        self.binding_modes = modes.to_vec();
        self
    }

    /// How long to wait for the ServerHello.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Session limits.
    pub fn limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where ephemeral keys come from (default: the injected RNG).
    pub fn ephemeral_keys(mut self, source: EphemeralKeys) -> Self {
        self.ephemeral_keys = source;
        self
    }

    /// Installs a key log (debugging and tests only; see [`KeyLog`]).
    pub fn key_log(mut self, key_log: Arc<dyn KeyLog>) -> Self {
        self.key_log = Some(key_log);
        self
    }

    /// Asks the enclave to send verification collateral with its evidence (extension
    /// `evidence_collateral`), for verifiers that do not hold it themselves. Default off.
    pub fn accept_evidence_collateral(mut self, accept: bool) -> Self {
        self.accept_collateral = accept;
        self
    }

    /// Asks the enclave to answer the ClientFinished (with a SessionAck record) and a
    /// Close (with its own Close record), for clients whose transport reads one reply per
    /// message sent. Costs the handshake half a round trip when the client waits for the
    /// acknowledgement before sending data; off by default.
    pub fn acknowledgements(mut self, ask: bool) -> Self {
        self.acknowledgements = ask;
        self
    }

    /// Asks for a stream session (extension `streams`): both directions may end with an
    /// EndOfStream record (a half-close) and the enclave may send data on its own. For
    /// tunnels; off by default.
    pub fn streams(mut self, ask: bool) -> Self {
        self.streams = ask;
        self
    }

    /// Validates and builds. Fails closed without a verifier.
    pub fn build(self) -> Result<ClientConfig, ConfigError> {
        let verifier = self.verifier.ok_or(ConfigError::NoVerifier)?;
        if self.suites.is_empty() {
            return Err(ConfigError::NoSuites);
        }
        if self.binding_modes.is_empty() {
            return Err(ConfigError::NoBindingModes);
        }
        self.limits.validate()?;
        Ok(ClientConfig {
            suites: dedup(self.suites),
            binding_modes: dedup(self.binding_modes),
            verifier,
            handshake_timeout: self.handshake_timeout,
            limits: self.limits,
            key_log: self.key_log,
            ephemeral_keys: self.ephemeral_keys,
            accept_collateral: self.accept_collateral,
            acknowledgements: self.acknowledgements,
            streams: self.streams,
        })
    }
}

/// Enclave configuration. Build with [`EnclaveConfig::builder`].
#[derive(Clone)]
pub struct EnclaveConfig {
    pub(crate) suites: Vec<CipherSuite>,
    pub(crate) binding_modes: Vec<BindingMode>,
    pub(crate) attester: Option<Arc<dyn Attester>>,
    pub(crate) identity: Option<Arc<IdentityCredential>>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) limits: SessionLimits,
    pub(crate) ephemeral_keys: EphemeralKeys,
    pub(crate) streams: bool,
}

impl EnclaveConfig {
    /// Starts a builder: every suite, the modes the credentials allow (identity-key mode
    /// preferred when both are present: it is cheaper per handshake), 30 s handshake
    /// timeout, default limits.
    pub fn builder() -> EnclaveConfigBuilder {
        EnclaveConfigBuilder {
            suites: CipherSuite::ALL.to_vec(),
            binding_modes: None,
            attester: None,
            identity: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            limits: SessionLimits::default(),
            ephemeral_keys: EphemeralKeys::Injected,
            streams: false,
        }
    }

    /// The session limits.
    pub fn limits(&self) -> &SessionLimits {
        &self.limits
    }

    /// The attester, if per-session evidence is configured.
    pub fn attester(&self) -> Option<&Arc<dyn Attester>> {
        self.attester.as_ref()
    }

    /// A copy with a fresh identity credential (after re-attestation).
    pub fn with_identity(&self, identity: Arc<IdentityCredential>) -> Self {
        let mut c = self.clone();
        c.identity = Some(identity);
        c
    }
}

/// Builder for [`EnclaveConfig`].
pub struct EnclaveConfigBuilder {
    suites: Vec<CipherSuite>,
    binding_modes: Option<Vec<BindingMode>>,
    attester: Option<Arc<dyn Attester>>,
    identity: Option<Arc<IdentityCredential>>,
    handshake_timeout: Duration,
    limits: SessionLimits,
    ephemeral_keys: EphemeralKeys,
    streams: bool,
}

impl EnclaveConfigBuilder {
    /// Attester for per-session evidence.
    pub fn attester(mut self, attester: Arc<dyn Attester>) -> Self {
        self.attester = Some(attester);
        self
    }

    /// Credential for the identity-key mode.
    pub fn identity(mut self, identity: Arc<IdentityCredential>) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Suites to accept, preferred first.
    pub fn suites(mut self, suites: &[CipherSuite]) -> Self {
        self.suites = suites.to_vec();
        self
    }

    /// Binding modes to use, preferred first (default: those the credentials allow,
    /// identity key first because it is cheaper per handshake).
    pub fn binding_modes(mut self, modes: &[BindingMode]) -> Self {
        self.binding_modes = Some(modes.to_vec());
        self
    }

    /// How long to wait for the ClientFinished.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Session limits.
    pub fn limits(mut self, limits: SessionLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Where ephemeral keys come from (default: the injected RNG).
    pub fn ephemeral_keys(mut self, source: EphemeralKeys) -> Self {
        self.ephemeral_keys = source;
        self
    }

    /// Grants stream sessions to clients that ask (extension `streams`): EndOfStream
    /// records both ways and data the enclave sends on its own. For tunnels; off by
    /// default, so that a client asking for streams from a request/reply service learns
    /// at the handshake that it will get none.
    pub fn streams(mut self, offer: bool) -> Self {
        self.streams = offer;
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<EnclaveConfig, ConfigError> {
        if self.suites.is_empty() {
            return Err(ConfigError::NoSuites);
        }
        let modes = match self.binding_modes {
            Some(m) => m,
            None => [BindingMode::IdentityKey, BindingMode::PerSession]
                .into_iter()
                .filter(|m| match m {
                    BindingMode::IdentityKey => self.identity.is_some(),
                    BindingMode::PerSession => self.attester.is_some(),
                })
                .collect(),
        };
        if modes.is_empty() {
            return Err(ConfigError::NoBindingModes);
        }
        for m in &modes {
            match m {
                BindingMode::PerSession if self.attester.is_none() => {
                    return Err(ConfigError::MissingCredential(*m, "an attester"));
                }
                BindingMode::IdentityKey if self.identity.is_none() => {
                    return Err(ConfigError::MissingCredential(*m, "an identity credential"));
                }
                _ => {}
            }
        }
        self.limits.validate()?;
        Ok(EnclaveConfig {
            suites: dedup(self.suites),
            binding_modes: dedup(modes),
            attester: self.attester,
            identity: self.identity,
            handshake_timeout: self.handshake_timeout,
            limits: self.limits,
            ephemeral_keys: self.ephemeral_keys,
            streams: self.streams,
        })
    }
}

fn dedup<T: PartialEq>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

impl core::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("suites", &self.suites)
            .field("binding_modes", &self.binding_modes)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("limits", &self.limits)
            .field("key_log", &self.key_log.is_some())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for ClientConfigBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientConfigBuilder")
            .field("verifier_set", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for EnclaveConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnclaveConfig")
            .field("suites", &self.suites)
            .field("binding_modes", &self.binding_modes)
            .field("identity", &self.identity)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for EnclaveConfigBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EnclaveConfigBuilder")
            .field("attester_set", &self.attester.is_some())
            .field("identity_set", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}
