//! `verify_evidence`, `measure` and `message_length`: attestation and framing helpers that
//! need no connection.

use crate::claims::Claims;
use crate::errors::{ProtocolError, policy_error, rejected};
use crate::policy::Policy;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use sc_attestation::offline::{CollateralInput, OfflineCheck, OfflineError, appraise, decode_evidence};
use sc_protocol::UnixTime;
use sc_protocol::msgs::{FRAME_HEADER_LEN, Frame, MAX_FRAME_BODY};
use std::path::PathBuf;

/// One collateral item: bytes, or the path of a file or a directory.
fn collateral_item(item: &Bound<'_, PyAny>, index: usize) -> PyResult<CollateralInput> {
    if let Ok(bytes) = item.extract::<PyBackedBytes>() {
        return Ok(CollateralInput::File {
            name: format!("collateral[{index}]"),
            bytes: bytes.to_vec(),
        });
    }
    let path: PathBuf = item
        .extract()
        .map_err(|_| PyTypeError::new_err("collateral must be bytes, a path, or a list of those"))?;
    if path.is_dir() {
        return Ok(CollateralInput::Dir(path));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| PyValueError::new_err(format!("cannot read the collateral {}: {e}", path.display())))?;
    Ok(CollateralInput::File {
        name: path.display().to_string(),
        bytes,
    })
}

fn collateral(arg: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<CollateralInput>> {
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        return Ok(Vec::new());
    };
    if let Ok(list) = arg.cast::<pyo3::types::PyList>() {
        return list
            .iter()
            .enumerate()
            .map(|(i, item)| collateral_item(&item, i))
            .collect();
    }
    Ok(vec![collateral_item(arg, 0)?])
}

/// A verification time: a `datetime` (timezone-aware), or Unix seconds.
fn time(arg: Option<&Bound<'_, PyAny>>) -> PyResult<Option<UnixTime>> {
    let Some(arg) = arg.filter(|a| !a.is_none()) else {
        return Ok(None);
    };
    let seconds: f64 = if arg.hasattr("timestamp")? {
        if arg.getattr("tzinfo")?.is_none() {
            return Err(PyValueError::new_err(
                "at: give a timezone-aware datetime (a naive one is ambiguous)",
            ));
        }
        arg.call_method0("timestamp")?.extract()?
    } else {
        arg.extract()
            .map_err(|_| PyTypeError::new_err("at must be a datetime or Unix seconds"))?
    };
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(PyValueError::new_err(format!("at: {seconds} is not a time")));
    }
    Ok(Some(UnixTime::from_millis((seconds * 1000.0) as u64)))
}

/// Verifies `evidence` (bytes: binary, or hex text) against `policy` (a Policy or a
/// policy file's path) and returns its claims, or raises AttestationRejected with the
/// reason and the claims the evidence states.
///
/// `report_data` (64 bytes) is the value the evidence must carry (a handshake's binding);
/// without it the evidence's own is taken and the binding is not checked. `collateral`
/// is bytes, a path (file or directory) or a list of those (DCAP: PCS responses or
/// dcap-qvl JSON; SEV-SNP: a VCEK/VLEK certificate). `at` is the verification time (a
/// timezone-aware datetime or Unix seconds; default now).
#[pyfunction]
#[pyo3(signature = (evidence, policy, report_data=None, collateral=None, at=None))]
pub(crate) fn verify_evidence(
    py: Python<'_>,
    evidence: PyBackedBytes,
    policy: &Bound<'_, PyAny>,
    report_data: Option<PyBackedBytes>,
    collateral: Option<&Bound<'_, PyAny>>,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Claims> {
    let policy = Policy::from_arg(policy)?;
    let report_data = match report_data {
        None => None,
        Some(rd) => Some(
            <[u8; 64]>::try_from(&rd[..])
                .map_err(|_| PyValueError::new_err(format!("report_data must be 64 bytes, not {}", rd.len())))?,
        ),
    };
    if evidence.is_empty() {
        return Err(PyValueError::new_err("evidence is empty"));
    }
    let check = OfflineCheck {
        evidence: decode_evidence(evidence.to_vec()),
        platform: None,
        report_data,
        collateral: self::collateral(collateral)?,
        at: time(at)?,
    };
    let appraisal = py.detach(|| appraise(&policy.inner, &check)).map_err(|e| match e {
        OfflineError::UnknownPlatform => PyValueError::new_err("cannot tell the evidence's platform from its bytes"),
        OfflineError::Collateral(why) => PyValueError::new_err(format!("collateral: {why}")),
        OfflineError::Policy(p) => policy_error(&p),
        other => PyValueError::new_err(sc_protocol::ErrorChain(&other).to_string()),
    })?;
    match appraisal.verdict {
        Ok(claims) => Ok(claims.into()),
        Err(reason) => Err(rejected(py, &reason, appraisal.stated)),
    }
}

/// The measurement of an executable as the simulated TEE reports it (SHA-256, hex): what
/// a development policy lists.
#[pyfunction]
pub(crate) fn measure(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    py.detach(|| sc_attestation::measure_file(&path))
        .map(hex::encode)
        .map_err(|e| PyValueError::new_err(format!("cannot measure {}: {e}", path.display())))
}

/// The whole length of the channel message whose first `MESSAGE_HEADER_LEN` bytes are
/// `header`: how many bytes to read for it from a stream. Raises ProtocolError for a
/// header that is not ours (another wire version, an unknown type, an oversize length).
#[pyfunction]
pub(crate) fn message_length(header: PyBackedBytes) -> PyResult<usize> {
    let header: &[u8; FRAME_HEADER_LEN] = header
        .get(..FRAME_HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| PyValueError::new_err(format!("a message header is {FRAME_HEADER_LEN} bytes")))?;
    Frame::parse_header(header, MAX_FRAME_BODY)
        .map(|(_, len)| FRAME_HEADER_LEN + len)
        .map_err(|e| ProtocolError::new_err(format!("not a channel message: {e}")))
}
