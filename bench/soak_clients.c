/* soak_clients.c — the connection-level part of `make soak` (bench/soak.sh), against one
 * server on 127.0.0.1: the load wrk does not make.
 *
 *   soak_clients PORT STATS_FILE IDLE CHURN SLOW PATH BIG
 *
 *   IDLE   keep-alive connections held open: each GETs PATH, then stays idle 5-40 s (under
 *          the servers' 60 s idle timeout), then either asks again or closes and reconnects;
 *          one the server closed is reopened after a second
 *   CHURN  clients that each connect, GET PATH with `Connection: close`, read to EOF and
 *          close, 50 ms apart
 *   SLOW   clients cycling through four behaviours, 0.5 s apart:
 *            trickle  GET PATH one byte every 50 ms (a whole head in ~3 s), read the answer
 *            slowread GET BIG through an 8 KiB receive buffer, 4 KiB read every 50 ms
 *            stall    half a request head, then nothing: the server must answer 408
 *            abort    GET BIG, read 256 KiB, then close with a reset (SO_LINGER 0)
 *
 * A response counts as ok when it is complete (Content-Length bytes, or up to EOF after
 * `Connection: close`) with a 2xx/3xx status; a stall's 408 counts as expected, and a
 * trickle's 408 as late (the client took longer than the server's header timeout: only
 * when this machine stalls for seconds); anything else (refused, reset, short, timed out,
 * other status) as an error, logged on stderr (the first 50, then every 1,000th). Every
 * second STATS_FILE is replaced by one line:
 *   open N idle N ok N err N expected N late N
 * (connections open now, of them held idle; the rest cumulative). Runs until SIGTERM.
 * Single-threaded epoll; timers are a scan of every connection each 10 ms tick. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { K_IDLE, K_CHURN, K_SLOW };
enum { B_TRICKLE, B_SLOWREAD, B_STALL, B_ABORT, B_COUNT };
enum { S_WAIT, S_CONNECTING, S_SENDING, S_READING, S_HOLD };
enum { HDR_MAX = 4096, ABORT_AT = 256 * 1024 };

struct conn {
    int fd, kind, behaviour, state;
    double due;      /* S_WAIT: connect; S_SENDING: next byte; S_HOLD: refresh;
                        S_READING (slowread): next read */
    double deadline; /* of the exchange under way */
    const char *req;
    size_t req_len, sent;
    int close_req;   /* the request asked for Connection: close */
    int hlen, hdr_done, status;
    long long clen, got;
    char hdr[HDR_MAX];
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }
static struct sockaddr_in addr;
static int ep;
static unsigned long long n_ok, n_err, n_expected, n_late;
static long n_open, n_idle;
static char req_keep[512], req_close[512], req_big[512], req_stall[256];
static const char *behaviour_name[] = {"trickle", "slowread", "stall", "abort"};
static const char *kind_name[] = {"idle", "churn", "slow"};

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double uniform(double lo, double hi) { return lo + (hi - lo) * (rand() / (RAND_MAX + 1.0)); }

static void watch(struct conn *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Ends the connection; the next exchange starts after PAUSE seconds. */
static void finish(struct conn *c, double pause, int reset) {
    if (c->fd >= 0) {
        if (reset) {
            struct linger l = {1, 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        }
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
        n_open--;
    }
    if (c->state == S_HOLD)
        n_idle--;
    c->state = S_WAIT;
    c->due = now() + pause;
    if (c->kind == K_SLOW)
        c->behaviour = (c->behaviour + 1) % B_COUNT;
}

static void fail(struct conn *c, const char *why) {
    n_err++;
    if (n_err <= 50 || n_err % 1000 == 0)
        fprintf(stderr, "soak_clients: error %llu: %s %s: %s (status %d, %lld of %lld bytes)\n",
                n_err, kind_name[c->kind], c->kind == K_SLOW ? behaviour_name[c->behaviour] : "",
                why, c->status, c->got, c->clen);
    finish(c, 1.0, 0);
}

static void start_exchange(struct conn *c, const char *req, int close_req, double timeout) {
    c->req = req;
    c->req_len = strlen(req);
    c->sent = 0;
    c->close_req = close_req;
    c->hlen = c->hdr_done = c->status = 0;
    c->clen = -1;
    c->got = 0;
    c->deadline = now() + timeout;
}

static void begin(struct conn *c) { /* S_WAIT -> S_CONNECTING */
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        c->due = now() + 1.0;
        return;
    }
    n_open++;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (c->kind == K_IDLE)
        start_exchange(c, req_keep, 0, 30);
    else if (c->kind == K_CHURN)
        start_exchange(c, req_close, 1, 30);
    else if (c->behaviour == B_TRICKLE)
        start_exchange(c, req_close, 1, 30);
    else if (c->behaviour == B_STALL)
        start_exchange(c, req_stall, 1, 40);
    else {
        if (c->behaviour == B_SLOWREAD) {
            int rcv = 8192;
            setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
        }
        start_exchange(c, req_big, 1, 300);
    }
    c->state = S_CONNECTING;
    struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS)
        fail(c, strerror(errno));
}

