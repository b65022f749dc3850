/*
 * An enclave program with stream sessions: the enclave talks whenever it likes, not only
 * in answer to a request.
 *
 * When a client's stream session opens, a thread of the program greets it and then sends
 * LINES lines of LINE_LEN bytes (about 8 MB, far more than the host lets the enclave push
 * ahead of what the client has read, so cc_sec_chl_enclave_push waits for the client),
 * then ends its direction of the stream. Meanwhile each record the client sends is
 * answered (upper-cased) while the enclave's direction is open; "closed?" answers how
 * many stream sessions have closed; "flood" tries to push more than the push window from
 * inside the function, which cannot wait there, and answers with the code it got. The
 * client's end of stream ends the session. Clients that do not ask for streams get the
 * answers only (request/reply).
 *
 * Run with: secure-channel serve --enclave ./stream_enclave (clients ask for streams).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secure_channel_enclave.h"

#define FUNCTION_ID 1
#define LINES 2000
#define LINE_LEN 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int closed_sessions;

/* The enclave's side of one stream: a greeting, the lines, the end. */
static void *talk(void *arg)
{
    size_t session_id = (size_t)arg;
    char greeting[64];
    int n = snprintf(greeting, sizeof greeting, "hello from the enclave, session %zu\n", session_id);
    if (cc_sec_chl_enclave_push(session_id, greeting, (size_t)n) != CC_SUCCESS) {
        return NULL;
    }
    char *line = malloc(LINE_LEN);
    if (line == NULL) {
        return NULL;
    }
    for (int i = 0; i < LINES; i++) {
        memset(line, 'a' + i % 26, LINE_LEN);
        snprintf(line, 16, "%06d", i);
        line[6] = ' ';
        line[LINE_LEN - 1] = '\n';
        /* Waits while the client has not read what came before; fails once it is gone. */
        int rc = cc_sec_chl_enclave_push(session_id, line, LINE_LEN);
        if (rc != CC_SUCCESS) {
            fprintf(stderr, "stream %zu: push failed: %s\n", session_id, cc_sec_chl_strerror((uint32_t)rc));
            free(line);
            return NULL;
        }
    }
    free(line);
    cc_sec_chl_enclave_end_stream(session_id);
    return NULL;
}

/* Runs on a runtime worker: start a thread for the long stream and return. */
static void on_stream_event(size_t session_id, cc_sec_chl_stream_event_t event)
{
    if (event == CC_SEC_CHL_STREAM_OPENED) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, talk, (void *)session_id) == 0) {
            pthread_detach(thread);
        }
    } else if (event == CC_SEC_CHL_STREAM_CLOSED) {
        pthread_mutex_lock(&lock);
        closed_sessions++;
        pthread_mutex_unlock(&lock);
    }
}

static int answer(size_t session_id, const char *text, size_t len, void *output, size_t *output_len)
{
    int rc = cc_sec_chl_enclave_encrypt(session_id, (void *)text, len, output, output_len);
    if (rc == CC_ERROR_SEC_CHL_END_OF_STREAM) {
        /* This side already ended its stream: it sends nothing more, answers included. */
        *output_len = 0;
        return 0;
    }
    return rc;
}

static int on_record(size_t session_id, const void *input, size_t input_len, void *output, size_t *output_len)
{
    char plain[1024];
    size_t plain_len = sizeof plain - 1;
    int rc = cc_sec_chl_enclave_decrypt(session_id, (void *)input, input_len, plain, &plain_len);
    if (rc == CC_ERROR_SEC_CHL_END_OF_STREAM) {
        /* The client is done sending: end the session. Nothing to relay as an answer. */
        cc_sec_chl_enclave_end_session(session_id);
        *output_len = 0;
        return 0;
    }
    if (rc != CC_SUCCESS) {
        return rc;
    }
    plain[plain_len] = '\0';
    char text[1100];
    if (strcmp(plain, "closed?") == 0) {
        pthread_mutex_lock(&lock);
        int n = snprintf(text, sizeof text, "closed=%d", closed_sessions);
        pthread_mutex_unlock(&lock);
        return answer(session_id, text, (size_t)n, output, output_len);
    }
    if (strcmp(plain, "flood") == 0) {
        size_t big = 200 * 1024;
        char *flood = calloc(1, big);
        if (flood == NULL) {
            return CC_ERROR_OUT_OF_MEMORY;
        }
        int pushed = cc_sec_chl_enclave_push(session_id, flood, big);
        free(flood);
        int n = snprintf(text, sizeof text, "flood=0x%x", (unsigned)pushed);
        return answer(session_id, text, (size_t)n, output, output_len);
    }
    for (size_t i = 0; i < plain_len; i++) {
        text[i] = (char)toupper((unsigned char)plain[i]);
    }
    return answer(session_id, text, plain_len, output, output_len);
}

int main(void)
{
    if (cc_sec_chl_enclave_register(FUNCTION_ID, on_record) != CC_SUCCESS ||
        cc_sec_chl_enclave_streams(on_stream_event) != CC_SUCCESS) {
        fprintf(stderr, "stream_enclave: cannot register\n");
        return 1;
    }
    int rc = cc_sec_chl_enclave_run();
    if (rc != CC_SUCCESS) {
        fprintf(stderr, "stream_enclave: %s\n", cc_sec_chl_strerror((uint32_t)rc));
    }
    return rc == CC_SUCCESS ? 0 : 1;
}
