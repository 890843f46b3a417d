/* test_counter.c — the counter, run by hand: ticks in, log lines out. */
#include "scenario.h"
#include "apps/apps.h"

#include <signal.h>
#include <stdio.h>

typedef struct cfg_buf { uint64_t words[8]; } cfg_buf;   /* room for counter_cfg */

static int parse(cfg_buf *cfg, int argc, char **argv, char *err, size_t len)
{
    cr_assert_leq(pl_app_counter.cfg_size, sizeof *cfg);
    return pl_app_counter.parse(cfg, argc, argv, err, len);
}

static pl_harness *start_counter(char **argv, int argc)
{
    cfg_buf cfg;
    char err[256];
    cr_assert_eq(parse(&cfg, argc, argv, err, sizeof err), 0, "%s", err);
    pl_harness *h = pl_harness_start(&pl_app_counter, &cfg, 0);
    cr_assert_not_null(h);
    return h;
}

Test(counter, a_repeating_timer_and_the_signals)
{
    pl_harness *h = start_counter(NULL, 0);
    cr_assert_eq(pl_harness_count(h), 3);
    expect_cmd(h, 0, PL_CMD_TIMER);
    cr_assert_eq(pl_harness_cmd(h, 0)->cmd.after_ms, 1000, "default interval: 1 s");
    cr_assert_eq(pl_harness_cmd(h, 0)->cmd.every_ms, 1000);
    expect_cmd(h, 1, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 1)->cmd.signo, SIGINT);
    expect_cmd(h, 2, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 2)->cmd.signo, SIGTERM);
    pl_harness_destroy(h);
}

Test(counter, counts_up_by_one_from_1_on_each_tick)
{
    char *argv[] = { "--interval-ms", "50" };
    pl_harness *h = start_counter(argv, 2);
    const pl_hcmd *timer = pl_harness_cmd(h, 0);
    cr_assert_eq(timer->cmd.after_ms, 50);
    cr_assert_eq(timer->cmd.every_ms, 50);
    pl_task_id t = timer->task;
    char want[64];
    for (uint64_t n = 1; n <= 5; n++) {
        answer(h, t, (pl_answer){ .kind = PL_ANS_TICK, .n = n });
        snprintf(want, sizeof want, "counter is at %llu", (unsigned long long)n);
        expect_log(h, pl_harness_count(h) - 1, want);
    }
    /* The count is the handler's state, not the timer's tick number. */
    answer(h, t, (pl_answer){ .kind = PL_ANS_TICK, .n = 40 });
    expect_log(h, pl_harness_count(h) - 1, "counter is at 6");
    cr_assert(pl_harness_pending(h, t), "the timer keeps running");
    pl_harness_destroy(h);
}

Test(counter, signal_stops_with_exit_0)
{
    pl_harness *h = start_counter(NULL, 0);
    pl_task_id t = pl_harness_cmd(h, 0)->task;
    answer(h, t, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    answer(h, pl_harness_cmd(h, 1)->task, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGINT });
    cr_assert(was_cancelled(h, t), "the timer is cancelled with the First");
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    expect_log(h, pl_harness_count(h) - 1, "counter stopping on signal 2");
    pl_harness_destroy(h);
}

Test(counter, same_ticks_same_trace)
{
    uint64_t tr[2];
    for (int run = 0; run < 2; run++) {
        pl_harness *h = start_counter(NULL, 0);
        for (uint64_t n = 1; n <= 3; n++)
            answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_TICK, .n = n });
        tr[run] = pl_harness_trace(h);
        pl_harness_destroy(h);
    }
    cr_assert_eq(tr[0], tr[1]);
}

Test(counter, bad_arguments_are_usage_errors)
{
    char *cases[][2] = {
        { "--interval-ms", "0" }, { "--interval-ms", "86400001" }, { "--interval-ms", "abc" },
        { "--interval-ms", "-5" }, { "--interval-ms", "" }, { "--every", "5" },
    };
    cfg_buf cfg;
    char err[256];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        err[0] = 0;
        cr_assert_eq(parse(&cfg, 2, cases[i], err, sizeof err), 2, "case %zu", i);
        cr_assert_neq(err[0], 0, "case %zu says why", i);
    }
    char *alone[] = { "--interval-ms" };
    cr_assert_eq(parse(&cfg, 1, alone, err, sizeof err), 2);
    cr_assert(strstr(err, "interval") != NULL);
    char *edge[] = { "--interval-ms", "86400000" };
    cr_assert_eq(parse(&cfg, 2, edge, err, sizeof err), 0);
    char *one[] = { "--interval-ms", "1" };
    cr_assert_eq(parse(&cfg, 2, one, err, sizeof err), 0);
}
