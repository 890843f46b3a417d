/* run.c — a runtime's lifetime: create, run a program, tear down. */
#include "runtime/rt.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

_Noreturn void pl__assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "pluto: assertion failed: %s (%s:%d)\n", cond, file, line);
    fflush(stderr);
    abort();
}

/* Descriptors the runtime may hold: what was asked, within what the process
 * may open less a reserve for itself (std streams, epoll, signalfd). */
static uint32_t default_slots(const pl_run_opts *o)
{
    if (o->backend == PL_BACKEND_SIM)
        return o->max_open ? o->max_open : 64;
    uint32_t limit = 1u << 20;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        limit = rl.rlim_cur > 32 ? (uint32_t)rl.rlim_cur - 16 : 8;
    return o->max_open && o->max_open < limit ? o->max_open : limit;
}

void pl__checks_failed(pl_rt *rt) { rt->checks_failed = true; }

void pl__rt_destroy(pl_rt *rt)
{
    rt->exiting = true;                 /* no queued command starts now */
    pl__comp_cancel(rt, rt->root);
    pl__reap(rt);
    rt->be->destroy(rt->b);
    for (uint32_t i = 0; i < rt->nrefs; i++)
        free(rt->refs[i].p);
    free(rt->refs);
    for (int fd = 0; fd < rt->nfds; fd++)
        free(rt->fds[fd].in);
    free(rt->fds);
    free(rt->readers);
    free(rt);
}

pl_rt *pl__rt_create(const pl_program *p, const pl__backend *be, void *state,
                     const pl_run_opts *o)
{
    PL_ASSERT(p != NULL && be != NULL && o != NULL);
    pl__registry_check(p);
    pl_rt *rt = calloc(1, sizeof *rt);
    PL_ASSERT(rt != NULL);
    rt->prog = p;
    rt->next_task = 1;
    rt->next_comp = 1;
    rt->slots_max = default_slots(o);
    rt->be = be;
    rt->b = state ? state : be->create(rt, o);
    if (rt->b == NULL) {
        free(rt);
        return NULL;
    }
    rt->root = pl__comp_new(rt, NULL, NULL, 0);
    return rt;
}

int pl_run(const pl_program *p, const void *cfg, const pl_run_opts *o)
{
    const pl__backend *be = o->backend == PL_BACKEND_SIM ? &pl__backend_sim : &pl__backend_epoll;
    pl_rt *rt = pl__rt_create(p, be, NULL, o);
    if (rt == NULL)
        return 1;
    int code = pl__loop(rt, p, cfg);
    rt->be->finish(rt->b, code);
    if (rt->checks_failed)
        code = 3;
    pl__rt_destroy(rt);
    return code;
}
