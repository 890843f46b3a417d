/* test_runtime.c — the model itself: Join, First, Bind, Ret, Exit, refs,
 * per-descriptor order and descriptor slots, each driven by hand.
 */
#include "scenario.h"

#include <signal.h>
#include <stdio.h>

/* ---- small programs ---------------------------------------------------- */

/* ret the memory (a short string) as the computation's result */
static pl_verdict on_ret_mem(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, mem, strlen(mem));
    return PL_DONE;
}
static PL_HANDLER(h_ret_mem, on_ret_mem);

/* log what a join/first/bind delivered, then exit 0 */
static pl_verdict on_report(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->kind == PL_ANS_JOIN)
        pl_logf(cx, "join %.*s %.*s", (int)a->res[0].len, a->res[0].data,
                (int)a->res[1].len, a->res[1].data);
    else if (a->kind == PL_ANS_FIRST)
        pl_logf(cx, "first %d %.*s", a->index, (int)a->res[0].len, a->res[0].data);
    else
        pl_logf(cx, "result %.*s", (int)a->res[0].len, a->res[0].data);
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_report, on_report);

static void join_start(pl_ctx *cx, const void *cfg)
{
    pl_start a = { pl_cmd_timer(10, 0), &h_ret_mem, "A", 2 };
    pl_start b = { pl_cmd_timer(20, 0), &h_ret_mem, "B", 2 };
    pl_join(cx, &a, &b, &h_report, NULL, 0);
}

static const pl_program join_prog = { .name = "t", .start = join_start };

