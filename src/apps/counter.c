/* counter.c — `pluto counter`: a count that goes up by one every interval.
 *
 * The smallest program with state worth keeping: run as a durable machine,
 * it resumes counting where it stopped. The count lives in the timer task's
 * private memory, the state the runtime owns (and a machine snapshots):
 *
 *   start      First( TIMER every interval, memory { count },
 *                     signals: SIGINT or SIGTERM return )
 *   on_tick    count + 1, then the line `counter is at N` (the first line,
 *              one interval after the start, says 1)
 *   on_stop    a signal won the First: the timer was cancelled with it;
 *              log and exit 0
 */
#include "apps/apps.h"

#include <inttypes.h>
#include <string.h>

enum { COUNTER_INTERVAL_MS = 1000, COUNTER_INTERVAL_MAX = 86400000 };

typedef struct counter_cfg { uint64_t interval_ms; } counter_cfg;

typedef struct counter_mem { uint64_t count; } counter_mem;

static pl_verdict on_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    counter_mem *m = mem;
    if (a->err != 0)
        return PL_KEEP;
    m->count++;
    pl_logf(cx, "counter is at %" PRIu64, m->count);
    return PL_KEEP;
}
static PL_HANDLER(h_tick, on_tick);

static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "counter stopping on signal %d", pl_app_stop_signo(a));
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static void counter_start(pl_ctx *cx, const void *p)
{
    const counter_cfg *cfg = p;
    counter_mem m = { 0 };
    pl_start count = { pl_cmd_timer(cfg->interval_ms, cfg->interval_ms), &h_tick, &m,
                       sizeof m };
    pl_start stop = pl_app_stop_start();
    pl_first(cx, &count, &stop, &h_stop, NULL, 0);
}

static int counter_parse(void *p, int argc, char **argv, char *err, size_t len)
{
    counter_cfg *cfg = p;
    cfg->interval_ms = COUNTER_INTERVAL_MS;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--interval-ms") != 0)
            return pl_app_error(err, len, "unexpected argument '%s'", argv[i]);
        if (++i == argc ||
            pl_app_number(argv[i], 1, COUNTER_INTERVAL_MAX, &cfg->interval_ms) != 0)
            return pl_app_error(err, len, "--interval-ms needs a number of milliseconds "
                                "(1..%d)", COUNTER_INTERVAL_MAX);
    }
    return 0;
}

static const pl_handler *const counter_handlers[] = {
    &h_tick, &pl_app_h_stop_signal, &pl_app_h_stop_signals, &h_stop, NULL,
};

const pl_program pl_app_counter = {
    .name = "counter",
    .version = PL_VERSION,
    .summary = "log `counter is at N` every interval, counting up from 1",
    .usage = "[--interval-ms N]",
    .handlers = counter_handlers,
    .cfg_size = sizeof(counter_cfg),
    .parse = counter_parse,
    .start = counter_start,
};
