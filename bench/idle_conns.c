/* idle_conns.c — open COUNT keep-alive connections to HOST:PORT, send one GET on each,
 * read its whole response, then hold every connection idle until SIGTERM/SIGINT or
 * HOLD seconds. Used by bench/run.sh to measure a server's RSS per idle connection.
 *
 *   idle_conns HOST PORT COUNT PATH TIMEOUT HOLD
 *
 * Prints, on stdout:
 *   ready OPEN FAILED      once every connection has its response (or TIMEOUT seconds
 *                          passed without it): OPEN connections hold a full response
 *   held OPEN              at exit: how many of them the server had not closed
 * Single-threaded epoll; at most 256 connections are connecting or awaiting their
 * response at a time, so no listen backlog overflows. Raises its own RLIMIT_NOFILE. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { INFLIGHT = 256, HDR_MAX = 2048 };
enum { ST_CONNECTING, ST_READING, ST_IDLE, ST_DEAD };

struct conn {
    int fd;
    int state;
    int hlen;          /* header bytes kept so far (until the blank line) */
    long body_left;    /* body bytes still to come, once the headers are in */
    char *hdr;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: %s HOST PORT COUNT PATH TIMEOUT HOLD\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long count = atol(argv[3]);
    const char *path = argv[4];
    double timeout = atof(argv[5]);
    double hold = atof(argv[6]);

    /* Raise the soft fd limit to the hard one; past the hard one only with
     * CAP_SYS_RESOURCE, else hold fewer connections and say so. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        die("getrlimit");
    rlim_t want = (rlim_t)count + 64;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want &&
        setrlimit(RLIMIT_NOFILE, &(struct rlimit){want, want}) == 0)
        rl.rlim_max = want;
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
        fprintf(stderr, "idle_conns: fd limit %lu, holding %lu connections at most\n",
                (unsigned long)rl.rlim_max, (unsigned long)rl.rlim_max - 64);
        count = (long)rl.rlim_max - 64;
    }

    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "idle_conns: bad IPv4 address %s\n", host);
        return 2;
    }
    char req[512];
    int reqlen = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);

    struct conn *c = calloc((size_t)count, sizeof *c);
    int ep = epoll_create1(0);
    if (!c || ep < 0)
        die("setup");
    struct epoll_event evs[512];
    static char buf[1 << 16];

    long started = 0, open = 0, failed = 0, inflight = 0;
    double deadline = now() + timeout;
    while (!stop && (started < count || inflight > 0)) {
        while (started < count && inflight < INFLIGHT) {
            struct conn *k = &c[started];
            k->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            if (k->fd < 0)
                die("socket");
            int one = 1;
            setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(k->fd, (struct sockaddr *)&addr, sizeof addr) != 0 &&
                errno != EINPROGRESS) {
                close(k->fd);
                k->state = ST_DEAD;
                failed++;
                started++;
                continue;
            }
            k->state = ST_CONNECTING;
            struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP,
                                     .data.u64 = (uint64_t)started};
            epoll_ctl(ep, EPOLL_CTL_ADD, k->fd, &ev);
            started++;
            inflight++;
        }
        if (now() > deadline)
            break;
        int n = epoll_wait(ep, evs, 512, 100);
        for (int i = 0; i < n; i++) {
            struct conn *k = &c[evs[i].data.u64];
            if (k->state == ST_CONNECTING && (evs[i].events & EPOLLOUT)) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err || write(k->fd, req, (size_t)reqlen) != reqlen)
                    goto fail;
                k->state = ST_READING;
                k->body_left = -1;
                k->hdr = malloc(HDR_MAX);
                struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data = evs[i].data};
                epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &ev);
                continue;
            }
            if (k->state != ST_READING)
                goto fail;
            for (;;) {
                ssize_t r = read(k->fd, buf, sizeof buf);
                if (r == 0)
                    goto fail;
                if (r < 0) {
                    if (errno == EAGAIN)
                        break;
                    goto fail;
                }
                ssize_t off = 0;
                if (k->body_left < 0) { /* still in the headers */
                    ssize_t take = r < HDR_MAX - 1 - k->hlen ? r : HDR_MAX - 1 - k->hlen;
                    memcpy(k->hdr + k->hlen, buf, (size_t)take);
                    k->hlen += (int)take;
                    k->hdr[k->hlen] = 0;
                    char *end = strstr(k->hdr, "\r\n\r\n");
                    if (!end) {
                        if (k->hlen >= HDR_MAX - 1)
                            goto fail;
                        continue;
                    }
                    *end = 0; /* the header block, as one string */
                    char *cl = strcasestr(k->hdr, "\r\ncontent-length:");
                    long clen = cl ? atol(cl + 17) : 0;
                    if (strncmp(k->hdr, "HTTP/1.1 200", 12) != 0)
                        goto fail;
                    long hdr_bytes = (long)(end + 4 - k->hdr);
                    off = hdr_bytes - (k->hlen - take); /* where the body starts in buf */
                    k->body_left = clen;
                }
                k->body_left -= (long)(r - off);
                if (k->body_left <= 0) { /* whole response in: now idle */
                    free(k->hdr);
                    k->hdr = NULL;
                    k->state = ST_IDLE;
                    inflight--;
                    open++;
                    break;
                }
            }
            continue;
        fail:
            epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
            close(k->fd);
            free(k->hdr);
            k->hdr = NULL;
            if (k->state == ST_CONNECTING || k->state == ST_READING)
                inflight--;
            if (k->state == ST_IDLE)
                open--;
            k->state = ST_DEAD;
            failed++;
        }
    }
    long pending = 0; /* no response by the deadline: not held, closed */
    for (long i = 0; i < started; i++)
        if (c[i].state == ST_CONNECTING || c[i].state == ST_READING) {
            close(c[i].fd);
            c[i].state = ST_DEAD;
            pending++;
        }
    printf("ready %ld %ld\n", open, failed + pending + (count - started));
    fflush(stdout);

    /* Hold: only watch for the server closing idle connections. */
    double until = now() + hold;
    while (!stop && now() < until) {
        int n = epoll_wait(ep, evs, 512, 200);
        for (int i = 0; i < n; i++) {
            struct conn *k = &c[evs[i].data.u64];
            if (k->state != ST_IDLE)
                continue;
            ssize_t r = read(k->fd, buf, sizeof buf);
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, k->fd, NULL);
                close(k->fd);
                k->state = ST_DEAD;
                open--;
            }
        }
    }
    printf("held %ld\n", open);
    fflush(stdout);
    return 0;
}
