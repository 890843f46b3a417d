/* load.c — a lean HTTP/1.1 load generator: the client of bench/run.sh's `lean` rows.
 *
 *   load HOST PORT PATH CONNS SECONDS [close]
 *
 * CONNS connections, each with exactly one GET PATH in flight: the next request leaves
 * only once the whole previous response (framed by Content-Length) came back. With
 * `close`, every request carries "Connection: close" and goes on a new connection.
 * After SECONDS it prints, like bench/report.lua does for wrk, one line
 *
 *   WRKRESULT requests bytes duration_us connect read write status timeout
 *
 * requests: complete responses; bytes: all bytes received; the last five are error
 * counts (a failed connect; a connection that closed or failed mid-response; a failed
 * send; a status other than 200 or a head it cannot frame; timeout is always 0 here).
 *
 * Why another client: on this 2-core machine wrk, pinned to one core, needs more CPU per
 * request (about 9.7 µs) than the servers it measures, so it, not the server, sets the
 * req/s of the small-file rows. This one does what wrk does per request — wait, receive,
 * frame the response, send the next request — and nothing else: no latency histogram,
 * no scripting hooks, no byte-at-a-time parser. It still checks every response's status
 * line and length, so a server cannot win by answering wrongly.
 *
 * Its system calls are what make it lean: on io_uring (liburing), a connection's
 * receives are one multishot receive into a ring of provided buffers, and the requests
 * that a loop turn's responses call for leave in one io_uring_enter, which also waits.
 * An epoll client needs a recv and a send per request, wrk an epoll_ctl or two more;
 * their kernel time, not their parsing, is most of their CPU. One thread. A connection
 * the server closes between two responses (a keep-alive limit) is reopened, as wrk
 * does; in `close` mode the client waits for the server's close, then reconnects. */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { NBUFS = 1024, BUFSZ = 16384, BGID = 7, HEAD_MAX = 4096 };
enum { OP_CONNECT, OP_RECV, OP_SEND };

struct conn {
    int fd;
    uint32_t gen;       /* bumped at each reopen: completions of an older socket are stale */
    int in_body;        /* the head is in, the body is being counted */
    int dead;           /* shut down after an error: waiting for its receive to end */
    uint64_t body_left; /* body bytes still to come */
    size_t hlen;        /* head bytes kept in head[] while it is incomplete */
    char head[HEAD_MAX];
};

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static char *bufs;
static unsigned br_added; /* buffers given back this turn, not yet published */
static struct sockaddr_storage addr;
static socklen_t addr_len;
static struct conn *cs;
static char req[1024];
static size_t req_len;
static int close_mode;
static uint64_t n_req, n_bytes, e_connect, e_read, e_write, e_status;

static void die(const char *what, int err)
{
    fprintf(stderr, "load: %s: %s\n", what, strerror(err));
    exit(1);
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct io_uring_sqe *sqe_get(void)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    if (sqe == NULL) { /* full: hand what is queued to the kernel and take a new one */
        io_uring_submit(&ring);
        sqe = io_uring_get_sqe(&ring);
        if (sqe == NULL)
            die("io_uring_get_sqe", EBUSY);
    }
    return sqe;
}

static void queue(struct conn *c, int op, struct io_uring_sqe *sqe)
{
    uint64_t idx = (uint64_t)(c - cs);
    io_uring_sqe_set_data64(sqe, idx | (uint64_t)op << 24 | (uint64_t)c->gen << 32);
}

/* A new socket for c, its connect queued. */
static void open_conn(struct conn *c)
{
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        die("socket", errno);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->gen++;
    c->in_body = 0;
    c->dead = 0;
    c->hlen = 0;
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)&addr, addr_len);
    queue(c, OP_CONNECT, sqe);
}

