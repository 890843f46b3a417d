/* sim_http.c — the simulated HTTP clients of the serve scenario.
 *
 * Each client opens one connection and plays a script of requests for the
 * simulated tree (sim_http_req.c). How it plays it is drawn from the seed:
 *
 *   window   requests in flight at most: 1 (keep-alive, one at a time, with
 *            a pause between them), a few, or all of them (pipelined)
 *   writes   chunks cut at random byte boundaries; some a byte or a few at a
 *            time; "slow" clients one byte every 300 ms or more, so that the
 *            header timeout must cut them with a 408
 *   reads    fast, or small reads with pauses (the server's flow control)
 *   faults   with faults on, some reset the connection part-way through a
 *            request, or part-way through a response
 *
 * Every byte that comes back is checked as it arrives (sim_http_resp.c).
 * A client ends when its last response is in (waiting for the server's EOF
 * if that response said Connection: close), when the server closes, or at
 * its own reset; it then closes its end, and the server must close too.
 */
#include "backend/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sim_hclient *hclient_of(sim_ev *e)
{
    switch (e->kind) {
    case SIM_EV_HC_START: return (sim_hclient *)((char *)e - offsetof(sim_hclient, ev_start));
    case SIM_EV_HC_WRITE: return (sim_hclient *)((char *)e - offsetof(sim_hclient, ev_write));
    default: return (sim_hclient *)((char *)e - offsetof(sim_hclient, ev_read));
    }
}

void sim_http_violation(sim_world *w, sim_hclient *c, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    w->violations++;
    if (c == NULL) {
        fprintf(stderr, "sim seed %llu: violation: %s\n", (unsigned long long)w->o.seed, why);
        return;
    }
    c->bad = true;
    fprintf(stderr, "sim seed %llu: violation: http client %u, request %u of %u: %s\n",
            (unsigned long long)w->o.seed, c->id, c->answered + 1, c->nreq, why);
}

static void hclient_init(sim_world *w, sim_hclient *c, uint32_t id)
{
    c->id = id;
    c->ev_start.kind = SIM_EV_HC_START;
    c->ev_write.kind = SIM_EV_HC_WRITE;
    c->ev_read.kind = SIM_EV_HC_READ;
    uint64_t r = sim_below(w, 10);
    c->window = r < 4 ? 1 : r < 7 ? 2 + (uint32_t)sim_below(w, 3) : SIM_HTTP_REQS_MAX;
    c->slow = sim_below(w, 12) == 0;
    bool tiny = sim_below(w, 6) == 0;
    c->wmax = c->slow ? 1 : tiny ? 1u << sim_below(w, 4) : 8u << sim_below(w, 9);
    c->wgap_ms = c->slow ? 300 + (uint32_t)sim_below(w, 500)
                         : (uint32_t)sim_below(w, tiny ? 10 : 4);
    bool lazy = sim_below(w, 4) == 0;
    c->rmax = lazy ? 1024u << sim_below(w, 5) : SIM_CHUNK;
    c->rgap_ms = lazy ? 5 + (uint32_t)sim_below(w, 50) : (uint32_t)sim_below(w, 2);
    if (c->slow)
        c->window = 1;
    c->reset_tx = c->reset_rx = SIM_NEVER;
    sim_http_script(w, c);
    if (w->o.faults && sim_below(w, SIM_RESET_ONE_IN) == 0) {
        if (sim_below(w, 2))
            c->reset_tx = sim_below(w, 120ull * c->nreq);    /* may lie past the end */
        else
            c->reset_rx = sim_size(w, 256 * 1024);
    }
}

void sim_http_spawn(sim_world *w, uint16_t port)
{
    w->port = port;
    w->ncl = w->o.clients;
    w->hc = calloc(w->ncl ? w->ncl : 1, sizeof *w->hc);
    PL_ASSERT(w->hc != NULL);
    for (uint32_t i = 0; i < w->ncl; i++) {
        hclient_init(w, &w->hc[i], i);
        sim_sched(w, &w->hc[i].ev_start, w->now + sim_below(w, SIM_SPAWN_MS));
    }
}

void sim_http_free(sim_world *w)
{
    for (uint32_t i = 0; w->hc != NULL && i < w->ncl; i++) {
        free(w->hc[i].out);
        free(w->hc[i].in);
    }
    free(w->hc);
}

/* The client hangs up: its end closes (a FIN unless it reset), so the
 * server sees EOF and its writes fail from now on. */
static void hclient_done(sim_world *w, sim_hclient *c)
{
    if (c->done)
        return;
    c->done = true;
    w->ndone++;
    sim_unsched(w, &c->ev_start);
    sim_unsched(w, &c->ev_write);
    sim_unsched(w, &c->ev_read);
    if (c->conn != NULL) {
        sim_pipe_shut(w, &c->conn->to[0]);
        c->conn->end[1].closed = true;
        sim_end_wake(w, c->conn, 0);
        sim_conn_closed(c->conn);
    }
}

static void hclient_reset(sim_world *w, sim_hclient *c, uint64_t *kind)
{
    c->faulted = true;
    w->st.resets++;
    (*kind)++;
    sim_conn_reset(w, c->conn);
    hclient_done(w, c);
}

static void hclient_start(sim_world *w, sim_hclient *c)
{
    if (!w->base_taken)
        sim_http_baseline(w);
    int err;
    sim_conn *k = sim_conn_open(w, w->port, &err);
    if (k == NULL) {
        c->refused = true;
        w->st.refused++;
        hclient_done(w, c);
        return;
    }
    c->conn = k;
    k->end[1].hc = c;
    c->ready_at = w->now;
    sim_sched(w, &c->ev_write, w->now + k->lat_ms);
}

