/*
 * Server host (REE, untrusted relay): libusecure_channel.so.
 *
 * Generated from crates/ffi/host by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_HOST_H
#define SECURE_CHANNEL_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "secure_channel.h"

/**
 * The kind of enclave (`enclave_type_t`). Every kind starts the program at the path as a
 * separate process.
 */
typedef uint32_t enclave_type_t;

/**
 * An enclave feature setting (accepted for source compatibility; not interpreted).
 */
typedef struct enclave_features_t {
  /**
   * The feature's kind.
   */
  uint32_t setting_type;
  /**
   * The feature's settings.
   */
  void *feature_desc;
} enclave_features_t;

/**
 * A started enclave. Zero it before [`cc_enclave_create`]; only the library writes it.
 */
typedef struct cc_enclave {
  /**
   * Library handle of the running enclave (0: none).
   */
  uint64_t handle;
} cc_enclave;

/**
 * The enclave context by its short name.
 */
typedef struct cc_enclave cc_enclave_t;

/**
 * The server: set `enclave_ctx`, then call [`cc_sec_chl_svr_init`].
 */
typedef struct cc_sec_chl_svr_ctx {
  /**
   * The enclave sessions live in (from [`cc_enclave_create`]).
   */
  cc_enclave_t *enclave_ctx;
  /**
   * Set by init, cleared by fini.
   */
  bool is_init;
} cc_sec_chl_svr_ctx;

/**
 * The server context by its short name.
 */
typedef struct cc_sec_chl_svr_ctx cc_sec_chl_svr_ctx_t;

/**
 * One client connection: the server and the way to answer this client.
 */
typedef struct cc_sec_chl_conn_ctx {
  /**
   * The initialised server.
   */
  cc_sec_chl_svr_ctx_t *svr_ctx;
  /**
   * This client's connection and send hook.
   */
  cc_conn_kit_t conn_kit;
} cc_sec_chl_conn_ctx;

/**
 * The connection context by its short name.
 */
typedef struct cc_sec_chl_conn_ctx cc_sec_chl_conn_ctx_t;

/**
 * Let the library choose (the original's default).
 */
#define AUTO_ENCLAVE_TYPE 0

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Starts the enclave program at `path` as a separate process and fills `enclave`.
 * `type`, `version`, `flags` and `features` are accepted for source compatibility with
 * the original and not interpreted.
 *
 * # Safety
 * `path` is NULL or NUL-terminated; `enclave` is NULL or writable; `features` is unused.
 */
cc_enclave_result_t cc_enclave_create(const char *path,
                                      enclave_type_t type,
                                      uint32_t version,
                                      uint32_t flags,
                                      const struct enclave_features_t *features,
                                      uint32_t features_count,
                                      cc_enclave_t *enclave);

/**
 * Stops the enclave process (every session in it ends) and clears `enclave`.
 *
 * # Safety
 * `enclave` is NULL or valid for reads and writes.
 */
cc_enclave_result_t cc_enclave_destroy(cc_enclave_t *enclave);

/**
 * Calls application function `function_id` in the enclave with a client record of
 * session `session_id`; the enclave's answer (normally a record for the client) goes to
 * `output`. If `output` is NULL or `*output_len` too small, returns
 * `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed length in `*output_len`; the function
 * has then run and its answer is lost, so size the buffer for the largest answer.
 *
 * # Safety
 * `enclave` is NULL or readable; `input` is NULL or `input_len` readable bytes;
 * `output_len` is NULL or valid for reads and writes; `output` is NULL or writable for
 * `*output_len` bytes.
 */
cc_enclave_result_t cc_enclave_call_function(cc_enclave_t *enclave,
                                             uint32_t function_id,
                                             size_t session_id,
                                             const void *input,
                                             size_t input_len,
                                             void *output,
                                             size_t *output_len);

/**
 * Starts serving: supervision of the enclave process and idle-session expiry. A second
 * init of the same context is a successful no-op.
 *
 * # Safety
 * `ctx` is NULL or valid for reads and writes; its `enclave_ctx` is NULL or readable.
 */
cc_enclave_result_t cc_sec_chl_svr_init(cc_sec_chl_svr_ctx_t *ctx);

/**
 * Destroys every session and stops serving. Fini of a context that is not initialised
 * returns `CC_ERROR_SEC_CHL_NOTREADY`.
 *
 * # Safety
 * `ctx` is NULL or valid for reads and writes; its `enclave_ctx` is NULL or readable.
 */
cc_enclave_result_t cc_sec_chl_svr_fini(cc_sec_chl_svr_ctx_t *ctx);

/**
 * Handles one channel message from a client and answers it through
 * `ctx->conn_kit.send`. Thread-safe: call it from each connection's thread.
 *
 * # Safety
 * `ctx` is NULL or readable, with `svr_ctx` NULL or readable and its `enclave_ctx` NULL
 * or readable; `buf` is NULL or `buf_len` readable bytes.
 */
cc_enclave_result_t cc_sec_chl_svr_callback(cc_sec_chl_conn_ctx_t *ctx, void *buf, size_t buf_len);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_HOST_H */
