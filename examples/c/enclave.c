/*
 * The enclave program: linked with libtsecure_channel.a, started by the host
 * (cc_enclave_create) as a separate process. It offers a statistics job over numbers the
 * client sends, twice:
 *   - function 1 in the original secGear shape: it gets the client's record as the host
 *     passed it, so it decrypts it first (cc_sec_chl_enclave_decrypt authenticates it)
 *     and acts on nothing before that succeeds, and it encrypts its own answer;
 *   - function 2 registered for plaintext (cc_sec_chl_enclave_register_plain): the
 *     runtime authenticates the request first and encrypts the answer.
 * Functions are called concurrently from several threads, so they must be thread-safe.
 * Standard output and error are the host's log: nothing derived from the client's data
 * is printed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secure_channel_enclave.h"

#define FN_STATS 1
#define FN_STATS_PLAIN 2

/* The job on a NUL-terminated dataset: its answer in reply (room for reply_room bytes). */
static int job(char *plain, char *reply, size_t reply_room)
{
    double sum = 0, max = 0;
    size_t count = 0;
    /* strtok_r, not strtok: functions run concurrently on the runtime's worker threads. */
    char *rest = NULL;
    for (char *tok = strtok_r(plain, ",", &rest); tok != NULL; tok = strtok_r(NULL, ",", &rest)) {
        double v = strtod(tok, NULL);
        max = (count == 0 || v > max) ? v : max;
        sum += v;
        count++;
    }
    return snprintf(reply, reply_room, "count=%zu mean=%.2f max=%.2f", count, count ? sum / count : 0.0, max);
}

static int stats(size_t session_id, const void *input, size_t input_len, void *output, size_t *output_len)
{
    size_t plain_len = 0;
    /* Ask for the plaintext's length first (the LEN_NOT_ENOUGH convention). */
    int rc = cc_sec_chl_enclave_decrypt(session_id, (void *)input, input_len, NULL, &plain_len);
    if (rc != CC_ERROR_SEC_CHL_LEN_NOT_ENOUGH)
        return rc;
    char *plain = malloc(plain_len + 1);
    if (plain == NULL)
        return CC_ERROR_OUT_OF_MEMORY;
    rc = cc_sec_chl_enclave_decrypt(session_id, (void *)input, input_len, plain, &plain_len);
    if (rc != CC_SUCCESS) {
        free(plain);
        return rc;
    }
    plain[plain_len] = '\0';
    char reply[128];
    int n = job(plain, reply, sizeof(reply));
    free(plain);
    /* The session id only: the log is the host's. */
    printf("enclave: stats job for session %zu\n", session_id);
    return cc_sec_chl_enclave_encrypt(session_id, reply, (size_t)n, output, output_len);
}

static int stats_plain(size_t session_id, const void *request, size_t request_len, void *reply, size_t *reply_len)
{
    (void)session_id;
    char *plain = malloc(request_len + 1);
    if (plain == NULL)
        return CC_ERROR_OUT_OF_MEMORY;
    memcpy(plain, request, request_len);
    plain[request_len] = '\0';
    char answer[128];
    int n = job(plain, answer, sizeof(answer));
    free(plain);
    if (n < 0 || (size_t)n > *reply_len)
        return CC_ERROR_SHORT_BUFFER;
    memcpy(reply, answer, (size_t)n);
    *reply_len = (size_t)n;
    return CC_SUCCESS;
}

int main(void)
{
    if (cc_sec_chl_enclave_register(FN_STATS, stats) != CC_SUCCESS
        || cc_sec_chl_enclave_register_plain(FN_STATS_PLAIN, stats_plain) != CC_SUCCESS)
        return 1;
    int rc = cc_sec_chl_enclave_run();
    if (rc != CC_SUCCESS)
        fprintf(stderr, "enclave: runtime failed: %s\n", cc_sec_chl_strerror(rc));
    return rc == CC_SUCCESS ? 0 : 1;
}
