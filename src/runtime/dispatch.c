/* dispatch.c — one answer in, one handler call, its commands out.
 *
 * pl__deliver() is the only place a handler is called. After the call the
 * core acts on what the handler decided, in a fixed order: the commands it
 * emitted are submitted in emission order, then a pl_ret() ends its
 * computation, then the task itself ends if it is finished. Nothing here
 * depends on anything but the sequence of answers, which is what makes runs
 * reproducible.
 */
#include "runtime/rt.h"

#include <errno.h>

pl_ans_kind pl__ans_kind_of(pl_cmd_kind k)
{
    static const pl_ans_kind map[PL_CMD_KIND_COUNT] = {
        [PL_CMD_NONE] = PL_ANS_START,       [PL_CMD_LOG] = PL_ANS_DONE,
        [PL_CMD_TIME] = PL_ANS_TIME,        [PL_CMD_TIMER] = PL_ANS_TICK,
        [PL_CMD_SIGNAL] = PL_ANS_SIGNAL,    [PL_CMD_LISTEN] = PL_ANS_LISTENING,
        [PL_CMD_CONNECT] = PL_ANS_CONNECTED, [PL_CMD_RECV] = PL_ANS_DATA,
        [PL_CMD_SEND] = PL_ANS_SENT,        [PL_CMD_SENDFILE] = PL_ANS_SENT,
        [PL_CMD_CLOSE] = PL_ANS_DONE,       [PL_CMD_OPEN] = PL_ANS_OPENED,
        [PL_CMD_STAT] = PL_ANS_STAT,        [PL_CMD_READ_FILE] = PL_ANS_DATA,
        [PL_CMD_READDIR] = PL_ANS_DIR,      [PL_CMD_READ] = PL_ANS_DATA,
        [PL_CMD_MACHINE] = PL_ANS_MACHINE,
    };
    PL_ASSERT(k >= 0 && k < PL_CMD_KIND_COUNT);
    return map[k];
}

/* Is this the last answer the command will ever give? (A machine's status
 * stream says -ENOSPC and goes on.) */
bool pl__is_final(const pl__task *t, const pl_answer *a)
{
    if (t->cmd.kind == PL_CMD_MACHINE)
        return a->err != 0 && a->err != -ENOSPC;
    if (!pl__cmd_is_stream(&t->cmd) || a->err != 0)
        return true;
    if (t->cmd.kind == PL_CMD_RECV)
        return a->len == 0;
    if (t->cmd.kind == PL_CMD_READ_FILE)
        return a->eof != 0;
    return false;
}

/* Resources that change hands with the answer, before the handler sees it. */
static void account(pl_rt *rt, pl__task *t, const pl_answer *a)
{
    if (t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE ||
        t->cmd.kind == PL_CMD_CLOSE) {
        if (t->state == PL__T_BACKEND)
            pl__fdq_done(rt, t, a);
        return;
    }
    if ((a->kind == PL_ANS_OPENED || a->kind == PL_ANS_CONNECTED) && a->err == 0 &&
        t->slot) {
        t->slot = false;                /* the slot now belongs to the descriptor */
        pl__fdq_get(rt, a->fd)->open = true;
    }
}

/* An interrupted computation (a graceful First's loser) starts no stream:
 * the task gets -ECANCELED at once, as its older streams did. */
static void submit(pl_rt *rt, pl__task *t)
{
    if (rt->setup)
        pl__setup_submitted(rt, t);     /* a sandboxed run's set-up (setup.c) */
    if (t->comp->interrupted && pl__cmd_is_stream(&t->cmd)) {
        pl__trace_cmd(rt, t);
        pl__ready_error(rt, t, -ECANCELED);
        return;
    }
    pl__submit(rt, t);
}

