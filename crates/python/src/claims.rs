//! `Claims`: what an enclave's evidence says about it, as Python sees it (hex strings for
//! measurements, so that they compare with policy files and `measure()`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use sc_attestation::offline::platform_name;

/// What verified evidence says about the enclave.
#[pyclass(frozen, module = "secure_channel", name = "Claims")]
#[derive(Debug, Clone)]
pub struct Claims {
    inner: sc_protocol::Claims,
}

impl From<sc_protocol::Claims> for Claims {
    fn from(inner: sc_protocol::Claims) -> Self {
        Self { inner }
    }
}

impl Claims {
    /// The measurement in hex.
    pub(crate) fn measurement_hex(&self) -> String {
        hex::encode(&self.inner.measurement)
    }
}

#[pymethods]
impl Claims {
    /// The platform, named ("AMD SEV-SNP report", "simulated TEE (SIMULATED)").
    #[getter]
    fn platform(&self) -> &'static str {
        platform_name(self.inner.platform)
    }

    /// The platform's code (1 SGX, 2 TDX, 3 SEV-SNP, 0xFF00 simulated...).
    #[getter]
    fn platform_code(&self) -> u16 {
        self.inner.platform.0
    }

    /// The measurement of the code, in hex (MRENCLAVE, MRTD, SNP MEASUREMENT...).
    #[getter]
    fn measurement(&self) -> String {
        hex::encode(&self.inner.measurement)
    }

    /// The signer's identity in hex (MRSIGNER...), if the platform has one.
    #[getter]
    fn signer(&self) -> Option<String> {
        self.inner.signer.as_ref().map(hex::encode)
    }

    /// The security version, if the platform reports one.
    #[getter]
    fn security_version(&self) -> Option<u64> {
        self.inner.security_version
    }

    /// The platform's TCB status ("UpToDate", "SWHardeningNeeded"...), if appraised.
    #[getter]
    fn tcb_status(&self) -> Option<String> {
        self.inner.tcb_status.as_ref().map(|s| s.name().to_owned())
    }

    /// Security advisories that apply to the platform (Intel SA ids).
    #[getter]
    fn advisory_ids(&self) -> Vec<String> {
        self.inner.advisory_ids.clone()
    }

    /// Whether the enclave runs in debug mode (its memory is readable by the host).
    #[getter]
    fn debug(&self) -> bool {
        self.inner.debug
    }

    /// Whether the evidence is SIMULATED (no hardware root of trust).
    #[getter]
    fn simulated(&self) -> bool {
        self.inner.simulated
    }

    /// When the evidence was issued (Unix seconds), if it says.
    #[getter]
    fn issued_at(&self) -> Option<f64> {
        self.inner.issued_at.map(|t| t.as_millis() as f64 / 1000.0)
    }

    /// The 64 bytes of report data the evidence carries.
    #[getter]
    fn report_data<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.report_data)
    }

    /// Further named measurements (RTMRs, HOST_DATA, PCRs...), in hex.
    #[getter]
    fn extra<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, value) in &self.inner.extra_measurements {
            d.set_item(name, hex::encode(value))?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "Claims(platform='{}', measurement='{}', tcb_status={}, simulated={})",
            platform_name(self.inner.platform),
            hex::encode(&self.inner.measurement),
            self.inner
                .tcb_status
                .as_ref()
                .map_or("None".to_owned(), |s| format!("'{}'", s.name())),
            if self.inner.simulated { "True" } else { "False" }
        )
    }
}
