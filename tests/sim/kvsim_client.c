/* kvsim_client.c — the simulated HTTP clients of the kv machine.
 *
 * Each client plays a script of PUT, GET and DELETE requests on a few keys
 * (kvsim_req.c), one at a time (with pauses, some past kv's idle timeout)
 * or several pipelined. Requests leave cut at random byte boundaries; a
 * slow client trickles the first bytes of each request a few at a time;
 * about one connection in ten is reset by its client part-way, and now and
 * then a client closes between requests and connects again. A client whose
 * connection ends (the machine died, it closed, or it reset) connects again
 * and goes on with its script: what it had in flight has an unknown fate,
 * which the checker allows for.
 *
 * The verifier is a client of its own: after every start of the machine it
 * reads every key back, so that each acknowledged write is checked after
 * each crash.
 */
#include "kvsim.h"

#include <stdlib.h>
#include <string.h>

void ks_clients_make(ks_world *w)
{
    w->nkeys = 2 + (uint32_t)ks_below(w, 9);
    w->big = ks_below(w, 4) == 0;       /* values up to (and past) 1 MiB */
    for (uint32_t k = 0; k < w->nkeys; k++) {
        ks_key_name(w, k);
        w->khead[k] = w->ktail[k] = UINT32_MAX;
    }
    uint32_t n = w->o.clients ? w->o.clients : 2 + (uint32_t)ks_below(w, 7);
    w->ncl = n + 1;
    w->cl = calloc(w->ncl, sizeof *w->cl);
    PL_ASSERT(w->cl != NULL);
    for (uint32_t i = 0; i < w->ncl; i++) {
        ks_client *c = &w->cl[i];
        c->ev.kind = KS_EV_CLIENT;
        c->id = i;
        c->verifier = i == n;
        c->ops = c->verifier ? 0 : 5 + (uint32_t)ks_below(w, 40);
        c->window = c->verifier ? 4 : ks_below(w, 3) == 0 ? 2 + (uint32_t)ks_below(w, 7) : 1;
        c->slow = !c->verifier && ks_below(w, 10) == 0;
        c->wmax = (uint32_t)ks_size(w, 64 * 1024);
        c->wgap_ms = (uint32_t)ks_below(w, 20);
        c->think_ms = (uint32_t)ks_size(w, 3000);
        c->wr_at = KS_NEVER;
        c->done = c->verifier;
        if (!c->verifier)
            ks_sched(w, &c->ev, KS_EPOCH_MS + ks_below(w, 2000));
    }
}

bool ks_clients_done(ks_world *w)
{
    for (uint32_t i = 0; i < w->ncl; i++)
        if (!w->cl[i].done)
            return false;
    return true;
}

void ks_clients_free(ks_world *w)
{
    for (uint32_t i = 0; i < w->ncl; i++) {
        free(w->cl[i].out);
        free(w->cl[i].in);
    }
    free(w->cl);
    w->cl = NULL;
}

/* Nothing more to ask: the script is played (the verifier: every key read). */
static bool over(const ks_world *w, const ks_client *c)
{
    if (c->verifier)
        return c->vkey >= c->vend && c->nq == 0;
    return c->issued >= c->ops && c->nq == 0;
}

/* Could another request go on this connection (now or once ready_at passed)? */
static bool could_build(const ks_world *w, const ks_client *c)
{
    if (c->issued >= c->ops || c->nq >= c->window || c->closing)
        return false;
    if (c->verifier && c->vkey >= c->vend)
        return false;
    return c->nq == 0 || !c->q[(c->q0 + c->nq - 1) % KS_WINDOW_MAX].close;
}

static bool may_build(const ks_world *w, const ks_client *c)
{
    return w->now >= c->ready_at && could_build(w, c);
}

/* ---- the connection ------------------------------------------------------------- */


static void next_event(ks_world *w, ks_client *c)
{
    uint64_t at = KS_NEVER;
    if (c->conn == NULL) {
        at = w->now + 20 + ks_below(w, 300);
    } else {
        at = c->conn->reset ? w->now : ks_pipe_next_at(w, &c->conn->down);
        if (c->sent < c->out_base + c->out_len && c->wr_at < at)
            at = c->wr_at;
        if (could_build(w, c) && c->ready_at < at)
            at = c->ready_at > w->now ? c->ready_at : w->now;
    }
    if (at != KS_NEVER)
        ks_sched(w, &c->ev, at);
}

/* The connection ended: what was in flight may or may not have happened. */
void ks_client_lost(ks_world *w, ks_client *c)
{
    ks_conn *k = c->conn;
    ks_say(w, "client %u: connection %u ended (%s), %u requests in flight, %u of %u done",
           c->id, k->id, k->reset ? "reset" : "closed", c->nq, c->issued, c->ops);
    if (c->verifier)                            /* read again what it lost */
        c->vkey = c->vkey > c->nq ? c->vkey - c->nq : 0;
    for (uint32_t i = 0; i < c->nq; i++) {
        ks_req *q = &c->q[(c->q0 + i) % KS_WINDOW_MAX];
        if (q->write == UINT32_MAX)
            continue;
        if (q->s == 0)
            ks_write_failed(w, q->write);       /* never sent a byte of it */
        else
            ks_write_unknown(w, q->write);
    }
    c->nq = c->q0 = 0;
    c->in_len = 0;
    c->out_base = c->sent;
    c->out_len = 0;
    c->closing = false;
    c->wr_at = KS_NEVER;
    k->cl = NULL;
    ks_conn_gone(w, k);
    c->conn = NULL;
    ks_unsched(w, &c->ev);
    if (over(w, c)) {
        c->done = true;
        return;
    }
    ks_sched(w, &c->ev, w->now + ks_below(w, 300));
}