/* Act on what a handler call decided. self may be NULL (program start). */
static void after_call(pl_ctx *cx, bool ended)
{
    pl_rt *rt = cx->rt;
    if (ended && !cx->returned && cx->self != NULL)
        pl__task_finish(rt, cx->self);  /* first: a new receiver may take its place */
    pl__task *t;
    while ((t = pl__fifo_pop(&cx->emit)) != NULL)
        if (t->state == PL__T_NEW)
            submit(rt, t);
    if (cx->timeout_set && !ended)
        pl__deadline_set(cx);
    if (cx->returned)
        pl__comp_return(cx);
    if (ended && cx->self != NULL)
        pl__task_finish(rt, cx->self);
    if (cx->exit && !rt->exiting) {
        rt->exiting = true;
        rt->exit_code = cx->exit_code;
    }
}

/* The backends' entry: in a machine, the answer is journaled first (one
 * predictable branch otherwise). */
void pl__deliver(pl_rt *rt, pl__task *t, pl_answer *a)
{
    if (rt->mach != NULL && !pl__machine_answer(rt->mach, t, a))
        return;
    pl__dispatch(rt, t, a);
}

void pl__dispatch(pl_rt *rt, pl__task *t, pl_answer *a)
{
    PL_ASSERT(t->state != PL__T_DEAD);
    PL_ASSERT(a->kind >= 0 && a->kind < PL_ANS_KIND_COUNT);
    if (rt->exiting)
        return;
    if (pl__deadline_fired(rt, t))
        return;
    if (a->err == -ETIMEDOUT && pl__deadline_extend(rt, t, a))
        return;
    pl__input_before(rt, t, a);
    bool final = pl__is_final(t, a);
    if (t->setup && a->kind == PL_ANS_LISTENING)
        pl__setup_listening(rt, t);     /* a sandboxed run's set-up (setup.c) */
    account(rt, t, a);
    if (final && t->state == PL__T_BACKEND)
        t->state = PL__T_NEW;           /* the backend has let go of it */
    pl__trace_ans(rt, t, a);
    rt->call_seq++;
    if (t->h == NULL && final && t->cmd.kind != PL_CMD_RECV) {
        pl__task_finish(rt, t);         /* nobody listens (most sends): what after_call does */
        return;
    }
    pl_ctx cx = { .rt = rt, .self = t, .comp = t->comp, .consumed = SIZE_MAX };
    pl_verdict v = PL_DONE;
    if (t->h != NULL)
        v = t->h->fn(&cx, t->mem, a);
    PL_ASSERT(v == PL_KEEP || v == PL_DONE);
    pl__input_after(rt, t, a, cx.consumed);
    after_call(&cx, final || v == PL_DONE || cx.returned);
}

/* Deliver the answers the core itself produces: START, join results, errors. */
void pl__run_ready(pl_rt *rt)
{
    pl__task *t;
    while (!rt->exiting && ((t = pl__fifo_pop(&rt->ready)) != NULL || pl__input_deliver(rt))) {
        if (t == NULL)
            continue;
        t->state = PL__T_NEW;
        pl_answer a = { 0 };
        if (t->join != NULL) {
            a = t->join->ans;
        } else {
            a.kind = pl__ans_kind_of(t->cmd.kind);
            a.err = (int)(int64_t)t->bk[0];
        }
        pl__dispatch(rt, t, &a);
    }
}

void pl__start(pl_rt *rt, const pl_program *p, const void *cfg)
{
    pl_ctx cx = { .rt = rt, .self = NULL, .comp = rt->root };
    rt->call_seq++;
    p->start(&cx, cfg);
    after_call(&cx, false);
}

int pl__loop(pl_rt *rt, const pl_program *p, const void *cfg)
{
    pl__start(rt, p, cfg);
    while (!rt->exiting) {
        pl__run_ready(rt);
        pl__reap(rt);
        if (rt->exiting || rt->live == 0)
            break;
        int n = pl__poll(rt, rt->ready.head == NULL && rt->pending_in.head == NULL);
        pl__reap(rt);
        if (n < 0)
            break;                      /* the backend can never answer again */
    }
    return rt->exit_code;
}

bool pl__exiting(const pl_rt *rt) { return rt->exiting; }
int pl__live_tasks(const pl_rt *rt) { return rt->live; }
