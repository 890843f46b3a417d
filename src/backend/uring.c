/* uring.c — the io_uring live backend: commands become submissions,
 * completions become answers.
 *
 * Submissions made during a loop turn wait in the submission queue and go to
 * the kernel together, in the one io_uring_enter() of the next poll, which
 * also waits for completions. Receives and accepts are multishot: armed once,
 * they answer until cancelled. Commands that need no kernel request (log,
 * time, the file commands, buffered input) go on an immediate list that the
 * next poll performs, since a backend never answers from inside submit.
 *
 * Cancelling is exact: a cancelled task's ops forget it, so no answer reaches
 * it; an op whose memory the kernel may still use (a send's bytes, an accept
 * on a listener that must be released now) is cancelled synchronously.
 */
#include "backend/uring.h"
#include "backend/osfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *ur_create(pl_rt *rt, const pl_run_opts *o)
{
    ur *e = calloc(1, sizeof *e);
    PL_ASSERT(e != NULL);
    e->rt = rt;
    e->rbuf_len = UR_RBUF;
    e->rbuf = malloc(e->rbuf_len);
    char why[160];
    bool restricted = o->sandbox.mode == PL_SANDBOX_ON;    /* uring_setup.c */
    if (e->rbuf == NULL || ur_ring_init(e, restricted, why, sizeof why) != 0) {
        fprintf(stderr, "pluto: io_uring: %s\n", e->rbuf ? why : strerror(ENOMEM));
        free(e->rbuf);
        free(e);
        return NULL;
    }
    pl__os_sigs_init(&e->sigs);
    pl__os_clock(&e->timers);           /* deadlines set before the first turn */
    return e;
}

static void ur_destroy(void *b)
{
    ur *e = b;
    pl__os_close_open(e->rt, e->nfds);
    for (uint32_t i = 0; i < e->nstashes; i++)
        free(e->stashes[i].buf);
    free(e->stashes);
    for (ur_lst *l = e->listeners, *next; l != NULL; l = next) {
        next = l->next;
        for (uint32_t i = 0; i < l->npend; i++)
            close(l->pend[i]);
        free(l->pend);
        free(l);
    }
    pl__os_sigs_deinit(&e->sigs);
    ur_ring_deinit(e);                  /* waits for the kernel to let go of every op */
    for (size_t i = 0; i < e->nchunks; i++) {
        ur_op *c = e->chunks[i];
        for (int k = 0; k < UR_OPS_CHUNK; k++)
            free(c[k].addr);
        free(c);
    }
    free(e->chunks);
    pl__table_free(e->fds, (size_t)e->nfds * sizeof *e->fds);
    pl__os_timers_deinit(&e->timers);
    free(e->paused.fd);
    free(e->rbuf);
    free(e->sink);                      /* after the ring: no receive writes into it now */
    free(e);
}

static void ur_submit(void *b, pl__task *t)
{
    ur *e = b;
    switch (t->cmd.kind) {
    case PL_CMD_TIMER: pl__os_timer_add(&e->timers, t); return;
    case PL_CMD_SIGNAL: ur_signal_add(e, t); return;
    case PL_CMD_RECV: ur_recv_submit(e, t); return;
    case PL_CMD_SEND: ur_send_submit(e, t); return;
    default: pl__os_list_push(&e->imm, t); return;
    }
}

static void ur_cancel(void *b, pl__task *t)
{
    ur *e = b;
    pl__os_list_remove(&e->imm, t);
    switch (t->cmd.kind) {
    case PL_CMD_TIMER: pl__os_timer_remove(&e->timers, t); break;
    case PL_CMD_SIGNAL: pl__os_sig_remove(&e->sigs, t); break;
    case PL_CMD_RECV: ur_recv_cancel(e, t); break;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE:
    case PL_CMD_CONNECT: ur_write_cancel(e, t); break;
    case PL_CMD_LISTEN: ur_listen_cancel(e, t); break;
    case PL_CMD_CLOSE: ur_linger_cancel(e, t); break;
    case PL_CMD_READ_FILE:
        if (PL__OS_FILE(t) > 0) {       /* the file it reads, + 1 */
            close((int)PL__OS_FILE(t) - 1);
            PL__OS_FILE(t) = 0;
        }
        break;
    default:
        break;
    }
}

static void ur_kick(void *b)
{
    ((ur *)b)->kicked = true;           /* acted on in poll: a kick never answers */
}

/* A receiver's deadline lives in the timer heap (ur_timers_fire). */
static void ur_deadline(void *b, pl__task *t, uint64_t ms)
{
    pl__os_deadline(&((ur *)b)->timers, t, ms);
}

