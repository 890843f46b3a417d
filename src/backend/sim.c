/* sim.c — the deterministic simulation backend: the table the core calls.
 *
 * submit() only records and schedules; poll() takes the earliest event off
 * the queue, moves the virtual clock to it and runs it, which may deliver
 * answers. One event per poll keeps the interleaving of the world and the
 * program a function of the seed alone.
 *
 * A run ends (poll returns -1) when no event is left, when every simulated
 * client is done and only program timers remain (a server waits forever)
 * while no command waits for a descriptor slot (a timer may free one),
 * or when the next event lies beyond SIM_TIME_CAP_MS of virtual time (a
 * livelock then shows up as clients that never got everything back).
 */
#include "backend/sim.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(offsetof(sim_op, ev) == 0, "an op is found from its event");
_Static_assert(offsetof(sim_pipe, ev) == 0, "a pipe is found from its event");

static void *sim_create(pl_rt *rt, const pl_run_opts *o)
{
    sim_world *w = calloc(1, sizeof *w);
    PL_ASSERT(w != NULL);
    w->rt = rt;
    w->o = o->sim;
    if (w->o.clients == 0)
        w->o.clients = 20;
    if (w->o.bytes == 0)
        w->o.bytes = 64 * 1024;
    if (w->o.files == 0)
        w->o.files = 200;
    const char *sc = w->o.scenario;
    w->http = sc != NULL && (strcmp(sc, "serve") == 0 || strcmp(sc, "http") == 0);
    w->echo = sc == NULL || strcmp(sc, "echo") == 0;
    w->walk = sc == NULL || strcmp(sc, "walk") == 0;
    w->next_port = SIM_PORT_EPHEMERAL;
    uint64_t limit = (uint64_t)o->max_open + 16;
    w->fd_limit = limit < SIM_FD_LIMIT ? SIM_FD_LIMIT : limit > (1u << 20) ? 1 << 20 : (int)limit;
    w->scratch = malloc(SIM_CHUNK);
    PL_ASSERT(w->scratch != NULL);
    sim_rng_seed(w->rng, w->o.seed);
    sim_tree_build(w);
    return w;
}

static void sim_destroy(void *b)
{
    sim_world *w = b;
    while (w->ops != NULL) {            /* none: the core cancels every task first */
        sim_op *op = w->ops;
        w->ops = op->next;
        free(op);
    }
    sim_net_free(w);
    free(w->cl);
    sim_http_free(w);
    free(w->nodes);
    sim_heap_free(&w->events);
    free(w->paused);
    free(w->scratch);
    free(w->dirbuf);
    free(w);
}

static void sim_submit(void *b, pl__task *t)
{
    sim_world *w = b;
    sim_op *op = sim_op_new(w, t);
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        sim_log(w, t);
        sim_sched(w, &op->ev, w->now);
        return;
    case PL_CMD_TIMER:
        sim_sched(w, &op->ev, w->now + t->cmd.after_ms);
        return;
    case PL_CMD_SIGNAL:
        return;                         /* nobody signals a simulated process */
    case PL_CMD_RECV:
        sim_sock_reader(w, op);
        return;
    case PL_CMD_SEND:
        if (sim_is_append(w, t->cmd.fd)) {
            sim_sched(w, &op->ev, w->now + sim_below(w, 3));    /* the disk */
            return;
        }
        sim_sock_writer(w, op);
        return;
    case PL_CMD_SENDFILE:
        sim_sock_writer(w, op);
        return;
    case PL_CMD_CONNECT:
        sim_sched(w, &op->ev, w->now + 1 + sim_below(w, 20));
        return;
    case PL_CMD_TIME:
    case PL_CMD_LISTEN:
    case PL_CMD_CLOSE:
        sim_sched(w, &op->ev, w->now + sim_below(w, 2));
        return;
    default:
        sim_sched(w, &op->ev, w->now + sim_below(w, 3));    /* the disk */
        return;
    }
}

