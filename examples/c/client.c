/*
 * The client (data owner), in the original sample's flow: connect, init the channel
 * (which attests the enclave), encrypt the private data, send it; receive the enclave's
 * encrypted result, decrypt it, fini.
 *
 *   client <port> <policy.toml> <comma-separated numbers>
 *
 * The reply to the handshake is read inside the send hook, on the init thread. See
 * client_recv_thread.c for the variant with a separate receive thread.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "sample_msg.h"
#include "secure_channel_client.h"

struct connection {
    int fd;
    cc_sec_chl_ctx_t *ctx;
};

/* The send hook: frame and send; if this message gets an answer, read it now and hand
 * it to the library (same thread). */
static int socket_send(void *conn, void *buf, size_t count)
{
    struct connection *c = conn;
    if (send_msg(c->fd, MSG_CHANNEL, c->ctx->session_id, buf, (uint32_t)count) != 0)
        return -1;
    if (cc_sec_chl_client_msg_expects_reply(buf, count)) {
        uint32_t type, len;
        uint64_t session;
        uint8_t *reply;
        if (recv_msg(c->fd, &type, &session, &reply, &len) != 0)
            return -1;
        if (type == MSG_CHANNEL)
            cc_sec_chl_client_callback(c->ctx, reply, len);
        free(reply);
    }
    return (int)count;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("client: connect");
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s <port> <policy.toml> <numbers>\n", argv[0]);
        return 2;
    }
    int fd = connect_to(atoi(argv[1]));
    if (fd < 0)
        return 1;

    cc_sec_chl_ctx_t ctx = {0};
    struct connection conn = {.fd = fd, .ctx = &ctx};
    ctx.conn_kit.send = socket_send;
    ctx.conn_kit.conn = &conn;
    cc_enclave_result_t rc = cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &ctx, argv[2]);
    if (rc != CC_SUCCESS) {
        char why[512];
        cc_sec_chl_last_error(why, sizeof why);
        fprintf(stderr, "client: secure channel init failed: %s\n  detail: %s\n", cc_sec_chl_strerror(rc), why);
        close(fd);
        return 1;
    }
    printf("client: channel ready, session %zu\n", ctx.session_id);

    /* Encrypt: ask for the length first, then encrypt into a buffer of that size. */
    const char *secret = argv[3];
    size_t enc_len = 0;
    rc = cc_sec_chl_client_encrypt(&ctx, (void *)secret, strlen(secret), NULL, &enc_len);
    uint8_t *enc = rc == CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH ? malloc(enc_len) : NULL;
    if (enc == NULL || cc_sec_chl_client_encrypt(&ctx, (void *)secret, strlen(secret), enc, &enc_len) != CC_SUCCESS) {
        fprintf(stderr, "client: encrypt failed\n");
        return 1;
    }
    send_msg(fd, MSG_REQUEST, ctx.session_id, enc, (uint32_t)enc_len);
    free(enc);

    uint32_t type, len;
    uint64_t session;
    uint8_t *reply;
    if (recv_msg(fd, &type, &session, &reply, &len) != 0 || type != MSG_REPLY) {
        fprintf(stderr, "client: no reply\n");
        return 1;
    }
    char result[512];
    size_t result_len = sizeof(result) - 1;
    rc = cc_sec_chl_client_decrypt(&ctx, reply, len, result, &result_len);
    free(reply);
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "client: decrypt failed: 0x%x\n", rc);
        return 1;
    }
    result[result_len] = '\0';
    printf("client: result: %s\n", result);

    cc_sec_chl_client_fini(&ctx);
    close(fd);
    return 0;
}
