/* A host in the original example's pattern: one connection at a time on one thread, the
 * same 24-byte native-order header as the client, the original's headers and names, and a
 * send hook that returns the bytes written including its header.
 *
 * usage: original_server <enclave program> <connections>   (prints "listening on PORT")
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "enclave.h"
#include "original_wire.h"
#include "secure_channel_host.h"
#include "status.h"

#define FN_STATS 1

static int send_with_header(void *conn, void *buf, size_t count) {
    return wire_send(*(int *)conn, KIND_CHANNEL, 0, buf, count);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s <enclave program> <connections>\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    cc_enclave_t context;
    memset(&context, 0, sizeof context);
    cc_enclave_result_t res = cc_enclave_create(argv[1], AUTO_ENCLAVE_TYPE, 0, SECGEAR_DEBUG_FLAG, NULL, 0, &context);
    if (res != CC_SUCCESS) {
        printf("create enclave error 0x%x\n", res);
        return 1;
    }
    cc_sec_chl_svr_ctx_t svr_ctx;
    memset(&svr_ctx, 0, sizeof svr_ctx);
    svr_ctx.enclave_ctx = &context;
    if ((res = cc_sec_chl_svr_init(&svr_ctx)) != CC_SUCCESS) {
        printf("secure channel init error 0x%x\n", res);
        return 1;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof addr;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 8) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &alen) != 0) {
        perror("listen");
        return 1;
    }
    printf("listening on %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    for (int served = 0; served < atoi(argv[2]); served++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0) return 1;
        cc_sec_chl_conn_ctx_t conn_ctx = {.svr_ctx = &svr_ctx, .conn_kit = {.send = send_with_header, .conn = &fd}};
        wire_head_t h;
        uint8_t *data = NULL;
        while (wire_recv(fd, &h, &data) == 0) {
            if (h.kind == KIND_CHANNEL) {
                res = cc_sec_chl_svr_callback(&conn_ctx, data, (size_t)h.len);
                if (res != CC_SUCCESS) printf("channel message refused: 0x%x\n", res);
            } else if (h.kind == KIND_REQUEST) {
                uint8_t reply[4096];
                size_t reply_len = sizeof reply;
                res = cc_sec_chl_svr_enclave_call(&context, FN_STATS, (size_t)h.session_id, data, (size_t)h.len, reply,
                                                  &reply_len);
                if (res == CC_SUCCESS) wire_send(fd, KIND_REPLY, h.session_id, reply, reply_len);
            }
            free(data);
        }
        close(fd);
    }
    cc_sec_chl_svr_fini(&svr_ctx);
    cc_enclave_destroy(&context);
    printf("served\n");
    return 0;
}
