/* A client in the original same-thread pattern: its send hook writes the message with its
 * own 24-byte header and then always reads one reply, feeds it to the library, and returns
 * the callback's result (0) or the bytes it wrote including its header, never `count`. It
 * does not ask the library which messages get answers.
 *
 * usage: original_client <port> <policy.toml> <numbers> <zero|count_plus_header>
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "original_wire.h"
#include "secure_channel_client.h"

typedef struct {
    int fd;
    int return_zero;
    cc_sec_chl_ctx_t *ctx;
} client_conn_t;

static int send_and_read_reply(void *conn, void *buf, size_t count) {
    client_conn_t *c = conn;
    int written = wire_send(c->fd, KIND_CHANNEL, c->ctx->session_id, buf, count);
    if (written < 0) return -1;
    wire_head_t h;
    uint8_t *reply = NULL;
    if (wire_recv(c->fd, &h, &reply) != 0) return -1;
    int rc = cc_sec_chl_client_callback(c->ctx, reply, (size_t)h.len);
    free(reply);
    return c->return_zero ? (rc == CC_SUCCESS ? 0 : 0) : written;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s <port> <policy.toml> <numbers> <zero|count_plus_header>\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return 1;
    }
    cc_sec_chl_ctx_t ctx;
    memset(&ctx, 0, sizeof ctx);
    client_conn_t conn = {fd, strcmp(argv[4], "zero") == 0, &ctx};
    ctx.conn_kit.send = send_and_read_reply;
    ctx.conn_kit.conn = &conn;
    cc_enclave_result_t rc = cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &ctx, argv[2]);
    if (rc != CC_SUCCESS) {
        printf("init failed: 0x%x\n", rc);
        return 1;
    }
    size_t enc_len = 0;
    cc_sec_chl_client_encrypt(&ctx, argv[3], strlen(argv[3]), NULL, &enc_len);
    uint8_t *enc = malloc(enc_len);
    if (enc == NULL || cc_sec_chl_client_encrypt(&ctx, argv[3], strlen(argv[3]), enc, &enc_len) != CC_SUCCESS) {
        printf("encrypt failed\n");
        return 1;
    }
    if (wire_send(fd, KIND_REQUEST, ctx.session_id, enc, enc_len) < 0) return 1;
    free(enc);
    wire_head_t h;
    uint8_t *reply = NULL;
    if (wire_recv(fd, &h, &reply) != 0 || h.kind != KIND_REPLY) {
        printf("no reply\n");
        return 1;
    }
    char result[256];
    size_t result_len = sizeof result - 1;
    rc = cc_sec_chl_client_decrypt(&ctx, reply, (size_t)h.len, result, &result_len);
    free(reply);
    if (rc != CC_SUCCESS) {
        printf("decrypt failed: 0x%x\n", rc);
        return 1;
    }
    result[result_len] = '\0';
    printf("result: %s\n", result);
    /* fini's close is also answered, and read by the hook like every other message. */
    cc_sec_chl_client_fini(&ctx);
    close(fd);
    printf("done\n");
    return 0;
}
