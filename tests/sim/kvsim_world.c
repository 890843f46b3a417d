/* kvsim_world.c — the world's chance, order and clock, and the backend table
 * the machine's runtime calls (it stands where epoll or io_uring would).
 *
 * Chance is one splitmix64 stream from the seed; order is one heap of events
 * keyed by (virtual ms, sequence). poll() runs events until it has delivered
 * answers and the next event lies later (one virtual instant per loop turn,
 * so answers due together are committed together), or, when the core has
 * work of its own, only what is due now. A machine whose journal cannot be
 * written waits for time to pass (a disk coming back, a timer), so then the
 * clock moves even when the core asked not to block.
 *
 * create() is a machine's process starting on the world, destroy() that
 * process ending: its connections break, its listener goes (kvsim_net.c).
 */
#include "kvsim.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

_Static_assert(offsetof(ks_op, ev) == 0, "an op is found from its event");
_Static_assert(offsetof(ks_client, ev) == 0, "a client is found from its event");
_Static_assert(offsetof(ks_fault, ev) == 0, "a fault is found from its event");

ks_world *ks_w;

uint64_t ks_mix(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t ks_rand(ks_world *w)
{
    w->rng += 0x9e3779b97f4a7c15ull;
    return ks_mix(w->rng);
}

uint64_t ks_below(ks_world *w, uint64_t n) { return n == 0 ? 0 : ks_rand(w) % n; }

uint64_t ks_size(ks_world *w, uint64_t max)
{
    if (max <= 1)
        return max;
    int bits = 64 - __builtin_clzll(max);
    uint64_t lo = 1ull << ks_below(w, (uint64_t)bits);
    uint64_t hi = lo * 2 - 1 < max ? lo * 2 - 1 : max;
    return lo + ks_below(w, hi - lo + 1);
}

void ks_trace(ks_world *w, const void *p, size_t n)
{
    w->trace = ks_mix(w->trace ^ XXH3_64bits(p, n));
}

void ks_say(ks_world *w, const char *fmt, ...)
{
    if (!w->o.verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("%7llu.%03llu ", (unsigned long long)(w->now / 1000),
           (unsigned long long)(w->now % 1000));
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

uint64_t ks_now_ms(void) { return ks_w->now; }

/* ---- the event queue (src/backend/sim_heap.h) -------------------------------- */

_Static_assert(offsetof(ks_ev, h) == 0, "an event is found from its heap node");

void ks_unsched(ks_world *w, ks_ev *e) { sim_heap_remove(&w->events, &e->h); }

void ks_sched(ks_world *w, ks_ev *e, uint64_t at)
{
    sim_heap_push(&w->events, &e->h, at < w->now ? w->now : at);
}

void ks_sched_once(ks_world *w, ks_ev *e, uint64_t at)
{
    if (e->h.idx == 0 || e->h.at > (at < w->now ? w->now : at))
        ks_sched(w, e, at);
}

ks_ev *ks_next(ks_world *w) { return (ks_ev *)sim_heap_top(&w->events); }

/* ---- ops: what the world holds for the machine's tasks ---------------------- */

static ks_op *op_new(ks_world *w, pl__task *t)
{
    PL_ASSERT(t->bkp == NULL);
    ks_op *op = calloc(1, sizeof *op);
    PL_ASSERT(op != NULL);
    op->t = t;
    op->ev.kind = KS_EV_OP;
    op->next = w->ops;
    if (w->ops)
        w->ops->prev = op;
    w->ops = op;
    t->bkp = op;
    return op;
}

void ks_pause(ks_world *w, ks_op *op)
{
    if (op->paused)
        return;
    if (w->npaused == w->cappaused) {
        w->cappaused = w->cappaused ? w->cappaused * 2 : 32;
        w->paused = realloc(w->paused, w->cappaused * sizeof *w->paused);
        PL_ASSERT(w->paused != NULL);
    }
    w->paused[w->npaused++] = op;
    op->paused = true;
}

static void unpause(ks_world *w, ks_op *op)
{
    if (!op->paused)
        return;
    for (uint32_t i = 0; i < w->npaused; i++)
        if (w->paused[i] == op) {
            w->paused[i] = w->paused[--w->npaused];
            break;
        }
    op->paused = false;
}

void ks_op_free(ks_world *w, ks_op *op)
{
    ks_unsched(w, &op->ev);
    unpause(w, op);
    ks_net_detach(w, op);
    if (op->prev)
        op->prev->next = op->next;
    else
        w->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->t->bkp = NULL;
    free(op);
}

void ks_deliver(ks_world *w, pl__task *t, pl_answer *a)
{
    w->delivered++;
    uint64_t h[3] = { w->now, (uint64_t)a->kind, (uint64_t)(int64_t)a->err };
    ks_trace(w, h, sizeof h);
    pl__deliver(w->rt, t, a);
    ks_commit_map(w);
}

void ks_final(ks_world *w, ks_op *op, pl_answer *a)
{
    pl__task *t = op->t;
    ks_op_free(w, op);
    ks_deliver(w, t, a);
}

/* ---- the backend table ---------------------------------------------------------- */

static void *kb_create(pl_rt *rt, const pl_run_opts *o)
{
    (void)o;
    ks_world *w = ks_w;
    PL_ASSERT(w->rt == NULL && w->ops == NULL);
    w->rt = rt;
    w->nsigs = 0;
    ks_commit_reset(w, rt);
    return w;
}

static void kb_destroy(void *b)
{
    ks_world *w = b;
    while (w->ops != NULL)              /* none: the core cancels every task first */
        ks_op_free(w, w->ops);
    ks_net_died(w);
    w->rt = NULL;
    w->nsigs = 0;
}

static void kb_submit(void *b, pl__task *t)
{
    ks_world *w = b;
    switch (t->cmd.kind) {
    case PL_CMD_SIGNAL:                 /* nobody signals it but the final stop */
        PL_ASSERT(w->nsigs < (int)(sizeof w->sigs / sizeof w->sigs[0]));
        w->sigs[w->nsigs++] = t;
        return;
    case PL_CMD_LOG:
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE:
    case PL_CMD_CLOSE:
        ks_commit_check(w, t);          /* an effect leaves the machine here */
        break;
    default:
        break;
    }
    ks_op *op = op_new(w, t);
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        ks_say(w, "machine log: %.*s", (int)t->cmd.len, t->cmd.text);
        ks_sched(w, &op->ev, w->now);
        return;
    case PL_CMD_TIMER:
        ks_sched(w, &op->ev, w->now + t->cmd.after_ms);
        return;
    case PL_CMD_TIME:
        ks_sched(w, &op->ev, w->now + ks_below(w, 2));
        return;
    case PL_CMD_LISTEN:
    case PL_CMD_RECV:
    case PL_CMD_SEND:
    case PL_CMD_CLOSE:
        ks_net_submit(w, op);
        return;
    default:                            /* kv uses nothing else */
        op->err = -ENOSYS;
        ks_sched(w, &op->ev, w->now);
        return;
    }
}

static void kb_cancel(void *b, pl__task *t)
{
    ks_world *w = b;
    for (int i = 0; i < w->nsigs; i++)
        if (w->sigs[i] == t) {
            w->sigs[i] = w->sigs[--w->nsigs];
            return;
        }
    if (t->bkp != NULL)
        ks_op_free(w, t->bkp);
}

static void kb_kick(void *b)
{
    ks_world *w = b;
    for (uint32_t i = 0; i < w->npaused;) {
        ks_op *op = w->paused[i];
        bool ok = op->t->cmd.kind == PL_CMD_LISTEN ? pl__may_accept(w->rt)
                                                   : pl__may_recv(w->rt, op->t->cmd.fd);
        if (!ok) {
            i++;
            continue;
        }
        unpause(w, op);
        ks_sched_once(w, &op->ev, w->now);
    }
}

static void timer_fire(ks_world *w, ks_op *op)
{
    pl__task *t = op->t;
    pl_answer a = { .kind = PL_ANS_TICK, .n = ++op->done };
    if (t->cmd.every_ms == 0) {
        ks_final(w, op, &a);
        return;
    }
    ks_sched(w, &op->ev, w->now + t->cmd.every_ms);
    ks_deliver(w, t, &a);
}

static void run_op(ks_world *w, ks_op *op)
{
    pl__task *t = op->t;
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind), .fd = -1 };
    if (op->err != 0) {
        a.err = op->err;
        ks_final(w, op, &a);
        return;
    }
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        ks_final(w, op, &a);
        return;
    case PL_CMD_TIME:
        a.mono_ns = (int64_t)w->now * 1000000;
        a.wall_ns = 1700000000ll * 1000000000ll + a.mono_ns;
        ks_final(w, op, &a);
        return;
    case PL_CMD_TIMER:
        timer_fire(w, op);
        return;
    default:
        ks_net_step(w, op);
        return;
    }
}

