/* workers.c — several independent runtimes, one per thread.
 *
 * Workers share nothing: each runs the program on its own copy of the
 * configuration with its own loop, descriptors and state; listeners bind
 * the same port with SO_REUSEPORT and the kernel spreads connections. The
 * main thread blocks the usual stop signals (so a signal reaches a worker's
 * signalfd, not the default action), waits for the first worker to end,
 * then sends SIGTERM to the others and collects them. The exit code is the
 * first worker's.
 *
 * A signal sent to the process is read by one worker's signalfd only; that
 * worker passes it on to the others (pl__workers_forward), so a SIGHUP
 * reaches every worker, and a SIGTERM starts every worker's drain at once.
 * The stop signal the others already got is then not sent again: a second
 * one would cut their drains short.
 */
#include "runtime/rt.h"
#include "runtime/notify.h"
#include "backend/ossandbox.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct worker {
    const pl_program *p;
    void *cfg;
    pl_run_opts o;
    int code;
    volatile int done;
    pthread_t th;
} worker;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ended = PTHREAD_COND_INITIALIZER;
static worker *running;                 /* the workers started, under lock */
static uint32_t nrunning;
static bool stop_forwarded;             /* every worker got SIGINT or SIGTERM */

void pl__workers_forward(int signo)
{
    if (signo == SIGINT || signo == SIGTERM)
        pl__notify_stopping(signo);     /* the stop begins: tell systemd (once) */
    pthread_mutex_lock(&lock);
    pthread_t self = pthread_self();
    for (uint32_t i = 0; i < nrunning; i++)
        if (!running[i].done && !pthread_equal(running[i].th, self))
            pthread_kill(running[i].th, signo);
    if (nrunning > 0 && (signo == SIGINT || signo == SIGTERM))
        stop_forwarded = true;
    pthread_mutex_unlock(&lock);
}

static void *run_worker(void *arg)
{
    worker *w = arg;
    w->code = pl_run(w->p, w->cfg, &w->o);
    pthread_mutex_lock(&lock);
    w->done = 1;
    pthread_cond_broadcast(&ended);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int first_done(worker *ws, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (ws[i].done)
            return (int)i;
    return -1;
}

int pl_run_workers(const pl_program *p, const void *cfg, size_t cfg_size,
                   const pl_run_opts *o)
{
    uint32_t n = o->workers;
    if (n == PL_WORKERS_AUTO) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus > 0 && cpus < 1024 ? (uint32_t)cpus : 1;
    }
    if (o->backend == PL_BACKEND_SIM)
        return pl_run(p, cfg, o);
    /* Least privilege (ossandbox.c): Landlock now, so the workers are born
     * inside it; the rest once each one's set-up is over (setup.c). */
    char why[256];
    if (o->sandbox.mode != PL_SANDBOX_NONE &&
        pl__sandbox_begin(&o->sandbox, n ? n : 1, why, sizeof why) != 0) {
        fprintf(stderr, "pluto: %s\n", why);
        return 1;
    }
    if (n <= 1) {
        int code = pl_run(p, cfg, o);
        pl__sandbox_end();
        return code;
    }
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    worker *ws = calloc(n, sizeof *ws);
    PL_ASSERT(ws != NULL);
    uint32_t started = 0;
    pthread_mutex_lock(&lock);          /* no forwarding before every thread id is set */
    running = ws;
    stop_forwarded = false;
    for (; started < n; started++) {
        worker *w = &ws[started];
        w->p = p;
        w->o = *o;
        w->cfg = malloc(cfg_size);
        PL_ASSERT(w->cfg != NULL);
        memcpy(w->cfg, cfg, cfg_size);
        if (p->for_worker)
            p->for_worker(w->cfg, started, n);
        if (pthread_create(&w->th, NULL, run_worker, w) != 0) {
            fprintf(stderr, "pluto: cannot start worker %u\n", started);
            free(w->cfg);
            break;
        }
    }
    nrunning = started;
    int first;
    while (started > 0 && (first = first_done(ws, started)) < 0)
        pthread_cond_wait(&ended, &lock);
    for (uint32_t i = 0; i < started; i++)
        if (!ws[i].done && !stop_forwarded)
            pthread_kill(ws[i].th, SIGTERM);
    pthread_mutex_unlock(&lock);
    int code = started > 0 ? ws[first].code : 1;
    for (uint32_t i = 0; i < started; i++)
        pthread_join(ws[i].th, NULL);
    pthread_mutex_lock(&lock);
    running = NULL;
    nrunning = 0;
    pthread_mutex_unlock(&lock);
    for (uint32_t i = 0; i < started; i++)
        free(ws[i].cfg);
    free(ws);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pl__sandbox_end();
    return code;
}
