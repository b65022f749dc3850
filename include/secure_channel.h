/*
 * Shared by client and server: the application's send hook and connection kit.
 *
 * Generated from crates/ffi/common by cbindgen; do not edit. The test
 * crates/ffi/common/tests/headers.rs fails when this file drifts from the code.
 */

#ifndef SECURE_CHANNEL_H
#define SECURE_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

/**
 * The application's send hook: sends `count` bytes of one channel message to the peer
 * over the connection `conn`; returns a negative value on failure. Any other value means
 * success, as in the original library: its examples return 0 or the bytes written
 * including a header of their own, and a hook must deliver the whole message either way.
 */
typedef int (*cc_conn_opt_funcptr_t)(void *conn, void *buf, size_t count);

/**
 * The application's connection: valid when neither field is NULL.
 */
typedef struct cc_connection_kit {
  /**
   * Sends one channel message.
   */
  cc_conn_opt_funcptr_t send;
  /**
   * The application's connection, passed back to `send`.
   */
  void *conn;
} cc_connection_kit;

/**
 * The connection kit by its short name.
 */
typedef struct cc_connection_kit cc_conn_kit_t;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Copies the text of this thread's most recent failure into `buf` (at most `len` bytes,
 * NUL included; cut if longer) and returns the text's full length without the NUL, as
 * `snprintf` does: call with `buf` NULL or `len` 0 to learn the size. Returns 0 when the
 * most recent call on this thread succeeded.
 *
 * # Safety
 * `buf` is NULL or points to `len` writable bytes.
 */
size_t cc_sec_chl_last_error(char *buf, size_t len);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* SECURE_CHANNEL_H */

/*
 * Whether a connection kit is complete (neither `send` nor `conn` is NULL): the
 * original's inline helper. (cbindgen writes this after the include guard, so it has
 * a guard of its own.)
 */
#ifndef SECURE_CHANNEL_IS_VALID_CONN_KIT
#define SECURE_CHANNEL_IS_VALID_CONN_KIT
static inline bool is_valid_conn_kit(const cc_conn_kit_t *conn_kit) {
  return conn_kit != NULL && conn_kit->send != NULL && conn_kit->conn != NULL;
}
#endif
