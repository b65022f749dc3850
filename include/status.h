/*
 * Result codes (cc_enclave_result_t). Values up to 0x5e and from 0xffff0000 are the
 * original secure channel's; 0x00010001..0x000100ff are this project's own.
 *
 * Generated from crates/ffi/common by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_STATUS_H
#define SECURE_CHANNEL_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Result of a secure-channel call. `CC_SUCCESS` (0) means success.
 *
 * Codes up to `0x5e` and from `0xffff0000` are the original's, with its names and
 * values. Codes `0x00010001..=0x000100ff` are failure kinds the original lacks.
 */
enum cc_enclave_result_t
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Success.
   */
  CC_SUCCESS = 0,
  /**
   * The connection kit is incomplete (`send` or `conn` is NULL).
   */
  CC_ERROR_SEC_CHL_INVALID_CONN = 64,
  /**
   * The output buffer is NULL or too small; the needed length was written to `*len`.
   */
  CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH = 65,
  /**
   * The ciphertext is too short or too long to be a record.
   */
  CC_ERROR_SEC_CHL_ENCRYPTED_LEN_INVALID = 66,
  /**
   * The record belongs to another session.
   */
  CC_ERROR_SEC_CHL_DECRYPT_SESSIONID_INVALID = 67,
  /**
   * The system random generator failed.
   */
  CC_ERROR_SEC_CHL_GEN_RANDOM = 68,
  /**
   * The send hook failed.
   */
  CC_ERROR_SEC_CHL_SEND_MSG = 69,
  /**
   * No reply arrived in time during initialization.
   */
  CC_ERROR_SEC_CHL_WAITING_RECV_MSG = 70,
  /**
   * A received channel message is malformed or too large.
   */
  CC_ERROR_SEC_CHL_RECV_MSG_LEN_INVALID = 71,
  /**
   * (original) Getting the server's public key failed.
   */
  CC_ERROR_SEC_CHL_GET_SVR_PUBKEY = 72,
  /**
   * (original) Parsing the server's public key failed.
   */
  CC_ERROR_SEC_CHL_PARSE_SVR_PUBKEY = 73,
  /**
   * The peer's key exchange parameters are missing or invalid.
   */
  CC_ERROR_SEC_CHL_GET_PEER_EXCH_PARAM = 74,
  /**
   * The enclave's handshake signature or key confirmation does not verify.
   */
  CC_ERROR_SEC_CHL_VERIFY_PEER_EXCH_BUF_SIGNATURE = 75,
  /**
   * A handshake message is invalid for the protocol.
   */
  CC_ERROR_SEC_CHL_INVALID_EXCH_BUF = 76,
  /**
   * (original) Generating local key exchange parameters failed.
   */
  CC_ERROR_SEC_CHL_GEN_LOCAL_EXCH_PARAM = 77,
  /**
   * (original) Deriving the session key failed.
   */
  CC_ERROR_DRIVE_SESSIONKEY = 78,
  /**
   * (original) Memory allocation failed.
   */
  CC_ERROR_SEC_CHL_MEMORY = 79,
  /**
   * (original) Sending parameters to the peer failed.
   */
  CC_ERROR_SEC_CHL_SET_PARAM_TO_PEER = 80,
  /**
   * (original) Destroying the server failed.
   */
  CC_ERROR_SEC_CHL_DESTROY_SVR = 81,
  /**
   * Encryption failed (session closed, expired, or record too large).
   */
  CC_ERROR_SEC_CHL_ENCRYPT = 82,
  /**
   * The record does not authenticate (modified, forged, or wrong keys).
   */
  CC_ERROR_SEC_CHL_DECRYPT = 83,
  /**
   * (original) The server is already initialized.
   */
  CC_ERROR_SEC_CHL_SVR_ALREADY_INIT = 84,
  /**
   * Server initialization failed.
   */
  CC_ERROR_SEC_CHL_SVR_INIT = 85,
  /**
   * Called before initialization (or after fini).
   */
  CC_ERROR_SEC_CHL_NOTREADY = 86,
  /**
   * Session or pending-handshake limit reached.
   */
  CC_ERROR_SEC_CHL_CLI_NUM_EXCEED_MAX_LIMIT = 87,
  /**
   * (original) Getting the TA id failed.
   */
  CC_ERROR_SEC_CHL_INIT_GET_TAID = 88,
  /**
   * The enclave could not produce attestation evidence.
   */
  CC_ERROR_SEC_CHL_GET_RA_REPORT = 89,
  /**
   * Verifying the enclave's evidence failed (signature, chain, platform).
   */
  CC_ERROR_SEC_CHL_INIT_VERIFY_REPORT = 90,
  /**
   * The evidence is malformed or not bound to this handshake.
   */
  CC_ERROR_SEC_CHL_INVALID_REPORT = 91,
  /**
   * (original) Unsealing the enclave's key failed.
   */
  CC_ERROR_SEC_CHL_ENCLAVE_UNSEAL_ENC_KEY = 92,
  /**
   * No such session (never established, closed, or expired).
   */
  CC_ERROR_SEC_CHL_INVALID_SESSION = 93,
  /**
   * The enclave refused to start a session.
   */
  CC_ERROR_SEC_CHL_INIT_SESSEION = 94,
  /**
   * The record was already received, or comes after a later one (a replay or a
   * reordering by the host: records are accepted strictly in sequence).
   */
  CC_ERROR_SEC_CHL_REPLAYED = 65537,
  /**
   * The evidence verified but the verifier policy rejects it (measurement, signer,
   * security version, debug mode, TCB status, age, simulated platform).
   */
  CC_ERROR_SEC_CHL_POLICY_REJECTED = 65538,
  /**
   * No protocol version, cipher suite or binding mode in common with the peer.
   */
  CC_ERROR_SEC_CHL_VERSION_MISMATCH = 65539,
  /**
   * The peer closed the session.
   */
  CC_ERROR_SEC_CHL_CLOSED = 65540,
  /**
   * The session outlived its lifetime or its key updates.
   */
  CC_ERROR_SEC_CHL_EXPIRED = 65541,
  /**
   * The enclave process exited or stopped answering.
   */
  CC_ERROR_SEC_CHL_ENCLAVE_LOST = 65542,
  /**
   * The verifier policy file is missing, unreadable or invalid.
   */
  CC_ERROR_SEC_CHL_POLICY_INVALID = 65543,
  /**
   * The peer ended the handshake with an alert.
   */
  CC_ERROR_SEC_CHL_PEER_ALERT = 65544,
  /**
   * The application function is not registered, or it returned a failure.
   */
  CC_ERROR_SEC_CHL_APP_FUNCTION = 65545,
  /**
   * (No longer returned: records are accepted strictly in sequence, see
   * `CC_ERROR_SEC_CHL_REPLAYED` and `CC_ERROR_SEC_CHL_RECORD_MISSING`.) Was: the record
   * is older than the replay window.
   */
  CC_ERROR_SEC_CHL_TOO_OLD = 65546,
  /**
   * The enclave program could not be started (path, permissions, format).
   */
  CC_ERROR_SEC_CHL_ENCLAVE_START = 65547,
  /**
   * An internal error (a panic) was contained at the C boundary; the library stays
   * usable. `cc_sec_chl_last_error` gives its message; please report it.
   */
  CC_ERROR_SEC_CHL_PANIC = 65548,
  /**
   * A stream has ended (EndOfStream, stream sessions). From decrypt: the peer ended its
   * stream, no more data comes from it. From encrypt or push: this side ended its
   * stream, it sends no more data. The session stays open for the other direction.
   */
  CC_ERROR_SEC_CHL_END_OF_STREAM = 65549,
  /**
   * No room to push now: the client has not read what was pushed before. Code running
   * in an application function or a stream event gets this instead of waiting; a
   * thread of its own waits for the room.
   */
  CC_ERROR_SEC_CHL_NO_ROOM = 65550,
  /**
   * A record is missing before this one: the host dropped or held back a record
   * (records are accepted strictly in sequence). The session cannot go on.
   */
  CC_ERROR_SEC_CHL_RECORD_MISSING = 65551,
  /**
   * Unspecified failure.
   */
  CC_ERROR_GENERIC = 4294901760,
  /**
   * A pointer is NULL, a length is zero, or a value is out of range.
   */
  CC_ERROR_BAD_PARAMETERS = 4294901766,
  /**
   * (original) No data.
   */
  CC_ERROR_NO_DATA = 4294901771,
  /**
   * Out of memory.
   */
  CC_ERROR_OUT_OF_MEMORY = 4294901772,
  /**
   * (original) Buffer too short.
   */
  CC_ERROR_SHORT_BUFFER = 4294901776,
  /**
   * A wait timed out.
   */
  CC_ERROR_TIMEOUT = 4294914049,
  /**
   * Failure.
   */
  CC_FAIL = 4294922242,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum cc_enclave_result_t cc_enclave_result_t;
#else
typedef uint32_t cc_enclave_result_t;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * The name and meaning of result code `code` ("CC_ERROR_SEC_CHL_POLICY_REJECTED: ..."), as
 * static text that stays valid for the life of the program; an unknown code gets a text
 * saying so. The detail of the last failure is [`cc_sec_chl_last_error`]'s.
 */
const char *cc_sec_chl_strerror(uint32_t code);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_STATUS_H */