Test(join, waits_for_both_and_keeps_sides)
{
    pl_harness *h = pl_harness_start(&join_prog, NULL, 0);
    cr_assert_eq(pl_harness_count(h), 2);
    pl_task_id a = pl_harness_cmd(h, 0)->task, b = pl_harness_cmd(h, 1)->task;
    answer(h, b, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    cr_assert_eq(pl_harness_count(h), 2, "no continuation before both returned");
    cr_assert(!pl_harness_exited(h, NULL));
    answer(h, a, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    expect_log(h, 2, "join A B");
    cr_assert(pl_harness_exited(h, NULL));
    pl_harness_destroy(h);
}

/* First: side a is a timer; side b starts a nested Join of two receivers. */
static pl_verdict on_nested(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_start x = { pl_cmd_recv(5), &h_ret_mem, "X", 2 };
    pl_start y = { pl_cmd_recv(6), &h_ret_mem, "Y", 2 };
    pl_join(cx, &x, &y, &h_ret_mem, "XY", 3);
    return PL_DONE;
}
static PL_HANDLER(h_nested, on_nested);

static void first_start(pl_ctx *cx, const void *cfg)
{
    pl_start a = { pl_cmd_timer(10, 0), &h_ret_mem, "A", 2 };
    pl_start b = { pl_cmd_none(), &h_nested, NULL, 0 };
    pl_first(cx, &a, &b, &h_report, NULL, 0);
}

static const pl_program first_prog = { .name = "t", .start = first_start };

Test(first, winner_cancels_the_loser_and_its_nested_commands)
{
    pl_harness *h = pl_harness_start(&first_prog, NULL, 0);
    cr_assert_eq(pl_harness_count(h), 3);
    pl_task_id timer = pl_harness_cmd(h, 0)->task;
    pl_task_id rx5 = pl_harness_cmd(h, 1)->task, rx6 = pl_harness_cmd(h, 2)->task;
    expect_cmd(h, 1, PL_CMD_RECV);
    answer(h, timer, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    cr_assert(was_cancelled(h, rx5));
    cr_assert(was_cancelled(h, rx6));
    expect_log(h, pl_harness_count(h) - 1, "first 0 A");
    cr_assert_eq(pl_harness_answer(h, rx5, &(pl_answer){ .kind = PL_ANS_DATA }), -ENOENT);
    pl_harness_destroy(h);
}

Test(first, the_nested_side_can_win)
{
    pl_harness *h = pl_harness_start(&first_prog, NULL, 0);
    pl_task_id timer = pl_harness_cmd(h, 0)->task;
    pl_task_id rx5 = pl_harness_cmd(h, 1)->task, rx6 = pl_harness_cmd(h, 2)->task;
    answer(h, rx6, data_ans("y"));
    cr_assert(!was_cancelled(h, timer), "half a join is not a result");
    answer(h, rx5, data_ans("x"));
    cr_assert(was_cancelled(h, timer));
    expect_log(h, pl_harness_count(h) - 1, "first 1 XY");
    pl_harness_destroy(h);
}

/* Bind, and a reply sent in the same call as pl_ret still goes out. */
static pl_verdict on_reply_and_ret(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_write(cx, 4, "bye", 3);
    pl_ret(cx, "R", 1);
    return PL_DONE;
}
static PL_HANDLER(h_reply_and_ret, on_reply_and_ret);

static void bind_start(pl_ctx *cx, const void *cfg)
{
    pl_start a = { pl_cmd_recv(4), &h_reply_and_ret, NULL, 0 };
    pl_bind(cx, &a, &h_report, NULL, 0);
}

static const pl_program bind_prog = { .name = "t", .start = bind_start };

Test(bind, delivers_the_result_and_keeps_commands_of_the_returning_call)
{
    pl_harness *h = pl_harness_start(&bind_prog, NULL, 0);
    pl_task_id rx = pl_harness_cmd(h, 0)->task;
    answer(h, rx, data_ans("hi"));
    expect_cmd(h, 1, PL_CMD_SEND);
    cr_assert(!was_cancelled(h, pl_harness_cmd(h, 1)->task));
    cr_assert(was_cancelled(h, rx), "the receiver's stream ended with its computation");
    expect_log(h, 3, "result R");
    pl_harness_destroy(h);
}

/* Exit: pending handlers are never called again. */
static pl_verdict on_tick_log(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "tick %llu", (unsigned long long)a->n);
    if (a->n == 2)
        pl_exit(cx, 3);
    return PL_KEEP;
}
static PL_HANDLER(h_tick_log, on_tick_log);

static void exit_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd every = pl_cmd_timer(5, 5), once = pl_cmd_timer(100, 0);
    pl_send(cx, &every, &h_tick_log, NULL, 0);
    pl_send(cx, &once, &h_tick_log, NULL, 0);
}

static const pl_program exit_prog = { .name = "t", .start = exit_start };

Test(exit, stops_every_pending_handler)
{
    pl_harness *h = pl_harness_start(&exit_prog, NULL, 0);
    pl_task_id every = pl_harness_cmd(h, 0)->task, once = pl_harness_cmd(h, 1)->task;
    answer(h, every, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    answer(h, every, (pl_answer){ .kind = PL_ANS_TICK, .n = 2 });
    int code = 0;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 3);
    size_t n = pl_harness_count(h);
    cr_assert_eq(pl_harness_answer(h, every, &(pl_answer){ .kind = PL_ANS_TICK }), -ENOENT);
    cr_assert_eq(pl_harness_answer(h, once, &(pl_answer){ .kind = PL_ANS_TICK }), -ENOENT);
    cr_assert_eq(pl_harness_count(h), n, "no handler ran after exit");
    pl_harness_destroy(h);
}

/* Shared references: read and written between handler calls. */
typedef struct ref_mem { pl_ref r; } ref_mem;

static pl_verdict on_count(pl_ctx *cx, void *mem, const pl_answer *a)
{
    ref_mem *m = mem;
    uint32_t v;
    memcpy(&v, pl_ref_get(cx, m->r, NULL), sizeof v);
    v++;
    pl_ref_set(cx, m->r, &v, sizeof v);
    pl_logf(cx, "count %u", v);
    return PL_KEEP;
}
static PL_HANDLER(h_count, on_count);

static void ref_start(pl_ctx *cx, const void *cfg)
{
    uint32_t zero = 0;
    ref_mem m = { pl_ref_new(cx, &zero, sizeof zero) };
    pl_cmd t1 = pl_cmd_timer(1, 1), t2 = pl_cmd_timer(1, 1);
    pl_send(cx, &t1, &h_count, &m, sizeof m);
    pl_send(cx, &t2, &h_count, &m, sizeof m);
}

static const pl_program ref_prog = { .name = "t", .start = ref_start };

Test(refs, two_tasks_share_one_cell)
{
    pl_harness *h = pl_harness_start(&ref_prog, NULL, 0);
    pl_task_id a = pl_harness_cmd(h, 0)->task, b = pl_harness_cmd(h, 1)->task;
    answer(h, a, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    answer(h, b, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    answer(h, a, (pl_answer){ .kind = PL_ANS_TICK, .n = 2 });
    expect_log(h, 2, "count 1");
    expect_log(h, 3, "count 2");
    expect_log(h, 4, "count 3");
    pl_harness_destroy(h);
}

/* Descriptor slots: ten opens, three slots: three at a time, in order. */
static pl_verdict on_opened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->err == 0) {
        pl_cmd c = pl_cmd_close(a->fd);
        pl_send(cx, &c, NULL, NULL, 0);
    }
    return PL_DONE;
}
static PL_HANDLER(h_opened, on_opened);

static void slots_start(pl_ctx *cx, const void *cfg)
{
    for (int i = 0; i < 10; i++) {
        char path[16];
        snprintf(path, sizeof path, "f%d", i);
        pl_cmd c = pl_cmd_open(PL_DIR_CWD, path, 0);
        pl_send(cx, &c, &h_opened, NULL, 0);
    }
}

static const pl_program slots_prog = { .name = "t", .start = slots_start };

Test(slots, descriptor_creating_commands_wait_for_a_free_slot)
{
    pl_harness *h = pl_harness_start(&slots_prog, NULL, 3);
    cr_assert_eq(pl_harness_count(h), 3);
    cr_assert_str_eq(pl_harness_cmd(h, 2)->cmd.text, "f2");
    /* An open that succeeds keeps its slot until the descriptor is closed. */
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 10 });
    expect_cmd(h, 3, PL_CMD_CLOSE);
    cr_assert_eq(pl_harness_count(h), 4);
    answer(h, pl_harness_cmd(h, 3)->task, (pl_answer){ .kind = PL_ANS_DONE });
    expect_cmd(h, 4, PL_CMD_OPEN);
    cr_assert_str_eq(pl_harness_cmd(h, 4)->cmd.text, "f3");
    /* A failed open gives its slot back at once. */
    answer(h, pl_harness_cmd(h, 1)->task, (pl_answer){ .kind = PL_ANS_OPENED, .err = -2 });
    expect_cmd(h, 5, PL_CMD_OPEN);
    cr_assert_str_eq(pl_harness_cmd(h, 5)->cmd.text, "f4");
    pl_harness_destroy(h);
}

