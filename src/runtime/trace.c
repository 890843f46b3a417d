/* trace.c — a running hash of everything that crossed the core.
 *
 * Every command submitted and every answer delivered is folded into one
 * 64-bit XXH3 chain. Two runs that give the same answers in the same order
 * emit the same commands, so they end with the same trace: the simulator
 * prints it, and a changed hash is a changed behaviour. A live run has no
 * reader for it (its backend is untraced), so nothing is hashed there: on
 * the hot path the hash would cost more than the rest of a request.
 */
#include "runtime/rt.h"

#include <xxhash.h>

void pl__trace_mix(pl_rt *rt, const void *p, size_t n)
{
    if (!rt->traced)
        return;
    rt->trace = XXH3_64bits_withSeed(p, n, rt->trace);
}

uint64_t pl__trace_hash(const pl_rt *rt) { return rt->trace; }

void pl__trace_cmd(pl_rt *rt, const pl__task *t)
{
    if (!rt->traced)
        return;
    pl_cmd k = pl__cmd_public(t);
    const pl_cmd *c = &k;
    int64_t w[12] = { 'C', (int64_t)t->id, c->kind, c->fd, c->dir, c->flags, c->signo,
                      c->port, c->file_fd, (int64_t)c->offset, (int64_t)c->count,
                      (int64_t)(c->after_ms * 1000003u + c->every_ms) };
    pl__trace_mix(rt, w, sizeof w);
    if (c->kind != PL_CMD_SEND && t->str)
        pl__trace_mix(rt, t->str, c->len);
    if (t->data_len)
        pl__trace_mix(rt, t->data, t->data_len);
}

void pl__trace_ans(pl_rt *rt, const pl__task *t, const pl_answer *a)
{
    if (!rt->traced)
        return;
    int64_t w[10] = { 'A', (int64_t)t->id, a->kind, a->err, a->fd, a->signo, a->port,
                      (int64_t)a->n, a->eof, a->index };
    pl__trace_mix(rt, w, sizeof w);
    if (a->kind == PL_ANS_DATA || a->kind == PL_ANS_DIR)
        pl__trace_mix(rt, a->data, a->len);
    if (a->kind == PL_ANS_STAT || a->kind == PL_ANS_OPENED) {
        int64_t s[4] = { (int64_t)a->st.size, a->st.mtime_s, a->st.mode, a->st.type };
        pl__trace_mix(rt, s, sizeof s);
    }
    if (a->kind == PL_ANS_TIME) {
        int64_t s[2] = { a->wall_ns, a->mono_ns };
        pl__trace_mix(rt, s, sizeof s);
    }
    if (a->kind >= PL_ANS_RESULT && a->kind <= PL_ANS_FIRST)
        pl__trace_mix(rt, a->res, sizeof a->res);
}
