/* keepalive_client.c — one keep-alive connection, one request at a time.
 *
 *   keepalive_client HOST PORT PATH [HEADER]
 *
 * HEADER, when given, is one more header line on every request (such as
 * "Accept-Encoding: br, gzip"). Connects once, then reads commands from
 * stdin, one per line:
 *   N         send N requests `GET PATH` one after the other on the same
 *             connection, each only after the whole previous response (framed
 *             by Content-Length) came back; prints "done N OK" (OK: responses
 *             with status 200)
 *   idle N    open N more connections, one after the other, each with one
 *             request and its response, and keep them open (idle) until the
 *             end; prints "idle N OK"
 * End of input closes every connection. Because exactly one request is in
 * flight, a test can count what the server does per request (system calls,
 * allocations) with nothing else mixed in. Every wait is bounded by a 5 s
 * receive timeout; a timeout or a close prints "error ..." and exits 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

enum { BUF = 1 << 16 };

static char buf[BUF];
static size_t have;                     /* bytes in buf not yet used */
static char req[1024];
static int req_len;

static int fill(int fd)
{
    if (have == BUF)
        return -1;
    ssize_t n = recv(fd, buf + have, BUF - have, 0);
    if (n <= 0)
        return -1;
    have += (size_t)n;
    return 0;
}

static void drop(size_t n)
{
    memmove(buf, buf + n, have - n);
    have -= n;
}

/* One response: its status, after reading and dropping its bytes; -1 on error. */
static int response(int fd)
{
    char *end;
    while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL)
        if (fill(fd) < 0)
            return -1;
    size_t head = (size_t)(end - buf) + 4;
    int status = atoi(buf + 9);
    long long body = 0;
    for (char *p = buf; p < end; p++) {
        if ((p == buf || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0)
            body = atoll(p + 15);
    }
    drop(head);
    while (body > 0) {
        if (have == 0 && fill(fd) < 0)
            return -1;
        size_t n = (long long)have < body ? have : (size_t)body;
        drop(n);
        body -= (long long)n;
    }
    return status;
}

static int dial(const struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
        perror("keepalive_client: connect");
        exit(1);
    }
    return fd;
}

/* n requests on fd, one at a time: how many came back 200, or -1. */
static long requests(int fd, long n)
{
    long ok = 0;
    for (long i = 0; i < n; i++) {
        if (send(fd, req, (size_t)req_len, MSG_NOSIGNAL) != req_len)
            return -1;
        int status = response(fd);
        if (status < 0)
            return -1;
        ok += status == 200;
    }
    return ok;
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: keepalive_client HOST PORT PATH [HEADER]\n");
        return 2;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "keepalive_client: bad address %s\n", argv[1]);
        return 2;
    }
    req_len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s%s\r\n",
                       argv[3], argc == 5 ? argv[4] : "", argc == 5 ? "\r\n" : "");
    if (req_len <= 0 || (size_t)req_len >= sizeof req)
        return 2;
    int fd = dial(&sa);
    char line[64];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (strncmp(line, "idle ", 5) == 0) {
            long n = atol(line + 5), ok = 0;
            for (long i = 0; i < n; i++) {       /* kept open until exit */
                long r = requests(dial(&sa), 1);
                if (r < 0) {
                    printf("error idle connection %ld\n", i);
                    return 1;
                }
                ok += r;
            }
            printf("idle %ld %ld\n", n, ok);
            continue;
        }
        long n = atol(line), ok = requests(fd, n);
        if (ok < 0) {
            printf("error response\n");
            return 1;
        }
        printf("done %ld %ld\n", n, ok);
    }
    close(fd);
    return 0;
}
