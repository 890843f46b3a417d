/* ceiling.c — the fastest an epoll loop answers an 849-byte keep-alive request on this
 * kernel: a reference point for bench/run.sh, NOT a server.
 *
 *   ceiling PORT            listen on 127.0.0.1:PORT until killed
 *
 * It parses nothing and touches no file: every request (whatever it asks for) ends at
 * the first "\r\n\r\n", and each one is answered with the same response, built once at
 * start: pluto's header set for /small.html (so the bytes on the wire match pluto's to
 * within a few) and an 849-byte body. The work left is what any HTTP/1.1 server must do
 * per keep-alive request on epoll: wait, receive, send. What a real server adds on top
 * (parsing, routing, validators, a file cache, timeouts, limits, logging) is the
 * difference between it and this column.
 *
 * One thread, level-triggered epoll. A read's requests are counted and their
 * responses go out together: one send for one request, one writev for several
 * (pipelined), from the same buffer. A socket that takes less waits for EPOLLOUT and
 * is not read meanwhile. No request buffer: the only state a connection has is how
 * far into "\r\n\r\n" its last read ended and how many response bytes it still owes.
 * TCP_NODELAY is set on the listener, which accepted sockets inherit (as in pluto).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

enum { BODY = 849, EVENTS = 256, IOV = 64, RBUF = 64 * 1024 };

struct conn {
    uint64_t owed;      /* response bytes not yet sent */
    uint8_t matched;    /* bytes of "\r\n\r\n" seen at the end of the last read */
    uint8_t blocked;    /* waiting for EPOLLOUT */
};

static char resp[1024 + BODY];
static size_t resp_len;
static struct conn *conns;
static size_t nconns;
static int ep;
static char rbuf[RBUF];                 /* received bytes are only scanned, never kept */

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static void build_response(void)
{
    static const char head[] =
        "HTTP/1.1 200 OK\r\n"
        "Server: ceiling\r\n"
        "Date: Sat, 21 Nov 2026 18:00:00 GMT\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "Content-Length: 849\r\n"
        "ETag: \"a82381-351-18ea258cc429fd99\"\r\n"
        "Last-Modified: Sat, 21 Nov 2026 18:00:00 GMT\r\n"
        "Cache-Control: no-cache\r\n"
        "Accept-Ranges: bytes\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "\r\n";
    memcpy(resp, head, sizeof head - 1);
    resp_len = sizeof head - 1;
    for (int i = 0; i < BODY; i++)
        resp[resp_len++] = i % 64 == 63 ? '\n' : (char)('a' + i % 26);
}

/* Complete request heads in buf[0..n), carrying the partial "\r\n\r\n" match over. */
static uint64_t count_requests(struct conn *c, const char *buf, size_t n)
{
    static const char end[4] = { '\r', '\n', '\r', '\n' };
    uint64_t k = 0;
    unsigned m = c->matched;
    const char *p = buf, *stop = buf + n;
    while (p < stop) {
        if (m == 0) {                   /* skip to the next CR */
            p = memchr(p, '\r', (size_t)(stop - p));
            if (p == NULL)
                break;
        }
        if (*p == end[m]) {
            if (++m == 4) {
                k++;
                m = 0;
            }
        } else {
            m = *p == '\r';
        }
        p++;
    }
    c->matched = (uint8_t)m;
    return k;
}

static void set_interest(int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) != 0)
        die("epoll_ctl");
}

static void drop(int fd)
{
    close(fd);                          /* also leaves the epoll set */
    conns[fd] = (struct conn){ 0 };
}

/* Sends what fd owes: 0 when done or blocked (EPOLLOUT asked for), -1 to close. */
static int flush(int fd)
{
    struct conn *c = &conns[fd];
    while (c->owed > 0) {
        size_t off = (resp_len - c->owed % resp_len) % resp_len;
        ssize_t n;
        if (c->owed <= resp_len) {      /* the usual case: one response, one send */
            n = send(fd, resp + off, (size_t)c->owed, MSG_NOSIGNAL);
        } else {                        /* pipelined: the responses in one writev */
            struct iovec iov[IOV];
            uint64_t left = c->owed;
            int k = 0;
            for (; k < IOV && left > 0; k++) {
                size_t len = k == 0 ? resp_len - off : resp_len;
                if (len > left)
                    len = (size_t)left;
                iov[k] = (struct iovec){ .iov_base = resp + (k == 0 ? off : 0), .iov_len = len };
                left -= len;
            }
            n = writev(fd, iov, k);
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!c->blocked) {
                    c->blocked = 1;
                    set_interest(fd, EPOLLOUT);
                }
                return 0;
            }
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->owed -= (uint64_t)n;
    }
    if (c->blocked) {
        c->blocked = 0;
        set_interest(fd, EPOLLIN);
    }
    return 0;
}

static void on_readable(int fd)
{
    ssize_t n = recv(fd, rbuf, sizeof rbuf, 0);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        drop(fd);
        return;
    }
    struct conn *c = &conns[fd];
    c->owed += count_requests(c, rbuf, (size_t)n) * resp_len;
    if (flush(fd) != 0)
        drop(fd);
}

static void on_accept(int lfd)
{
    for (int i = 0; i < 64; i++) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;                     /* EAGAIN, or EMFILE: retried on the next event */
        if ((size_t)fd >= nconns) {
            close(fd);
            continue;
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
            die("epoll_ctl");
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        die("bind");
    if (listen(fd, 4096) != 0)
        die("listen");
    return fd;
}

int main(int argc, char **argv)
{
    int port = argc == 2 ? atoi(argv[1]) : 0;
    if (port <= 0 || port > 65535) {
        fprintf(stderr, "usage: ceiling PORT   (a fixed 849-byte response on 127.0.0.1:PORT)\n");
        return 2;
    }
    struct rlimit rl;
    nconns = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
                     rl.rlim_cur < 1048576 ? (size_t)rl.rlim_cur : 1048576;
    conns = calloc(nconns, sizeof *conns);
    if (conns == NULL)
        die("calloc");
    build_response();
    int lfd = listen_on(port);
    ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event lev = { .events = EPOLLIN, .data.fd = lfd };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) != 0)
        die("epoll");
    printf("ceiling on 127.0.0.1:%d, %zu-byte response\n", port, resp_len);
    fflush(stdout);
    struct epoll_event evs[EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, EVENTS, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == lfd)
                on_accept(lfd);
            else if (evs[i].events & EPOLLOUT) {
                if (flush(fd) != 0)
                    drop(fd);
            } else
                on_readable(fd);
        }
    }
}
