//! Client errors as result codes.

use sc_client::ClientError;
use sc_ffi_common::last_error;
use sc_ffi_common::status::{self, cc_enclave_result_t, cc_enclave_result_t::*};
use sc_protocol::msgs::AlertCode;

/// The code for a failed client call; its text (with causes) becomes the thread's last
/// error.
pub(crate) fn client_error(e: &ClientError) -> cc_enclave_result_t {
    last_error::failed(code_of(e), e)
}

fn code_of(e: &ClientError) -> cc_enclave_result_t {
    match e {
        ClientError::Handshake(h) => status::handshake_error(h),
        ClientError::Record(r) => status::record_error(r),
        ClientError::Send(_) | ClientError::Connection(_) => CC_ERROR_SEC_CHL_SEND_MSG,
        ClientError::ConnectionClosed => CC_ERROR_SEC_CHL_CLOSED,
        ClientError::HandshakeTimeout | ClientError::RequestTimeout(_) => CC_ERROR_SEC_CHL_WAITING_RECV_MSG,
        ClientError::ServerBusy => status::handshake_error(&sc_protocol::Error::PeerAlert(AlertCode::Busy)),
        ClientError::EnclaveUnavailable => {
            status::handshake_error(&sc_protocol::Error::PeerAlert(AlertCode::EnclaveUnavailable))
        }
        ClientError::Protocol(_) => CC_ERROR_SEC_CHL_PEER_ALERT,
        ClientError::SessionClosed { .. } => CC_ERROR_SEC_CHL_CLOSED,
        ClientError::AlreadyStarted | ClientError::NotEstablished | ClientError::UnexpectedReply => {
            CC_ERROR_SEC_CHL_NOTREADY
        }
        _ => CC_ERROR_GENERIC,
    }
}
