/*
 * The client with a separate receive thread: the send hook only sends; a thread reads
 * every message from the server, feeds channel messages to the library and hands
 * replies to the main thread. Init waits without polling until the thread has delivered
 * the handshake reply.
 *
 *   client_recv_thread <port> <policy.toml> <comma-separated numbers>
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "sample_msg.h"
#include "secure_channel_client.h"

struct connection {
    int fd;
    cc_sec_chl_ctx_t *ctx;
    pthread_mutex_t lock; /* guards the mailbox below and writes to fd */
    pthread_cond_t arrived;
    uint8_t *reply;
    uint32_t reply_len;
    int closed;
};

static int socket_send(void *conn, void *buf, size_t count)
{
    struct connection *c = conn;
    pthread_mutex_lock(&c->lock);
    int rc = send_msg(c->fd, MSG_CHANNEL, c->ctx->session_id, buf, (uint32_t)count);
    pthread_mutex_unlock(&c->lock);
    return rc == 0 ? (int)count : -1;
}

static void *receive(void *arg)
{
    struct connection *c = arg;
    uint32_t type, len;
    uint64_t session;
    uint8_t *data;
    while (recv_msg(c->fd, &type, &session, &data, &len) == 0) {
        if (type == MSG_CHANNEL) {
            cc_sec_chl_client_callback(c->ctx, data, len);
            free(data);
            continue;
        }
        pthread_mutex_lock(&c->lock);
        free(c->reply);
        c->reply = type == MSG_REPLY ? data : NULL;
        c->reply_len = type == MSG_REPLY ? len : 0;
        if (type != MSG_REPLY)
            free(data);
        pthread_cond_signal(&c->arrived);
        pthread_mutex_unlock(&c->lock);
    }
    pthread_mutex_lock(&c->lock);
    c->closed = 1;
    pthread_cond_signal(&c->arrived);
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s <port> <policy.toml> <numbers>\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        perror("client: connect");
        return 1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    cc_sec_chl_ctx_t ctx = {0};
    struct connection conn = {.fd = fd, .ctx = &ctx};
    pthread_mutex_init(&conn.lock, NULL);
    pthread_cond_init(&conn.arrived, NULL);
    ctx.conn_kit.send = socket_send;
    ctx.conn_kit.conn = &conn;
    pthread_t receiver;
    pthread_create(&receiver, NULL, receive, &conn);

    int status = 1;
    cc_enclave_result_t rc = cc_sec_chl_client_init_with_policy(CC_SEC_CHL_ALGO_RSA_ECDH_AES_GCM, &ctx, argv[2]);
    if (rc != CC_SUCCESS) {
        char why[512];
        cc_sec_chl_last_error(why, sizeof why);
        fprintf(stderr, "client: secure channel init failed: %s\n  detail: %s\n", cc_sec_chl_strerror(rc), why);
        goto out;
    }
    printf("client: channel ready, session %zu (replies on a receive thread)\n", ctx.session_id);

    const char *secret = argv[3];
    uint8_t enc[4096];
    size_t enc_len = sizeof(enc);
    rc = cc_sec_chl_client_encrypt(&ctx, (void *)secret, strlen(secret), enc, &enc_len);
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "client: encrypt failed: 0x%x\n", rc);
        goto out;
    }
    pthread_mutex_lock(&conn.lock);
    send_msg(fd, MSG_REQUEST, ctx.session_id, enc, (uint32_t)enc_len);
    while (conn.reply == NULL && !conn.closed)
        pthread_cond_wait(&conn.arrived, &conn.lock);
    uint8_t *reply = conn.reply;
    uint32_t reply_len = conn.reply_len;
    conn.reply = NULL;
    pthread_mutex_unlock(&conn.lock);
    if (reply == NULL) {
        fprintf(stderr, "client: no reply\n");
        goto out;
    }
    char result[512];
    size_t result_len = sizeof(result) - 1;
    rc = cc_sec_chl_client_decrypt(&ctx, reply, reply_len, result, &result_len);
    free(reply);
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "client: decrypt failed: 0x%x\n", rc);
        goto out;
    }
    result[result_len] = '\0';
    printf("client: result: %s\n", result);
    status = 0;

out:
    cc_sec_chl_client_fini(&ctx);
    shutdown(fd, SHUT_RDWR);
    pthread_join(receiver, NULL);
    close(fd);
    free(conn.reply);
    pthread_mutex_destroy(&conn.lock);
    pthread_cond_destroy(&conn.arrived);
    return status;
}
