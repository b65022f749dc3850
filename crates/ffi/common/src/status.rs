//! `cc_enclave_result_t` (status.h): the original codes with their original values, then
//! this project's own failure kinds in the range `0x00010000..=0x000100ff`.

use sc_protocol::{AttestationError, Error, RecordError};

/// Result of a secure-channel call. `CC_SUCCESS` (0) means success.
///
/// Codes up to `0x5e` and from `0xffff0000` are the original's, with its names and
/// values. Codes `0x00010001..=0x000100ff` are failure kinds the original lacks.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum cc_enclave_result_t {
    /// Success.
    CC_SUCCESS = 0x0,
    /// The connection kit is incomplete (`send` or `conn` is NULL).
    CC_ERROR_SEC_CHL_INVALID_CONN = 0x40,
    /// The output buffer is NULL or too small; the needed length was written to `*len`.
    CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH = 0x41,
    /// The ciphertext is too short or too long to be a record.
    CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID = 0x42,
    /// The record belongs to another session.
    CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID = 0x43,
    /// The system random generator failed.
    CC_ERROR_SEC_CHL_GEN_RANDOM = 0x44,
    /// The send hook failed.
    CC_ERROR_SEC_CHL_SEND_MSG = 0x45,
    /// No reply arrived in time during initialization.
    CC_ERROR_SEC_CHL_WAITING_RECV_MSG = 0x46,
    /// A received channel message is malformed or too large.
    CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID = 0x47,
    /// (original) Getting the server's public key failed.
    CC_ERROR_SEC_CHL_GET_SVR_PUBKEY = 0x48,
    /// (original) Parsing the server's public key failed.
    CC_ERROR_SEC_CHL_PARSE_SVR_PUBKEY = 0x49,
    /// The peer's key exchange parameters are missing or invalid.
    CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM = 0x4a,
    /// The enclave's handshake signature or key confirmation does not verify.
    CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE = 0x4b,
    /// A handshake message is invalid for the protocol.
    CC_ERROR_SEC_CHL_INVALID_EXCH_BUF = 0x4c,
    /// (original) Generating local key exchange parameters failed.
    CC_ERROR_SEC_CHL_GEN_LOCAL_EXCH_PARAM = 0x4d,
    /// (original) Deriving the session key failed.
    CC_ERROR_DRIVE_SESSIONKEY = 0x4e,
    /// (original) Memory allocation failed.
    CC_ERROR_SEC_CHL_MEMORY = 0x4f,
    /// (original) Sending parameters to the peer failed.
    CC_ERROR_SEC_CHL_SET_PARAM_TO_PEER = 0x50,
    /// (original) Destroying the server failed.
    CC_ERROR_SEC_CHL_DESTROY_SVR = 0x51,
    /// Encryption failed (session closed, expired, or record too large).
    CC_ERROR_SEC_CHL_ENCRYPT = 0x52,
    /// The record does not authenticate (modified, forged, or wrong keys).
    CC_ERROR_SEC_CHL_DECRYPT = 0x53,
    /// (original) The server is already initialized.
    CC_ERROR_SEC_CHL_SVR_ALREADY_INIT = 0x54,
    /// Server initialization failed.
    CC_ERROR_SEC_CHL_SVR_INIT = 0x55,
    /// Called before initialization (or after fini).
    CC_ERROR_SEC_CHL_NOTREADY = 0x56,
    /// Session or pending-handshake limit reached.
    CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT = 0x57,
    /// (original) Getting the TA id failed.
    CC_ERROR_SEC_CHL_INIT_GET_TAID = 0x58,
    /// The enclave could not produce attestation evidence.
    CC_ERROR_SEC_CHL_GET_RA_REPORT = 0x59,
    /// Verifying the enclave's evidence failed (signature, chain, platform).
    CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT = 0x5a,
    /// The evidence is malformed or not bound to this handshake.
    CC_ERROR_SEC_CHL_INVALID_REPORT = 0x5b,
    /// (original) Unsealing the enclave's key failed.
    CC_ERROR_SEC_CHL_ENCLAVE_UNSEAL_ENC_KEY = 0x5c,
    /// No such session (never established, closed, or expired).
    CC_ERROR_SEC_CHL_INVALID_SESSION = 0x5d,
    /// The enclave refused to start a session.
    CC_ERROR_SEC_CHL_INIT_SESSEION = 0x5e,
    /// The record was already received, or comes after a later one (a replay or a
    /// reordering by the host: records are accepted strictly in sequence).
    CC_ERROR_SEC_CHL_REPLAYED = 0x0001_0001,
    /// The evidence verified but the verifier policy rejects it (measurement, signer,
    /// security version, debug mode, TCB status, age, simulated platform).
    CC_ERROR_SEC_CHL_POLICY_REJECTED = 0x0001_0002,
    /// No protocol version, cipher suite or binding mode in common with the peer.
    CC_ERROR_SEC_CHL_VERSION_MISMATCH = 0x0001_0003,
    /// The peer closed the session.
    CC_ERROR_SEC_CHL_CLOSED = 0x0001_0004,
    /// The session outlived its lifetime or its key updates.
    CC_ERROR_SEC_CHL_EXPIRED = 0x0001_0005,
    /// The enclave process exited or stopped answering.
    CC_ERROR_SEC_CHL_ENCLAVE_LOST = 0x0001_0006,
    /// The verifier policy file is missing, unreadable or invalid.
    CC_ERROR_SEC_CHL_POLICY_INVALID = 0x0001_0007,
    /// The peer ended the handshake with an alert.
    CC_ERROR_SEC_CHL_PEER_ALERT = 0x0001_0008,
    /// The application function is not registered, or it returned a failure.
    CC_ERROR_SEC_CHL_APP_FUNCTION = 0x0001_0009,
    /// (No longer returned: records are accepted strictly in sequence, see
    /// `CC_ERROR_SEC_CHL_REPLAYED` and `CC_ERROR_SEC_CHL_RECORD_MISSING`.) Was: the record
    /// is older than the replay window.
    CC_ERROR_SEC_CHL_TOO_OLD = 0x0001_000a,
    /// The enclave program could not be started (path, permissions, format).
    CC_ERROR_SEC_CHL_ENCLAVE_START = 0x0001_000b,
    /// An internal error (a panic) was contained at the C boundary; the library stays
    /// usable. `cc_sec_chl_last_error` gives its message; please report it.
    CC_ERROR_SEC_CHL_PANIC = 0x0001_000c,
    /// A stream has ended (EndOfStream, stream sessions). From decrypt: the peer ended its
    /// stream, no more data comes from it. From encrypt or push: this side ended its
    /// stream, it sends no more data. The session stays open for the other direction.
    CC_ERROR_SEC_CHL_END_OF_STREAM = 0x0001_000d,
    /// No room to push now: the client has not read what was pushed before. Code running
    /// in an application function or a stream event gets this instead of waiting; a
    /// thread of its own waits for the room.
    CC_ERROR_SEC_CHL_NO_ROOM = 0x0001_000e,
    /// A record is missing before this one: the host dropped or held back a record
    /// (records are accepted strictly in sequence). The session cannot go on.
    CC_ERROR_SEC_CHL_RECORD_MISSING = 0x0001_000f,
    /// Unspecified failure.
    CC_ERROR_GENERIC = 0xffff_0000,
    /// A pointer is NULL, a length is zero, or a value is out of range.
    CC_ERROR_BAD_PARAMETERS = 0xffff_0006,
    /// (original) No data.
    CC_ERROR_NO_DATA = 0xffff_000b,
    /// Out of memory.
    CC_ERROR_OUT_OF_MEMORY = 0xffff_000c,
    /// (original) Buffer too short.
    CC_ERROR_SHORT_BUFFER = 0xffff_0010,
    /// A wait timed out.
    CC_ERROR_TIMEOUT = 0xffff_3001,
    /// Failure.
    CC_FAIL = 0xffff_5002,
}

