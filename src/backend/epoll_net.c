/* epoll_net.c — sockets for the epoll backend: listen, accept, connect,
 * receive and write, all non-blocking.
 *
 * Accepting stops while no descriptor slot is free and for 100 ms after
 * EMFILE, so a full descriptor table never spins the loop. Receiving stops
 * while the descriptor's send queue is above the high-water mark.
 */
#include "backend/epoll.h"
#include "backend/osfile.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

void ep_listen(ep *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_LISTENING };
    int fd = pl__os_listen(t->cmd.host, t->cmd.port, t->cmd.flags, &a.port);
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
        if (!pl__may_accept(e->rt) || pl__os_now_ms() < e->emfile_until_ms) {
            ep_pause(e, fd);
            return;
        }
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int c = accept4(fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                e->emfile_until_ms = pl__os_now_ms() + 100;
                ep_pause(e, fd);
            }
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return;
        }
        pl__fd_opened(e->rt, c);       /* TCP options: inherited from the listener */
        ep_fd *f = ep_fd_get(e, c);
        *f = (ep_fd){ .fresh = true };
        pl_answer a = { .kind = PL_ANS_CLIENT, .fd = c };
        pl__os_addr_text(&ss, a.peer, sizeof a.peer, &a.port);
        ep_deliver(e, t, &a);
    }
}

void ep_connect(ep *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = -1 };
    struct sockaddr_storage ss;
    socklen_t len;
    a.err = pl__os_sockaddr(t->cmd.host, t->cmd.port, &ss, &len);
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
        pl__task *t = ep_reader(&e->fds[fd]);
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
        ep_deliver(e, t, pl__os_data(&e->ans, 0, e->rbuf, (size_t)n));
        if ((size_t)n < e->rbuf_len)
            return;                   /* drained; level-triggered epoll says if not */
    }
}

void ep_write(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    uint64_t total = t->cmd.kind == PL_CMD_SEND ? t->data_len : t->cmd.count;
    uint64_t before = EP_DONE(t);
    int err = 0, flags = MSG_NOSIGNAL;
    if (t->cmd.kind == PL_CMD_SEND)
        flags |= pl__os_more_follows(t);
    while (EP_DONE(t) < total) {
        ssize_t n;
        if (t->cmd.kind == PL_CMD_SEND) {
            n = send(fd, t->data + EP_DONE(t), total - EP_DONE(t), flags);
            if (n < 0 && errno == ENOTSOCK)     /* a file (a log) or a pipe */
                n = write(fd, t->data + EP_DONE(t), total - EP_DONE(t));
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
            ep_stall_arm(e, t, EP_DONE(t) > before);
            return;
        }
        if (n < 0) {
            err = -errno;
            break;
        }
        EP_DONE(t) += (uint64_t)n;
    }
    pl__os_timer_remove(&e->timers, t);     /* its stall limit, if armed */
    if (fd < e->nfds && e->fds[fd].writer == t) {
        e->fds[fd].writer = NULL;
        ep_update(e, fd);
    }
    ep_deliver(e, t, pl__os_sent(&e->ans, err, EP_DONE(t)));
}
