/*
 * Client (data owner): libcsecure_channel.so.
 *
 * Generated from crates/ffi/client by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_CLIENT_H
#define SECURE_CHANNEL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "secure_channel.h"

/**
 * The client's channel state (opaque to C).
 */
typedef struct cc_sec_chl_handle cc_sec_chl_handle;

/**
 * The negotiated algorithm set (`cc_sec_chl_algo_t`).
 */
typedef uint32_t cc_sec_chl_algo_t;

/**
 * The opaque handle type of `cc_sec_chl_ctx_t::handle`.
 */
typedef struct cc_sec_chl_handle cc_sec_chl_handle_t;

/**
 * One client channel. The caller fills `conn_kit` (and optionally `uuid`); init fills
 * `session_id` and `handle`. Zero it before first use.
 */
typedef struct cc_sec_chl_ctx {
  /**
   * The session id, set by a successful init (0 before).
   */
  size_t session_id;
  /**
   * The application's connection and send hook.
   */
  cc_conn_kit_t conn_kit;
  /**
   * Library state; set by init, cleared by fini.
   */
  cc_sec_chl_handle_t *handle;
  /**
   * The server TA's identity, when the application uses one (not interpreted here:
   * the verifier policy names the accepted enclaves).
   */
  char *uuid;
} cc_sec_chl_ctx;

/**
 * The client context by its short name.
 */
typedef struct cc_sec_chl_ctx cc_sec_chl_ctx_t;

/**
 * The original's suite name, kept for source compatibility: X25519 key exchange bound to
 * the enclave's attestation, AES-256-GCM, SHA-256 (the default suite).
 */
#define CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM 0

/**
 * X25519, ChaCha20-Poly1305, SHA-256 (for CPUs without AES instructions).
 */
#define CC_SEC_CHL_ALGO_X25519_CHACHA20_POLY1305 1

/**
 * X25519, AES-256-GCM, SHA-384.
 */
#define CC_SEC_CHL_ALGO_X25519_AES_GCM_SHA384 2

/**
 * One past the last algorithm.
 */
#define CC_SEC_CHL_ALGO_MAX 3

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Runs the whole handshake through the send hook, checking the enclave against the
 * default verifier policy (`SECURE_CHANNEL_POLICY`, else
 * `/etc/secure-channel/policy.toml`); returns when the channel is ready or has failed.
 *
 * # Safety
 * `ctx` is NULL or points to a context valid for reads and writes until fini, whose
 * `conn_kit` is the application's hook and connection.
 */
cc_enclave_result_t cc_sec_chl_client_init(cc_sec_chl_algo_t algo, cc_sec_chl_ctx_t *ctx);

/**
 * Like [`cc_sec_chl_client_init`], checking the enclave against the verifier policy file
 * at `policy_path` (TOML, docs/ATTESTATION.md; it may name a basevalue file of the
 * original's `taid img_hash mem_hash` format).
 *
 * # Safety
 * As [`cc_sec_chl_client_init`]; `policy_path` is NULL or a NUL-terminated string.
 */
cc_enclave_result_t cc_sec_chl_client_init_with_policy(cc_sec_chl_algo_t algo,
                                                       cc_sec_chl_ctx_t *ctx,
                                                       const char *policy_path);

/**
 * Feeds one channel message received from the server during init. Call it from the
 * receive path: inside the send hook or on a receive thread.
 *
 * # Safety
 * `ctx` is NULL or a readable context; `buf` is NULL or `len` readable bytes.
 */
cc_enclave_result_t cc_sec_chl_client_callback(cc_sec_chl_ctx_t *ctx, void *buf, size_t len);

/**
 * Encrypts `plain` into `encrypt`. If `encrypt` is NULL or `*encrypt_len` too small,
 * returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed length in `*encrypt_len`.
 *
 * # Safety
 * `ctx` is NULL or readable; `plain` is NULL or `plain_len` readable bytes;
 * `encrypt_len` is NULL or valid for reads and writes; `encrypt` is NULL or writable for
 * `*encrypt_len` bytes.
 */
cc_enclave_result_t cc_sec_chl_client_encrypt(cc_sec_chl_ctx_t *ctx,
                                              void *plain,
                                              size_t plain_len,
                                              void *encrypt,
                                              size_t *encrypt_len);

/**
 * Decrypts the record `encrypt` into `plain`. If `plain` is NULL or `*plain_len` too
 * small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed length in
 * `*plain_len` (the record is not consumed).
 *
 * # Safety
 * `ctx` is NULL or readable; `encrypt` is NULL or `encrypt_len` readable bytes;
 * `plain_len` is NULL or valid for reads and writes; `plain` is NULL or writable for
 * `*plain_len` bytes.
 */
cc_enclave_result_t cc_sec_chl_client_decrypt(cc_sec_chl_ctx_t *ctx,
                                              void *encrypt,
                                              size_t encrypt_len,
                                              void *plain,
                                              size_t *plain_len);

/**
 * Whether the channel message the send hook is sending (`buf`, `count`) gets an answer
 * from the server. A hook that reads the answer itself (the same-thread pattern: send,
 * read the reply, call [`cc_sec_chl_client_callback`]) asks this first, so it never waits
 * for an answer that will not come. Every message this library sends gets one: both
 * messages of init (the library asks the enclave to acknowledge its Finished), and fini's
 * close, which the C host library answers with the enclave's own close and
 * `secure-channel serve` with the end of the connection (so a hook must take either as
 * the answer, as the original's same-thread clients do).
 *
 * # Safety
 * `buf` is NULL or `count` readable bytes.
 */
bool cc_sec_chl_client_msg_expects_reply(const void *buf, size_t count);

/**
 * Tells the server to drop the session (through the send hook), then frees the local
 * state. Safe to call twice, or on a context whose init failed. Called while init waits
 * for the server's reply (from the send hook, or another thread), it makes that init
 * return at once with `CC_ERROR_SEC_CHL_CLOSED`.
 *
 * # Safety
 * `ctx` is NULL or valid for reads and writes.
 */
void cc_sec_chl_client_fini(cc_sec_chl_ctx_t *ctx);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_CLIENT_H */
