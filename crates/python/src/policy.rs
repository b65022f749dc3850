//! `Policy`: the reference values a client accepts an enclave by (a policy file, as for
//! `secure-channel connect`), and the client configuration built from it.

use crate::errors::policy_error;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use sc_attestation::VerifierRegistry;
use sc_protocol::{AttestationError, Claims, ClientConfig, Evidence, UnixTime, Verifier};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A client policy: the enclaves a client accepts.
#[pyclass(frozen, module = "secure_channel", name = "Policy")]
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) inner: sc_attestation::Policy,
    origin: String,
}

impl Policy {
    fn checked(inner: sc_attestation::Policy, origin: String) -> PyResult<Self> {
        // A policy that accepts nothing is refused here, not at the first connection.
        VerifierRegistry::from_policy(&inner).map_err(|e| policy_error(&e))?;
        Ok(Self { inner, origin })
    }

    /// The policy an argument names: a `Policy`, or the path of a policy file.
    pub(crate) fn from_arg(arg: &Bound<'_, PyAny>) -> PyResult<Self> {
        if let Ok(p) = arg.cast::<Policy>() {
            return Ok(p.get().clone());
        }
        match arg.extract::<PathBuf>() {
            Ok(path) => Self::load(path),
            Err(_) => Err(PyTypeError::new_err(format!(
                "policy must be a Policy or the path of a policy file, not {}",
                arg.get_type().name()?
            ))),
        }
    }

    fn load(path: PathBuf) -> PyResult<Self> {
        let inner = sc_attestation::Policy::load(&path).map_err(|e| policy_error(&e))?;
        Self::checked(inner, path.display().to_string())
    }

    /// A client configuration accepting what this policy accepts, and the verifier that
    /// keeps what refused evidence stated.
    pub(crate) fn client_config(
        &self,
        streams: bool,
        acknowledgements: bool,
    ) -> PyResult<(Arc<ClientConfig>, Arc<Recording>)> {
        let verifier = Arc::new(Recording {
            inner: VerifierRegistry::from_policy(&self.inner).map_err(|e| policy_error(&e))?,
            policy: self.inner.clone(),
            refused: Mutex::new(None),
        });
        let config = ClientConfig::builder()
            .verifier(verifier.clone())
            .ephemeral_keys(sc_protocol::EphemeralKeys::SystemRng)
            // Hardware evidence may need its collateral (SEV-SNP certificates) from the enclave.
            .accept_evidence_collateral(true)
            .streams(streams)
            .acknowledgements(acknowledgements)
            .build()
            .map_err(|e| policy_error(&e))?;
        Ok((Arc::new(config), verifier))
    }
}

#[pymethods]
impl Policy {
    /// Loads a policy file (TOML; see docs/ATTESTATION.md). Raises PolicyError.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        Self::load(path)
    }

    /// A policy from TOML text; relative paths in it are taken from `base_dir` (default:
    /// the current directory). Raises PolicyError.
    #[staticmethod]
    #[pyo3(signature = (text, base_dir=None))]
    fn from_toml(text: &str, base_dir: Option<PathBuf>) -> PyResult<Self> {
        let inner = sc_attestation::Policy::from_toml(text, base_dir.as_deref()).map_err(|e| policy_error(&e))?;
        Self::checked(inner, "<text>".into())
    }

    fn __repr__(&self) -> String {
        format!("Policy({:?})", self.origin)
    }
}

/// The policy's verifier, keeping the claims of the last evidence it refused as that
/// evidence stated them (for `AttestationRejected.claims`).
#[derive(Debug)]
pub(crate) struct Recording {
    inner: VerifierRegistry,
    policy: sc_attestation::Policy,
    refused: Mutex<Option<Claims>>,
}

impl Recording {
    /// What the refused evidence stated, once.
    pub(crate) fn take_refused(&self) -> Option<Claims> {
        self.refused.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Verifier for Recording {
    fn verify(
        &self,
        evidence: &Evidence<'_>,
        report_data: &[u8; 64],
        now: UnixTime,
    ) -> Result<Claims, AttestationError> {
        let verdict = self.inner.verify(evidence, report_data, now);
        if verdict.is_err() {
            *self.refused.lock().unwrap_or_else(|p| p.into_inner()) =
                sc_attestation::offline::stated_claims(&self.policy, evidence.platform, evidence.bytes);
        }
        verdict
    }
}