static void arm_recv(struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_recv_multishot(sqe, c->fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = BGID;
    queue(c, OP_RECV, sqe);
}

static void send_request(struct conn *c)
{
    struct io_uring_sqe *sqe = sqe_get();
    io_uring_prep_send(sqe, c->fd, req, req_len, MSG_NOSIGNAL);
    queue(c, OP_SEND, sqe);
}

/* An error on a live connection: shut it down; its receive then ends, and reopens it. */
static void kill_conn(struct conn *c)
{
    if (!c->dead) {
        c->dead = 1;
        shutdown(c->fd, SHUT_RDWR);
    }
}

/* The value of Content-Length in head[0..len) (which ends at its blank line), or -1. */
static int64_t content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    const char *p = head, *end = head + len;
    while ((p = memchr(p, '\r', (size_t)(end - p))) != NULL) {
        if ((size_t)(end - p) > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
            p += sizeof name - 1;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p < '0' || *p > '9')
                return -1;
            int64_t v = 0;
            while (*p >= '0' && *p <= '9' && v < (INT64_C(1) << 50))
                v = v * 10 + (*p++ - '0');
            return v;
        }
        p++;
    }
    return -1;
}

/* A whole response came back: count it and, on keep-alive, ask for the next. With
 * `close`, the server's close (the receive's end) brings the next connection. */
static void response_done(struct conn *c)
{
    n_req++;
    c->in_body = 0;
    c->hlen = 0;
    if (!close_mode)
        send_request(c);
}

/* Frames the bytes of one receive. */
static void consume(struct conn *c, const char *p, size_t n)
{
    while (n > 0 && !c->dead) {
        if (c->in_body) {
            size_t take = c->body_left < n ? (size_t)c->body_left : n;
            c->body_left -= take;
            p += take;
            n -= take;
            if (c->body_left == 0)
                response_done(c);
            continue;
        }
        /* A head: usually whole in this receive; kept in c->head only when split. */
        const char *head = p;
        size_t have = n, old = c->hlen;
        if (old > 0) {
            size_t add = n < HEAD_MAX - old ? n : HEAD_MAX - old;
            memcpy(c->head + old, p, add);
            head = c->head;
            have = old + add;
        }
        const char *end = memmem(head, have, "\r\n\r\n", 4);
        if (end == NULL) {
            if (have >= HEAD_MAX) {
                e_status++;
                kill_conn(c);
                return;
            }
            if (old == 0)
                memcpy(c->head, p, n);
            c->hlen = have;
            return;
        }
        size_t hlen = (size_t)(end - head) + 4;
        int64_t cl = content_length(head, hlen);
        if (hlen < 13 || memcmp(head, "HTTP/1.1 200 ", 13) != 0 || cl < 0) {
            e_status++;
            kill_conn(c);
            return;
        }
        p += hlen - old; /* this receive's share of the head */
        n -= hlen - old;
        c->hlen = 0;
        c->in_body = 1;
        c->body_left = (uint64_t)cl;
        if (cl == 0)
            response_done(c);
    }
}

static void give_back(unsigned bid)
{
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUFSZ, BUFSZ, (unsigned short)bid,
                          io_uring_buf_ring_mask(NBUFS), (int)br_added++);
}

static void on_cqe(const struct io_uring_cqe *cqe)
{
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    struct conn *c = &cs[ud & 0xffffff];
    int op = (int)(ud >> 24 & 0xff), res = cqe->res;
    if (op == OP_RECV && (cqe->flags & IORING_CQE_F_BUFFER))
        give_back(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
    if ((uint32_t)(ud >> 32) != c->gen)
        return; /* an older socket of this connection */
    switch (op) {
    case OP_CONNECT:
        if (res < 0) {
            e_connect++;
            close(c->fd);
            open_conn(c);
            return;
        }
        arm_recv(c);
        send_request(c);
        return;
    case OP_SEND:
        if (res != (int)req_len && !c->dead) { /* a request is far below any socket buffer */
            e_write++;
            kill_conn(c);
        }
        return;
    case OP_RECV:
        if (res > 0) {
            n_bytes += (uint64_t)res;
            consume(c, bufs + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) * BUFSZ,
                    (size_t)res);
            if (!(cqe->flags & IORING_CQE_F_MORE))
                arm_recv(c);
            return;
        }
        if (res == -ENOBUFS) { /* the buffer ring ran dry: the bytes wait in the socket */
            arm_recv(c);
            return;
        }
        if ((c->in_body || c->hlen > 0) && !c->dead) /* closed or failed mid-response */
            e_read++;
        if (cqe->flags & IORING_CQE_F_MORE) /* an error that did not end the receive */
            kill_conn(c);
        else {
            close(c->fd);
            open_conn(c);
        }
        return;
    }
}