/* Build the requests the script allows now; true when bytes wait to go. */
static bool more_to_send(sim_world *w, sim_hclient *c)
{
    while (c->built < c->nreq && c->built - c->answered < c->window) {
        if (w->now < c->ready_at) {
            sim_sched_once(w, &c->ev_write, c->ready_at);
            break;
        }
        const sim_hreq *q = &c->req[c->built];
        if (q->think_ms > SIM_HTTP_IDLE_MS + 1000) {
            /* EOF arrived long ago and ended the client, unless the server
             * forgot to time the idle connection out. */
            sim_http_violation(w, c, "still open %u ms after the last response "
                               "(idle timeout %u ms)", q->think_ms, SIM_HTTP_IDLE_MS);
            hclient_done(w, c);
            return false;
        }
        sim_http_build(w, c, c->built++);
    }
    return c->sent < c->out_len;
}

/* Note when each request's first and last bytes leave. */
static void mark_times(sim_world *w, sim_hclient *c, uint64_t from, uint64_t to)
{
    for (uint32_t i = 0; i < c->built; i++) {
        sim_hreq *q = &c->req[i];
        if (q->start_at == SIM_NEVER && from < q->at + q->len && to > q->at)
            q->start_at = w->now;
        if (q->sent_at == SIM_NEVER && to >= q->at + q->len) {
            q->sent_at = w->now;
            w->st.requests++;
        }
    }
}

static void hclient_write(sim_world *w, sim_hclient *c)
{
    sim_conn *k = c->conn;
    if (k->reset || k->end[0].closed || c->closing)
        return;                         /* a closed server end shows up as EOF */
    if (c->sent >= c->reset_tx) {
        hclient_reset(w, c, &w->st.resets_tx);
        return;
    }
    if (!more_to_send(w, c))
        return;
    sim_pipe *p = &k->to[0];
    uint64_t n = sim_size(w, c->wmax), room = sim_pipe_room(p), left = c->out_len - c->sent;
    if (c->reset_tx - c->sent < left)
        left = c->reset_tx - c->sent;
    n = n < room ? n : room;
    n = n < left ? n : left;
    if (n == 0) {
        c->wr_blocked = true;           /* the server has not read enough */
        return;
    }
    sim_pipe_write(w, p, c->out + c->sent, (size_t)n);
    mark_times(w, c, c->sent, c->sent + n);
    c->sent += n;
    sim_sched(w, &c->ev_write, w->now + sim_below(w, c->wgap_ms + 1));
}

/* Keep n received bytes for the parser. */
static void take_in(sim_hclient *c, const uint8_t *d, size_t n)
{
    if (c->in_len + n > c->in_cap) {
        size_t cap = c->in_cap ? c->in_cap : 4096;
        while (cap < c->in_len + n)
            cap *= 2;
        c->in = realloc(c->in, cap);
        PL_ASSERT(c->in != NULL);
        c->in_cap = cap;
    }
    memcpy(c->in + c->in_len, d, n);
    c->in_len += n;
}

/* After responses came in: stop, wait for EOF, or let the next requests go. */
static void after_responses(sim_world *w, sim_hclient *c, uint32_t before)
{
    if (c->bad || (c->answered == c->nreq && !c->closing)) {
        hclient_done(w, c);
        return;
    }
    if (c->answered == before || c->closing || c->answered == c->nreq)
        return;
    if (c->window == 1)
        c->ready_at = w->now + c->req[c->answered].think_ms;
    sim_sched_once(w, &c->ev_write, c->ready_at > w->now ? c->ready_at : w->now);
}

static void hclient_read(sim_world *w, sim_hclient *c)
{
    sim_conn *k = c->conn;
    sim_pipe *p = &k->to[1];
    if (k->reset) {                     /* not ours: the listener dropped it */
        c->refused = true;
        w->st.refused++;
        hclient_done(w, c);
        return;
    }
    if (p->rd < p->arrived) {
        uint64_t n = sim_size(w, c->rmax);
        n = n < p->arrived - p->rd ? n : p->arrived - p->rd;
        if (c->reset_rx - c->got < n)
            n = c->reset_rx - c->got;
        take_in(c, p->buf + (p->rd - p->base), (size_t)n);
        c->got += n;
        sim_pipe_consume(w, p, n);
        if (c->got >= c->reset_rx) {
            hclient_reset(w, c, &w->st.resets_rx);
            return;
        }
        uint32_t before = c->answered;
        sim_http_take(w, c);
        after_responses(w, c, before);
        if (!c->done && (p->rd < p->arrived || p->eof))
            sim_sched_once(w, &c->ev_read, w->now + sim_below(w, c->rgap_ms + 1));
        return;
    }
    if (p->eof) {
        sim_http_eof(w, c);
        hclient_done(w, c);
    }
}

void sim_http_readable(sim_world *w, sim_hclient *c)
{
    if (!c->done)
        sim_sched_once(w, &c->ev_read, w->now + sim_below(w, c->rgap_ms + 1));
}

void sim_http_writable(sim_world *w, sim_hclient *c)
{
    if (!c->done && c->wr_blocked) {
        c->wr_blocked = false;
        sim_sched_once(w, &c->ev_write, w->now);
    }
}

void sim_http_event(sim_world *w, sim_ev *e)
{
    sim_hclient *c = hclient_of(e);
    if (c->done)
        return;
    if (e->kind == SIM_EV_HC_START)
        hclient_start(w, c);
    else if (e->kind == SIM_EV_HC_WRITE)
        hclient_write(w, c);
    else
        hclient_read(w, c);
}
