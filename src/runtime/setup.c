/* setup.c — when a sandboxed live run's set-up is over.
 *
 * A sandbox goes on in two steps (src/backend/ossandbox.c): Landlock before
 * the run; the user and the seccomp filter once the run's set-up is over —
 * its listeners bound (socket, bind and listen are not on the allowlist),
 * its files and log opened as the user it started as. Handlers cannot say
 * when that is, since they perform nothing; the runtime sees it: the set-up
 * is over at the end of the first loop turn after which no command that may
 * still lead to one of those is under way — no TIME, LISTEN (before its
 * first answer), CONNECT, OPEN, STAT, READ_FILE, READDIR or READ — only
 * subscriptions that wait for the world (listeners that answered,
 * receivers, timers, signals, a machine's status) and lines being logged.
 * A program chains its start-up through such commands (serve: the time,
 * mime.types, the root, the log, then the listener; kv: the time, then the
 * listener), so the first quiet turn comes after it. With
 * PL_SANDBOX_LISTENING (pluto.h) a LISTEN must also have been answered: for
 * a program that waits on a timer before it listens; with PL_SANDBOX_STARTED
 * the first turn ends it: for a program that only reads files.
 *
 * Then the commands of that turn are performed without waiting for more
 * answers, so that the lines it logged come before the sandbox's own, and
 * the sandbox takes its last steps. Nothing is counted once that is done,
 * nor in a run without a sandbox (the simulator's, and every run whose
 * program asks for none).
 */
#include "runtime/rt.h"
#include "backend/ossandbox.h"

static bool leads_on(const pl__task *t)
{
    switch (t->cmd.kind) {
    case PL_CMD_TIME: case PL_CMD_LISTEN: case PL_CMD_CONNECT: case PL_CMD_OPEN:
    case PL_CMD_STAT: case PL_CMD_READ_FILE: case PL_CMD_READDIR: case PL_CMD_READ:
        return true;
    default:
        return false;
    }
}

void pl__setup_submitted(pl_rt *rt, pl__task *t)
{
    if (!t->setup && leads_on(t)) {
        t->setup = true;
        rt->setup_busy++;
    }
}

void pl__setup_done(pl_rt *rt, pl__task *t)
{
    PL_ASSERT(t->setup && rt->setup_busy > 0);
    t->setup = false;
    if (--rt->setup_busy == 0)
        rt->setup_due = true;           /* the backend comes back to pl__poll */
}

void pl__setup_listening(pl_rt *rt, pl__task *t)
{
    rt->listened++;
    pl__setup_done(rt, t);
}

/* Count what is under way already: a machine's commands, re-issued as it
 * went live (a fresh run has none). Every computation's tasks, depth first. */
static void count_under_way(pl_rt *rt)
{
    pl__comp *c = rt->root;
    while (c != NULL) {
        for (pl__task *t = c->tasks; t != NULL; t = t->comp_next)
            if (t->state == PL__T_BACKEND || t->state == PL__T_WAIT_FD)
                pl__setup_submitted(rt, t);
        if (c->kids != NULL) {
            c = c->kids;
            continue;
        }
        while (c != NULL && c->kid_next == NULL)
            c = c->parent;
        if (c != NULL)
            c = c->kid_next;
    }
}

void pl__setup_begin(pl_rt *rt, const pl_run_opts *o)
{
    rt->setup = PL__SETUP_NONE;
    if (o->sandbox.mode == PL_SANDBOX_NONE || o->backend == PL_BACKEND_SIM)
        return;
    rt->setup = o->sandbox.when == PL_SANDBOX_LISTENING ? PL__SETUP_LISTENING
              : o->sandbox.when == PL_SANDBOX_STARTED ? PL__SETUP_STARTED
              : PL__SETUP_SETTLED;
    rt->listened = 0;
    count_under_way(rt);
}

static bool over(const pl_rt *rt)
{
    if (rt->exiting)
        return false;
    if (rt->setup == PL__SETUP_STARTED)
        return true;
    return rt->setup_busy == 0 && (rt->setup == PL__SETUP_SETTLED || rt->listened > 0);
}

int pl__poll(pl_rt *rt, bool block)
{
    if (rt->setup == PL__SETUP_NONE)
        return rt->be->poll(rt->b, block);
    rt->setup_due = false;
    if (!over(rt))
        return rt->be->poll(rt->b, block);
    rt->setup = PL__SETUP_NONE;
    int n = rt->be->poll(rt->b, false);   /* this turn's commands, its lines */
    pl__sandbox_ready();
    return n;
}
