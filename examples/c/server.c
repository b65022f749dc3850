/*
 * The host server (REE): starts the enclave program, then serves each client connection
 * on its own thread. It relays channel messages to the library and encrypted requests to
 * the enclave's application function; it never sees a key or a plaintext.
 *
 *   server <enclave-program> <port> [connections]
 *
 * Port 0 picks a free port; the chosen one is printed as "listening on <port>". With
 * [connections] (not 0), the server exits cleanly after serving that many connections.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "sample_msg.h"
#include "secure_channel_host.h"

#define FN_STATS 1
#define MAX_REPLY 4096

static cc_enclave_t g_enclave;
static cc_sec_chl_svr_ctx_t g_server;

static int socket_send(void *conn, void *buf, size_t count)
{
    int fd = *(int *)conn;
    return send_msg(fd, MSG_CHANNEL, 0, buf, (uint32_t)count) == 0 ? (int)count : -1;
}

static void *serve_connection(void *arg)
{
    int fd = *(int *)arg;
    cc_sec_chl_conn_ctx_t conn = {.svr_ctx = &g_server};
    conn.conn_kit.send = socket_send;
    conn.conn_kit.conn = arg;

    uint32_t type, len;
    uint64_t session;
    uint8_t *data;
    while (recv_msg(fd, &type, &session, &data, &len) == 0) {
        if (type == MSG_CHANNEL) {
            cc_enclave_result_t rc = cc_sec_chl_svr_callback(&conn, data, len);
            if (rc != CC_SUCCESS)
                fprintf(stderr, "server: channel message refused: 0x%x\n", rc);
        } else if (type == MSG_REQUEST) {
            uint8_t reply[MAX_REPLY];
            size_t reply_len = sizeof(reply);
            cc_enclave_result_t rc =
                cc_sec_chl_svr_enclave_call(&g_enclave, FN_STATS, (size_t)session, data, len, reply, &reply_len);
            if (rc == CC_SUCCESS) {
                send_msg(fd, MSG_REPLY, session, reply, (uint32_t)reply_len);
            } else {
                uint32_t code = htonl(rc);
                send_msg(fd, MSG_ERROR, session, &code, sizeof(code));
            }
        }
        free(data);
    }
    close(fd);
    free(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s <enclave-program> <port> [connections]\n", argv[0]);
        return 2;
    }
    long limit = argc > 3 ? atol(argv[3]) : 0;
    /* A client that closes before reading its last answer must not kill the server. */
    signal(SIGPIPE, SIG_IGN);

    cc_enclave_result_t rc = cc_enclave_create(argv[1], AUTO_ENCLAVE_TYPE, 0, 0, NULL, 0, &g_enclave);
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "server: cannot start the enclave: 0x%x\n", rc);
        return 1;
    }
    g_server.enclave_ctx = &g_enclave;
    rc = cc_sec_chl_svr_init(&g_server);
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "server: init failed: 0x%x\n", rc);
        return 1;
    }

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t addr_len = sizeof(addr);
    if (bind(listener, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(listener, 128) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &addr_len) != 0) {
        perror("server: listen");
        return 1;
    }
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    pthread_t *threads = NULL;
    long served = 0;
    while (limit <= 0 || served < limit) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int *arg = malloc(sizeof(int));
        pthread_t *grown = realloc(threads, sizeof(pthread_t) * (size_t)(served + 1));
        if (arg == NULL || grown == NULL) {
            free(arg);
            close(fd);
            break;
        }
        threads = grown;
        *arg = fd;
        if (pthread_create(&threads[served], NULL, serve_connection, arg) != 0) {
            free(arg);
            close(fd);
            break;
        }
        served++;
    }
    for (long i = 0; i < served; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    close(listener);

    rc = cc_sec_chl_svr_fini(&g_server);
    cc_enclave_result_t destroyed = cc_enclave_destroy(&g_enclave);
    printf("server: served %ld connections, fini 0x%x, destroy 0x%x\n", served, rc, destroyed);
    return rc == CC_SUCCESS && destroyed == CC_SUCCESS ? 0 : 1;
}
