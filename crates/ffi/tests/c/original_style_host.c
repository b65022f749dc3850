/* A host written the way secGear's secure-channel examples write theirs: it includes the
 * original's three headers, creates the enclave with the original's flag and type names,
 * keeps the server context with its timer field, and checks its connection kit with the
 * original's inline helper. It must compile without a warning under -Wall -Wextra and
 * link against libusecure_channel.so; run with an enclave program, it starts and stops the
 * server.
 *
 * usage: original_style_host <enclave program>
 */
#include <stdio.h>
#include <string.h>

#include "enclave.h"
#include "secure_channel_host.h"
#include "status.h"

static int send_nothing(void *conn, void *buf, size_t count) {
    (void)conn;
    (void)buf;
    return (int)count;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <enclave program>\n", argv[0]);
        return 2;
    }
    cc_enclave_t context;
    memset(&context, 0, sizeof context);
    cc_enclave_t *enclave = &context;
    cc_enclave_result_t res = cc_enclave_create(argv[1], AUTO_ENCLAVE_TYPE, 0, SECGEAR_DEBUG_FLAG, NULL, 0, enclave);
    if (res != CC_SUCCESS) {
        printf("create enclave error %x\n", res);
        return 1;
    }

    cc_sec_chl_svr_ctx_t svr_ctx;
    memset(&svr_ctx, 0, sizeof svr_ctx);
    svr_ctx.enclave_ctx = enclave;
    svr_ctx.timer.timerfd = -1;
    res = cc_sec_chl_svr_init(&svr_ctx);
    if (res != CC_SUCCESS) {
        printf("secure channel init error %x\n", res);
        cc_enclave_destroy(enclave);
        return 1;
    }

    int fd = 0;
    cc_sec_chl_conn_ctx_t conn_ctx = {.svr_ctx = &svr_ctx, .conn_kit = {.send = send_nothing, .conn = &fd}};
    if (!is_valid_conn_kit(&conn_ctx.conn_kit)) {
        printf("invalid connection kit\n");
        return 1;
    }

    cc_sec_chl_svr_fini(&svr_ctx);
    cc_enclave_destroy(enclave);
    printf("ok: original-style host ran (context %zu bytes)\n", sizeof(cc_sec_chl_svr_ctx_t));
    return 0;
}