static int trickles(const struct conn *c) {
    return c->kind == K_SLOW && (c->behaviour == B_TRICKLE || c->behaviour == B_STALL);
}

/* Sends what the behaviour allows now: one byte when trickling, else all of it. */
static void send_some(struct conn *c) {
    size_t n = trickles(c) ? 1 : c->req_len - c->sent;
    ssize_t w = send(c->fd, c->req + c->sent, n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN) {
        fail(c, "send");
        return;
    }
    if (w > 0)
        c->sent += (size_t)w;
    c->due = now() + 0.05;
    if (c->sent < c->req_len)
        return;
    c->state = S_READING;
    int paced = c->kind == K_SLOW && c->behaviour == B_SLOWREAD;
    watch(c, paced ? 0 : EPOLLIN);
}

/* Counts N received bytes into the response; 1 once it is complete, -1 on a bad head. */
static int feed(struct conn *c, const char *p, size_t n) {
    if (!c->hdr_done) {
        size_t room = HDR_MAX - 1 - (size_t)c->hlen, take = n < room ? n : room;
        memcpy(c->hdr + c->hlen, p, take);
        c->hlen += (int)take;
        c->hdr[c->hlen] = 0;
        char *end = strstr(c->hdr, "\r\n\r\n");
        if (!end)
            return c->hlen == HDR_MAX - 1 ? -1 : 0;
        c->hdr_done = 1;
        if (strncmp(c->hdr, "HTTP/1.1 ", 9) != 0)
            return -1;
        c->status = atoi(c->hdr + 9);
        *end = 0;
        char *cl = strcasestr(c->hdr, "\r\ncontent-length:");
        c->clen = cl ? atoll(cl + 17) : -1;
        c->got = (long long)(c->hlen - (end + 4 - c->hdr)) + (long long)(n - take);
    } else {
        c->got += (long long)n;
    }
    return c->clen >= 0 && c->got >= c->clen;
}

/* The response is in (or EOF came): judge it and go on. */
static void done(struct conn *c, int eof) {
    int good = c->status >= 200 && c->status < 400;
    if (c->kind == K_SLOW && c->behaviour == B_TRICKLE && c->status == 408) {
        n_late++; /* the server was right: this client took longer than its header timeout */
        return finish(c, 0.5, 0);
    }
    if (c->kind == K_SLOW && c->behaviour == B_STALL) {
        if (c->status == 408)
            n_expected++;
        else
            return fail(c, "stall: no 408");
        return finish(c, 0.5, 0);
    }
    if (!good)
        return fail(c, "status");
    if (c->clen >= 0 && c->got != c->clen)
        return fail(c, "length");
    n_ok++;
    if (c->kind == K_IDLE && !eof && !c->close_req) {
        c->state = S_HOLD;
        n_idle++;
        c->due = now() + uniform(5, 40);
        watch(c, EPOLLIN);
        return;
    }
    finish(c, c->kind == K_CHURN ? 0.05 : 0.5, 0);
}

static void on_readable(struct conn *c, size_t chunk) {
    static char buf[1 << 16];
    if (chunk > sizeof buf)
        chunk = sizeof buf;
    for (;;) {
        ssize_t r = recv(c->fd, buf, chunk, 0);
        if (r == 0) {
            if (c->state == S_HOLD)
                return fail(c, "closed while idle");
            if (!c->hdr_done)
                return fail(c, "EOF before the head");
            if (c->clen >= 0 && c->got < c->clen)
                return fail(c, "EOF before the end");
            return done(c, 1);
        }
        if (r < 0 && errno == EAGAIN)
            return;
        if (r < 0 && c->hdr_done && c->clen >= 0 && c->got >= c->clen)
            return done(c, 1); /* a reset after the whole response: closed with our bytes
                                  unread (a trickle still sending after a 408) */
        if (r < 0)
            return fail(c, strerror(errno));
        if (c->state == S_HOLD)
            return fail(c, "bytes while idle");
        int st = feed(c, buf, (size_t)r);
        if (st < 0)
            return fail(c, "bad head");
        if (c->kind == K_SLOW && c->behaviour == B_ABORT && c->got >= ABORT_AT) {
            n_ok++;
            return finish(c, 0.5, 1);
        }
        if (st == 1 && !c->close_req)
            return done(c, 0);
        if (c->kind == K_SLOW && c->behaviour == B_SLOWREAD)
            return; /* one chunk per tick */
    }
}

