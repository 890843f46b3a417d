/* linger_client.c — a client that is still sending when the server answers an
 * error and hangs up, for tests/http/test_serve_linger.sh (a server that
 * closes a socket with unread bytes, or gets bytes after the close, makes
 * its kernel send a reset instead of the end of the stream).
 *
 *   linger_client PORT big BYTES [head|line|body|bad]
 *       about BYTES bytes written in one go without reading, then the answer
 *       read until the server's end of stream: a request head of header
 *       lines (head, the default), a request line without its end (line), a
 *       short head announcing a body of BYTES, then the body (body), or a
 *       head with both Content-Length and chunked (a framing error), then
 *       BYTES of what would be its body (bad)
 *   linger_client PORT trickle MS EXTRA
 *       a head sent one byte every MS ms until the answer can be read, then
 *       EXTRA more bytes at the same pace; then the answer read to its end
 *   linger_client PORT flood SECONDS
 *       an endless head, as fast as the server takes it, never reading, until
 *       a send fails or SECONDS pass
 *   linger_client PORT drip MS SECONDS [FIRST]
 *       an endless head, its first FIRST bytes at once (default 1), then one
 *       byte every MS ms, never reading, until a send fails or SECONDS pass
 *
 * Prints one line on stdout:
 *   sent N send ok|ERRNO_NAME status S complete yes|no end eof|reset|timeout|none ms T
 * where status and complete describe the first response (framed by its
 * Content-Length), end how reading ended, and T the ms from the connect to
 * the end (of reading, or of sending when nothing is read). Every wait is
 * bounded (15 s). Exit 0 whatever the server did; 1 when it cannot connect;
 * 2 on bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char HEAD[] = "GET / HTTP/1.1\r\nHost: x\r\nX-Pad: ";

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static const char *err_name(int e)
{
    switch (e) {
    case 0: return "ok";
    case ECONNRESET: return "ECONNRESET";
    case EPIPE: return "EPIPE";
    case EAGAIN: return "timeout";
    default: return strerror(e);
    }
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        fprintf(stderr, "linger_client: connect to port %d: %s\n", port, strerror(errno));
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval tv = { 15, 0 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

/* One byte (or len) out; 0 or the errno of the failure. */
static int put(int fd, const char *p, size_t len, size_t *sent)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        *sent += (size_t)n;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The byte of an endless head at offset i. */
static char pad_byte(size_t i)
{
    return i < sizeof HEAD - 1 ? HEAD[i] : 'a';
}

static bool readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) > 0;
}

/* A request of about len bytes of the given kind (see the top), or NULL. */
static char *big_request(size_t len, const char *kind, size_t *n)
{
    char *req = malloc(len + 256);
    if (req == NULL)
        return NULL;
    char pad[81];
    memset(pad, 'a', 80);
    pad[80] = 0;
    *n = 0;
    if (!strcmp(kind, "line")) {
        *n = (size_t)snprintf(req, 16, "GET /");
        memset(req + *n, 'a', len - *n);
        *n = len;
        return req;
    }
    if (!strcmp(kind, "body") || !strcmp(kind, "bad")) {
        const char *te = kind[1] == 'a' ? "Transfer-Encoding: chunked\r\n" : "";
        *n = (size_t)snprintf(req, 256, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                              "%s\r\n", len, te);
        memset(req + *n, 'a', len);
        *n += len;
        return req;
    }
    if (strcmp(kind, "head") != 0) {
        free(req);
        return NULL;
    }
    *n = (size_t)snprintf(req, 64, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int k = 0; *n + 100 <= len; k++)          /* 96-byte lines */
        *n += (size_t)snprintf(req + *n, 101, "X-Pad-%06d: %s\r\n", k, pad);
    memcpy(req + *n, "\r\n", 2);                  /* the head's end: a head, however long */
    *n += 2;
    return req;
}