/* A million idle tasks fit: each is a timer an hour away; a short timer exits. */
static pl_verdict on_idle(pl_ctx *cx, void *mem, const pl_answer *a) { return PL_DONE; }
static PL_HANDLER(h_idle, on_idle);

static pl_verdict on_quit(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_exit(cx, 7);
    return PL_DONE;
}
static PL_HANDLER(h_quit, on_quit);

static void million_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd hour = pl_cmd_timer(3600 * 1000, 0), soon = pl_cmd_timer(1, 0);
    for (uint32_t i = 0; i < 1000000; i++)
        pl_send(cx, &hour, &h_idle, &i, sizeof i);
    pl_send(cx, &soon, &h_quit, NULL, 0);
}

static const pl_program million_prog = { .name = "t", .start = million_start };

#include <sys/resource.h>

Test(tasks, a_million_idle_tasks_fit_in_memory, .timeout = 60)
{
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    pl_run_opts o = { .backend = PL_BACKEND_EPOLL };
    cr_assert_eq(pl_run(&million_prog, NULL, &o), 7);
    getrusage(RUSAGE_SELF, &after);
    long grew_kb = after.ru_maxrss - before.ru_maxrss;
    /* About 300 bytes a task; allow for allocator slack, not for a leak per task. */
    cr_assert_lt(grew_kb, 600 * 1024, "peak RSS grew by %ld KiB", grew_kb);
}

/* The registry: handlers by name; a handler missing from it is caught. */
static const pl_handler *const registry[] = { &h_ret_mem, &h_report, NULL };
static const pl_program listed_prog = { .name = "t", .handlers = registry,
                                        .start = join_start };

Test(registry, handlers_are_found_by_name)
{
    cr_assert_eq(pl_program_handler(&listed_prog, "on_report"), &h_report);
    cr_assert_null(pl_program_handler(&listed_prog, "on_nested"));
    pl_harness *h = pl_harness_start(&listed_prog, NULL, 0);
    cr_assert_eq(pl_harness_count(h), 2);
    pl_harness_destroy(h);
}

static const pl_handler *const short_registry[] = { &h_report, NULL };
static const pl_program unlisted_prog = { .name = "t", .handlers = short_registry,
                                          .start = join_start };

Test(registry, an_unregistered_handler_is_refused, .signal = SIGABRT)
{
    /* The abort's "assertion failed" line is expected: keep it out of the
     * test log, where it would read as a failure. */
    cr_assert_not_null(freopen("/dev/null", "w", stderr));
    pl_harness_start(&unlisted_prog, NULL, 0);   /* on_ret_mem is not listed */
}

