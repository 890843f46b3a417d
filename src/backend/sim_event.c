/* sim_event.c — the simulator's only sources of chance and order.
 *
 * Chance is one xoshiro256** generator seeded through splitmix64 from the
 * run's seed; order is one binary heap of events keyed by (virtual time,
 * sequence number), so two events due at the same millisecond run in the
 * order they were scheduled. The per-task records (ops) live here too, with
 * delivery: every answer the simulated world gives passes through
 * sim_deliver(), which also folds the virtual time into the trace.
 */
#include "backend/sim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t sim_mix(uint64_t x)
{
    uint64_t z = x + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_seed(uint64_t s[4], uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed += 0x9e3779b97f4a7c15ull;
        s[i] = sim_mix(seed);
    }
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

uint64_t sim_below(sim_world *w, uint64_t n)
{
    return n == 0 ? 0 : sim_rng_next(w->rng) % n;
}

uint64_t sim_size(sim_world *w, uint64_t max)
{
    if (max <= 1)
        return max;
    int bits = 64 - __builtin_clzll(max);
    uint64_t lo = 1ull << sim_below(w, (uint64_t)bits);
    uint64_t hi = lo * 2 - 1 < max ? lo * 2 - 1 : max;
    return lo + sim_below(w, hi - lo + 1);
}

/* Byte i of stream `seed` is byte i%8 of sim_mix(seed + i/8): any range can
 * be regenerated to check what came back, without storing what was sent. */
void sim_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t pos = off + i, word = sim_mix(seed + (pos >> 3));
        for (unsigned b = (unsigned)(pos & 7); b < 8 && i < n; b++, i++)
            buf[i] = (uint8_t)(word >> (b * 8));
    }
}

/* ---- the event queue (sim_heap.h) -------------------------------------- */

_Static_assert(offsetof(sim_ev, h) == 0, "an event is found from its heap node");

void sim_unsched(sim_world *w, sim_ev *e)
{
    if (e->h.idx == 0)
        return;
    if (e->timer)
        w->ntimers--;
    sim_heap_remove(&w->events, &e->h);
}

void sim_sched(sim_world *w, sim_ev *e, uint64_t at)
{
    sim_unsched(w, e);
    if (e->timer)
        w->ntimers++;
    sim_heap_push(&w->events, &e->h, at < w->now ? w->now : at);
}

void sim_sched_once(sim_world *w, sim_ev *e, uint64_t at)
{
    if (e->h.idx == 0)
        sim_sched(w, e, at);
}

sim_ev *sim_next(sim_world *w)
{
    return (sim_ev *)sim_heap_top(&w->events);
}

/* ---- ops: what the backend holds for a task ---------------------------- */

sim_op *sim_op_new(sim_world *w, pl__task *t)
{
    PL_ASSERT(t->bkp == NULL);
    sim_op *op = calloc(1, sizeof *op);
    PL_ASSERT(op != NULL);
    op->t = t;
    op->ev.kind = SIM_EV_OP;
    op->ev.timer = t->cmd.kind == PL_CMD_TIMER;
    op->node = -1;
    op->next = w->ops;
    if (w->ops)
        w->ops->prev = op;
    w->ops = op;
    t->bkp = op;
    return op;
}

void sim_pause(sim_world *w, sim_op *op)
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

void sim_unpause(sim_world *w, sim_op *op)
{
    if (!op->paused)
        return;
    for (uint32_t i = 0; i < w->npaused; i++) {
        if (w->paused[i] != op)
            continue;
        memmove(&w->paused[i], &w->paused[i + 1], (w->npaused - i - 1) * sizeof *w->paused);
        w->npaused--;
        break;
    }
    op->paused = false;
}

/* Forget op everywhere the world points at it, then free it. */
void sim_op_free(sim_world *w, sim_op *op)
{
    sim_unsched(w, &op->ev);
    sim_unpause(w, op);
    if (op->conn != NULL) {
        sim_end *e = &op->conn->end[op->side];
        if (e->reader == op)
            e->reader = NULL;
        if (e->writer == op)
            e->writer = NULL;
    }
    if (op->lis != NULL) {
        sim_lis_shut(w, op->lis);
        op->lis->op = NULL;
    }
    if (op->prev)
        op->prev->next = op->next;
    else
        w->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->t->bkp = NULL;
    free(op);
}

static const char *ans_name(pl_ans_kind k)
{
    static const char *const names[PL_ANS_KIND_COUNT] = {
        "start", "done", "time", "tick", "signal", "listening", "client", "connected",
        "data", "sent", "opened", "stat", "dir", "result", "join", "first",
    };
    return k >= 0 && k < PL_ANS_KIND_COUNT ? names[k] : "?";
}

void sim_deliver(sim_world *w, pl__task *t, pl_answer *a)
{
    w->delivered++;
    pl__trace_mix(w->rt, &w->now, sizeof w->now);
    if (w->o.verbose && !pl__exiting(w->rt))
        printf("%6llu.%03llu task %llu %s err=%d fd=%d len=%zu n=%llu\n",
               (unsigned long long)(w->now / 1000), (unsigned long long)(w->now % 1000),
               (unsigned long long)t->id, ans_name(a->kind), a->err, a->fd, a->len,
               (unsigned long long)a->n);
    pl__deliver(w->rt, t, a);
}

/* A final answer: the backend lets go of the task before its handler runs. */
void sim_final(sim_world *w, sim_op *op, pl_answer *a)
{
    pl__task *t = op->t;
    sim_op_free(w, op);
    sim_deliver(w, t, a);
}
