/* task.c — tasks: creation, submission and the lifetime of each.
 *
 * A task is created during a handler call (state NEW), submitted in order
 * once the call returns, and lives until its command has no more answers or
 * its handler says PL_DONE. Finished tasks are kept on a dead list until the
 * end of the loop turn, so that a backend still holding a pointer from the
 * same turn never sees freed memory; then they, their send buffers and
 * strings go back to the runtime's pool (pool.c), for the next request.
 */
#include "runtime/rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

pl__task *pl__task_new(pl_ctx *cx, pl__comp *comp, const pl_cmd *cmd,
                       const pl_handler *h, const void *mem, size_t len)
{
    PL_ASSERT(len <= PL_MEM_MAX);
    PL_ASSERT(cmd->kind >= 0 && cmd->kind < PL_CMD_KIND_COUNT);
    pl_rt *rt = cx->rt;
    PL_ASSERT(h == NULL || rt->prog->handlers == NULL || pl__registered(rt->prog, h));
    pl__task *t = pl__pool_get(&rt->pool, sizeof *t + len);
    memset(t, 0, sizeof *t);
    t->id = rt->next_task++;
    t->h = h;
    t->mem_len = (uint32_t)len;
    if (len)
        memcpy(t->mem, mem, len);
    pl__cmd_copy(rt, t, cmd);
    pl__comp_link(comp, t);
    rt->live++;
    return t;
}

void pl__task_free(pl_rt *rt, pl__task *t)
{
    if (t->str != NULL)
        pl__pool_put(&rt->pool, t->str, pl__cmd_payload_size(t));
    if (t->join != NULL)
        free(t->join);
    pl__pool_put(&rt->pool, t, sizeof *t + t->mem_len);
}

bool pl__core_idle(const pl_rt *rt)
{
    return rt->ready.head == NULL && rt->pending_in.head == NULL && !rt->mach_owed &&
           !rt->setup_due;
}

void pl__ready_push(pl_rt *rt, pl__task *t)
{
    t->state = PL__T_READY;
    pl__fifo_push(&rt->ready, t);
}

void pl__ready_error(pl_rt *rt, pl__task *t, int err)
{
    PL_ASSERT(err < 0);
    t->bk[0] = (uint64_t)(int64_t)err;
    pl__ready_push(rt, t);
}

void pl__task_detach(pl_rt *rt, pl__task *t)
{
    switch ((pl__tstate)t->state) {
    case PL__T_BACKEND:
        if (t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE ||
            t->cmd.kind == PL_CMD_CLOSE)
            pl__fdq_done(rt, t, NULL);
        else
            rt->be->cancel(rt->b, t);
        break;
    case PL__T_QUEUED:
        pl__fdq_done(rt, t, NULL);
        break;
    case PL__T_WAIT_FD:
        pl__fifo_remove(&rt->waitfd, t);
        break;
    case PL__T_READY:
        pl__fifo_remove(&rt->ready, t);
        break;
    default:
        break;
    }
    if (t->cmd.kind == PL_CMD_RECV)
        pl__fifo_remove(&rt->pending_in, t);
    t->state = PL__T_NEW;
}

void pl__task_finish(pl_rt *rt, pl__task *t)
{
    if (t->state == PL__T_DEAD)
        return;
    if (t->setup)
        pl__setup_done(rt, t);          /* a sandboxed run's set-up (setup.c) */
    pl__task_detach(rt, t);
    if (t->deadline != NULL) {
        pl__task *d = t->deadline;
        t->deadline = NULL;
        d->owner = NULL;
        pl__task_finish(rt, d);
    }
    if (t->owner != NULL) {
        t->owner->deadline = NULL;
        t->owner = NULL;
    }
    if (t->bk_deadline) {              /* ended on its own: the backend must forget it */
        t->bk_deadline = false;
        rt->be->deadline(rt->b, t, 0);
    }
    if (t->cmd.kind == PL_CMD_RECV)
        pl__reader_clear(rt, t);
    if (t->slot) {
        t->slot = false;
        pl__slot_release(rt);
    }
    pl__comp_unlink(t);
    t->state = PL__T_DEAD;
    t->q_next = rt->dead;
    rt->dead = t;
    rt->live--;
    PL_ASSERT(rt->live >= 0);
}

void pl__reap(pl_rt *rt)
{
    while (rt->dead) {
        pl__task *t = rt->dead;
        rt->dead = t->q_next;
        pl__task_free(rt, t);
    }
}

void pl__submit(pl_rt *rt, pl__task *t)
{
    PL_ASSERT(t->state == PL__T_NEW);
    pl__trace_cmd(rt, t);
    switch (t->cmd.kind) {
    case PL_CMD_NONE:
        pl__ready_push(rt, t);
        return;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE:
    case PL_CMD_CLOSE:
        pl__fdq_submit(rt, t);
        return;
    case PL_CMD_RECV:
        if (!pl__reader_set(rt, t->cmd.fd, t)) {
            pl__ready_error(rt, t, -EBUSY);
            return;
        }
        break;
    case PL_CMD_MACHINE:
        if (rt->mach == NULL) {         /* not a machine: nobody will answer */
            pl__ready_error(rt, t, -ENOTSUP);
            return;
        }
        break;
    default:
        break;
    }
    if (pl__cmd_takes_slot(&t->cmd)) {
        t->state = PL__T_WAIT_FD;
        pl__fifo_push(&rt->waitfd, t);
        pl__slots_admit(rt);
        return;
    }
    t->state = PL__T_BACKEND;
    rt->be->submit(rt->b, t);
    if (t->cmd.kind == PL_CMD_RECV) {
        pl__deadline_initial(rt, t);
        pl__input_pending(rt, t);
    }
}
