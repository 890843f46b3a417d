/* sim_client.c — the simulated clients of the echo scenario, and its check.
 *
 * Each client connects at a random virtual time to the port the program
 * listens on, writes its own pseudo-random byte stream in random chunks with
 * random pauses, half-closes, and reads back until the program closes (or,
 * for some, until everything came back). Some read slowly, so the program's
 * sends back up and flow control is exercised; with faults on, some reset
 * the connection part-way.
 *
 * The invariant, checked on every byte received: what comes back is a
 * prefix of what was sent, in order; and at the end it is all of it, unless
 * the connection was faulted (reset by the client, or refused).
 */
#include "backend/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sim_client *client_of(sim_ev *e)
{
    switch (e->kind) {
    case SIM_EV_CL_START: return (sim_client *)((char *)e - offsetof(sim_client, ev_start));
    case SIM_EV_CL_WRITE: return (sim_client *)((char *)e - offsetof(sim_client, ev_write));
    default: return (sim_client *)((char *)e - offsetof(sim_client, ev_read));
    }
}

void sim_violation(sim_world *w, const sim_client *cl, uint64_t off, const char *why)
{
    w->violations++;
    if (cl != NULL)
        fprintf(stderr, "sim seed %llu: violation: client %u offset %llu: %s\n",
                (unsigned long long)w->o.seed, cl->id, (unsigned long long)off, why);
    else
        fprintf(stderr, "sim seed %llu: violation: %s\n", (unsigned long long)w->o.seed, why);
}

/* How much one client sends: a few nothing much, most some, some the most. */
static uint64_t pick_amount(sim_world *w)
{
    uint64_t max = w->o.bytes, r = sim_below(w, 10);
    if (r == 0)
        return sim_below(w, max < 100 ? max + 1 : 100);
    if (r < 7)
        return sim_below(w, max / 4 + 1);
    return max / 2 + sim_below(w, max - max / 2 + 1);
}

static void client_init(sim_world *w, sim_client *cl, uint32_t id)
{
    cl->id = id;
    cl->ev_start.kind = SIM_EV_CL_START;
    cl->ev_write.kind = SIM_EV_CL_WRITE;
    cl->ev_read.kind = SIM_EV_CL_READ;
    cl->seed = sim_rng_next(w->rng);
    cl->want = pick_amount(w);
    bool tiny = sim_below(w, 10) == 0;    /* a byte or a few at a time */
    cl->wmax = tiny ? 1u << sim_below(w, 6) : 512u << sim_below(w, 7);
    cl->wgap_ms = (uint32_t)sim_below(w, tiny ? 2 : 5);
    if (tiny && cl->want > 8192)
        cl->want = 8192;
    bool slow = sim_below(w, 4) == 0;
    cl->rmax = slow ? 1024u << sim_below(w, 5) : SIM_CHUNK;
    cl->rgap_ms = slow ? 5 + (uint32_t)sim_below(w, 50) : (uint32_t)sim_below(w, 2);
    cl->close_early = sim_below(w, 2) == 0;
    cl->reset_at = SIM_NEVER;
    if (w->o.faults && sim_below(w, SIM_RESET_ONE_IN) == 0)
        cl->reset_at = sim_below(w, cl->want + 1);
}

void sim_clients_spawn(sim_world *w, uint16_t port)
{
    w->port = port;
    w->ncl = w->o.clients;
    w->cl = calloc(w->ncl ? w->ncl : 1, sizeof *w->cl);
    PL_ASSERT(w->cl != NULL);
    for (uint32_t i = 0; i < w->ncl; i++) {
        client_init(w, &w->cl[i], i);
        sim_sched(w, &w->cl[i].ev_start, w->now + sim_below(w, SIM_SPAWN_MS));
    }
}

static void client_done(sim_world *w, sim_client *cl)
{
    if (cl->done)
        return;
    cl->done = true;
    w->ndone++;
    sim_unsched(w, &cl->ev_start);
    sim_unsched(w, &cl->ev_write);
    sim_unsched(w, &cl->ev_read);
    if (cl->conn != NULL) {
        cl->conn->end[1].closed = true;
        sim_end_wake(w, cl->conn, 0);       /* the program's writes now fail */
        sim_conn_closed(cl->conn);
    }
}

