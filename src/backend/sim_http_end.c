/* sim_http_end.c — the end of a serve run: nothing waits and nothing leaks.
 *
 * When the first client starts, the world notes what the program holds for
 * itself: its descriptors (the listener, the root directory) and its tasks
 * (the listener, signals, the clock, parked continuations). Once every
 * client is done the program must hold exactly that again: every connection
 * and file closed, no receiver, send, open or deadline left behind. A client
 * still waiting at the end (the run reached its time cap) is a violation too.
 *
 * Then the summary line, for example
 *
 *   sim seed 5: 20 http clients, 61 requests, 58 responses, 1203334 body
 *   bytes checked, 2 timeouts 408, 1 idle closes, 0 pauses, tree 200 files
 *   1107320 bytes, 61234 ms, faults reset=3 emfile=1 emfile_open=2 eio=0
 *   short=40, violations 0
 *
 * (one line).
 */
#include "backend/sim.h"

#include <stdio.h>

/* A task that lives as long as the program: its listener, signals, clock. */
static bool resident(const sim_op *op)
{
    const pl__cmd *c = &op->t->cmd;
    return c->kind == PL_CMD_LISTEN || c->kind == PL_CMD_SIGNAL ||
           (c->kind == PL_CMD_TIMER && c->every_ms > 0 && op->t->owner == NULL);
}

static int transient_ops(const sim_world *w)
{
    int n = 0;
    for (const sim_op *op = w->ops; op != NULL; op = op->next)
        n += !resident(op);
    return n;
}

void sim_http_baseline(sim_world *w)
{
    w->base_taken = true;
    w->base_fds = w->nopen;
    w->base_tasks = pl__live_tasks(w->rt) - transient_ops(w);
}

static void check_waiting(sim_world *w)
{
    for (uint32_t i = 0; i < w->ncl; i++) {
        sim_hclient *c = &w->hc[i];
        if (!c->done && !c->bad)
            sim_http_violation(w, c, "still waiting when the run ended%s",
                               w->timed_out ? " (time cap)" : "");
    }
}

static void check_leaks(sim_world *w)
{
    int conns = 0, files = 0, left = 0;
    for (int fd = 0; fd < w->nfds; fd++) {
        conns += w->fds[fd].kind == SIM_FD_CONN;
        files += w->fds[fd].kind == SIM_FD_FILE;
    }
    if (conns > 0 || files > 0 || w->nopen != w->base_fds)
        sim_http_violation(w, NULL, "%d descriptors open at the end (%d connections, %d "
                           "files), %d before the first client", w->nopen, conns, files,
                           w->base_fds);
    for (const sim_op *op = w->ops; op != NULL; op = op->next) {
        if (resident(op) || left++ >= 3)
            continue;
        sim_http_violation(w, NULL, "task %llu (command %d, fd %d) outlived every client",
                           (unsigned long long)op->t->id, (int)op->t->cmd.kind, op->t->cmd.fd);
    }
    int tasks = pl__live_tasks(w->rt);
    if (tasks != w->base_tasks)
        sim_http_violation(w, NULL, "%d tasks at the end, %d before the first client", tasks,
                           w->base_tasks);
}

void sim_http_report(sim_world *w)
{
    check_waiting(w);
    if (w->base_taken && w->ndone == w->ncl)
        check_leaks(w);
    const sim_stats *s = &w->st;
    printf("sim seed %llu: %u http clients, %llu requests, %llu responses, %llu body bytes "
           "checked, %llu timeouts 408, %llu idle closes, %llu pauses, ",
           (unsigned long long)w->o.seed, w->ncl, (unsigned long long)s->requests,
           (unsigned long long)s->responses, (unsigned long long)s->body_bytes,
           (unsigned long long)s->timeouts408, (unsigned long long)s->idle_closes,
           (unsigned long long)s->pauses);
    printf("tree %llu files %llu bytes, ", (unsigned long long)w->tree_files,
           (unsigned long long)w->tree_bytes);
    if (s->refused)
        printf("%llu refused, ", (unsigned long long)s->refused);
    printf("%llu ms%s, faults reset=%llu reset_request=%llu reset_response=%llu emfile=%llu "
           "emfile_open=%llu eio=%llu short=%llu, violations %u\n",
           (unsigned long long)w->now, w->timed_out ? " (time cap)" : "",
           (unsigned long long)s->resets, (unsigned long long)s->resets_tx,
           (unsigned long long)s->resets_rx, (unsigned long long)s->emfile,
           (unsigned long long)s->emfile_open, (unsigned long long)s->eio,
           (unsigned long long)s->shorts, w->violations);
}