void ks_run_event(ks_world *w, ks_ev *e)
{
    ks_unsched(w, e);
    w->now = e->h.at;
    switch (e->kind) {
    case KS_EV_OP: run_op(w, (ks_op *)e); break;
    case KS_EV_CLIENT: ks_client_event(w, (ks_client *)e); break;
    case KS_EV_FAULT: ks_fault_event(w, (ks_fault *)e); break;
    default:
        if (e == &w->restart)
            ks_restart(w);
        else
            ks_finish_step(w);
        break;
    }
}

static bool stalled(const ks_world *w)
{
    const pl__mach *m = w->rt != NULL ? w->rt->mach : NULL;
    return m != NULL && m->stalled;
}

static int kb_poll(void *b, bool block)
{
    ks_world *w = b;
    w->delivered = 0;
    ks_commit_map(w);
    for (uint32_t guard = 0; guard < 1000000; guard++) {
        if (w->pending != 0 || w->rt == NULL || w->down)
            break;
        ks_ev *e = ks_next(w);
        if (e == NULL || e->h.at > KS_TIME_CAP_MS)
            break;
        if (e->h.at > w->now && (w->delivered > 0 || (!block && !stalled(w))))
            break;
        ks_run_event(w, e);
    }
    return w->delivered;
}

static void kb_finish(void *b, int code) { (void)b; (void)code; }

const pl__backend ks_backend = {
    .name = "kvsim", .create = kb_create, .destroy = kb_destroy, .submit = kb_submit,
    .cancel = kb_cancel, .kick = kb_kick, .poll = kb_poll, .finish = kb_finish,
    .untraced = true,
};