static void ring_init(unsigned entries)
{
    /* The flags that keep completions' work inside io_uring_enter, where this kernel has
     * them (6.1 and later); without them, plain. */
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int err = 0;
    for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
        struct io_uring_params p = { .flags = tries[i] | IORING_SETUP_CQSIZE |
                                              IORING_SETUP_SUBMIT_ALL,
                                     .cq_entries = entries * 4 };
        err = io_uring_queue_init_params(entries, &ring, &p);
        if (err == 0)
            break;
    }
    if (err != 0)
        die("io_uring_queue_init", -err);
    size_t ring_bytes = NBUFS * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes + (size_t)NBUFS * BUFSZ, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        die("mmap", errno);
    br = mem;
    bufs = (char *)mem + ring_bytes;
    struct io_uring_buf_reg reg = { .ring_addr = (uint64_t)(uintptr_t)br,
                                    .ring_entries = NBUFS, .bgid = BGID };
    err = io_uring_register_buf_ring(&ring, &reg, 0);
    if (err != 0)
        die("io_uring_register_buf_ring", -err);
    io_uring_buf_ring_init(br);
    for (unsigned bid = 0; bid < NBUFS; bid++)
        give_back(bid);
    io_uring_buf_ring_advance(br, (int)br_added);
    br_added = 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: load HOST PORT PATH CONNS SECONDS [close]\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "close") == 0))
        return usage();
    close_mode = argc == 7;
    char *e1, *e2;
    long conns = strtol(argv[4], &e1, 10);
    double secs = strtod(argv[5], &e2);
    if (*e1 || *e2 || conns < 1 || conns > 65536 || !(secs > 0) || argv[3][0] != '/')
        return usage();
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
    int rc = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "load: %s: %s\n", argv[1], gai_strerror(rc));
        return 1;
    }
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    addr_len = ai->ai_addrlen;
    freeaddrinfo(ai);
    int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\n%s\r\n", argv[3],
                       argv[1], argv[2], close_mode ? "Connection: close\r\n" : "");
    if (len < 0 || (size_t)len >= sizeof req)
        return usage();
    req_len = (size_t)len;

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)conns + 64) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)conns + 64 ? rl.rlim_max : (rlim_t)conns + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    ring_init(conns < 1024 ? 4096 : (unsigned)conns * 4 > 32768 ? 32768 : (unsigned)conns * 4);
    cs = calloc((size_t)conns, sizeof *cs);
    if (cs == NULL)
        die("calloc", errno);
    uint64_t t0 = now_us(), stop = t0 + (uint64_t)(secs * 1e6), t = t0;
    for (long i = 0; i < conns; i++)
        open_conn(&cs[i]);
    while (t < stop) {
        /* One enter a turn: this turn's sends and receive re-arms go in, completions out. */
        struct __kernel_timespec ts = { 0, 100 * 1000 * 1000 };
        struct io_uring_cqe *cqe;
        int r = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
        if (r < 0 && r != -ETIME && r != -EINTR)
            die("io_uring_submit_and_wait_timeout", -r);
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            on_cqe(cqe);
            seen++;
        }
        io_uring_cq_advance(&ring, seen);
        if (br_added > 0) {
            io_uring_buf_ring_advance(br, (int)br_added);
            br_added = 0;
        }
        t = now_us();
    }
    printf("WRKRESULT %llu %llu %llu %llu %llu %llu %llu 0\n", (unsigned long long)n_req,
           (unsigned long long)n_bytes, (unsigned long long)(t - t0),
           (unsigned long long)e_connect, (unsigned long long)e_read,
           (unsigned long long)e_write, (unsigned long long)e_status);
    return 0;
}
