/* The enclave process must not inherit the host application's descriptors. A host that
 * opened a listener and accepted a connection without close-on-exec (as most C servers
 * do) starts the enclave; the enclave's /proc/<pid>/fd must hold neither socket, on the
 * first start and after a kill and the supervisor's restart.
 *
 * usage: fd_hygiene <enclave program>   (prints "ok" and exits 0, or says what leaked)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "secure_channel_host.h"

/* The pid of a child of this process other than `not`, or 0. */
static pid_t child_of_mine(pid_t not) {
    DIR *proc = opendir("/proc");
    if (proc == NULL) return 0;
    pid_t found = 0;
    struct dirent *e;
    while (found == 0 && (e = readdir(proc)) != NULL) {
        pid_t pid = (pid_t)atoi(e->d_name);
        if (pid <= 0 || pid == not) continue;
        char path[64], line[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f == NULL) continue;
        if (fgets(line, sizeof line, f) != NULL) {
            /* pid (comm) state ppid ...: comm may hold spaces, so parse after the last ')'. */
            char *close = strrchr(line, ')');
            char state;
            int ppid;
            if (close != NULL && sscanf(close + 1, " %c %d", &state, &ppid) == 2 && ppid == (int)getpid() &&
                state != 'Z') {
                found = pid;
            }
        }
        fclose(f);
    }
    closedir(proc);
    return found;
}

/* Waits up to 5 s for a child other than `not`. */
static pid_t wait_for_child(pid_t not) {
    for (int i = 0; i < 100; i++) {
        pid_t pid = child_of_mine(not);
        if (pid != 0) return pid;
        struct timespec t = {0, 50 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    return 0;
}

/* 1 if process `pid` holds a socket with one of the inodes in `inodes`. */
static int holds_any(pid_t pid, const ino_t *inodes, int n) {
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    int leaked = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[384], target[128];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ssize_t len = readlink(path, target, sizeof target - 1);
        if (len <= 0) continue;
        target[len] = '\0';
        unsigned long inode;
        if (sscanf(target, "socket:[%lu]", &inode) != 1) continue;
        for (int i = 0; i < n; i++) {
            if ((ino_t)inode == inodes[i]) {
                fprintf(stderr, "enclave %d holds the host's socket in fd %s\n", (int)pid, e->d_name);
                leaked = 1;
            }
        }
    }
    closedir(d);
    return leaked;
}

static ino_t inode_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s <enclave program>\n", argv[0]);
        return 2;
    }
    /* A listener and a connection through it, all without close-on-exec. */
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 4) != 0 ||
        getsockname(listener, (struct sockaddr *)&addr, &alen) != 0) {
        perror("listener");
        return 2;
    }
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (client < 0 || connect(client, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        return 2;
    }
    int accepted = accept(listener, NULL, NULL);
    if (accepted < 0) {
        perror("accept");
        return 2;
    }
    ino_t inodes[3] = {inode_of(listener), inode_of(client), inode_of(accepted)};

    cc_enclave_t enclave = {0};
    if (cc_enclave_create(argv[1], AUTO_ENCLAVE_TYPE, 0, 0, NULL, 0, &enclave) != CC_SUCCESS) {
        fprintf(stderr, "cc_enclave_create failed\n");
        return 2;
    }
    cc_sec_chl_svr_ctx_t server = {.enclave_ctx = &enclave};
    if (cc_sec_chl_svr_init(&server) != CC_SUCCESS) {
        fprintf(stderr, "cc_sec_chl_svr_init failed\n");
        return 2;
    }
    pid_t first = wait_for_child(0);
    if (first == 0) {
        fprintf(stderr, "no enclave process found\n");
        return 2;
    }
    if (holds_any(first, inodes, 3) != 0) return 1;

    /* Kill it; the supervisor starts another, which must be as clean. */
    kill(first, SIGKILL);
    pid_t second = wait_for_child(first);
    if (second == 0) {
        fprintf(stderr, "the enclave was not restarted\n");
        return 2;
    }
    if (holds_any(second, inodes, 3) != 0) return 1;

    cc_sec_chl_svr_fini(&server);
    cc_enclave_destroy(&enclave);
    close(accepted);
    close(client);
    close(listener);
    printf("ok: enclave %d and its restart %d hold none of the host's sockets\n", (int)first, (int)second);
    return 0;
}
