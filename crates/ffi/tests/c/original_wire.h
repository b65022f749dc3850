/* Framing for the original-pattern test programs, shaped like the original examples':
 * a 24-byte header in native byte order ahead of every message. Neither library sees it.
 *
 *   u64 kind | u64 session id | u64 length | length bytes
 */
#ifndef ORIGINAL_WIRE_H
#define ORIGINAL_WIRE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { KIND_CHANNEL = 1, KIND_REQUEST = 2, KIND_REPLY = 3 };

typedef struct {
    uint64_t kind;
    uint64_t session_id;
    uint64_t len;
} wire_head_t;

#define WIRE_HEAD ((int)sizeof(wire_head_t))
#define WIRE_MAX (2u * 1024 * 1024)

static int io_full(int fd, void *buf, size_t len, int writing) {
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends one message; returns the bytes written (header included) or -1. */
static int wire_send(int fd, uint64_t kind, uint64_t session, const void *data, size_t len) {
    wire_head_t h = {kind, session, len};
    if (io_full(fd, &h, sizeof h, 1) != 0 || io_full(fd, (void *)data, len, 1) != 0) return -1;
    return WIRE_HEAD + (int)len;
}

/* Reads one message into a new buffer (free it); 0 on success, -1 at end or on error. */
static int wire_recv(int fd, wire_head_t *h, uint8_t **data) {
    if (io_full(fd, h, sizeof *h, 0) != 0 || h->len > WIRE_MAX) return -1;
    *data = malloc(h->len ? h->len : 1);
    if (*data == NULL) return -1;
    if (io_full(fd, *data, h->len, 0) != 0) {
        free(*data);
        return -1;
    }
    return 0;
}

#endif
