/* uring_misc.c — the io_uring backend's commands performed in the loop:
 * log, time, close and the file commands (through osloop.c, as the epoll
 * backend does: on cached files a plain call is cheaper than a request the
 * kernel would hand to a worker thread); a lingering close; signals, one
 * signalfd (ossig.c) watched by a multishot poll; and what the timer heap
 * (ostimer.c) fires.
 *
 * A lingering close (PL_CLOSE_LINGER) ends the descriptor's multishot
 * receive (its stash dropped), shuts the socket's writing side, and reads
 * what the peer still sends with one-shot IORING_OP_RECVs (an op, UR_LINGER,
 * in UR_PTR(t); bytes counted in op->done) into a sink shared by every
 * lingering socket and never read: no provided buffer is taken, and the
 * sandbox's ring allows RECV. The task sits in the timer heap until
 * PL_CLOSE_LINGER_MS from its start. Its end — the peer's end of stream, an
 * error, the byte budget or the timer — is a plain close; a receive still in
 * the kernel then is cancelled and frees its op at its last completion. A
 * descriptor whose receive saw the end of the stream, or that is not a
 * socket, gets a plain close at once. A plain CLOSE costs what it did.
 */
#include "backend/uring.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static void close_now(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_recv_close(e, fd);
    pl_answer a = { .kind = PL_ANS_DONE };
    if (close(fd) != 0 && errno != EINTR)
        a.err = -errno;
    ur_deliver(e, t, &a);
}

/* ---- a lingering close (PL_CLOSE_LINGER) -------------------------------- */

static void linger_arm(ur *e, ur_op *op)
{
    uint64_t room = PL_CLOSE_LINGER_BYTES - op->done;
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_recv(sqe, op->fd, e->sink, room < UR_RBUF ? (size_t)room : UR_RBUF, 0);
    ur_arm(e, op, sqe);
}

/* The task leaves the timer heap (if still in it) and lets go of its op:
 * freed now, or at the last completion of a receive still in the kernel
 * (cancelled). */
static void linger_drop(ur *e, pl__task *t)
{
    pl__os_timer_remove(&e->timers, t);
    ur_op *op = UR_PTR(t);
    UR_PTR(t) = NULL;
    if (op->armed) {
        op->t = NULL;
        ur_cancel_async(e, op);
    } else {
        ur_op_free(e, op);
    }
}

static void linger_start(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_fd *f = ur_fd_get(e, fd);
    if (f->notsock || f->ended || shutdown(fd, SHUT_WR) != 0) {
        close_now(e, t);                /* nothing more to come, or not a socket */
        return;
    }
    ur_recv_close(e, fd);               /* what it brings now is dropped */
    if (e->sink == NULL) {
        e->sink = malloc(UR_RBUF);
        PL_ASSERT(e->sink != NULL);
    }
    ur_op *op = ur_op_new(e, t, UR_LINGER, fd);
    UR_PTR(t) = op;
    linger_arm(e, op);
    pl__os_timer_at(&e->timers, t, (uint64_t)pl__os_now_ms() + PL_CLOSE_LINGER_MS);
}

/* A receive of a lingering close completed: more to drop, or the end. */
void ur_linger_cqe(ur *e, ur_op *op, int res)
{
    pl__task *t = op->t;
    if (t == NULL) {                    /* ended or cancelled meanwhile */
        ur_op_free(e, op);
        return;
    }
    if (res > 0)
        op->done += (uint64_t)res;
    if ((res > 0 && op->done < PL_CLOSE_LINGER_BYTES) || res == -EINTR || res == -EAGAIN) {
        linger_arm(e, op);
        return;
    }
    linger_drop(e, t);                  /* the peer's end, an error, or the budget */
    close_now(e, t);
}

/* Cancelled while lingering: it stops reading; the descriptor stays open
 * (pluto.h). A CLOSE not performed yet has no op: it is not in the heap. */
void ur_linger_cancel(ur *e, pl__task *t)
{
    if (pl__os_timer_armed(&e->timers, t))
        linger_drop(e, t);
}

static void perform_close(ur *e, pl__task *t)
{
    if (t->cmd.flags & PL_CLOSE_LINGER)
        linger_start(e, t);
    else
        close_now(e, t);
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
    uint64_t now = e->timers.now;
    if (!pl__os_timer_due(&e->timers, now))
        return;
    pl__task *t;
    for (int n = 0; n < 1024 && (t = pl__os_timer_pop(&e->timers, now)) != NULL; n++) {
        switch (t->cmd.kind) {
        case PL_CMD_RECV: ur_recv_timeout(e, t); break;
        case PL_CMD_SEND:
        case PL_CMD_SENDFILE: ur_stall_fire(e, t); break;
        case PL_CMD_CLOSE:              /* a lingering close's time is up */
            linger_drop(e, t);
            close_now(e, t);
            break;
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
    return pl__os_timer_timeout(&e->timers, (int64_t)e->timers.now,
                                emfile ? e->emfile_until_ms : -1);
}