static void on_event(struct conn *c, unsigned events) {
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err)
            return fail(c, strerror(err));
        c->state = S_SENDING;
        watch(c, trickles(c) ? EPOLLIN : 0); /* a trickling client hears a 408 early */
        send_some(c);
        return;
    }
    if (c->state == S_SENDING) { /* a response (408) before the head was whole */
        c->state = S_READING;
        watch(c, EPOLLIN);
    }
    if (c->state == S_READING || c->state == S_HOLD)
        on_readable(c, 1 << 16);
    (void)events; /* level-triggered: a read tells EOF and errors apart */
}

static void on_tick(struct conn *c, double t) {
    if (c->state == S_WAIT) {
        if (t >= c->due)
            begin(c);
        return;
    }
    if (c->state != S_HOLD && t > c->deadline)
        return fail(c, "timeout");
    if (t < c->due)
        return;
    if (c->state == S_SENDING && c->sent < c->req_len) {
        if (c->kind == K_SLOW && c->behaviour == B_STALL && c->sent >= c->req_len / 2) {
            c->due = c->deadline; /* half a head, then silence */
            return;
        }
        send_some(c);
    } else if (c->state == S_READING && c->kind == K_SLOW && c->behaviour == B_SLOWREAD) {
        c->due = t + 0.05;
        on_readable(c, 4096);
    } else if (c->state == S_HOLD) {
        n_idle--;
        if (rand() % 2) { /* ask again on the same connection */
            start_exchange(c, req_keep, 0, 30);
            c->state = S_SENDING;
            watch(c, 0);
            send_some(c);
        } else {
            c->state = S_SENDING; /* not idle any more: finish() must not count it */
            finish(c, 0, 0);
        }
    }
}

static void write_stats(const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "open %ld idle %ld ok %llu err %llu expected %llu late %llu\n", n_open, n_idle,
            n_ok, n_err, n_expected, n_late);
    if (fclose(f) == 0)
        rename(tmp, path);
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s PORT STATS_FILE IDLE CHURN SLOW PATH BIG\n", argv[0]);
        return 2;
    }
    const char *stats = argv[2];
    int idle = atoi(argv[3]), churn = atoi(argv[4]), slow = atoi(argv[5]);
    int total = idle + churn + slow;
    addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    snprintf(req_keep, sizeof req_keep, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", argv[6]);
    snprintf(req_close, sizeof req_close,
             "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", argv[6]);
    snprintf(req_big, sizeof req_big,
             "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", argv[7]);
    snprintf(req_stall, sizeof req_stall, "GET %s HTTP/1.1\r\nHost: localhost\r\nX-Pad: %s\r\n",
             argv[6], "abcdefghijklmnopqrstuvwxyz");

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    srand((unsigned)getpid());

    struct conn *cs = calloc((size_t)total, sizeof *cs);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (!cs || ep < 0) {
        perror("soak_clients: setup");
        return 1;
    }
    double t0 = now();
    for (int i = 0; i < total; i++) {
        struct conn *c = &cs[i];
        c->fd = -1;
        c->kind = i < idle ? K_IDLE : i < idle + churn ? K_CHURN : K_SLOW;
        c->behaviour = i % B_COUNT;
        c->due = t0 + i * 0.002; /* 500 connects a second at the start */
    }
    double next_stats = t0;
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, 10);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->fd >= 0)
                on_event(c, evs[i].events);
        }
        double t = now();
        for (int i = 0; i < total; i++)
            on_tick(&cs[i], t);
        if (t >= next_stats) {
            write_stats(stats);
            next_stats = t + 1.0;
        }
    }
    write_stats(stats);
    for (int i = 0; i < total; i++)
        if (cs[i].fd >= 0)
            close(cs[i].fd);
    free(cs);
    return 0;
}
