/* kv_crash.c — load and check for test_machine_crash.sh.
 *
 *   kv_crash put PORT ROUND CONNS ACKS
 *       CONNS threads, each on one keep-alive connection to 127.0.0.1:PORT,
 *       PUT keys rROUND-cC-iI for I = 0, 1, ... one after the other until the
 *       connection dies (the machine is killed), appending "ROUND C I" to the
 *       file ACKS.ROUND (one write per line) for each PUT answered 204.
 *   kv_crash check PORT ACKS ROUND...
 *       For each ROUND and each connection C seen in ACKS.ROUND with last acked
 *       index A: keys I <= A hold their values (everything answered 204
 *       survived), key A+1 (the PUT in flight at the kill) is absent or
 *       whole, and key A+2 was never stored (the store holds a prefix of what
 *       was attempted). Exit 1 with the first failure.
 *   kv_crash drop PORT ACKS ROUND...
 *       DELETE those keys (0 to A+1): each answered 204 or 404.
 *   kv_crash gone PORT ACKS ROUND...
 *       Those keys all read 404: a DELETE answered stays done.
 *
 * Values are a function of the key (8 to 508 bytes), so a check needs only
 * the key. Dropping old rounds keeps the store, its snapshots and its log
 * small however many rounds run.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { MAX_CONNS = 64, VALUE_MAX = 600 };
enum { CHECK, DROP, GONE };

static int port, round_no, ack_fd;

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static size_t value_of(const char *key, char *out)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    size_t n = 8 + mix(h) % 501;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)('a' + mix(h + i) % 26);
    return n;
}

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* One response: its status, its body in body (at most cap), length in *len. */
static int response(int fd, char *body, size_t cap, size_t *len)
{
    char head[4096];
    size_t n = 0;
    char *end = NULL;
    while (end == NULL) {
        if (n == sizeof head - 1)
            return -1;
        ssize_t k = recv(fd, head + n, 1, 0);   /* byte by byte: never past the head */
        if (k <= 0)
            return -1;
        n++;
        head[n] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(head, "HTTP/1.1 %d", &status) != 1)
        return -1;
    size_t clen = 0;
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    if (cl != NULL)
        clen = strtoull(cl + 17, NULL, 10);
    if (clen > cap)
        return -1;
    for (size_t got = 0; got < clen;) {
        ssize_t k = recv(fd, body + got, clen - got, 0);
        if (k <= 0)
            return -1;
        got += (size_t)k;
    }
    *len = clen;
    return status;
}

