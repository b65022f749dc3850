//! Host errors as result codes.

use sc_boundary::{BoundaryError, ErrorCode};
use sc_ffi_common::last_error;
use sc_ffi_common::status::cc_enclave_result_t::{self, *};
use sc_host::HostError;

/// The code for a failed host call.
pub(crate) fn host_error(e: &HostError) -> cc_enclave_result_t {
    last_error::failed(code_of(e), e)
}

fn code_of(e: &HostError) -> cc_enclave_result_t {
    match e {
        HostError::Malformed(_) | HostError::TooLarge { .. } => CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID,
        HostError::TooManySessions | HostError::TooManyPending => CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT,
        HostError::UnknownConnection | HostError::UnknownSession => CC_ERROR_SEC_CHL_INVALID_SESSION,
        HostError::OutOfPlace(_) => CC_ERROR_SEC_CHL_INVALID_EXCH_BUF,
        HostError::Enclave(call) => enclave_code(call.code),
        HostError::Boundary(BoundaryError::Timeout) => CC_ERROR_TIMEOUT,
        HostError::Boundary(_) | HostError::BadAnswer(_) => CC_ERROR_SEC_CHL_ENCLAVE_LOST,
        _ => CC_ERROR_GENERIC,
    }
}

/// The code for a refusal by the enclave.
fn enclave_code(code: ErrorCode) -> cc_enclave_result_t {
    match code {
        ErrorCode::UnknownSession => CC_ERROR_SEC_CHL_INVALID_SESSION,
        ErrorCode::Busy => CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT,
        ErrorCode::Handshake => CC_ERROR_SEC_CHL_INIT_SESSEION,
        ErrorCode::Record => CC_ERROR_SEC_CHL_DECRYPT,
        ErrorCode::UnexpectedMessage | ErrorCode::Application | ErrorCode::NoSuchFunction | ErrorCode::TooLarge => {
            CC_ERROR_SEC_CHL_APP_FUNCTION
        }
        ErrorCode::Attestation => CC_ERROR_SEC_CHL_GET_RA_REPORT,
        _ => CC_ERROR_GENERIC,
    }
}
