/* sim_pipe.c — one direction of a simulated TCP connection.
 *
 * A pipe keeps the bytes its writer has written and its reader has not yet
 * read. Each write becomes a segment that arrives after the connection's
 * latency plus jitter, never before the segment written ahead of it, so
 * bytes arrive in order; EOF is a last, empty segment. A writer may have at
 * most the receiver's window written and unread: that is how a slow reader
 * pushes back on its peer, and why writes come out partial.
 */
#include "backend/sim.h"

#include <stdlib.h>
#include <string.h>

uint64_t sim_pipe_room(const sim_pipe *p)
{
    uint64_t used = p->len - p->rd;
    return used >= p->win ? 0 : p->win - used;
}

static void push_seg(sim_world *w, sim_pipe *p, bool eof)
{
    sim_conn *c = p->conn;
    uint64_t at = w->now + c->lat_ms + sim_below(w, c->jit_ms + 1);
    if (at < p->last_at)
        at = p->last_at;
    p->last_at = at;
    if (p->nsegs == p->capsegs && p->seg0 > 0) {
        memmove(p->segs, p->segs + p->seg0, (p->nsegs - p->seg0) * sizeof *p->segs);
        p->nsegs -= p->seg0;
        p->seg0 = 0;
    }
    if (p->nsegs == p->capsegs) {
        p->capsegs = p->capsegs ? p->capsegs * 2 : 16;
        p->segs = realloc(p->segs, p->capsegs * sizeof *p->segs);
        PL_ASSERT(p->segs != NULL);
    }
    p->segs[p->nsegs++] = (sim_seg){ at, p->len, eof };
    sim_sched_once(w, &p->ev, p->segs[p->seg0].at);
}

void sim_pipe_write(sim_world *w, sim_pipe *p, const uint8_t *d, size_t n)
{
    PL_ASSERT(!p->eof_sent && !p->conn->reset && n > 0);
    size_t keep = (size_t)(p->len - p->rd);
    if (p->rd > p->base && (size_t)(p->len - p->base) + n > p->cap) {
        memmove(p->buf, p->buf + (p->rd - p->base), keep);
        p->base = p->rd;
    }
    size_t used = (size_t)(p->len - p->base);
    if (used + n > p->cap) {
        size_t cap = p->cap ? p->cap : 4096;
        while (cap < used + n)
            cap *= 2;
        p->buf = realloc(p->buf, cap);
        PL_ASSERT(p->buf != NULL);
        p->cap = cap;
    }
    memcpy(p->buf + used, d, n);
    p->len += n;
    push_seg(w, p, false);
}

void sim_pipe_shut(sim_world *w, sim_pipe *p)
{
    if (p->eof_sent || p->conn->reset)
        return;
    p->eof_sent = true;
    push_seg(w, p, true);
}

void sim_pipe_consume(sim_world *w, sim_pipe *p, uint64_t n)
{
    PL_ASSERT(p->rd + n <= p->arrived);
    p->rd += n;
    sim_end_wake(w, p->conn, 1 - p->side);
}

void sim_pipe_step(sim_world *w, sim_pipe *p)
{
    while (p->seg0 < p->nsegs && p->segs[p->seg0].at <= w->now) {
        const sim_seg *s = &p->segs[p->seg0++];
        p->arrived = s->upto;
        p->eof = p->eof || s->eof;
    }
    if (p->seg0 == p->nsegs)
        p->seg0 = p->nsegs = 0;
    else
        sim_sched(w, &p->ev, p->segs[p->seg0].at);
    sim_end_notify(w, p->conn, p->side);
}
