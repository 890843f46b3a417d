/* epoll_net.c — sockets for the epoll backend: listen, accept, connect,
 * receive and write, all non-blocking.
 *
 * Accepting stops while no descriptor slot is free and for 100 ms after
 * EMFILE, so a full descriptor table never spins the loop. Receiving stops
 * while the descriptor's send queue is above the high-water mark.
 */
#include "backend/epoll.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static int make_addr(const char *host, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (host == NULL || host[0] == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return 0;
    }
    return -EINVAL;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t n, uint16_t *port)
{
    out[0] = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)n);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
        *port = ntohs(a->sin6_port);
    }
}

/* Addresses this process listens on with SO_REUSEPORT. The first worker to
 * bind one probes it without SO_REUSEPORT, so a port another process holds
 * is refused ("address in use") instead of silently shared. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sockaddr_storage shared[16];
static int nshared;

static bool claim_shared(const struct sockaddr_storage *ss, socklen_t len, int *err)
{
    pthread_mutex_lock(&shared_lock);
    for (int i = 0; i < nshared; i++) {
        if (memcmp(&shared[i], ss, len) == 0) {
            pthread_mutex_unlock(&shared_lock);
            return true;                /* a worker of ours has it: join */
        }
    }
    int probe = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    *err = probe < 0 ? -errno : 0;
    if (probe >= 0) {
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(probe, (const struct sockaddr *)ss, len) != 0)
            *err = -errno;
        close(probe);
    }
    if (*err == 0 && nshared < 16)
        memcpy(&shared[nshared++], ss, sizeof *ss);
    pthread_mutex_unlock(&shared_lock);
    return *err == 0;
}

static int open_listener(const pl_cmd *c, uint16_t *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int err = make_addr(c->host, c->port, &ss, &len);
    if (err)
        return err;
    if ((c->flags & PL_LISTEN_REUSEPORT) && !claim_shared(&ss, len, &err))
        return err;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (c->flags & PL_LISTEN_REUSEPORT)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);   /* workers share it */
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char ignored[64];
    peer_text(&ss, ignored, sizeof ignored, bound);
    return fd;
}

void ep_listen(ep *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_LISTENING };
    int fd = open_listener(&t->cmd, &a.port);
    if (fd < 0) {
        a.err = fd;
        ep_deliver(e, t, &a);
        return;
    }
    EP_DONE(t) = (uint64_t)fd + 1;
    ep_fd_get(e, fd)->listener = t;
    a.fd = fd;
    ep_deliver(e, t, &a);
    if (fd < e->nfds && e->fds[fd].listener == t)
        ep_update(e, fd);
}

void ep_accept(ep *e, int fd)
{
    pl__task *t = e->fds[fd].listener;
    for (int i = 0; i < 64 && t != NULL && e->fds[fd].listener == t; i++) {
        if (!pl__may_accept(e->rt) || ep_now_ms() < e->emfile_until_ms) {
            ep_pause(e, fd);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                e->emfile_until_ms = ep_now_ms() + 100;
                ep_pause(e, fd);
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pl__fd_opened(e->rt, c);
        ep_fd *f = ep_fd_get(e, c);
        *f = (ep_fd){ 0 };
        pl_answer a = { .kind = PL_ANS_CLIENT, .fd = c };
        peer_text(&ss, a.peer, sizeof a.peer, &a.port);
        ep_deliver(e, t, &a);
    }
}

void ep_connect(ep *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = -1 };
    struct sockaddr_storage ss;
    socklen_t len;
    a.err = make_addr(t->cmd.host, t->cmd.port, &ss, &len);
    int fd = a.err ? -1 : socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a.err == 0 && fd < 0)
        a.err = -errno;
    if (a.err == 0 && connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
        a.err = -errno;
    if (a.err != 0) {
        if (fd >= 0)
            close(fd);
        ep_deliver(e, t, &a);
        return;
    }
    EP_DONE(t) = (uint64_t)fd + 1;
    ep_fd_get(e, fd)->connector = t;
    ep_update(e, fd);
}

void ep_connected(ep *e, int fd)
{
    pl__task *t = e->fds[fd].connector;
    int soerr = 0;
    socklen_t len = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
    e->fds[fd].connector = NULL;
    ep_update(e, fd);
    EP_DONE(t) = 0;
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = fd, .err = -soerr };
    if (soerr != 0) {
        close(fd);
        a.fd = -1;
    } else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    ep_deliver(e, t, &a);
}

/* A final answer: the backend lets go of the reader before delivering. */
static void recv_end(ep *e, int fd, pl__task *t, int err)
{
    e->fds[fd].reader = NULL;
    ep_update(e, fd);
    pl_answer a = { .kind = PL_ANS_DATA, .err = err, .data = e->rbuf, .len = 0 };
    ep_deliver(e, t, &a);
}

void ep_recv(ep *e, int fd)
{
    for (int i = 0; i < 8; i++) {
        pl__task *t = e->fds[fd].reader;
        if (t == NULL)
            return;
        if (!pl__may_recv(e->rt, fd)) {
            ep_pause(e, fd);
            return;
        }
        ssize_t n = recv(fd, e->rbuf, e->rbuf_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0) {
            recv_end(e, fd, t, n < 0 ? -errno : 0);
            return;
        }
        pl_answer a = { .kind = PL_ANS_DATA, .data = e->rbuf, .len = (size_t)n };
        ep_deliver(e, t, &a);
        if ((size_t)n < e->rbuf_len)
            return;                   /* drained; level-triggered epoll says if not */
    }
}

void ep_write(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    uint64_t total = t->cmd.kind == PL_CMD_SEND ? t->data_len : t->cmd.count;
    int err = 0;
    while (EP_DONE(t) < total) {
        ssize_t n;
        if (t->cmd.kind == PL_CMD_SEND) {
            n = send(fd, t->data + EP_DONE(t), total - EP_DONE(t), MSG_NOSIGNAL);
        } else {
            off_t off = (off_t)(t->cmd.offset + EP_DONE(t));
            n = sendfile(fd, t->cmd.file_fd, &off, total - EP_DONE(t));
            if (n == 0)
                n = -1, errno = EPIPE;  /* the file shrank under us */
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            ep_fd_get(e, fd)->writer = t;
            ep_update(e, fd);
            return;
        }
        if (n < 0) {
            err = -errno;
            break;
        }
        EP_DONE(t) += (uint64_t)n;
    }
    if (fd < e->nfds && e->fds[fd].writer == t) {
        e->fds[fd].writer = NULL;
        ep_update(e, fd);
    }
    pl_answer a = { .kind = PL_ANS_SENT, .err = err, .n = EP_DONE(t) };
    ep_deliver(e, t, &a);
}
