/* epoll_misc.c — the epoll backend's other commands: log, time, files
 * (through osloop.c), and what its timer heap (ostimer.c) fires: timers,
 * receivers' deadlines and stalled writers' limits.
 */
#include "backend/epoll.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void perform_close(ep *e, pl__task *t)
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
    pl__os_timer_at(&e->timers, t, (uint64_t)pl__os_now_ms() + t->cmd.after_ms);
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
    uint64_t now = (uint64_t)pl__os_now_ms();
    pl__task *t;
    for (int n = 0; n < 1024 && (t = pl__os_timer_pop(&e->timers, now)) != NULL; n++) {
        if (t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE) {
            stall_fire(e, t);
        } else if (t->cmd.kind == PL_CMD_RECV) {
            recv_fire(e, t);
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
    int64_t now = pl__os_now_ms();
    bool emfile = e->paused.n > 0 && e->emfile_until_ms > now;
    return pl__os_timer_timeout(&e->timers, now, emfile ? e->emfile_until_ms : -1);
}