impl cc_enclave_result_t {
    /// Every code, for lookups by value.
    ///
    /// cbindgen:ignore
    pub const ALL: [Self; 54] = [
        Self::CC_SUCCESS,
        Self::CC_ERROR_SEC_CHL_INVALID_CONN,
        Self::CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH,
        Self::CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID,
        Self::CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID,
        Self::CC_ERROR_SEC_CHL_GEN_RANDOM,
        Self::CC_ERROR_SEC_CHL_SEND_MSG,
        Self::CC_ERROR_SEC_CHL_WAITING_RECV_MSG,
        Self::CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID,
        Self::CC_ERROR_SEC_CHL_GET_SVR_PUBKEY,
        Self::CC_ERROR_SEC_CHL_PARSE_SVR_PUBKEY,
        Self::CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM,
        Self::CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE,
        Self::CC_ERROR_SEC_CHL_INVALID_EXCH_BUF,
        Self::CC_ERROR_SEC_CHL_GEN_LOCAL_EXCH_PARAM,
        Self::CC_ERROR_DRIVE_SESSIONKEY,
        Self::CC_ERROR_SEC_CHL_MEMORY,
        Self::CC_ERROR_SEC_CHL_SET_PARAM_TO_PEER,
        Self::CC_ERROR_SEC_CHL_DESTROY_SVR,
        Self::CC_ERROR_SEC_CHL_ENCRYPT,
        Self::CC_ERROR_SEC_CHL_DECRYPT,
        Self::CC_ERROR_SEC_CHL_SVR_ALREADY_INIT,
        Self::CC_ERROR_SEC_CHL_SVR_INIT,
        Self::CC_ERROR_SEC_CHL_NOTREADY,
        Self::CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT,
        Self::CC_ERROR_SEC_CHL_INIT_GET_TAID,
        Self::CC_ERROR_SEC_CHL_GET_RA_REPORT,
        Self::CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT,
        Self::CC_ERROR_SEC_CHL_INVALID_REPORT,
        Self::CC_ERROR_SEC_CHL_ENCLAVE_UNSEAL_ENC_KEY,
        Self::CC_ERROR_SEC_CHL_INVALID_SESSION,
        Self::CC_ERROR_SEC_CHL_INIT_SESSEION,
        Self::CC_ERROR_SEC_CHL_REPLAYED,
        Self::CC_ERROR_SEC_CHL_POLICY_REJECTED,
        Self::CC_ERROR_SEC_CHL_VERSION_MISMATCH,
        Self::CC_ERROR_SEC_CHL_CLOSED,
        Self::CC_ERROR_SEC_CHL_EXPIRED,
        Self::CC_ERROR_SEC_CHL_ENCLAVE_LOST,
        Self::CC_ERROR_SEC_CHL_POLICY_INVALID,
        Self::CC_ERROR_SEC_CHL_PEER_ALERT,
        Self::CC_ERROR_SEC_CHL_APP_FUNCTION,
        Self::CC_ERROR_SEC_CHL_TOO_OLD,
        Self::CC_ERROR_SEC_CHL_ENCLAVE_START,
        Self::CC_ERROR_SEC_CHL_PANIC,
        Self::CC_ERROR_SEC_CHL_END_OF_STREAM,
        Self::CC_ERROR_SEC_CHL_RECORD_MISSING,
        Self::CC_ERROR_SEC_CHL_NO_ROOM,
        Self::CC_ERROR_GENERIC,
        Self::CC_ERROR_BAD_PARAMETERS,
        Self::CC_ERROR_NO_DATA,
        Self::CC_ERROR_OUT_OF_MEMORY,
        Self::CC_ERROR_SHORT_BUFFER,
        Self::CC_ERROR_TIMEOUT,
        Self::CC_FAIL,
    ];

