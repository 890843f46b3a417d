/* echo_load.c — a load client for `pluto echo`, over real sockets.
 *
 *   echo_load [--timeout S] HOST PORT CLIENTS BYTES SEED
 *   echo_load --no-read [--hold S] HOST PORT CLIENTS BYTES SEED
 *
 * Echo mode: CLIENTS connections at once, one thread, epoll, non-blocking.
 * Each client sends BYTES bytes of a seeded keystream in writes of random size
 * (1 byte .. 64 KiB, log-uniform so tiny writes are common), sometimes pausing
 * a few milliseconds, while it reads concurrently and checks every byte that
 * comes back against the same keystream. After its last byte it half-closes
 * (SHUT_WR) and waits for EOF. A client passes when it got exactly its BYTES
 * bytes back, in order, then EOF. Exit 0 only if every client passed; the
 * summary line is `clients N bytes M ok K failed F` (M = bytes verified).
 * The whole run is bounded by --timeout (default 120 s): clients unfinished
 * then count as failed and their state is printed to stderr.
 *
 * No-read mode: every client pushes as much as it can (up to BYTES) and never
 * reads, for --hold seconds (default 5); then all sockets are closed. Prints
 * `clients N connected C sent M`; exits 0 when all connected. It exists to
 * check that the server's memory stays bounded when peers do not read.
 *
 * Reproducible: the data and the chunk sizes depend only on SEED and the
 * client number (the timing of the network is the only other input).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CHUNK_MAX = 64 * 1024, EVENTS_MAX = 1024, FAIL_SHOWN = 10 };

typedef enum cstate { C_CONNECTING, C_OPEN, C_DONE, C_FAILED } cstate;

typedef struct client {
    int fd;
    cstate state;
    bool wr_closed;          /* SHUT_WR done */
    uint32_t events;         /* what epoll watches now */
    uint64_t key;            /* keystream key */
    uint64_t rng;            /* chunk sizes and pauses */
    uint64_t sent, recvd;
    uint64_t chunk_left;     /* bytes left in the current write chunk */
    int64_t resume_ms;       /* paused until (0: not paused) */
} client;

static struct {
    int ep;
    client *cs;
    long n;
    uint64_t bytes;
    bool no_read;
    int shown;
    uint8_t out[CHUNK_MAX], in[CHUNK_MAX], want[CHUNK_MAX];
} g;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ULL;
    return mix64(*s);
}

/* Bytes [off, off+len) of the keystream `key`: byte i is byte i%8 of mix64(key + i/8). */
static void keystream(uint64_t key, uint64_t off, uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len;) {
        uint64_t at = off + i, w = mix64(key + at / 8);
        for (unsigned b = (unsigned)(at % 8); b < 8 && i < len; b++, i++)
            buf[i] = (uint8_t)(w >> (8 * b));
    }
}

/* 1 .. CHUNK_MAX, log-uniform: as many 1..2 byte writes as 32..64 KiB ones. */
static uint64_t chunk_size(client *c)
{
    unsigned bits = (unsigned)(next(&c->rng) % 17);   /* 0..16 */
    return 1 + next(&c->rng) % (1ULL << bits);
}

static void fail(client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(client *c, const char *fmt, ...)
{
    if (g.shown++ < FAIL_SHOWN) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "echo_load: client %ld: ", (long)(c - g.cs));
        vfprintf(stderr, fmt, ap);
        fprintf(stderr, " (sent %llu recvd %llu)\n", (unsigned long long)c->sent,
                (unsigned long long)c->recvd);
        va_end(ap);
    }
    c->state = C_FAILED;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static void watch(client *c, uint32_t ev)
{
    if (c->fd < 0 || ev == c->events)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    if (epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &e) != 0) {
        fail(c, "epoll_ctl: %s", strerror(errno));
        return;
    }
    c->events = ev;
}

/* What the client wants to hear about in its current state. */
static void rewatch(client *c, int64_t now)
{
    if (c->state != C_OPEN)
        return;
    uint32_t ev = g.no_read ? 0 : EPOLLIN;
    if (c->sent < g.bytes && (c->resume_ms == 0 || now >= c->resume_ms))
        ev |= EPOLLOUT;
    watch(c, ev);
}