static void complete(ur *e, uint64_t ud, int res, unsigned flags)
{
    bool last = !(flags & IORING_CQE_F_MORE);
    if (last)
        e->inflight--;                  /* the kernel is done with it */
    if (ud & 1) {                       /* a descriptor's receive (UR_RECV_UD) */
        ur_recv_cqe(e, ud, res, flags);
        return;
    }
    ur_op *op = (ur_op *)(uintptr_t)ud;
    if (last)
        op->armed = false;
    switch (op->kind) {
    case UR_SEND: ur_send_cqe(e, op, res); return;
    case UR_POLLOUT: ur_pollout_cqe(e, op, res); return;
    case UR_ACCEPT: ur_accept_cqe(e, op, res, flags); return;
    case UR_CONNECT: ur_connect_cqe(e, op, res); return;
    case UR_SIGNAL: ur_signal_cqe(e, res, flags); return;
    case UR_LINGER: ur_linger_cqe(e, op, res); return;
    default: PL_ASSERT(!"unknown op");
    }
}

/* Each completion is copied and consumed before it is handled: a handler's
 * cancel may enter the kernel, which may add completions meanwhile. */
static void reap(ur *e)
{
    ur_buf_turn(e);
    struct io_uring_cqe *cqe;
    while (!pl__exiting(e->rt) && io_uring_peek_cqe(&e->ring, &cqe) == 0) {
        uint64_t ud = cqe->user_data;
        int res = cqe->res;
        unsigned flags = cqe->flags;
        io_uring_cqe_seen(&e->ring, cqe);
        if (ud != 0)
            complete(e, ud, res, flags);
        else if (flags & IORING_CQE_F_BUFFER)   /* 0: a cancel's own completion, or */
            ur_buf_recycle(e, flags >> IORING_CQE_BUFFER_SHIFT);  /* the setup's probe */
    }
}

/* Flow control and descriptor slots changed (kick), or an EMFILE pause ended:
 * paused receivers and listeners go on where they may. */
static void resume(ur *e)
{
    if (e->kicked) {
        e->kicked = false;
        ur_recv_resume(e);
        ur_listen_resume(e);
    } else if (e->emfile_until_ms != 0 && pl__os_now_ms() >= e->emfile_until_ms) {
        ur_listen_resume(e);
    }
}

/* Submit what the turn prepared and, when nothing is ready, wait for a
 * completion or the next timer: one io_uring_enter() per turn. */
static int enter(ur *e, bool wait)
{
    if (!wait)
        return io_uring_submit_and_get_events(&e->ring) < 0 ? -1 : 0;
    int ms = ur_timer_timeout(e);
    if (ms < 0 && e->inflight == 0 && e->paused.n == 0 && e->lpaused == 0 &&
        io_uring_sq_ready(&e->ring) == 0)
        return -2;                      /* nothing could ever wake us */
    if (ms == 0)
        return io_uring_submit_and_get_events(&e->ring) < 0 ? -1 : 0;
    pl__os_flush();                     /* lines logged above go out before we sleep */
    struct io_uring_cqe *cqe;
    struct __kernel_timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    int r = io_uring_submit_and_wait_timeout(&e->ring, &cqe, 1, ms > 0 ? &ts : NULL, NULL);
    return r < 0 && r != -ETIME && r != -EINTR ? -1 : 0;
}

static int ur_poll(void *b, bool block)
{
    ur *e = b;
    e->delivered = 0;
    pl__os_list_run(&e->imm, e->rt, ur_perform, e);
    pl__os_clock(&e->timers);           /* the turn's clock (ostimer.h) */
    ur_timers_fire(e);
    resume(e);
    /* Answers delivered above may have given the core work of its own, or us
     * new commands; if not, wait: a SENT alone is no reason to enter twice. */
    bool wait = block && e->imm.head == NULL && pl__core_idle(e->rt) &&
                io_uring_cq_ready(&e->ring) == 0 && !pl__exiting(e->rt);
    int r = enter(e, wait);
    if (r == -2)
        return -1;
    PL_ASSERT(r == 0);
    if (wait)
        pl__os_clock(&e->timers);       /* it may have slept */
    reap(e);
    resume(e);
    ur_timers_fire(e);
    ur_listen_sweep(e);
    pl__os_flush();
    return e->delivered;
}

/* The run ended: log lines already issued still go out, in order. */
static void ur_finish(void *b, int code)
{
    ur *e = b;
    (void)code;
    pl__os_list_finish(&e->imm, ur_perform, e);
    fflush(stdout);
}

const pl__backend pl__backend_uring = {
    .name = "uring",
    .create = ur_create,
    .destroy = ur_destroy,
    .submit = ur_submit,
    .cancel = ur_cancel,
    .kick = ur_kick,
    .poll = ur_poll,
    .deadline = ur_deadline,
    .finish = ur_finish,
    .untraced = true,
};