    /// The code with value `code`, if it is one.
    pub fn from_code(code: u32) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| *c as u32 == code)
    }

    /// The code's name and meaning, for error texts (`cc_sec_chl_last_error`).
    pub fn describe(self) -> &'static str {
        match self {
            Self::CC_SUCCESS => "CC_SUCCESS: Success.",
            Self::CC_ERROR_SEC_CHL_INVALID_CONN => {
                "CC_ERROR_SEC_CHL_INVALID_CONN: The connection kit is incomplete (send or conn is NULL)."
            }
            Self::CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH => {
                "CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH: The output buffer is NULL or too small; the needed length was written to *len."
            }
            Self::CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID => {
                "CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID: The ciphertext is too short or too long to be a record."
            }
            Self::CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID => {
                "CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID: The record belongs to another session."
            }
            Self::CC_ERROR_SEC_CHL_GEN_RANDOM => "CC_ERROR_SEC_CHL_GEN_RANDOM: The system random generator failed.",
            Self::CC_ERROR_SEC_CHL_SEND_MSG => "CC_ERROR_SEC_CHL_SEND_MSG: The send hook failed.",
            Self::CC_ERROR_SEC_CHL_WAITING_RECV_MSG => {
                "CC_ERROR_SEC_CHL_WAITING_RECV_MSG: No reply arrived in time during initialization."
            }
            Self::CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID => {
                "CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID: A received channel message is malformed or too large."
            }
            Self::CC_ERROR_SEC_CHL_GET_SVR_PUBKEY => {
                "CC_ERROR_SEC_CHL_GET_SVR_PUBKEY: (original) Getting the server's public key failed."
            }
            Self::CC_ERROR_SEC_CHL_PARSE_SVR_PUBKEY => {
                "CC_ERROR_SEC_CHL_PARSE_SVR_PUBKEY: (original) Parsing the server's public key failed."
            }
            Self::CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM => {
                "CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM: The peer's key exchange parameters are missing or invalid."
            }
            Self::CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE => {
                "CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE: The enclave's handshake signature or key confirmation does not verify."
            }
            Self::CC_ERROR_SEC_CHL_INVALID_EXCH_BUF => {
                "CC_ERROR_SEC_CHL_INVALID_EXCH_BUF: A handshake message is invalid for the protocol."
            }
            Self::CC_ERROR_SEC_CHL_GEN_LOCAL_EXCH_PARAM => {
                "CC_ERROR_SEC_CHL_GEN_LOCAL_EXCH_PARAM: (original) Generating local key exchange parameters failed."
            }
            Self::CC_ERROR_DRIVE_SESSIONKEY => "CC_ERROR_DRIVE_SESSIONKEY: (original) Deriving the session key failed.",
            Self::CC_ERROR_SEC_CHL_MEMORY => "CC_ERROR_SEC_CHL_MEMORY: (original) Memory allocation failed.",
            Self::CC_ERROR_SEC_CHL_SET_PARAM_TO_PEER => {
                "CC_ERROR_SEC_CHL_SET_PARAM_TO_PEER: (original) Sending parameters to the peer failed."
            }
            Self::CC_ERROR_SEC_CHL_DESTROY_SVR => {
                "CC_ERROR_SEC_CHL_DESTROY_SVR: (original) Destroying the server failed."
            }
            Self::CC_ERROR_SEC_CHL_ENCRYPT => {
                "CC_ERROR_SEC_CHL_ENCRYPT: Encryption failed (session closed, expired, or record too large)."
            }
            Self::CC_ERROR_SEC_CHL_DECRYPT => {
                "CC_ERROR_SEC_CHL_DECRYPT: The record does not authenticate (modified, forged, or wrong keys)."
            }
            Self::CC_ERROR_SEC_CHL_SVR_ALREADY_INIT => {
                "CC_ERROR_SEC_CHL_SVR_ALREADY_INIT: (original) The server is already initialized."
            }
            Self::CC_ERROR_SEC_CHL_SVR_INIT => "CC_ERROR_SEC_CHL_SVR_INIT: Server initialization failed.",
            Self::CC_ERROR_SEC_CHL_NOTREADY => {
                "CC_ERROR_SEC_CHL_NOTREADY: Called before initialization (or after fini)."
            }
            Self::CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT => {
                "CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT: Session or pending-handshake limit reached."
            }
            Self::CC_ERROR_SEC_CHL_INIT_GET_TAID => {
                "CC_ERROR_SEC_CHL_INIT_GET_TAID: (original) Getting the TA id failed."
            }
            Self::CC_ERROR_SEC_CHL_GET_RA_REPORT => {
                "CC_ERROR_SEC_CHL_GET_RA_REPORT: The enclave could not produce attestation evidence."
            }
            Self::CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT => {
                "CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT: Verifying the enclave's evidence failed (signature, chain, platform)."
            }
            Self::CC_ERROR_SEC_CHL_INVALID_REPORT => {
                "CC_ERROR_SEC_CHL_INVALID_REPORT: The evidence is malformed or not bound to this handshake."
            }
            Self::CC_ERROR_SEC_CHL_ENCLAVE_UNSEAL_ENC_KEY => {
                "CC_ERROR_SEC_CHL_ENCLAVE_UNSEAL_ENC_KEY: (original) Unsealing the enclave's key failed."
            }
            Self::CC_ERROR_SEC_CHL_INVALID_SESSION => {
                "CC_ERROR_SEC_CHL_INVALID_SESSION: No such session (never established, closed, or expired)."
            }
            Self::CC_ERROR_SEC_CHL_INIT_SESSEION => {
                "CC_ERROR_SEC_CHL_INIT_SESSEION: The enclave refused to start a session."
            }
            Self::CC_ERROR_SEC_CHL_REPLAYED => {
                "CC_ERROR_SEC_CHL_REPLAYED: The record was already received, or comes after a later one (a replay or a reordering by the host: records are accepted strictly in sequence)."
            }
            Self::CC_ERROR_SEC_CHL_POLICY_REJECTED => {
                "CC_ERROR_SEC_CHL_POLICY_REJECTED: The evidence verified but the verifier policy rejects it (measurement, signer, security version, debug mode, TCB status, age, simulated platform)."
            }
            Self::CC_ERROR_SEC_CHL_VERSION_MISMATCH => {
                "CC_ERROR_SEC_CHL_VERSION_MISMATCH: No protocol version, cipher suite or binding mode in common with the peer."
            }
            Self::CC_ERROR_SEC_CHL_CLOSED => "CC_ERROR_SEC_CHL_CLOSED: The peer closed the session.",
            Self::CC_ERROR_SEC_CHL_EXPIRED => {
                "CC_ERROR_SEC_CHL_EXPIRED: The session outlived its lifetime or its key updates."
            }
            Self::CC_ERROR_SEC_CHL_ENCLAVE_LOST => {
                "CC_ERROR_SEC_CHL_ENCLAVE_LOST: The enclave process exited or stopped answering."
            }
            Self::CC_ERROR_SEC_CHL_POLICY_INVALID => {
                "CC_ERROR_SEC_CHL_POLICY_INVALID: The verifier policy file is missing, unreadable or invalid."
            }
            Self::CC_ERROR_SEC_CHL_PEER_ALERT => {
                "CC_ERROR_SEC_CHL_PEER_ALERT: The peer ended the handshake with an alert."
            }
            Self::CC_ERROR_SEC_CHL_APP_FUNCTION => {
                "CC_ERROR_SEC_CHL_APP_FUNCTION: The application function is not registered, or it returned a failure."
            }
            Self::CC_ERROR_SEC_CHL_TOO_OLD => {
                "CC_ERROR_SEC_CHL_TOO_OLD: (No longer returned: records are accepted strictly in sequence, see `CC_ERROR_SEC_CHL_REPLAYED` and `CC_ERROR_SEC_CHL_RECORD_MISSING`.) Was: the record is older than the replay window."
            }
            Self::CC_ERROR_SEC_CHL_ENCLAVE_START => {
                "CC_ERROR_SEC_CHL_ENCLAVE_START: The enclave program could not be started (path, permissions, format)."
            }
            Self::CC_ERROR_SEC_CHL_PANIC => {
                "CC_ERROR_SEC_CHL_PANIC: An internal error (a panic) was contained at the C boundary; the library stays usable. cc_sec_chl_last_error gives its message; please report it."
            }
            Self::CC_ERROR_SEC_CHL_END_OF_STREAM => {
                "CC_ERROR_SEC_CHL_END_OF_STREAM: A stream has ended (EndOfStream, stream sessions). From decrypt: the peer ended its stream, no more data comes from it. From encrypt or push: this side ended its stream, it sends no more data. The session stays open for the other direction."
            }
            Self::CC_ERROR_SEC_CHL_NO_ROOM => {
                "CC_ERROR_SEC_CHL_NO_ROOM: No room to push now: the client has not read what was pushed before. Code running in an application function or a stream event gets this instead of waiting; a thread of its own waits for the room."
            }
            Self::CC_ERROR_SEC_CHL_RECORD_MISSING => {
                "CC_ERROR_SEC_CHL_RECORD_MISSING: A record is missing before this one: the host dropped or held back a record (records are accepted strictly in sequence). The session cannot go on."
            }
            Self::CC_ERROR_GENERIC => "CC_ERROR_GENERIC: Unspecified failure.",
            Self::CC_ERROR_BAD_PARAMETERS => {
                "CC_ERROR_BAD_PARAMETERS: A pointer is NULL, a length is zero, or a value is out of range."
            }
            Self::CC_ERROR_NO_DATA => "CC_ERROR_NO_DATA: (original) No data.",
            Self::CC_ERROR_OUT_OF_MEMORY => "CC_ERROR_OUT_OF_MEMORY: Out of memory.",
            Self::CC_ERROR_SHORT_BUFFER => "CC_ERROR_SHORT_BUFFER: (original) Buffer too short.",
            Self::CC_ERROR_TIMEOUT => "CC_ERROR_TIMEOUT: A wait timed out.",
            Self::CC_FAIL => "CC_FAIL: Failure.",
        }
    }
}