static void on_writable(client *c, int64_t now)
{
    while (c->sent < g.bytes) {
        if (c->resume_ms != 0) {
            if (now < c->resume_ms)
                return;
            c->resume_ms = 0;
        }
        if (c->chunk_left == 0)
            c->chunk_left = chunk_size(c);
        size_t len = c->chunk_left;
        if (len > g.bytes - c->sent)
            len = g.bytes - c->sent;
        if (!g.no_read)             /* no-read mode: content unchecked, g.out as is */
            keystream(c->key, c->sent, g.out, len);
        ssize_t n = send(c->fd, g.out, len, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0) {
            fail(c, "send: %s", strerror(errno));
            return;
        }
        c->sent += (uint64_t)n;
        c->chunk_left -= (uint64_t)n;
        if (c->chunk_left == 0 && !g.no_read && next(&c->rng) % 64 == 0)
            c->resume_ms = now + 1 + (int64_t)(next(&c->rng) % 20);   /* a small pause */
    }
    if (!g.no_read && !c->wr_closed) {
        if (shutdown(c->fd, SHUT_WR) != 0) {
            fail(c, "shutdown: %s", strerror(errno));
            return;
        }
        c->wr_closed = true;
    }
}

static void on_readable(client *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, g.in, sizeof g.in, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n < 0) {
            fail(c, "recv: %s", strerror(errno));
            return;
        }
        if (n == 0) {
            if (c->recvd != g.bytes || !c->wr_closed) {
                fail(c, "EOF before all bytes came back");
                return;
            }
            close(c->fd);
            c->fd = -1;
            c->state = C_DONE;
            return;
        }
        if (c->recvd + (uint64_t)n > c->sent) {
            fail(c, "got %zd bytes, more than sent", n);
            return;
        }
        keystream(c->key, c->recvd, g.want, (size_t)n);
        if (memcmp(g.in, g.want, (size_t)n) != 0) {
            size_t i = 0;
            while (g.in[i] == g.want[i])
                i++;
            fail(c, "byte %llu is 0x%02x, expected 0x%02x",
                 (unsigned long long)(c->recvd + i), g.in[i], g.want[i]);
            return;
        }
        c->recvd += (uint64_t)n;
    }
}

static void on_connected(client *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
    if (err != 0) {
        fail(c, "connect: %s", strerror(err));
        return;
    }
    c->state = C_OPEN;
}

static void on_event(client *c, uint32_t ev, int64_t now)
{
    if (c->state == C_CONNECTING) {
        on_connected(c);
        if (c->state != C_OPEN)
            return;
    }
    if (c->state == C_OPEN && !g.no_read && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        on_readable(c);
    if (c->state == C_OPEN && (ev & (EPOLLOUT | EPOLLERR)))
        on_writable(c, now);
    rewatch(c, now);
}

static int open_client(client *c, const struct addrinfo *ai)
{
    c->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fprintf(stderr, "echo_load: socket: %s\n", strerror(errno));
        return -1;
    }
    if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        fail(c, "connect: %s", strerror(errno));
        return 0;
    }
    c->events = EPOLLOUT;
    struct epoll_event e = { .events = c->events, .data.ptr = c };
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        fprintf(stderr, "echo_load: epoll_ctl: %s\n", strerror(errno));
        return -1;
    }
    return 0;
}

static void raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur < need)
        fprintf(stderr, "echo_load: warning: RLIMIT_NOFILE %ld < %ld clients\n",
                (long)rl.rlim_cur, need);
}

/* Earliest time a paused client resumes, at most `limit`. */
static int64_t next_wakeup(int64_t now, int64_t limit)
{
    int64_t t = limit;
    for (long i = 0; i < g.n; i++) {
        client *c = &g.cs[i];
        if (c->state == C_OPEN && c->resume_ms != 0 && c->resume_ms < t)
            t = c->resume_ms;
    }
    return t < now ? now : t;
}

static long count(cstate s)
{
    long k = 0;
    for (long i = 0; i < g.n; i++)
        k += g.cs[i].state == s;
    return k;
}

