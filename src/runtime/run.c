/* run.c — a runtime's lifetime: choose its backend, create, run a program,
 * tear down. */
#include "runtime/rt.h"
#include "backend/uring_select.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    pl__table_free(rt->fds, (size_t)rt->nfds * sizeof *rt->fds);
    pl__pool_deinit(&rt->pool);
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
    rt->traced = !be->untraced;
    rt->b = state ? state : be->create(rt, o);
    if (rt->b == NULL) {
        free(rt);
        return NULL;
    }
    rt->root = pl__comp_new(rt, NULL, NULL, 0);
    return rt;
}

/* What AUTO prefers where the kernel allows it: io_uring, measured at least
 * as fast as epoll on the small-file keep-alive benchmark (6.9 against 9.0
 * µs of server CPU per request, medians of five interleaved pairs; see
 * docs/ARCHITECTURE.md, "Backends"). Were it slower, this would say epoll. */
static const pl_backend_kind AUTO_PREFERS = PL_BACKEND_URING;

/* AUTO, once per process (every worker runs on the same backend): named by
 * PLUTO_BACKEND, else the preferred one where usable, else epoll. A fallback
 * is said in one line; so is a PLUTO_BACKEND that names nothing. */
static pthread_once_t auto_once = PTHREAD_ONCE_INIT;
static pl_backend_kind auto_kind;
static bool auto_named;                 /* PLUTO_BACKEND named it */

static void auto_resolve(void)
{
    const char *env = getenv("PLUTO_BACKEND");
    auto_named = env != NULL && (strcmp(env, "epoll") == 0 || strcmp(env, "uring") == 0);
    if (auto_named) {
        auto_kind = env[0] == 'e' ? PL_BACKEND_EPOLL : PL_BACKEND_URING;
        return;
    }
    if (env != NULL && env[0] != 0 && strcmp(env, "auto") != 0)
        fprintf(stderr, "pluto: PLUTO_BACKEND=%s is not epoll, uring or auto; using auto\n",
                env);
    char why[160] = "";
    auto_kind = AUTO_PREFERS;
    if (auto_kind == PL_BACKEND_URING && !pl__uring_usable(why, sizeof why)) {
        fprintf(stderr, "pluto: io_uring unavailable (%s); using epoll\n", why);
        auto_kind = PL_BACKEND_EPOLL;
    }
}

/* The run's live backend. AUTO back: io_uring was asked for by name (the
 * option or PLUTO_BACKEND) and cannot run here. *by_auto: chosen by AUTO
 * itself, so a failing setup may still fall back to epoll. */
static pl_backend_kind resolve(pl_backend_kind k, bool *by_auto)
{
    if (k == PL_BACKEND_AUTO) {
        pthread_once(&auto_once, auto_resolve);
        k = auto_kind;
        *by_auto = !auto_named;
    }
    char why[160] = "";
    if (k == PL_BACKEND_URING && !*by_auto && !pl__uring_usable(why, sizeof why)) {
        fprintf(stderr, "pluto: io_uring cannot run here: %s\n", why);
        return PL_BACKEND_AUTO;
    }
    return k;
}

static const pl__backend *backend_of(pl_backend_kind k)
{
    return k == PL_BACKEND_SIM ? &pl__backend_sim
         : k == PL_BACKEND_URING ? &pl__backend_uring : &pl__backend_epoll;
}

void *pl__live_create(pl_rt *rt, const pl_run_opts *o, const pl__backend **be)
{
    bool by_auto = false;
    pl_backend_kind k = resolve(o->backend == PL_BACKEND_SIM ? PL_BACKEND_AUTO : o->backend,
                                &by_auto);
    if (k == PL_BACKEND_AUTO)
        return NULL;
    *be = backend_of(k);
    void *state = (*be)->create(rt, o);
    if (state == NULL && k == PL_BACKEND_URING && by_auto) {
        fprintf(stderr, "pluto: io_uring setup failed; using epoll\n");
        *be = &pl__backend_epoll;
        state = (*be)->create(rt, o);
    }
    return state;
}

int pl_run(const pl_program *p, const void *cfg, const pl_run_opts *o)
{
    bool by_auto = false;
    pl_backend_kind k = o->backend == PL_BACKEND_SIM ? PL_BACKEND_SIM
                                                     : resolve(o->backend, &by_auto);
    if (k == PL_BACKEND_AUTO)
        return 1;                       /* io_uring by name, and it cannot run */
    pl_rt *rt = pl__rt_create(p, backend_of(k), NULL, o);
    if (rt == NULL && k == PL_BACKEND_URING && by_auto) {
        fprintf(stderr, "pluto: io_uring setup failed; using epoll\n");
        rt = pl__rt_create(p, &pl__backend_epoll, NULL, o);
    }
    if (rt == NULL)
        return 1;
    pl__setup_begin(rt, o);             /* a sandbox's last steps: setup.c */
    int code = pl__loop(rt, p, cfg);
    rt->be->finish(rt->b, code);
    if (rt->checks_failed)
        code = 3;
    pl__rt_destroy(rt);
    return code;
}