use cc_enclave_result_t::*;

/// The code for a rejected or unsealable record.
pub fn record_error(e: &RecordError) -> cc_enclave_result_t {
    match e {
        RecordError::Decode(_)
        | RecordError::NotARecord(_)
        | RecordError::UnexpectedRecord(_)
        | RecordError::TooLarge { .. } => CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID,
        RecordError::WrongSession => CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID,
        RecordError::OutOfSequence { expected, received } if received < expected => CC_ERROR_SEC_CHL_REPLAYED,
        RecordError::OutOfSequence { .. } => CC_ERROR_SEC_CHL_RECORD_MISSING,
        RecordError::BadEpoch | RecordError::Authentication | RecordError::BadEnd => CC_ERROR_SEC_CHL_DECRYPT,
        RecordError::PeerClosed(_) => CC_ERROR_SEC_CHL_CLOSED,
        RecordError::OutputTooSmall { .. } => CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH,
        RecordError::Expired | RecordError::KeyUpdateExhausted => CC_ERROR_SEC_CHL_EXPIRED,
        RecordError::Closed => CC_ERROR_SEC_CHL_CLOSED,
        RecordError::StreamEnded => CC_ERROR_SEC_CHL_END_OF_STREAM,
        _ => CC_ERROR_GENERIC,
    }
}

