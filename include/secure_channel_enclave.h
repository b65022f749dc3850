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

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Registers application function `function_id` (the number the host calls it by).
 * Register before [`cc_sec_chl_enclave_run`]; registering a number again replaces it.
 *
 * # Safety
 * `function` is NULL or a function with the prototype of [`cc_sec_chl_enclave_fn_t`].
 */
int cc_sec_chl_enclave_register(uint32_t function_id, cc_sec_chl_enclave_fn_t function);

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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_ENCLAVE_H */
