/* sim_net.c — the simulated network: descriptors, listeners, connections.
 *
 * A connection has two ends (the accepted one and the connecting one), each
 * a program descriptor or a simulated client, one pipe per direction, and a
 * latency drawn when it opens. A reset breaks both directions at once.
 *
 * The bytes themselves travel in pipes (sim_pipe.c).
 *
 * Descriptors are small integers given lowest-first from 3, as a kernel
 * would. Accepting may fail with EMFILE (injected, or at the simulated
 * limit); the listener then backs off for SIM_EMFILE_BACKOFF_MS of virtual
 * time and retries, so a full table never spins the loop.
 */
#include "backend/sim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sim_fd_alloc(sim_world *w, sim_fdkind kind)
{
    if (w->nopen >= w->fd_limit)
        return -EMFILE;
    int fd = SIM_FD_FIRST;
    while (fd < w->nfds && w->fds[fd].kind != SIM_FD_FREE)
        fd++;
    if (fd >= w->nfds) {
        int n = w->nfds ? w->nfds * 2 : 64;
        sim_fd *f = realloc(w->fds, (size_t)n * sizeof *f);
        PL_ASSERT(f != NULL);
        memset(f + w->nfds, 0, (size_t)(n - w->nfds) * sizeof *f);
        w->fds = f;
        w->nfds = n;
    }
    w->fds[fd] = (sim_fd){ .kind = (uint8_t)kind, .node = -1 };
    w->nopen++;
    return fd;
}

sim_fd *sim_fd_at(sim_world *w, int fd)
{
    if (fd < 0 || fd >= w->nfds || w->fds[fd].kind == SIM_FD_FREE)
        return NULL;
    return &w->fds[fd];
}

void sim_fd_free(sim_world *w, int fd)
{
    PL_ASSERT(sim_fd_at(w, fd) != NULL);
    w->fds[fd] = (sim_fd){ .kind = SIM_FD_FREE, .node = -1 };
    w->nopen--;
}

/* ---- listeners --------------------------------------------------------- */

static sim_lis *lis_find(sim_world *w, uint16_t port)
{
    for (sim_lis *l = w->lis; l != NULL; l = l->next)
        if (!l->closed && l->port == port)
            return l;
    return NULL;
}

static void bind_port(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_LISTENING, .fd = -1 };
    uint16_t port = op->t->cmd.port;
    while (port == 0 && lis_find(w, w->next_port) != NULL)
        w->next_port++;
    if (port == 0)
        port = w->next_port++;
    int fd = lis_find(w, port) ? -EADDRINUSE : sim_fd_alloc(w, SIM_FD_LISTEN);
    if (fd < 0) {
        a.err = fd;
        sim_final(w, op, &a);
        return;
    }
    sim_lis *l = calloc(1, sizeof *l);
    PL_ASSERT(l != NULL);
    *l = (sim_lis){ .port = port, .fd = fd, .op = op, .next = w->lis };
    w->lis = l;
    w->fds[fd].lis = l;
    op->lis = l;
    a.fd = fd;
    a.port = port;
    sim_deliver(w, op->t, &a);
    if (w->echo && w->cl == NULL)
        sim_clients_spawn(w, port);
    else if (w->http && w->hc == NULL)
        sim_http_spawn(w, port);
}

static void accept_one(sim_world *w, sim_op *op)
{
    sim_lis *l = op->lis;
    if (l->closed || l->bl_head == NULL)
        return;
    if (!pl__may_accept(w->rt)) {
        sim_pause(w, op);               /* kick() resumes it when a slot frees */
        return;
    }
    if (w->now < l->emfile_until) {
        sim_sched(w, &op->ev, l->emfile_until);
        return;
    }
    bool inject = w->o.faults && sim_below(w, SIM_EMFILE_ONE_IN) == 0;
    int fd = inject ? -EMFILE : sim_fd_alloc(w, SIM_FD_CONN);
    if (fd < 0) {
        w->st.emfile++;
        l->emfile_until = w->now + SIM_EMFILE_BACKOFF_MS;
        sim_sched(w, &op->ev, l->emfile_until);
        return;
    }
    sim_conn *c = l->bl_head;
    l->bl_head = c->bl_next;
    if (l->bl_head == NULL)
        l->bl_tail = NULL;
    l->nbl--;
    c->bl_next = NULL;
    c->end[0].fd = fd;
    c->accepted_at = w->now;
    w->fds[fd].conn = c;
    w->fds[fd].side = 0;
    pl__fd_opened(w->rt, fd);
    pl_answer a = { .kind = PL_ANS_CLIENT, .fd = fd, .port = (uint16_t)(30000 + c->id % 30000) };
    snprintf(a.peer, sizeof a.peer, "10.0.%u.%u", (c->id >> 8) & 255u, c->id & 255u);
    pl__task *t = op->t;
    sim_deliver(w, t, &a);
    if (t->bkp == op && l->bl_head != NULL)
        sim_sched_once(w, &op->ev, w->now);
}

