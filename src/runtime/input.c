/* input.c — unconsumed input and deadlines, the two things a protocol
 * handler needs from the runtime besides commands.
 *
 * Input: a receiver says how much of a DATA answer it used (pl_consume); the
 * rest waits in the descriptor's input buffer and is delivered first to the
 * next receiver on that descriptor, so a request split across reads, or
 * several requests in one read, need no buffer in the program's memory. The
 * buffer exists only while it holds bytes.
 *
 * Deadlines: pl_timeout gives the running task a hidden one-shot timer; if it
 * fires first, the task gets -ETIMEDOUT in an answer of its own kind.
 */
#include "runtime/rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool is_input(const pl__task *t, const pl_answer *a)
{
    return t->cmd.kind == PL_CMD_RECV && a->kind == PL_ANS_DATA && a->err == 0 && a->len > 0;
}

static bool reserve(pl__fdq *q, size_t need)
{
    if (need > PL_INPUT_MAX)
        return false;
    if (need <= q->in_cap)
        return true;
    size_t cap = q->in_cap ? q->in_cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t *p = realloc(q->in, cap);
    PL_ASSERT(p != NULL);
    q->in = p;
    q->in_cap = cap;
    return true;
}

void pl__input_before(pl_rt *rt, pl__task *t, pl_answer *a)
{
    if (!is_input(t, a))
        return;
    pl__fdq *q = pl__fdq_get(rt, t->cmd.fd);
    if (q->in_len == 0 || a->data == q->in)
        return;
    if (!reserve(q, q->in_len + a->len)) {
        a->err = -ENOBUFS;            /* the program kept too much: end the stream */
        a->len = 0;
        return;
    }
    memcpy(q->in + q->in_len, a->data, a->len);
    q->in_len += a->len;
    a->data = q->in;
    a->len = q->in_len;
}

void pl__input_after(pl_rt *rt, pl__task *t, const pl_answer *a, size_t consumed)
{
    if (!is_input(t, a))
        return;
    pl__fdq *q = pl__fdq_get(rt, t->cmd.fd);
    size_t used = consumed < a->len ? consumed : a->len;
    size_t rest = a->len - used;
    if (a->data == q->in) {
        if (rest > 0)
            memmove(q->in, q->in + used, rest);
        q->in_len = rest;
    } else if (rest > 0) {
        PL_ASSERT(q->in_len == 0);
        if (!reserve(q, rest))
            rest = 0;                 /* cannot happen: a chunk is below the cap */
        memcpy(q->in, a->data + used, rest);
        q->in_len = rest;
    }
    if (q->in_len == 0)
        pl__input_drop(rt, t->cmd.fd);
}

void pl__input_drop(pl_rt *rt, int fd)
{
    if (fd < 0 || fd >= rt->nfds)
        return;
    pl__fdq *q = &rt->fds[fd];
    free(q->in);
    q->in = NULL;
    q->in_len = q->in_cap = 0;
}

void pl__input_pending(pl_rt *rt, pl__task *t)
{
    if (t->cmd.fd >= 0 && t->cmd.fd < rt->nfds && rt->fds[t->cmd.fd].in_len > 0)
        pl__fifo_push(&rt->pending_in, t);
}

/* Deliver buffered input to one receiver that is owed it. */
bool pl__input_deliver(pl_rt *rt)
{
    pl__task *t = pl__fifo_pop(&rt->pending_in);
    if (t == NULL)
        return false;
    pl__fdq *q = pl__fdq_get(rt, t->cmd.fd);
    if (t->state == PL__T_BACKEND && q->in_len > 0) {
        pl_answer a = { .kind = PL_ANS_DATA, .data = q->in, .len = q->in_len };
        pl__dispatch(rt, t, &a);
    }
    return true;
}

/* A RECV may carry its first deadline (cmd.after_ms): a client that never
 * sends a byte still times out. */
void pl__deadline_initial(pl_rt *rt, pl__task *t)
{
    if (t->cmd.kind != PL_CMD_RECV || t->cmd.after_ms == 0)
        return;
    pl_ctx cx = { .rt = rt, .self = t, .comp = t->comp, .timeout_ms = t->cmd.after_ms };
    pl__deadline_set(&cx);
}

void pl__deadline_set(pl_ctx *cx)
{
    pl__task *self = cx->self;
    if (self == NULL || self->state == PL__T_DEAD)
        return;
    pl_rt *rt = cx->rt;
    if (self->cmd.kind == PL_CMD_RECV)
        self->timeout_ms = cx->timeout_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)cx->timeout_ms;
    if (rt->be->deadline != NULL && self->cmd.kind == PL_CMD_RECV &&
        self->state == PL__T_BACKEND && self->deadline == NULL) {
        rt->be->deadline(rt->b, self, cx->timeout_ms);   /* no task, no allocation */
        self->bk_deadline = cx->timeout_ms > 0;
        return;
    }
    if (self->deadline != NULL)
        pl__task_finish(cx->rt, self->deadline);
    if (cx->timeout_ms == 0)
        return;
    pl_cmd timer = pl_cmd_timer(cx->timeout_ms, 0);
    pl__task *t = pl__task_new(cx, self->comp, &timer, NULL, NULL, 0);
    t->owner = self;
    self->deadline = t;
    pl__submit(cx->rt, t);
}

/* A RECV's deadline measures the peer's silence, not the server's own
 * back-pressure. While the descriptor still has sends in flight, the core
 * may have paused receiving (a full send queue), and a request the peer
 * sent whole can sit half in the input buffer, half unread in the socket:
 * timing it out would blame the peer for the server's backlog. So a
 * deadline that passes then is re-armed for its full length instead, with
 * the receive performed again. A peer that stops reading is cut by the
 * sends' own stall limit (cmd.after_ms on SEND/SENDFILE), not by this one.
 * True: t was re-armed, and the timeout is not delivered. */
bool pl__deadline_extend(pl_rt *rt, pl__task *t, const pl_answer *a)
{
    if (a->err != -ETIMEDOUT || t->cmd.kind != PL_CMD_RECV || t->timeout_ms == 0)
        return false;
    int fd = t->cmd.fd;
    if (fd < 0 || fd >= rt->nfds || (rt->fds[fd].q.head == NULL && rt->fds[fd].queued == 0))
        return false;
    /* The backend has let go of t (its deadline passed, or the hidden timer's
     * owner was detached): hand it back, without redelivering buffered input
     * the handler has already seen. */
    t->state = PL__T_BACKEND;
    t->bk_deadline = false;
    rt->be->submit(rt->b, t);
    pl_ctx cx = { .rt = rt, .self = t, .comp = t->comp, .timeout_ms = t->timeout_ms };
    pl__deadline_set(&cx);
    return true;
}

/* t answered: if it is a deadline timer, its owner times out instead. */
bool pl__deadline_fired(pl_rt *rt, pl__task *t)
{
    pl__task *owner = t->owner;
    if (owner == NULL)
        return false;
    t->state = PL__T_NEW;             /* the backend let go of the timer */
    pl__task_finish(rt, t);
    pl__task_detach(rt, owner);
    pl_answer a = { .kind = pl__ans_kind_of(owner->cmd.kind), .err = -ETIMEDOUT };
    pl__dispatch(rt, owner, &a);
    return true;
}
