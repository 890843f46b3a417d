/* uring_misc.c — the io_uring backend's commands performed in the loop:
 * log, time, close and the file commands (through osloop.c, as the epoll
 * backend does: on cached files a plain call is cheaper than a request the
 * kernel would hand to a worker thread); signals, one signalfd (ossig.c)
 * watched by a multishot poll; and what the timer heap (ostimer.c) fires.
 */
#include "backend/uring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

static void perform_close(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_recv_close(e, fd);
    pl_answer a = { .kind = PL_ANS_DONE };
    if (close(fd) != 0 && errno != EINTR)
        a.err = -errno;
    ur_deliver(e, t, &a);
}

/* A new descriptor from OPEN: nothing of an old one with its number, and a
 * SEND to it is a write(). */
static void ur_fd_opened_file(ur *e, int fd)
{
    ur_recv_close(e, fd);
    ur_fd_get(e, fd)->notsock = true;
}

/* Log, time and the file commands: plain calls, answered at once (a file
 * read a chunk a turn). */
static void perform_here(ur *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    bool again;
    uint8_t *buf = pl__os_loop_cmd(t, e->rbuf, e->rbuf_len, &a, &again);
    if (t->cmd.kind == PL_CMD_OPEN && a.err == 0)
        ur_fd_opened_file(e, a.fd);
    ur_deliver(e, t, &a);
    free(buf);
    if (again && t->state == PL__T_BACKEND)
        pl__os_list_push(&e->imm, t);   /* the file's next chunk */
}

void ur_perform(void *b, pl__task *t)
{
    ur *e = b;
    switch (t->cmd.kind) {
    case PL_CMD_LISTEN: ur_listen(e, t); return;
    case PL_CMD_CONNECT: ur_connect(e, t); return;
    case PL_CMD_SEND: ur_send_perform(e, t); return;
    case PL_CMD_SENDFILE: ur_sendfile(e, t); return;
    case PL_CMD_CLOSE: perform_close(e, t); return;
    case PL_CMD_RECV: ur_recv_flush(e, t); return;
    default: perform_here(e, t); return;
    }
}

/* ---- signals: the signalfd (ossig.c) watched by a multishot poll ------- */

static void arm_signals(ur *e)
{
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_poll_multishot(sqe, e->sigs.fd, POLLIN);
    ur_arm(e, &e->sigop, sqe);
}

void ur_signal_add(ur *e, pl__task *t)
{
    if (pl__os_sig_add(&e->sigs, t)) {
        e->sigop = (ur_op){ .kind = UR_SIGNAL, .fd = e->sigs.fd };
        arm_signals(e);
    }
}

/* The signalfd is readable (the poll keeps watching unless it ended). */
void ur_signal_cqe(ur *e, int res, unsigned flags)
{
    if (res >= 0)
        e->delivered += pl__os_sigs_read(&e->sigs, e->rt);
    if (!(flags & IORING_CQE_F_MORE) && !pl__exiting(e->rt))
        arm_signals(e);
}

/* ---- timers, deadlines and stall limits: one heap (ostimer.c); the loop
 * waits in io_uring_enter() until the earliest, with no timeout request
 * per timer. */

void ur_timers_fire(ur *e)
{
    uint64_t now = (uint64_t)pl__os_now_ms();
    pl__task *t;
    for (int n = 0; n < 1024 && (t = pl__os_timer_pop(&e->timers, now)) != NULL; n++) {
        switch (t->cmd.kind) {
        case PL_CMD_RECV: ur_recv_timeout(e, t); break;
        case PL_CMD_SEND:
        case PL_CMD_SENDFILE: ur_stall_fire(e, t); break;
        default: {
            pl_answer a = { .kind = PL_ANS_TICK, .n = pl__os_timer_tick(&e->timers, t, now) };
            ur_deliver(e, t, &a);
            break;
        }
        }
        if (pl__exiting(e->rt))
            return;
    }
}

/* Ms until the earliest deadline, or the end of an EMFILE pause while a
 * listener waits on it; -1: none. */
int ur_timer_timeout(ur *e)
{
    bool emfile = e->lpaused > 0 && e->emfile_until_ms > 0;
    return pl__os_timer_timeout(&e->timers, pl__os_now_ms(), emfile ? e->emfile_until_ms : -1);
}