void sim_listen_step(sim_world *w, sim_op *op)
{
    if (op->lis == NULL)
        bind_port(w, op);
    else
        accept_one(w, op);
}

/* No more connections: the port is free again and the backlog is reset. */
void sim_lis_shut(sim_world *w, sim_lis *l)
{
    if (l->closed)
        return;
    l->closed = true;
    if (l->fd >= 0)
        sim_fd_free(w, l->fd);
    l->fd = -1;
    while (l->bl_head != NULL) {
        sim_conn *c = l->bl_head;
        l->bl_head = c->bl_next;
        c->bl_next = NULL;
        c->end[0].closed = true;
        sim_conn_reset(w, c);
        sim_conn_closed(c);
    }
    l->bl_tail = NULL;
    l->nbl = 0;
}

/* ---- connections ------------------------------------------------------- */

static sim_conn *conn_new(sim_world *w)
{
    sim_conn *c = calloc(1, sizeof *c);
    PL_ASSERT(c != NULL);
    c->id = ++w->nconns;
    c->lat_ms = sim_below(w, 20);
    c->jit_ms = sim_below(w, 6);
    c->accepted_at = SIM_NEVER;
    for (int s = 0; s < 2; s++) {
        c->to[s].ev.kind = SIM_EV_PIPE;
        c->to[s].conn = c;
        c->to[s].side = s;
        c->to[s].win = 4096ull << sim_below(w, 6);
        c->end[s].fd = -1;
    }
    c->next = w->conns;
    w->conns = c;
    return c;
}

/* A connection to port, waiting in its listener's backlog; NULL and *err
 * when refused. The connecting end (1) belongs to the caller. */
sim_conn *sim_conn_open(sim_world *w, uint16_t port, int *err)
{
    sim_lis *l = lis_find(w, port);
    if (l == NULL || l->nbl >= SIM_BACKLOG) {
        *err = -ECONNREFUSED;
        return NULL;
    }
    sim_conn *c = conn_new(w);
    if (l->bl_tail)
        l->bl_tail->bl_next = c;
    else
        l->bl_head = c;
    l->bl_tail = c;
    l->nbl++;
    if (l->op != NULL && !l->op->paused)
        sim_sched_once(w, &l->op->ev, w->now + c->lat_ms);
    *err = 0;
    return c;
}

void sim_connect_step(sim_world *w, sim_op *op)
{
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = -1 };
    int fd = sim_fd_alloc(w, SIM_FD_CONN);
    sim_conn *c = fd < 0 ? NULL : sim_conn_open(w, op->t->cmd.port, &a.err);
    if (fd < 0)
        a.err = fd;
    else if (c == NULL)
        sim_fd_free(w, fd);
    if (c != NULL) {
        c->end[1].fd = fd;
        w->fds[fd].conn = c;
        w->fds[fd].side = 1;
        a.fd = fd;
    }
    sim_final(w, op, &a);
}

/* Both directions break: nothing in flight arrives, every end learns. */
void sim_conn_reset(sim_world *w, sim_conn *c)
{
    if (c->reset)
        return;
    c->reset = true;
    for (int s = 0; s < 2; s++) {
        sim_unsched(w, &c->to[s].ev);
        c->to[s].seg0 = c->to[s].nsegs = 0;
    }
    for (int s = 0; s < 2; s++) {
        sim_end_notify(w, c, s);
        sim_end_wake(w, c, s);
    }
}

/* Once both ends are closed nobody reads again: give the buffers back. */
void sim_conn_closed(sim_conn *c)
{
    if (!c->end[0].closed || !c->end[1].closed)
        return;
    for (int s = 0; s < 2; s++) {
        free(c->to[s].buf);
        c->to[s].buf = NULL;
        c->to[s].cap = 0;
        c->to[s].base = c->to[s].len;
    }
}

void sim_net_free(sim_world *w)
{
    while (w->conns != NULL) {
        sim_conn *c = w->conns;
        w->conns = c->next;
        for (int s = 0; s < 2; s++) {
            free(c->to[s].buf);
            free(c->to[s].segs);
        }
        free(c);
    }
    while (w->lis != NULL) {
        sim_lis *l = w->lis;
        w->lis = l->next;
        free(l);
    }
    free(w->fds);
}