/* Read to the end; the response's status and whether it came whole. */
static const char *read_answer(int fd, int *status, bool *complete)
{
    static char buf[1 << 16];
    size_t n = 0;
    const char *end = "eof";
    for (;;) {
        char tmp[4096];
        ssize_t r = recv(fd, tmp, sizeof tmp, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            end = errno == ECONNRESET ? "reset" : errno == EAGAIN ? "timeout" : strerror(errno);
            break;
        }
        if (r == 0)
            break;
        size_t take = (size_t)r < sizeof buf - n ? (size_t)r : sizeof buf - n;
        memcpy(buf + n, tmp, take);
        n += take;
    }
    *status = 0;
    *complete = false;
    if (n > 12 && strncmp(buf, "HTTP/1.", 7) == 0)
        *status = atoi(buf + 9);
    const char *hend = memmem(buf, n, "\r\n\r\n", 4);
    const char *cl = hend ? strcasestr(buf, "\r\nContent-Length:") : NULL;
    if (cl != NULL && cl < hend) {
        size_t body = strtoul(cl + 17, NULL, 10), hl = (size_t)(hend + 4 - buf);
        *complete = n >= hl + body;
    }
    return end;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        goto usage;
    int port = atoi(argv[1]);
    const char *mode = argv[2];
    long a = atol(argv[3]), b = argc > 4 ? atol(argv[4]) : 0;
    int fd = connect_port(port);
    int64_t t0 = now_ms();
    size_t sent = 0;
    int err = 0, status = 0;
    bool complete = false, read_it = true;
    const char *end = "none";
    if (!strcmp(mode, "big") && a > 0) {
        size_t n = 0;
        char *req = big_request((size_t)a, argc > 4 ? argv[4] : "head", &n);
        if (req == NULL)
            goto usage;
        err = put(fd, req, n, &sent);
        free(req);
    } else if (!strcmp(mode, "trickle") && a > 0 && argc > 4) {
        long left = -1;                 /* bytes still to send once answered */
        for (size_t i = 0; now_ms() - t0 < 15000; i++) {
            char c = pad_byte(i);
            if ((err = put(fd, &c, 1, &sent)) != 0 || left == 0 || (left > 0 && --left == 0))
                break;
            sleep_ms(a);
            if (left < 0 && readable(fd))
                left = b;
        }
    } else if ((!strcmp(mode, "flood") && a > 0) || (!strcmp(mode, "drip") && b > 0)) {
        bool drip = mode[0] == 'd';
        long secs = drip ? b : a, first = drip && argc > 5 ? atol(argv[5]) : 1;
        static char head0[16384], more[16384];
        size_t n_first = 0;
        memset(head0, 'a', sizeof head0);
        memset(more, 'a', sizeof more);
        memcpy(head0, HEAD, sizeof HEAD - 1);
        read_it = false;
        for (size_t i = 0; now_ms() - t0 < secs * 1000;) {
            char c = pad_byte(i);
            size_t before = sent;
            if (drip && i == 0 && first > 1) {
                char *req = big_request((size_t)first, "head", &n_first);
                err = put(fd, req, n_first - 4, &sent);     /* the head goes on */
                free(req);
            } else {
                err = drip ? put(fd, &c, 1, &sent)
                           : put(fd, i == 0 ? head0 : more, sizeof more, &sent);
            }
            i += sent - before;
            if (err != 0 && err != EAGAIN)
                break;
            err = 0;
            if (drip)
                sleep_ms(a);
        }
    } else {
        goto usage;
    }
    if (read_it)
        end = read_answer(fd, &status, &complete);
    printf("sent %zu send %s status %d complete %s end %s ms %lld\n", sent, err_name(err),
           status, complete ? "yes" : "no", end, (long long)(now_ms() - t0));
    close(fd);
    return 0;
usage:
    fprintf(stderr, "usage: linger_client PORT big BYTES [head|line|body|bad] | trickle MS EXTRA"
                    " | flood SECONDS | drip MS SECONDS [FIRST]\n");
    return 2;
}