static void let_go(ks_world *w, ks_client *c)
{
    ks_pipe_shut(w, c->conn, &c->conn->up);     /* FIN: the machine reads EOF */
    ks_client_lost(w, c);
}

static void client_reset(ks_world *w, ks_client *c)
{
    ks_conn *k = c->conn;
    w->st.resets++;
    k->cl = NULL;                               /* no wake-up for a client gone */
    ks_conn_reset(w, k);
    k->cl = c;
    ks_client_lost(w, c);
}

void ks_client_wake(ks_world *w, ks_client *c)
{
    if (c->conn == NULL)
        return;
    uint64_t at = c->conn->reset ? w->now : ks_pipe_next_at(w, &c->conn->down);
    if (at != KS_NEVER)
        ks_sched_once(w, &c->ev, at);
}

static void connect_to(ks_world *w, ks_client *c)
{
    if (over(w, c)) {
        c->done = true;
        return;
    }
    ks_conn *k = ks_connect(w, c);
    if (k == NULL) {
        ks_sched(w, &c->ev, w->now + 20 + ks_below(w, 400));
        return;
    }
    c->conn = k;
    c->moved = 0;
    bool reset = !w->o.no_faults && !c->verifier && ks_below(w, 10) == 0;
    c->reset_after = reset ? ks_size(w, 200000) : KS_NEVER;
    c->wr_at = w->now;
}

/* What arrived: false once the connection is over. */
static bool client_read(ks_world *w, ks_client *c)
{
    ks_conn *k = c->conn;
    if (k->reset) {
        ks_client_lost(w, c);
        return false;
    }
    ks_pipe *p = &k->down;
    uint64_t arrived = ks_pipe_arrived(w, p);
    if (arrived > p->rd) {
        size_t n = (size_t)(arrived - p->rd);
        if (c->in_len + n > c->in_cap) {
            size_t cap = c->in_cap ? c->in_cap : 4096;
            while (cap < c->in_len + n)
                cap *= 2;
            c->in = realloc(c->in, cap);
            PL_ASSERT(c->in != NULL);
            c->in_cap = cap;
        }
        memcpy(c->in + c->in_len, p->buf + (p->rd - p->base), n);
        c->in_len += n;
        p->rd = arrived;
        c->moved += n;
        ks_take(w, c);
    }
    if (ks_pipe_eof(w, p)) {
        ks_client_lost(w, c);
        return false;
    }
    return true;
}

static void client_write(ks_world *w, ks_client *c)
{
    uint64_t end = c->out_base + c->out_len;
    if (c->sent >= end || c->wr_at > w->now)
        return;
    bool slow = false;                  /* a slow client trickles a request's first bytes */
    for (uint32_t i = 0; i < c->nq && c->slow; i++) {
        const ks_req *q = &c->q[(c->q0 + i) % KS_WINDOW_MAX];
        slow |= c->sent >= q->at && c->sent < q->at + 300;
    }
    uint64_t left = end - c->sent;
    uint64_t n = slow ? 1 + ks_below(w, 8) : ks_size(w, c->wmax);
    if (!slow && n < left / 32)
        n = left / 32;                  /* a large body in at most a few hundred writes */
    n = n < left ? n : left;
    for (uint32_t i = 0; i < c->nq; i++) {
        ks_req *q = &c->q[(c->q0 + i) % KS_WINDOW_MAX];
        if (q->s == 0 && q->at < c->sent + n) {
            q->s = w->now;
            if (q->write != UINT32_MAX)
                w->w[q->write].s = w->now;
        }
    }
    ks_pipe_write(w, c->conn, &c->conn->up, c->out + (c->sent - c->out_base), (size_t)n);
    c->sent += n;
    c->moved += n;
    if (c->sent == end) {
        c->out_base = end;
        c->out_len = 0;
    }
    c->wr_at = w->now + (slow ? 100 + ks_below(w, 600) : ks_below(w, c->wgap_ms + 1));
}

void ks_client_event(ks_world *w, ks_client *c)
{
    if (c->done)
        return;
    if (c->conn == NULL) {
        connect_to(w, c);
        if (c->conn == NULL)
            return;
    }
    if (!client_read(w, c))
        return;
    while (may_build(w, c))
        ks_build(w, c);
    client_write(w, c);
    if (c->moved >= c->reset_after) {
        client_reset(w, c);
        return;
    }
    bool idle = c->nq == 0 && c->sent == c->out_base + c->out_len;
    if (idle && (over(w, c) || ks_below(w, 20) == 0)) {
        let_go(w, c);                   /* done, or a new connection for what follows */
        return;
    }
    next_event(w, c);
}

/* A response came for the oldest request: the next may wait a while. */
void ks_client_answered(ks_world *w, ks_client *c)
{
    if (c->window == 1 && !c->verifier)
        c->ready_at = w->now + (ks_below(w, 40) == 0 ? 61000 : ks_below(w, c->think_ms));
}

void ks_verify_start(ks_world *w)
{
    ks_client *c = &w->cl[w->ncl - 1];
    c->vkey = 0;
    c->vend = w->nkeys + (w->phase >= 2);       /* and a write, once faults are over */
    c->ops = UINT32_MAX;
    c->done = false;
    if (c->conn == NULL)
        ks_sched(w, &c->ev, w->now + 1 + ks_below(w, 50));
}