/// The code for a failed handshake.
pub fn handshake_error(e: &Error) -> cc_enclave_result_t {
    match e {
        Error::Decode(_) | Error::UnexpectedMessage { .. } | Error::IllegalParameter(_) => {
            CC_ERROR_SEC_CHL_INVALID_EXCH_BUF
        }
        Error::UnsolicitedExtension(_) | Error::NotOffered(_) | Error::WrongSession => {
            CC_ERROR_SEC_CHL_INVALID_EXCH_BUF
        }
        Error::PeerAlert(_) => CC_ERROR_SEC_CHL_PEER_ALERT,
        Error::NoCommonVersion | Error::NoCommonSuite | Error::NoCommonBindingMode => CC_ERROR_SEC_CHL_VERSION_MISMATCH,
        Error::MissingKeyShare | Error::BadKeyShare => CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM,
        Error::Attestation(a) => attestation_error(a),
        Error::ReportDataMismatch => CC_ERROR_SEC_CHL_INVALID_REPORT,
        Error::BadSignature | Error::BadFinished => CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE,
        Error::Timeout => CC_ERROR_TIMEOUT,
        Error::AttesterFailed(_) => CC_ERROR_SEC_CHL_GET_RA_REPORT,
        Error::Random => CC_ERROR_SEC_CHL_GEN_RANDOM,
        _ => CC_ERROR_GENERIC,
    }
}

