/*
 * Starting and stopping the enclave (the original's enclave.h, with its names and values):
 * libusecure_channel.so.
 *
 * Generated from crates/ffi/host by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_ENCLAVE_HANDLE_H
#define SECURE_CHANNEL_ENCLAVE_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

/**
 * The original's debug flag for `cc_enclave_create` (accepted, not interpreted: the
 * simulated TEE has no debug mode, and real TEEs take it from the image).
 */
#define SECGEAR_DEBUG_FLAG 1

/**
 * The kind of enclave (`enclave_type_t`), with the original's values. Every kind starts
 * the program at the path as a separate process. (An integer type, not a C enum: a value
 * outside the enum from C must not be undefined behaviour here.)
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
 * Intel SGX (original value; here: a separate process like every kind).
 */
#define SGX_ENCLAVE_TYPE 0

/**
 * GlobalPlatform TEE / iTrustee (original value; here: a separate process).
 */
#define GP_ENCLAVE_TYPE 1

/**
 * Penglai (original value; here: a separate process).
 */
#define PENGLAI_ENCLAVE_TYPE 2

/**
 * Let the library choose (the original's default and value).
 */
#define AUTO_ENCLAVE_TYPE 3

/**
 * One past the last kind.
 */
#define ENCLAVE_TYPE_MAX 4

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

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_ENCLAVE_HANDLE_H */
