/*
 * The enclave program: linked with libtsecure_channel.a, started by the host
 * (cc_enclave_create) as a separate process. It offers one application function, a
 * statistics job over numbers the client sends: the request arrives encrypted, is
 * decrypted here with the session's key, and the result leaves encrypted. Functions are
 * called concurrently from several threads, so they must be thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secure_channel_enclave.h"

#define FN_STATS 1

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
    free(plain);

    char reply[128];
    int n = snprintf(reply, sizeof(reply), "count=%zu mean=%.2f max=%.2f", count, count ? sum / count : 0.0, max);
    /* Written to stdout on purpose: the runtime sends it to the log, not the channel. */
    printf("enclave: stats over %zu values for session %zu\n", count, session_id);
    return cc_sec_chl_enclave_encrypt(session_id, reply, (size_t)n, output, output_len);
}

int main(void)
{
    if (cc_sec_chl_enclave_register(FN_STATS, stats) != CC_SUCCESS)
        return 1;
    int rc = cc_sec_chl_enclave_run();
    if (rc != CC_SUCCESS)
        fprintf(stderr, "enclave: runtime failed: %s\n", cc_sec_chl_strerror(rc));
    return rc == CC_SUCCESS ? 0 : 1;
}
