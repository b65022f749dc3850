/*
 * Server enclave (TEE) runtime for C enclave programs: libtsecure_channel.a.
 *
 * Generated from crates/ffi/enclave by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_ENCLAVE_H
#define SECURE_CHANNEL_ENCLAVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

/**
 * What happened to a stream session (the event hook's second argument).
 */
typedef enum cc_sec_chl_stream_event_t {
  /**
   * The session was established: pushes may start.
   */
  CC_SEC_CHL_STREAM_OPENED = 1,
  /**
   * The client closed the session, or the host ended it (its client went away, it shut
   * down). Not reported for sessions the program ended itself.
   */
  CC_SEC_CHL_STREAM_CLOSED = 2,
  /**
   * The client ended its stream (its EndOfStream authenticated): no more data comes
   * from it, and the program may still push. Reported to programs whose functions were
   * registered for plaintext (`cc_sec_chl_enclave_register_plain`); a function
   * registered for records sees the EndOfStream itself, as `CC_ERROR_SEC_CHL_END_OF_STREAM`
   * from `cc_sec_chl_enclave_decrypt`.
   */
  CC_SEC_CHL_STREAM_CLIENT_ENDED = 3,
} cc_sec_chl_stream_event_t;

/**
 * An application function: a client record of `session_id` in `input`; the answer for
 * the host goes to `output` (room for `*output_len` bytes; set `*output_len` to the
 * length written). Return 0 on success, anything else to fail the call. Functions run
 * concurrently on the runtime's worker threads: they must be thread-safe (no `strtok`,
 * no unguarded globals).
 */
typedef int (*cc_sec_chl_enclave_fn_t)(size_t session_id,
                                       const void *input,
                                       size_t input_len,
                                       void *output,
                                       size_t *output_len);

/**
 * An application function that is given plaintext: the request of `session_id`, already
 * decrypted and authenticated by the runtime (in the order the client sent it), in
 * `request`; its answer's plaintext goes to `reply` (room for `*reply_len` bytes; set
 * `*reply_len` to the length written, 0 for no answer), and the runtime encrypts it for
 * the session. Return 0 on success, anything else to fail the call. Thread-safe, as
 * [`cc_sec_chl_enclave_fn_t`].
 */
typedef int (*cc_sec_chl_enclave_plain_fn_t)(size_t session_id,
                                             const void *request,
                                             size_t request_len,
                                             void *reply,
                                             size_t *reply_len);

/**
 * A stream event hook: session `session_id` opened or closed
 * ([`cc_sec_chl_stream_event_t`]). It runs on one of the runtime's worker threads while
 * the boundary waits for it: return quickly (start a thread to push a long stream).
 */
typedef void (*cc_sec_chl_enclave_stream_fn_t)(size_t session_id,
                                               enum cc_sec_chl_stream_event_t event);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Registers application function `function_id` (the number the host calls it by), in
 * the original shape: it gets the client's record as the host passed it, unauthenticated,
 * and must call [`cc_sec_chl_enclave_decrypt`] before it trusts or acts on anything (the
 * host chose those bytes); [`cc_sec_chl_enclave_register_plain`] does that for it.
 * Register before [`cc_sec_chl_enclave_run`]; registering a number again replaces it.
 *
 * # Safety
 * `function` is NULL or a function with the prototype of [`cc_sec_chl_enclave_fn_t`].
 */
int cc_sec_chl_enclave_register(uint32_t function_id, cc_sec_chl_enclave_fn_t function);

/**
 * Registers application function `function_id` given plaintext only (see
 * [`cc_sec_chl_enclave_plain_fn_t`]): the runtime opens each client record, in sequence,
 * before the function runs, and a record that does not authenticate never reaches it.
 * Register before [`cc_sec_chl_enclave_run`]; registering a number again replaces it.
 *
 * # Safety
 * `function` is NULL or a function with the prototype of [`cc_sec_chl_enclave_plain_fn_t`].
 */
int cc_sec_chl_enclave_register_plain(uint32_t function_id, cc_sec_chl_enclave_plain_fn_t function);

/**
 * Attests and serves the host until it closes the boundary. Returns 0 then, or a
 * `cc_enclave_result_t` code when the runtime cannot start (no simulated root key,
 * already running, no boundary on standard input and output).
 */
int cc_sec_chl_enclave_run(void);

/**
 * Encrypts `plain` for session `session_id` into `encrypt`. If `encrypt` is NULL or
 * `*encrypt_len` too small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
 * length in `*encrypt_len`. 0 on success.
 *
 * # Safety
 * `plain` is NULL or `plain_len` readable bytes; `encrypt_len` is NULL or valid for reads
 * and writes; `encrypt` is NULL or writable for `*encrypt_len` bytes.
 */
int cc_sec_chl_enclave_encrypt(size_t session_id,
                               void *plain,
                               size_t plain_len,
                               void *encrypt,
                               size_t *encrypt_len);

/**
 * Decrypts the record `encrypt` of session `session_id` into `plain`. If `plain` is NULL
 * or `*plain_len` too small, returns `CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH` with the needed
 * length in `*plain_len` (the record is not consumed). 0 on success.
 *
 * # Safety
 * `encrypt` is NULL or `encrypt_len` readable bytes; `plain_len` is NULL or valid for
 * reads and writes; `plain` is NULL or writable for `*plain_len` bytes.
 */
int cc_sec_chl_enclave_decrypt(size_t session_id,
                               void *encrypt,
                               size_t encrypt_len,
                               void *plain,
                               size_t *plain_len);

/**
 * Offers stream sessions to clients that ask for them: both sides may then send
 * whenever they like, each may end its direction (a half-close), and the enclave pushes
 * records with [`cc_sec_chl_enclave_push`] without waiting for a request. A stream
 * session's records reach the registered function in the order the client sent them,
 * one at a time; an empty answer (`*output_len = 0`) relays nothing. `on_event` (may be
 * NULL) is told when a stream session opens and closes. Call before
 * [`cc_sec_chl_enclave_run`].
 *
 * # Safety
 * `on_event` is NULL or a function with the prototype of
 * [`cc_sec_chl_enclave_stream_fn_t`].
 */
int cc_sec_chl_enclave_streams(cc_sec_chl_enclave_stream_fn_t on_event);

/**
 * Encrypts `data` for the client of stream session `session_id` and pushes it to the
 * host, which relays it (as records of at most 60 KiB). Each record goes once the host
 * has granted room for it (its client read what came before), so this waits while the
 * client does not read, until it does or the session ends. Called from an application
 * function or a stream event hook it does not wait: all of `data` goes if there is room
 * for it now, or nothing does and it returns `CC_ERROR_SEC_CHL_NO_ROOM` (the host's
 * grants need a free worker thread). 0 on success; `CC_ERROR_SEC_CHL_INVALID_SESSION`
 * when the session is not an open stream session (ended, or not a stream).
 *
 * # Safety
 * `data` is NULL or `len` readable bytes.
 */
int cc_sec_chl_enclave_push(size_t session_id, const void *data, size_t len);

/**
 * Ends the enclave's direction of stream session `session_id` (a half-close): the client
 * reads the end of the stream and may still send. Waits for room like
 * [`cc_sec_chl_enclave_push`] (and likewise never inside a function or the hook).
 */
int cc_sec_chl_enclave_end_stream(size_t session_id);

/**
 * Ends stream session `session_id` from the enclave: its Close goes to the client and
 * the session is gone (the event hook is not told: the program ended it).
 */
int cc_sec_chl_enclave_end_session(size_t session_id);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_ENCLAVE_H */
