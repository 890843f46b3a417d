/* fdq.c — per-descriptor order, flow control and the descriptor budget.
 *
 * Sends and closes on one descriptor reach the backend one at a time, in the
 * order they were issued, so a close never cuts a reply short. While more
 * than PL__SEND_HIGH bytes wait to be written, receiving on that descriptor
 * pauses (a peer that never reads cannot make us buffer without limit).
 *
 * Every command that creates a descriptor first takes a slot; when none is
 * free it waits in FIFO order. The runtime thus never meets EMFILE from its
 * own concurrency, however many tasks ask at once.
 *
 * Accepting stops short of the last slots (accept_limit): a client accepted
 * into the last slot whose task then opens a file would wait for a slot that
 * only another such task could free. With every slot held by connections
 * waiting to open, nothing would move again — no timeout covers a command
 * still waiting for its slot. The reserve keeps descriptors for what the
 * connections ask for, so one of them always gets its file and finishes.
 */
#include "runtime/rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

pl__fdq *pl__fdq_grow(pl_rt *rt, int fd)
{
    int n = rt->nfds ? rt->nfds : 256;
    while (n <= fd)
        n *= 2;
    rt->fds = pl__table_grow(rt->fds, (size_t)rt->nfds * sizeof *rt->fds,
                             (size_t)n * sizeof *rt->fds);
    rt->nfds = n;
    return &rt->fds[fd];
}

/* Bytes a queued command will write: they count against flow control. */
static uint64_t pending_bytes(const pl__task *t)
{
    return t->cmd.kind == PL_CMD_SEND ? t->data_len
         : t->cmd.kind == PL_CMD_SENDFILE ? t->cmd.count : 0;
}

static void start_head(pl_rt *rt, pl__fdq *q)
{
    pl__task *t = q->q.head;
    if (t == NULL || rt->exiting)
        return;
    if (t->cmd.kind == PL_CMD_CLOSE) {
        pl__task *r = q->reader;
        if (r != NULL)
            pl__task_finish(rt, r);     /* no answer after the close */
    }
    t->state = PL__T_BACKEND;
    rt->be->submit(rt->b, t);
}

void pl__fdq_submit(pl_rt *rt, pl__task *t)
{
    if (t->cmd.fd < 0) {
        pl__ready_error(rt, t, -EBADF);
        return;
    }
    pl__fdq *q = pl__fdq_get(rt, t->cmd.fd);
    t->state = PL__T_QUEUED;
    q->queued += pending_bytes(t);
    bool first = q->q.head == NULL;
    pl__fifo_push(&q->q, t);
    if (first)
        start_head(rt, q);
}

/* t leaves its descriptor's queue: answered (a) or cancelled (a == NULL). */
void pl__fdq_done(pl_rt *rt, pl__task *t, const pl_answer *a)
{
    pl__fdq *q = pl__fdq_get(rt, t->cmd.fd);
    bool was_head = q->q.head == t;
    if (was_head && t->state == PL__T_BACKEND && a == NULL)
        rt->be->cancel(rt->b, t);
    pl__fifo_remove(&q->q, t);
    t->state = PL__T_NEW;
    uint64_t before = q->queued;
    q->queued -= pending_bytes(t);
    if (t->cmd.kind == PL_CMD_CLOSE && a != NULL) {
        pl__input_drop(rt, t->cmd.fd);
        q = pl__fdq_get(rt, t->cmd.fd);
        if (q->open) {
            q->open = false;
            pl__slot_release(rt);
        }
    }
    if (was_head)
        start_head(rt, q);
    if (before >= PL__SEND_LOW && q->queued < PL__SEND_LOW)
        rt->be->kick(rt->b);
}

const pl__task *pl__fdq_next(const pl__task *t)
{
    return t->state == PL__T_BACKEND ? t->q_next : NULL;
}

bool pl__fdq_is_open(const pl_rt *rt, int fd)
{
    return fd >= 0 && fd < rt->nfds && rt->fds[fd].open;
}

bool pl__may_recv(pl_rt *rt, int fd)
{
    if (rt->hold_input)
        return false;               /* a machine whose journal cannot be written */
    return fd >= rt->nfds || rt->fds[fd].queued < PL__SEND_HIGH;
}

/* Slots accepted clients may fill: all but an eighth (1 to 64 slots) kept
 * for the descriptors they go on to open. Budgets under 4 keep none. */
static uint32_t accept_limit(const pl_rt *rt)
{
    uint32_t n = rt->slots_max, reserve = n / 8;
    if (reserve > 64)
        reserve = 64;
    if (reserve == 0 && n >= 4)
        reserve = 1;
    return n - reserve;
}

bool pl__may_accept(pl_rt *rt)
{
    return rt->waitfd.head == NULL && rt->slots_used < accept_limit(rt) && !rt->hold_input;
}

uint32_t pl__accept_room(pl_rt *rt)
{
    return pl__may_accept(rt) ? accept_limit(rt) - rt->slots_used : 0;
}

bool pl__slots_wanted(const pl_rt *rt)
{
    return rt->waitfd.head != NULL;
}

void pl__fd_opened(pl_rt *rt, int fd)
{
    pl__fdq *q = pl__fdq_get(rt, fd);
    PL_ASSERT(!q->open);
    q->open = true;
    rt->slots_used++;
}

void pl__slot_take(pl_rt *rt, pl__task *t)
{
    PL_ASSERT(rt->slots_used < rt->slots_max);
    rt->slots_used++;
    t->slot = true;
}

void pl__slot_release(pl_rt *rt)
{
    PL_ASSERT(rt->slots_used > 0);
    rt->slots_used--;
    pl__slots_admit(rt);
    if (rt->slots_used + 1 == accept_limit(rt))
        rt->be->kick(rt->b);            /* accepting may go on */
}

void pl__slots_admit(pl_rt *rt)
{
    while (rt->waitfd.head != NULL && rt->slots_used < rt->slots_max && !rt->exiting) {
        pl__task *t = pl__fifo_pop(&rt->waitfd);
        pl__slot_take(rt, t);
        t->state = PL__T_BACKEND;
        rt->be->submit(rt->b, t);
    }
}

bool pl__reader_set(pl_rt *rt, int fd, pl__task *t)
{
    if (fd < 0)
        return false;
    pl__fdq *q = pl__fdq_get(rt, fd);
    if (q->reader != NULL)
        return false;
    q->reader = t;
    return true;
}

void pl__reader_clear(pl_rt *rt, pl__task *t)
{
    int fd = t->cmd.fd;
    if (fd >= 0 && fd < rt->nfds && rt->fds[fd].reader == t)
        rt->fds[fd].reader = NULL;
}
