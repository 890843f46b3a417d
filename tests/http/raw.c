/* raw.c — a tiny raw HTTP client for the black-box tests of the static server.
 *
 *   raw HOST PORT [--timeout S] [--half-close] [--delay-ms N] [--clients N]
 *       [--split PREFIX]
 *
 * Reads the request bytes from stdin and sends them exactly as given (bare CR,
 * NUL, several pipelined requests in one write: whatever the test needs), then
 * prints everything the server sends back until the server closes the
 * connection or the timeout (default 5 s, fractions allowed) passes.
 *
 *   --delay-ms N   send one byte every N ms instead of everything in one write
 *                  (a slow client); reading goes on meanwhile, and sending stops
 *                  as soon as the server closes
 *   --half-close   shutdown(SHUT_WR) once every byte is sent
 *   --clients N    open N connections doing the same thing at once (slowloris
 *                  at scale); stdout then gets one line per client instead of
 *                  the bytes: "I closed|reset|timeout MS FIRST-LINE"
 *   --split PREFIX also cut what came back into responses, framed by
 *                  Content-Length (none: no body; so not for answers to HEAD):
 *                  PREFIX.list gets "N STATUS BODY-BYTES" per response, PREFIX.N
 *                  the body of response N (from 1); trailing bytes that do not
 *                  make a whole response are listed as "N partial BYTES"
 *
 * On stderr, last: "CLOSED after MS ms" when the server closed (EOF),
 * "RESET after MS ms" on a connection reset, or "TIMEOUT after MS ms" when the
 * server had not closed by the timeout; with --clients, a summary line
 * "clients N closed C timeout T max_ms M". MS counts from the connect.
 * Exit 0 whatever the server did; 1 when the connection cannot be made; 2 on
 * bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { ST_OPEN, ST_CLOSED, ST_RESET };

typedef struct client {
    int fd;
    size_t sent;            /* bytes of the request written */
    int64_t next_ms;        /* when the next byte may go (delay mode) */
    int state;
    int64_t end_ms;         /* when the server closed */
    bool shut;              /* half-closed */
    char first[128];        /* first line of the answer (--clients) */
    size_t first_len;
    bool first_done;
} client;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void)
{
    fprintf(stderr, "usage: raw HOST PORT [--timeout S] [--half-close] [--delay-ms N] "
                    "[--clients N] [--split PREFIX]   (request bytes on stdin)\n");
    exit(2);
}

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL)
            exit(1);
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    *len = n;
    return buf;
}

static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *ai;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "raw: %s: %s\n", host, gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, "raw: cannot connect to %s port %s: %s\n", host, port, strerror(errno));
    freeaddrinfo(res);
    if (fd >= 0) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return fd;
}

/* The value of header name in head[0..n), or NULL. */
static const char *header_value(const char *head, size_t n, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    for (const char *p = head; p < head + n;) {
        const char *eol = memmem(p, (size_t)(head + n - p), "\r\n", 2);
        if (eol == NULL)
            eol = head + n;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        p = eol + 2;
    }
    return NULL;
}

static int split(const char *prefix, const char *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s.list", prefix);
    FILE *list = fopen(path, "w");
    if (list == NULL)
        return -1;
    size_t i = 0;
    for (int k = 1; i < n; k++) {
        const char *end = memmem(d + i, n - i, "\r\n\r\n", 4);
        size_t vlen = 0, body = 0;
        if (end == NULL) {
            fprintf(list, "%d partial %zu\n", k, n - i);
            break;
        }
        size_t hl = (size_t)(end - (d + i)) + 4;
        const char *v = header_value(d + i, hl, "Content-Length", &vlen);
        if (v != NULL)
            body = (size_t)strtoull(v, NULL, 10);
        if (hl + body > n - i) {
            fprintf(list, "%d partial %zu\n", k, n - i);
            break;
        }
        int status = 0;
        if (hl > 12 && strncmp(d + i, "HTTP/1.", 7) == 0)
            status = atoi(d + i + 9);
        fprintf(list, "%d %d %zu\n", k, status, body);
        snprintf(path, sizeof path, "%s.%d", prefix, k);
        FILE *f = fopen(path, "w");
        if (f == NULL)
            return -1;
        fwrite(d + i + hl, 1, body, f);
        fclose(f);
        i += hl + body;
    }
    fclose(list);
    return 0;
}

static void finish(client *c, int state, int64_t t)
{
    c->state = state;
    c->end_ms = t;
    close(c->fd);
    c->fd = -1;
}