static void client_start(sim_world *w, sim_client *cl)
{
    int err;
    sim_conn *c = sim_conn_open(w, w->port, &err);
    if (c == NULL) {
        cl->refused = true;
        w->st.refused++;
        client_done(w, cl);
        return;
    }
    cl->conn = c;
    c->end[1].cl = cl;
    sim_sched(w, &cl->ev_write, w->now + c->lat_ms);
}

static void client_write(sim_world *w, sim_client *cl)
{
    sim_conn *c = cl->conn;
    if (cl->shut || c->reset || c->end[0].closed)
        return;                         /* a closed program end shows up as EOF */
    if (cl->sent >= cl->reset_at) {
        cl->faulted = true;
        w->st.resets++;
        client_done(w, cl);
        sim_conn_reset(w, c);
        return;
    }
    sim_pipe *p = &c->to[0];
    if (cl->sent == cl->want) {
        cl->shut = true;
        sim_pipe_shut(w, p);
        return;
    }
    uint64_t n = sim_size(w, cl->wmax), room = sim_pipe_room(p);
    uint64_t left = (cl->reset_at < cl->want ? cl->reset_at : cl->want) - cl->sent;
    n = n < room ? n : room;
    n = n < left ? n : left;
    if (n == 0) {
        cl->wr_blocked = true;          /* the program has not read enough */
        return;
    }
    sim_fill(cl->seed, cl->sent, w->scratch, (size_t)n);
    sim_pipe_write(w, p, w->scratch, (size_t)n);
    cl->sent += n;
    sim_sched(w, &cl->ev_write, w->now + sim_below(w, cl->wgap_ms + 1));
}

/* The invariant, on each chunk: it continues exactly what was sent. */
static void client_check(sim_world *w, sim_client *cl, const uint8_t *d, uint64_t n)
{
    if (cl->bad)
        return;
    uint64_t ok = cl->sent > cl->got ? cl->sent - cl->got : 0;
    ok = ok < n ? ok : n;
    sim_fill(cl->seed, cl->got, w->scratch, (size_t)ok);
    for (uint64_t i = 0; i < ok; i++) {
        if (d[i] != w->scratch[i]) {
            cl->bad = true;
            sim_violation(w, cl, cl->got + i, "a byte came back changed or out of order");
            return;
        }
    }
    if (ok < n) {
        cl->bad = true;
        sim_violation(w, cl, cl->sent, "more bytes came back than were sent");
    }
}

static void client_read(sim_world *w, sim_client *cl)
{
    sim_conn *c = cl->conn;
    sim_pipe *p = &c->to[1];
    if (c->reset) {                     /* not ours: the listener dropped it */
        cl->refused = true;
        w->st.refused++;
        client_done(w, cl);
        return;
    }
    if (p->rd < p->arrived) {
        uint64_t n = sim_size(w, cl->rmax);
        n = n < p->arrived - p->rd ? n : p->arrived - p->rd;
        client_check(w, cl, p->buf + (p->rd - p->base), n);
        cl->got += n;
        w->st.echoed += n;
        sim_pipe_consume(w, p, n);
        if (cl->close_early && cl->shut && cl->got >= cl->want)
            client_done(w, cl);         /* all came back: hang up without waiting */
        else if (p->rd < p->arrived || p->eof)
            sim_sched_once(w, &cl->ev_read, w->now + sim_below(w, cl->rgap_ms + 1));
        return;
    }
    if (p->eof) {
        if (cl->got < cl->want && !cl->bad) {
            cl->bad = true;
            sim_violation(w, cl, cl->got, "the program closed before echoing everything");
        }
        if (!cl->shut) {
            cl->shut = true;
            sim_pipe_shut(w, &c->to[0]);
        }
        client_done(w, cl);
    }
}

void sim_client_readable(sim_world *w, sim_client *cl)
{
    if (!cl->done)
        sim_sched_once(w, &cl->ev_read, w->now + sim_below(w, cl->rgap_ms + 1));
}

void sim_client_writable(sim_world *w, sim_client *cl)
{
    if (!cl->done && cl->wr_blocked) {
        cl->wr_blocked = false;
        sim_sched_once(w, &cl->ev_write, w->now);
    }
}

void sim_client_event(sim_world *w, sim_ev *e)
{
    sim_client *cl = client_of(e);
    if (cl->done)
        return;
    if (e->kind == SIM_EV_CL_START)
        client_start(w, cl);
    else if (e->kind == SIM_EV_CL_WRITE)
        client_write(w, cl);
    else
        client_read(w, cl);
}