/* Runs the loop until every client finished or `deadline`. */
static void run(int64_t deadline)
{
    struct epoll_event evs[EVENTS_MAX];
    int64_t now = now_ms();
    while (now < deadline) {
        long active = 0;
        for (long i = 0; i < g.n && !active; i++)
            active = g.cs[i].state == C_CONNECTING || g.cs[i].state == C_OPEN;
        if (!active && !g.no_read)
            return;
        int64_t wake = next_wakeup(now, deadline);
        int timeout = (int)(wake - now > 100 ? 100 : wake - now);
        int n = epoll_wait(g.ep, evs, EVENTS_MAX, timeout);
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "echo_load: epoll_wait: %s\n", strerror(errno));
            exit(1);
        }
        now = now_ms();
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events, now);
        for (long i = 0; i < g.n; i++)      /* pauses that ended */
            if (g.cs[i].state == C_OPEN && g.cs[i].resume_ms != 0 && now >= g.cs[i].resume_ms)
                rewatch(&g.cs[i], now);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: echo_load [--timeout S] HOST PORT CLIENTS BYTES SEED\n"
                    "       echo_load --no-read [--hold S] HOST PORT CLIENTS BYTES SEED\n");
    return 2;
}

static bool number(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != 0 || s[0] == '-' || v > max)
        return false;
    *out = v;
    return true;
}

static int report(int64_t start)
{
    uint64_t total = 0;
    for (long i = 0; i < g.n; i++)
        total += g.no_read ? g.cs[i].sent : g.cs[i].recvd;
    double secs = (double)(now_ms() - start) / 1000.0;
    if (g.no_read) {
        long connected = g.n - count(C_CONNECTING) - count(C_FAILED);
        printf("clients %ld connected %ld sent %llu\n", g.n, connected,
               (unsigned long long)total);
        fflush(stdout);
        fprintf(stderr, "echo_load: %.2f s\n", secs);
        return connected == g.n ? 0 : 1;
    }
    for (long i = 0; i < g.n; i++) {
        client *c = &g.cs[i];
        if (c->state == C_CONNECTING || c->state == C_OPEN)
            fail(c, "timed out %s", c->state == C_CONNECTING ? "connecting" : "echoing");
    }
    long ok = count(C_DONE), failed = g.n - ok;
    printf("clients %ld bytes %llu ok %ld failed %ld\n", g.n, (unsigned long long)total,
           ok, failed);
    fflush(stdout);
    fprintf(stderr, "echo_load: %.2f s, %.1f MB/s\n", secs,
            secs > 0 ? (double)total / 1e6 / secs : 0.0);
    return failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    unsigned long long timeout_s = 120, hold_s = 5, clients, bytes, seed;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--no-read") == 0)
            g.no_read = true;
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
            { if (!number(argv[++i], 86400, &timeout_s)) return usage(); }
        else if (strcmp(argv[i], "--hold") == 0 && i + 1 < argc)
            { if (!number(argv[++i], 86400, &hold_s)) return usage(); }
        else
            return usage();
    }
    if (argc - i != 5 || !number(argv[i + 2], 1000000, &clients) || clients == 0
        || !number(argv[i + 3], 1ULL << 40, &bytes) || !number(argv[i + 4], UINT64_MAX, &seed))
        return usage();
    const char *host = argv[i], *port = argv[i + 1];

    signal(SIGPIPE, SIG_IGN);
    raise_nofile((long)clients + 16);
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "echo_load: %s:%s: %s\n", host, port, gai_strerror(rc));
        return 1;
    }
    g.n = (long)clients;
    g.bytes = bytes;
    g.cs = calloc(g.n, sizeof *g.cs);
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.cs == NULL || g.ep < 0) {
        fprintf(stderr, "echo_load: out of resources\n");
        return 1;
    }
    int64_t start = now_ms();
    for (long k = 0; k < g.n; k++) {
        client *c = &g.cs[k];
        c->key = mix64(seed ^ mix64((uint64_t)k + 1));
        c->rng = mix64(c->key + 0x5eed);
        if (open_client(c, ai) != 0)
            return 1;
    }
    freeaddrinfo(ai);
    run(start + (int64_t)(g.no_read ? hold_s : timeout_s) * 1000);
    return report(start);
}
