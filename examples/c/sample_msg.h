/*
 * The examples' own wire framing, as in the original sample: the application frames every
 * message it sends. The secure channel library never sees this header; it only hands the
 * application channel messages to send and takes the ones received.
 *
 *   u32 type | u32 length | u64 session id | length bytes   (big-endian)
 */
#ifndef SAMPLE_MSG_H
#define SAMPLE_MSG_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum sample_msg_type {
    MSG_CHANNEL = 1, /* a secure channel message (handshake, close) */
    MSG_REQUEST = 2, /* client -> server: an encrypted request */
    MSG_REPLY = 3,   /* server -> client: the enclave's encrypted reply */
    MSG_ERROR = 4,   /* server -> client: the request failed (4-byte result code) */
};

#define SAMPLE_MAX_MSG (16u * 1024 * 1024 + 64)

static int write_full(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_msg(int fd, uint32_t type, uint64_t session, const void *data, uint32_t len)
{
    uint8_t head[16];
    uint32_t t = htonl(type), l = htonl(len);
    uint32_t hi = htonl((uint32_t)(session >> 32)), lo = htonl((uint32_t)session);
    memcpy(head, &t, 4);
    memcpy(head + 4, &l, 4);
    memcpy(head + 8, &hi, 4);
    memcpy(head + 12, &lo, 4);
    if (write_full(fd, head, sizeof(head)) != 0)
        return -1;
    return len == 0 ? 0 : write_full(fd, data, len);
}

/* Receives one message; *data is malloc'ed (free it). Returns 0, or -1 on end of stream. */
static int recv_msg(int fd, uint32_t *type, uint64_t *session, uint8_t **data, uint32_t *len)
{
    uint8_t head[16];
    uint32_t t, l, hi, lo;
    if (read_full(fd, head, sizeof(head)) != 0)
        return -1;
    memcpy(&t, head, 4);
    memcpy(&l, head + 4, 4);
    memcpy(&hi, head + 8, 4);
    memcpy(&lo, head + 12, 4);
    *type = ntohl(t);
    *len = ntohl(l);
    *session = ((uint64_t)ntohl(hi) << 32) | ntohl(lo);
    if (*len > SAMPLE_MAX_MSG)
        return -1;
    *data = malloc(*len ? *len : 1);
    if (*data == NULL)
        return -1;
    if (read_full(fd, *data, *len) != 0) {
        free(*data);
        *data = NULL;
        return -1;
    }
    return 0;
}

#endif /* SAMPLE_MSG_H */