/// The code for evidence that failed verification or appraisal.
pub fn attestation_error(e: &AttestationError) -> cc_enclave_result_t {
    match e {
        AttestationError::Malformed { .. } | AttestationError::ReportDataMismatch => CC_ERROR_SEC_CHL_INVALID_REPORT,
        AttestationError::UnsupportedPlatform(_)
        | AttestationError::UntrustedRoot { .. }
        | AttestationError::BadSignature { .. }
        | AttestationError::Collateral { .. }
        | AttestationError::Expired { .. }
        | AttestationError::NotYetValid { .. }
        | AttestationError::StaleCollateral { .. }
        | AttestationError::CollateralSignature { .. }
        | AttestationError::TrustAnchorMismatch { .. }
        | AttestationError::CollateralMismatch { .. }
        | AttestationError::NoFittingCollateral(_) => CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT,
        _ => CC_ERROR_SEC_CHL_POLICY_REJECTED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_values_are_kept() {
        assert_eq!(CC_ERROR_SEC_CHL_INVALID_CONN as u32, 0x40);
        assert_eq!(CC_ERROR_SEC_CHL_INIT_SESSEION as u32, 0x5e);
        assert_eq!(CC_ERROR_TIMEOUT as u32, 0xffff_3001);
        assert_eq!(CC_FAIL as u32, 0xffff_5002);
    }

    #[test]
    fn failure_kinds_map_to_distinct_codes() {
        assert_eq!(
            record_error(&RecordError::OutOfSequence {
                expected: 2,
                received: 1
            }),
            CC_ERROR_SEC_CHL_REPLAYED
        );
        assert_eq!(
            record_error(&RecordError::OutOfSequence {
                expected: 2,
                received: 3
            }),
            CC_ERROR_SEC_CHL_RECORD_MISSING
        );
        assert_eq!(record_error(&RecordError::Authentication), CC_ERROR_SEC_CHL_DECRYPT);
        assert_eq!(
            handshake_error(&Error::Attestation(AttestationError::WrongMeasurement(
                sc_protocol::Mismatch::of_bytes(&[1], [&[2][..]])
            ))),
            CC_ERROR_SEC_CHL_POLICY_REJECTED
        );
        assert_eq!(
            handshake_error(&Error::Attestation(AttestationError::UntrustedRoot { cause: None })),
            CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT
        );
        assert_eq!(
            handshake_error(&Error::NoCommonSuite),
            CC_ERROR_SEC_CHL_VERSION_MISMATCH
        );
    }
}
