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
#include "enclave.h"
#include "secure_channel.h"

/**
 * The original's timer state in the server context. Kept so that the context has the
 * original's layout and code that names `ctx.timer` compiles; the library keeps its timer
 * internally and never reads or writes this.
 */
typedef struct sec_chl_timer_t {
  /**
   * Unused.
   */
  int timerfd;
  /**
   * Unused.
   */
  int eventfd;
} sec_chl_timer_t;

/**
 * The server: set `enclave_ctx`, then call [`cc_sec_chl_svr_init`]. The layout is the
 * original's.
 */
typedef struct cc_sec_chl_svr_ctx {
  /**
   * The enclave sessions live in (from [`cc_enclave_create`]).
   */
  cc_enclave_t *enclave_ctx;
  /**
   * Not used by this library (see [`sec_chl_timer_t`]).
   */
  struct sec_chl_timer_t timer;
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

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Calls application function `function_id` in the enclave with a client record of
 * session `session_id`; the enclave's answer (normally a record for the client) goes to
 * `output`. The input may be empty (`input` NULL, `input_len` 0), and an empty answer
 * needs no buffer (`output` may be NULL). If the answer does not fit (`output` NULL or
 * `*output_len` too small), returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
 * length in `*output_len`; the function has then run and its answer is lost, so size the
 * buffer for the largest answer.
 *
 * This replaces the original's generated ECALLs; it has its own name because the
 * original's `cc_enclave_call_function` is the generated-code ABI, with another signature.
 *
 * # Safety
 * `enclave` is NULL or readable; `input` is NULL or `input_len` readable bytes;
 * `output_len` is NULL or valid for reads and writes; `output` is NULL or writable for
 * `*output_len` bytes.
 */
cc_enclave_result_t cc_sec_chl_svr_enclave_call(cc_enclave_t *enclave,
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
