/* epoll_misc.c — the epoll backend's other commands: close (and lingering
 * close), log, time, files (through osloop.c), and what its timer heap
 * (ostimer.c) fires: timers, receivers' deadlines, stalled writers' limits
 * and the end of a lingering close.
 *
 * A lingering close (PL_CLOSE_LINGER) shuts the socket's writing side, then
 * takes the descriptor's reader role (the CLOSE task in ep_fd.lingerer): its
 * readiness reads and drops what the peer still sends, counted in
 * EP_DONE(t), and the task sits in the timer heap until PL_CLOSE_LINGER_MS
 * from its start. Its end — the peer's end of stream, an error, the byte
 * budget or the timer — is a plain close. A plain CLOSE costs what it did:
 * one flag test.
 */
#include "backend/epoll.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void close_now(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ep_fd *f = ep_fd_get(e, fd);
    if (f->registered)
        e->nreg--;                    /* close() below removes it from the epoll set */
    *f = (ep_fd){ 0 };
    pl_answer a = { .kind = PL_ANS_DONE };
    if (close(fd) != 0 && errno != EINTR)
        a.err = -errno;
    ep_deliver(e, t, &a);
}

/* ---- a lingering close (PL_CLOSE_LINGER) -------------------------------- */

/* It ends: the descriptor is closed and the task answered. */
static void linger_end(ep *e, pl__task *t)
{
    pl__os_timer_remove(&e->timers, t);
    close_now(e, t);
}

/* What the peer sent is dropped; its end of stream, an error or the byte
 * budget ends the linger. */
void ep_linger_read(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    for (;;) {
        size_t room = PL_CLOSE_LINGER_BYTES - EP_DONE(t);
        ssize_t n = recv(fd, e->rbuf, room < e->rbuf_len ? room : e->rbuf_len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;                     /* the next readiness, or the timer */
        if (n > 0 && (EP_DONE(t) += (uint64_t)n) < PL_CLOSE_LINGER_BYTES)
            continue;
        linger_end(e, t);
        return;
    }
}

/* Shut down the writing side (the end of the stream goes after what was
 * sent), then read until the peer's end, an error, the budget or the time
 * limit. Not a socket, not connected, or another task still on it (a
 * connection in progress): a plain close. */
static void linger_start(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ep_fd *f = ep_fd_get(e, fd);
    if (f->reader != NULL || f->writer != NULL || shutdown(fd, SHUT_WR) != 0) {
        close_now(e, t);
        return;
    }
    f->lingerer = t;                    /* the reader role: readiness comes to us */
    f->paused = f->fresh = false;
    EP_DONE(t) = 0;
    pl__os_timer_at(&e->timers, t, (uint64_t)pl__os_now_ms() + PL_CLOSE_LINGER_MS);
    ep_linger_read(e, t);
    if (ep_fd_get(e, fd)->lingerer == t)
        ep_update(e, fd);
}

static void perform_close(ep *e, pl__task *t)
{
    if (t->cmd.flags & PL_CLOSE_LINGER)
        linger_start(e, t);
    else
        close_now(e, t);
}

/* A client's first request has usually arrived by the time it is accepted:
 * it is read at once, and the descriptor joins the epoll set only if it
 * has to wait (for Connection: close, never). */
static void perform_recv(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ep_fd *f = ep_fd_get(e, fd);
    f->reader = t;
    f->paused = false;
    if (f->fresh && !f->registered) {
        f->fresh = false;
        ep_recv(e, fd);
        if (e->fds[fd].reader != t)
            return;                 /* answered; what came next registered itself */
    }
    ep_update(e, fd);
    if (!e->fds[t->cmd.fd].registered) {
        e->fds[t->cmd.fd].reader = NULL;
        pl_answer a = { .kind = PL_ANS_DATA, .err = -EBADF };
        ep_deliver(e, t, &a);
    }
}

/* Log, time and the file commands: plain calls, answered at once (a file
 * read a chunk a turn). */
static void perform_here(ep *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    bool again;
    uint8_t *buf = pl__os_loop_cmd(t, e->rbuf, e->rbuf_len, &a, &again);
    ep_deliver(e, t, &a);
    free(buf);
    if (again && t->state == PL__T_BACKEND)
        pl__os_list_push(&e->imm, t);   /* the file's next chunk */
}

void ep_perform(void *b, pl__task *t)
{
    ep *e = b;
    switch (t->cmd.kind) {
    case PL_CMD_LISTEN: ep_listen(e, t); return;
    case PL_CMD_CONNECT: ep_connect(e, t); return;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE: ep_write(e, t); return;
    case PL_CMD_CLOSE: perform_close(e, t); return;
    case PL_CMD_RECV: perform_recv(e, t); return;
    default: perform_here(e, t); return;
    }
}

/* ---- timers, deadlines and stall limits (ostimer.h) -------------------- */

/* A SEND or SENDFILE that would block: its stall limit (cmd.after_ms) runs
 * from the last write that made progress, so a slow reader is never cut, one
 * that stopped reading is. */
void ep_stall_arm(ep *e, pl__task *t, bool progressed)
{
    if (t->cmd.after_ms == 0 || (pl__os_timer_armed(&e->timers, t) && !progressed))
        return;
    pl__os_timer_remove(&e->timers, t);
    pl__os_timer_at(&e->timers, t, e->timers.now + t->cmd.after_ms);   /* the turn's clock */
}

/* The limit passed: the stream cannot go on half-written, so the socket is
 * shut down (later sends fail, the receiver sees the end) and the writer
 * gets -ETIMEDOUT. */
static void stall_fire(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    if (fd >= 0 && fd < e->nfds && e->fds[fd].writer == t) {
        e->fds[fd].writer = NULL;
        ep_update(e, fd);
    }
    shutdown(fd, SHUT_RDWR);
    pl_answer a = { .kind = PL_ANS_SENT, .err = -ETIMEDOUT, .n = EP_DONE(t) };
    ep_deliver(e, t, &a);
}

/* A receiver's deadline passed: it ends with -ETIMEDOUT. */
static void recv_fire(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    if (fd >= 0 && fd < e->nfds && e->fds[fd].reader == t) {
        e->fds[fd].reader = NULL;
        ep_update(e, fd);
    }
    pl_answer a = { .kind = PL_ANS_DATA, .err = -ETIMEDOUT, .data = e->rbuf };
    ep_deliver(e, t, &a);
}

void ep_timers_fire(ep *e)
{
    uint64_t now = e->timers.now;
    if (!pl__os_timer_due(&e->timers, now))
        return;
    pl__task *t;
    for (int n = 0; n < 1024 && (t = pl__os_timer_pop(&e->timers, now)) != NULL; n++) {
        if (t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE) {
            stall_fire(e, t);
        } else if (t->cmd.kind == PL_CMD_RECV) {
            recv_fire(e, t);
        } else if (t->cmd.kind == PL_CMD_CLOSE) {
            close_now(e, t);            /* a lingering close's time is up */
        } else {
            pl_answer a = { .kind = PL_ANS_TICK, .n = pl__os_timer_tick(&e->timers, t, now) };
            ep_deliver(e, t, &a);
        }
        if (pl__exiting(e->rt))
            return;
    }
}

/* Ms until the earliest deadline, or the end of an EMFILE pause while a
 * listener waits on it; -1: none. */
int ep_timer_timeout(ep *e)
{
    int64_t now = (int64_t)e->timers.now;
    bool emfile = e->paused.n > 0 && e->emfile_until_ms > now;
    return pl__os_timer_timeout(&e->timers, now, emfile ? e->emfile_until_ms : -1);
}