/* pl_consume: a line reader keeps partial lines in the runtime's buffer. */
typedef struct line_mem { int fd; int again; } line_mem;
static const pl_handler h_line;

static pl_verdict on_line(pl_ctx *cx, void *mem, const pl_answer *a)
{
    line_mem *m = mem;
    if (a->err != 0 || a->len == 0) {
        pl_logf(cx, "end %d", a->err);
        return PL_DONE;
    }
    const uint8_t *nl = memchr(a->data, '\n', a->len);
    if (nl == NULL) {
        pl_consume(cx, 0);                      /* keep it all for later */
        pl_timeout(cx, 50);
        return PL_KEEP;
    }
    size_t n = (size_t)(nl - a->data);
    pl_logf(cx, "line %.*s", (int)n, (const char *)a->data);
    pl_consume(cx, n + 1);
    if (m->again) {                             /* hand the rest to a new receiver */
        pl_cmd r = pl_cmd_recv(m->fd);
        pl_send(cx, &r, &h_line, m, sizeof *m);
        return PL_DONE;
    }
    return PL_KEEP;
}
static PL_HANDLER(h_line, on_line);

static void line_start(pl_ctx *cx, const void *cfg)
{
    line_mem m = { 5, cfg != NULL };
    pl_cmd r = pl_cmd_recv(5);
    pl_send(cx, &r, &h_line, &m, sizeof m);
}

static const pl_program line_prog = { .name = "t", .start = line_start };

Test(input, unconsumed_bytes_come_first_in_the_next_answer)
{
    pl_harness *h = pl_harness_start(&line_prog, NULL, 0);
    pl_task_id rx = pl_harness_cmd(h, 0)->task;
    answer(h, rx, data_ans("ab\ncd"));
    expect_log(h, 1, "line ab");
    answer(h, rx, data_ans("e"));                 /* "cde": no line yet, kept */
    cr_assert_eq(find_cmd(h, 2, PL_CMD_LOG), NULL);
    answer(h, rx, data_ans("f\ngh\n"));
    const pl_hcmd *l = find_cmd(h, 2, PL_CMD_LOG);
    cr_assert_not_null(l);
    cr_assert_str_eq(l->cmd.text, "line cdef");
    pl_harness_destroy(h);
}

Test(input, a_new_receiver_gets_the_leftover_at_once)
{
    pl_harness *h = pl_harness_start(&line_prog, "again", 0);
    answer(h, pl_harness_cmd(h, 0)->task, data_ans("one\ntwo\nthree\npart"));
    /* Each receiver takes one line and hands over; no new bytes needed. */
    const char *want[] = { "line one", "line two", "line three" };
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        const pl_hcmd *l = find_cmd(h, at, PL_CMD_LOG);
        cr_assert_not_null(l, "line %d missing", i);
        cr_assert_str_eq(l->cmd.text, want[i]);
        at = (size_t)(l - pl_harness_cmd(h, 0)) + 1;
    }
    const pl_hcmd *last = NULL;
    for (size_t i = 0; i < pl_harness_count(h); i++)
        if (pl_harness_cmd(h, i)->cmd.kind == PL_CMD_RECV && !pl_harness_cmd(h, i)->cancel)
            last = pl_harness_cmd(h, i);
    size_t before = pl_harness_count(h);
    answer(h, last->task, data_ans("\n"));
    const pl_hcmd *l = find_cmd(h, before, PL_CMD_LOG);
    cr_assert_not_null(l);
    cr_assert_str_eq(l->cmd.text, "line part");
    pl_harness_destroy(h);
}

Test(timeout, a_deadline_ends_the_stream_with_etimedout)
{
    pl_harness *h = pl_harness_start(&line_prog, NULL, 0);
    pl_task_id rx = pl_harness_cmd(h, 0)->task;
    answer(h, rx, data_ans("no newline"));
    const pl_hcmd *t1 = find_cmd(h, 1, PL_CMD_TIMER);
    cr_assert_not_null(t1);
    cr_assert_eq(t1->cmd.after_ms, 50);
    pl_task_id timer1 = t1->task;
    answer(h, rx, data_ans(" yet"));             /* re-armed: the first timer goes */
    cr_assert(was_cancelled(h, timer1));
    const pl_hcmd *t2 = find_cmd(h, 3, PL_CMD_TIMER);
    cr_assert_not_null(t2);
    answer(h, t2->task, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    expect_log(h, pl_harness_count(h) - 1, "end -110");
    cr_assert(!pl_harness_pending(h, rx), "the receiver ended");
    pl_harness_destroy(h);
}