static void *putter(void *arg)
{
    int c = (int)(intptr_t)arg;
    int fd = dial();
    char key[64], value[VALUE_MAX], req[VALUE_MAX + 256], body[256];
    for (int i = 0; fd >= 0; i++) {
        snprintf(key, sizeof key, "r%d-c%d-i%d", round_no, c, i);
        size_t n = value_of(key, value);
        int h = snprintf(req, sizeof req, "PUT /kv/%s HTTP/1.1\r\nHost: x\r\n"
                         "Content-Length: %zu\r\n\r\n", key, n);
        memcpy(req + h, value, n);
        size_t len;
        if (send_all(fd, req, (size_t)h + n) < 0 ||
            response(fd, body, sizeof body, &len) != 204)
            break;
        char line[64];
        int k = snprintf(line, sizeof line, "%d %d %d\n", round_no, c, i);
        if (write(ack_fd, line, (size_t)k) != k)
            break;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* A probe: GET (1 present with its value, 0 absent, -1 wrong or failed) or
 * DELETE (1 deleted, 0 absent, -1 failed). Sent 256 at a time on one
 * connection, pipelined: the machine answers a batch after one commit. */
typedef struct probe { char key[64]; int i, last; bool del; int got; } probe;
enum { BATCH = 256 };

static int run_batch(int fd, probe *p, int n)
{
    static char req[BATCH * 128];   /* a key is at most 40 bytes */
    size_t len = 0;
    for (int k = 0; k < n; k++)
        len += (size_t)snprintf(req + len, sizeof req - len,
                                "%s /kv/%s HTTP/1.1\r\nHost: x\r\n\r\n",
                                p[k].del ? "DELETE" : "GET", p[k].key);
    if (send_all(fd, req, len) < 0)
        return -1;
    for (int k = 0; k < n; k++) {
        char want[VALUE_MAX], got[VALUE_MAX];
        size_t glen, wlen = value_of(p[k].key, want);
        int status = response(fd, got, sizeof got, &glen);
        if (status < 0)
            return -1;
        p[k].got = status == 404 ? 0
                 : p[k].del ? (status == 204 ? 1 : -1)
                 : status == 200 && glen == wlen && memcmp(got, want, wlen) == 0 ? 1 : -1;
    }
    return 0;
}

/* The verdict on one probe: NULL when it is as it must be. */
static const char *judge(int mode, const probe *p)
{
    if (mode == DROP)
        return p->got < 0 ? "could not be deleted" : NULL;
    if (mode == GONE)
        return p->got != 0 ? "was deleted but reads back" : NULL;
    if (p->i <= p->last)
        return p->got != 1 ? "was answered 204 but does not read back" : NULL;
    if (p->i == p->last + 1)
        return p->got < 0 ? "(in flight at the kill) reads a wrong value" : NULL;
    return p->got != 0 ? "was never sent but is stored" : NULL;
}

/* The last index acked on each connection in round r, -1 for none. */
static int read_acks(const char *acks, int r, int *last)
{
    char name[4096];
    snprintf(name, sizeof name, "%s.%d", acks, r);
    for (int k = 0; k < MAX_CONNS; k++)
        last[k] = -1;
    FILE *f = fopen(name, "r");
    if (f == NULL)
        return errno == ENOENT ? 0 : -1;   /* a round that acked nothing */
    int rd, c, i;
    while (fscanf(f, "%d %d %d", &rd, &c, &i) == 3)
        if (rd == r && c >= 0 && c < MAX_CONNS && i > last[c])
            last[c] = i;
    fclose(f);
    return 0;
}

static int check(int mode, const char *acks, int argc, char **rounds)
{
    static int last[MAX_CONNS];
    int fd = dial();
    if (fd < 0) {
        fprintf(stderr, "kv_crash: cannot connect to port %d\n", port);
        return 1;
    }
    probe batch[BATCH];
    int n = 0, bad = 0;
    long checked = 0;
    for (int r = 0; r < argc && !bad; r++) {
        int want = atoi(rounds[r]), c, i;
        if (read_acks(acks, want, last) < 0) {
            perror(acks);
            bad = 1;
            break;
        }
        for (c = 0; c < MAX_CONNS && !bad; c++) {
            for (i = 0; i <= last[c] + 2 && !bad; i++) {
                probe *p = &batch[n++];
                snprintf(p->key, sizeof p->key, "r%d-c%d-i%d", want, c, i);
                p->i = i;
                p->last = last[c];
                p->del = mode == DROP && i <= last[c] + 1;
                if (n < BATCH)
                    continue;
                if (run_batch(fd, batch, n) < 0)
                    bad = fprintf(stderr, "kv_crash: the connection failed\n");
                for (int k = 0; k < n && !bad; k++) {
                    const char *why = judge(mode, &batch[k]);
                    if (why != NULL)
                        bad = fprintf(stderr, "kv_crash: %s %s\n", batch[k].key, why);
                }
                checked += n;
                n = 0;
            }
        }
    }
    if (n > 0 && !bad) {
        if (run_batch(fd, batch, n) < 0)
            bad = fprintf(stderr, "kv_crash: the connection failed\n");
        for (int k = 0; k < n && !bad; k++) {
            const char *why = judge(mode, &batch[k]);
            if (why != NULL)
                bad = fprintf(stderr, "kv_crash: %s %s\n", batch[k].key, why);
        }
        checked += n;
    }
    close(fd);
    if (!bad)
        printf("%ld keys\n", checked);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "put") == 0) {
        port = atoi(argv[2]);
        round_no = atoi(argv[3]);
        int conns = atoi(argv[4]);
        char name[4096];
        snprintf(name, sizeof name, "%s.%d", argv[5], round_no);
        ack_fd = open(name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (ack_fd < 0 || conns < 1 || conns > MAX_CONNS)
            return 2;
        pthread_t th[MAX_CONNS];
        for (int c = 0; c < conns; c++)
            pthread_create(&th[c], NULL, putter, (void *)(intptr_t)c);
        for (int c = 0; c < conns; c++)
            pthread_join(th[c], NULL);
        return 0;
    }
    static const char *const modes[] = { "check", "drop", "gone" };
    for (int mode = CHECK; argc >= 4 && mode <= GONE; mode++)
        if (strcmp(argv[1], modes[mode]) == 0) {
            port = atoi(argv[2]);
            return check(mode, argv[3], argc - 4, argv + 4);
        }
    fprintf(stderr, "usage: kv_crash put PORT ROUND CONNS ACKS | check|drop|gone PORT ACKS "
                    "ROUND...\n");
    return 2;
}
