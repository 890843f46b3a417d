/* kvsim_net.c — the simulated network between the clients and the machine.
 *
 * A connection has a pipe each way with its own latency and jitter; bytes
 * arrive in order, at or after the time they were written. The machine's
 * end is a descriptor given lowest-first from 3, skipping the numbers the
 * machine's core still counts as open (a restarted machine keeps the numbers
 * of the connections that died with the previous process until it closes
 * them: the placeholders of machine_golive.c, done here by the world). A
 * reset breaks both directions at once: nothing in flight arrives. What the
 * machine does with its end is in kvsim_sock.c.
 */
#include "kvsim.h"

#include <stdlib.h>
#include <string.h>

ks_conn ks_lis_mark;                   /* fds[fd] of the listener */

/* ---- pipes -------------------------------------------------------------------- */

uint64_t ks_pipe_arrived(ks_world *w, ks_pipe *p)
{
    while (p->seg0 < p->nseg && p->seg[p->seg0].at <= w->now)
        p->arrived = p->seg[p->seg0++].upto;
    if (p->seg0 == p->nseg)
        p->seg0 = p->nseg = 0;
    return p->arrived;
}

uint64_t ks_pipe_next_at(ks_world *w, ks_pipe *p)
{
    if (p->rd < ks_pipe_arrived(w, p))
        return w->now;
    if (p->seg0 < p->nseg)
        return p->seg[p->seg0].at;
    if (p->shut)
        return p->shut_at;
    return KS_NEVER;
}

bool ks_pipe_eof(ks_world *w, ks_pipe *p)
{
    return p->shut && w->now >= p->shut_at && p->rd == p->len;
}

static uint64_t arrival(ks_world *w, ks_conn *c, ks_pipe *p)
{
    uint64_t at = w->now + c->lat + ks_below(w, c->jit + 1);
    if (at < p->last_at)
        at = p->last_at;
    p->last_at = at;
    return at;
}

void ks_pipe_write(ks_world *w, ks_conn *c, ks_pipe *p, const uint8_t *d, size_t n)
{
    if (n == 0 || p->shut)
        return;
    if (p->rd > p->base && p->rd - p->base >= (p->len - p->base) / 2) {
        size_t drop = (size_t)(p->rd - p->base);       /* read bytes are gone */
        memmove(p->buf, p->buf + drop, (size_t)(p->len - p->rd));
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
    if (p->nseg == p->segcap) {
        p->segcap = p->segcap ? p->segcap * 2 : 16;
        p->seg = realloc(p->seg, p->segcap * sizeof *p->seg);
        PL_ASSERT(p->seg != NULL);
    }
    p->seg[p->nseg++] = (ks_seg){ .upto = p->len, .at = arrival(w, c, p) };
    if (p == &c->up)
        ks_reader_wake(w, c);
    else if (c->cl != NULL)
        ks_client_wake(w, c->cl);
}

void ks_pipe_shut(ks_world *w, ks_conn *c, ks_pipe *p)
{
    if (p->shut)
        return;
    p->shut = true;
    p->shut_at = arrival(w, c, p);
    if (p == &c->up)
        ks_reader_wake(w, c);
    else if (c->cl != NULL)
        ks_client_wake(w, c->cl);
}

static void pipe_free(ks_pipe *p)
{
    free(p->buf);
    free(p->seg);
    p->buf = NULL;
    p->seg = NULL;
    p->cap = p->segcap = p->nseg = p->seg0 = 0;
    p->base = p->rd = p->arrived = p->len;
}

/* ---- descriptors --------------------------------------------------------------- */

static bool stale(const ks_world *w, int fd)
{
    const pl__mach *m = w->rt->mach;
    return pl__fdq_is_open(w->rt, fd) ||
           (m != NULL && fd < m->nstale && m->stale[fd] != PL__STALE_NONE);
}

int ks_fd_alloc(ks_world *w, ks_conn *c)
{
    int fd = 3;
    for (;; fd++) {
        if (fd >= w->nfds) {
            int n = w->nfds ? w->nfds * 2 : 64;
            w->fds = realloc(w->fds, (size_t)n * sizeof *w->fds);
            PL_ASSERT(w->fds != NULL);
            memset(w->fds + w->nfds, 0, (size_t)(n - w->nfds) * sizeof *w->fds);
            w->nfds = n;
        }
        if (w->fds[fd] == NULL && !stale(w, fd))
            break;
    }
    w->fds[fd] = c;
    return fd;
}

ks_conn *ks_conn_of(ks_world *w, int fd)
{
    if (fd < 0 || fd >= w->nfds || w->fds[fd] == &ks_lis_mark)
        return NULL;
    return w->fds[fd];
}

/* ---- connections --------------------------------------------------------------- */

ks_conn *ks_connect(ks_world *w, ks_client *cl)
{
    if (w->lis == NULL || w->rt == NULL)
        return NULL;
    ks_conn *c = calloc(1, sizeof *c);
    PL_ASSERT(c != NULL);
    c->id = ++w->nconns;
    c->fd = -1;
    c->lat = ks_below(w, 20);
    c->jit = ks_below(w, 6);
    c->cl = cl;
    c->next = w->conns;
    w->conns = c;
    if (w->bl_tail)
        w->bl_tail->bl_next = c;
    else
        w->bl_head = c;
    w->bl_tail = c;
    if (!w->lis->paused)
        ks_sched_once(w, &w->lis->ev, w->now + c->lat);
    return c;
}

void ks_reader_wake(ks_world *w, ks_conn *c)
{
    ks_op *r = c->reader;
    if (r == NULL || r->paused)
        return;
    uint64_t at = c->reset ? w->now : ks_pipe_next_at(w, &c->up);
    if (at != KS_NEVER)
        ks_sched_once(w, &r->ev, at);
}

void ks_conn_reset(ks_world *w, ks_conn *c)
{
    if (c->reset)
        return;
    c->reset = true;
    c->up.seg0 = c->up.nseg = 0;         /* nothing in flight arrives */
    c->down.seg0 = c->down.nseg = 0;
    c->up.len = c->up.arrived;
    c->down.len = c->down.arrived;
    ks_reader_wake(w, c);
    if (c->writer != NULL)
        ks_sched_once(w, &c->writer->ev, w->now);
    if (c->cl != NULL)
        ks_client_wake(w, c->cl);
}

/* A connection neither end uses any more: its buffers go. */
void ks_conn_gone(ks_world *w, ks_conn *c)
{
    (void)w;
    if (c->cl == NULL && (c->srv_closed || c->reset)) {
        pipe_free(&c->up);
        pipe_free(&c->down);
    }
}

void ks_net_free(ks_world *w)
{
    while (w->conns != NULL) {
        ks_conn *c = w->conns;
        w->conns = c->next;
        free(c->up.buf), free(c->up.seg), free(c->down.buf), free(c->down.seg);
        free(c);
    }
    free(w->fds);
    w->fds = NULL;
    w->nfds = 0;
}