static void sim_cancel(void *b, pl__task *t)
{
    if (t->bkp != NULL)
        sim_op_free(b, t->bkp);
}

/* Slots freed or send queues drained: resume what waits on them. */
static void sim_kick(void *b)
{
    sim_world *w = b;
    for (uint32_t i = 0; i < w->npaused;) {
        sim_op *op = w->paused[i];
        bool ok = op->t->cmd.kind == PL_CMD_LISTEN ? pl__may_accept(w->rt)
                                                   : pl__may_recv(w->rt, op->t->cmd.fd);
        if (!ok) {
            i++;
            continue;
        }
        sim_unpause(w, op);
        sim_sched_once(w, &op->ev, w->now);
    }
}

static void timer_fire(sim_world *w, sim_op *op)
{
    pl__task *t = op->t;
    pl_answer a = { .kind = PL_ANS_TICK, .n = ++op->done };
    if (t->cmd.every_ms == 0) {
        sim_final(w, op, &a);
        return;
    }
    sim_sched(w, &op->ev, w->now + t->cmd.every_ms);
    sim_deliver(w, t, &a);
}

static void run_op(sim_world *w, sim_op *op)
{
    pl__task *t = op->t;
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind), .fd = -1 };
    if (op->err != 0) {
        a.err = op->err;
        a.eof = t->cmd.kind == PL_CMD_READ_FILE;
        sim_final(w, op, &a);
        return;
    }
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        sim_final(w, op, &a);
        return;
    case PL_CMD_TIME:
        a.mono_ns = (int64_t)w->now * 1000000;
        a.wall_ns = SIM_EPOCH_NS + a.mono_ns;
        sim_final(w, op, &a);
        return;
    case PL_CMD_TIMER: timer_fire(w, op); return;
    case PL_CMD_LISTEN: sim_listen_step(w, op); return;
    case PL_CMD_CONNECT: sim_connect_step(w, op); return;
    case PL_CMD_RECV: sim_recv_step(w, op); return;
    case PL_CMD_SEND:
        if (op->conn == NULL) {         /* not a socket, no error: an append fd */
            sim_file_step(w, op);
            return;
        }
        sim_send_step(w, op);
        return;
    case PL_CMD_SENDFILE: sim_send_step(w, op); return;
    case PL_CMD_CLOSE: sim_close_step(w, op); return;
    default: sim_file_step(w, op); return;
    }
}

static int sim_poll(void *b, bool block)
{
    sim_world *w = b;
    w->delivered = 0;
    sim_ev *e = sim_next(w);
    bool quiet = w->ncl > 0 && w->ndone == w->ncl && w->events.n == w->ntimers &&
                 !pl__slots_wanted(w->rt);
    if (e == NULL || quiet)
        return block ? -1 : 0;
    if (e->h.at > SIM_TIME_CAP_MS(w)) {
        w->timed_out = true;
        return block ? -1 : 0;
    }
    if (!block && e->h.at > w->now)
        return 0;                       /* the core has work of its own first */
    sim_unsched(w, e);
    w->now = e->h.at;
    switch (e->kind) {
    case SIM_EV_OP: run_op(w, (sim_op *)e); break;
    case SIM_EV_PIPE: sim_pipe_step(w, (sim_pipe *)e); break;
    case SIM_EV_HC_START:
    case SIM_EV_HC_WRITE:
    case SIM_EV_HC_READ: sim_http_event(w, e); break;
    default: sim_client_event(w, e); break;
    }
    return w->delivered;
}

static void sim_finish(void *b, int code)
{
    sim_report(b, code);
}

const pl__backend pl__backend_sim = {
    .name = "sim",
    .create = sim_create,
    .destroy = sim_destroy,
    .submit = sim_submit,
    .cancel = sim_cancel,
    .kick = sim_kick,
    .poll = sim_poll,
    .finish = sim_finish,
};