int main(int argc, char **argv)
{
    double timeout_s = 5;
    long delay_ms = 0, nclients = 1;
    bool half_close = false;
    const char *host = NULL, *port = NULL, *split_prefix = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
            timeout_s = atof(argv[++i]);
        else if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc)
            delay_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
            nclients = atol(argv[++i]);
        else if (!strcmp(argv[i], "--split") && i + 1 < argc)
            split_prefix = argv[++i];
        else if (!strcmp(argv[i], "--half-close"))
            half_close = true;
        else if (argv[i][0] == '-')
            usage();
        else if (host == NULL)
            host = argv[i];
        else if (port == NULL)
            port = argv[i];
        else
            usage();
    }
    if (host == NULL || port == NULL || timeout_s <= 0 || delay_ms < 0 || nclients < 1 ||
        nclients > 20000 || (split_prefix != NULL && nclients > 1))
        usage();
    signal(SIGPIPE, SIG_IGN);

    size_t len;
    char *req = read_all(stdin, &len);
    client *cl = calloc((size_t)nclients, sizeof *cl);
    struct pollfd *pf = calloc((size_t)nclients, sizeof *pf);
    if (cl == NULL || pf == NULL)
        return 1;
    int64_t start = now_ms(), deadline = start + (int64_t)(timeout_s * 1000);
    for (long i = 0; i < nclients; i++) {
        cl[i].fd = connect_to(host, port);
        if (cl[i].fd < 0)
            return 1;
        cl[i].next_ms = now_ms();
    }
    bool single = nclients == 1;
    long open = nclients;
    char buf[65536];
    char *got = NULL;               /* --split: everything received */
    size_t got_len = 0, got_cap = 0;
    while (open > 0) {
        int64_t t = now_ms();
        if (t >= deadline)
            break;
        int64_t wait = deadline - t;
        for (long i = 0; i < nclients; i++) {
            client *c = &cl[i];
            pf[i].fd = c->fd;
            pf[i].events = 0;
            if (c->fd < 0)
                continue;
            pf[i].events = POLLIN;
            if (c->sent < len) {
                if (delay_ms == 0)
                    pf[i].events |= POLLOUT;
                else if (c->next_ms - t < wait)
                    wait = c->next_ms - t > 0 ? c->next_ms - t : 0;
            }
        }
        int n = poll(pf, (nfds_t)nclients, (int)wait);
        if (n < 0 && errno != EINTR) {
            perror("raw: poll");
            return 1;
        }
        t = now_ms();
        for (long i = 0; i < nclients; i++) {
            client *c = &cl[i];
            if (c->fd < 0)
                continue;
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = read(c->fd, buf, sizeof buf);
                if (r > 0) {
                    if (single) {
                        fwrite(buf, 1, (size_t)r, stdout);
                        if (split_prefix != NULL) {
                            while (got_len + (size_t)r > got_cap) {
                                got_cap = got_cap ? got_cap * 2 : 1 << 20;
                                got = realloc(got, got_cap);
                                if (got == NULL)
                                    return 1;
                            }
                            memcpy(got + got_len, buf, (size_t)r);
                            got_len += (size_t)r;
                        }
                    } else {
                        for (ssize_t k = 0; k < r && !c->first_done; k++) {
                            if (buf[k] == '\r' || buf[k] == '\n')
                                c->first_done = true;
                            else if (c->first_len + 1 < sizeof c->first)
                                c->first[c->first_len++] = buf[k];
                        }
                    }
                } else if (r == 0) {
                    finish(c, ST_CLOSED, t), open--;
                    continue;
                } else if (errno != EAGAIN && errno != EINTR) {
                    finish(c, ST_RESET, t), open--;
                    continue;
                }
            }
            bool may_send = delay_ms == 0 ? (pf[i].revents & POLLOUT) != 0 : t >= c->next_ms;
            if (c->sent < len && may_send) {
                size_t want = delay_ms == 0 ? len - c->sent : 1;
                ssize_t w = write(c->fd, req + c->sent, want);
                if (w > 0) {
                    c->sent += (size_t)w;
                    c->next_ms = t + delay_ms;
                } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
                    c->sent = len;  /* the server is gone for writing: just read */
                }
            }
            if (half_close && c->sent == len && !c->shut) {
                shutdown(c->fd, SHUT_WR);
                c->shut = true;
            }
        }
    }
    int64_t end = now_ms();
    fflush(stdout);
    if (single) {
        client *c = &cl[0];
        if (split_prefix != NULL && split(split_prefix, got, got_len) != 0)
            fprintf(stderr, "raw: cannot write %s.*\n", split_prefix);
        fprintf(stderr, "sent %zu of %zu bytes\n", c->sent, len);
        if (c->state == ST_OPEN)
            fprintf(stderr, "TIMEOUT after %lld ms (the server did not close)\n",
                    (long long)(end - start));
        else
            fprintf(stderr, "%s after %lld ms\n", c->state == ST_CLOSED ? "CLOSED" : "RESET",
                    (long long)(c->end_ms - start));
        return 0;
    }
    long closed = 0, timedout = 0;
    int64_t max_ms = 0;
    for (long i = 0; i < nclients; i++) {
        client *c = &cl[i];
        c->first[c->first_len] = 0;
        const char *st = c->state == ST_CLOSED ? "closed" : c->state == ST_RESET ? "reset"
                                                                                 : "timeout";
        int64_t ms = (c->state == ST_OPEN ? end : c->end_ms) - start;
        printf("%ld %s %lld %s\n", i, st, (long long)ms, c->first_len ? c->first : "-");
        if (c->state == ST_OPEN) {
            timedout++;
        } else {
            closed++;
            if (ms > max_ms)
                max_ms = ms;
        }
    }
    fprintf(stderr, "clients %ld closed %ld timeout %ld max_ms %lld\n", nclients, closed,
            timedout, (long long)max_ms);
    return 0;
}
