/* test_echo.c — the echo server, run by hand: answers in, exact commands out. */
#include "scenario.h"
#include "apps/apps.h"

#include <signal.h>

typedef struct echo_cfg { char host[64]; uint16_t port; } echo_cfg;

static pl_harness *start_echo(void)
{
    echo_cfg cfg = { "127.0.0.1", 8888 };
    pl_harness *h = pl_harness_start(&pl_app_echo, &cfg, 0);
    cr_assert_not_null(h);
    return h;
}

Test(echo, listens_and_subscribes_to_signals)
{
    pl_harness *h = start_echo();
    cr_assert_eq(pl_harness_count(h), 3);
    expect_cmd(h, 0, PL_CMD_LISTEN);
    cr_assert_str_eq(pl_harness_cmd(h, 0)->cmd.host, "127.0.0.1");
    cr_assert_eq(pl_harness_cmd(h, 0)->cmd.port, 8888);
    expect_cmd(h, 1, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 1)->cmd.signo, SIGINT);
    expect_cmd(h, 2, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 2)->cmd.signo, SIGTERM);
    pl_harness_destroy(h);
}

Test(echo, echoes_in_order_then_closes_after_the_sends)
{
    pl_harness *h = start_echo();
    pl_task_id listener = pl_harness_cmd(h, 0)->task;
    answer(h, listener, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 8888 });
    expect_log(h, 3, "echo listening on 127.0.0.1:8888");
    answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 7 });
    expect_cmd(h, 4, PL_CMD_RECV);
    cr_assert_eq(pl_harness_cmd(h, 4)->cmd.fd, 7);
    pl_task_id rx = pl_harness_cmd(h, 4)->task;

    answer(h, rx, data_ans("hello "));
    expect_cmd(h, 5, PL_CMD_SEND);
    const pl_hcmd *s1 = pl_harness_cmd(h, 5);
    cr_assert_eq(s1->len, 6);
    cr_assert(memcmp(s1->data, "hello ", 6) == 0);
    /* A second chunk waits behind the first send; so does the close. */
    answer(h, rx, data_ans("world"));
    answer(h, rx, (pl_answer){ .kind = PL_ANS_DATA, .len = 0 });
    cr_assert_eq(pl_harness_count(h), 6, "nothing may overtake a pending send");
    cr_assert(!pl_harness_pending(h, rx), "the receiver ended at end of stream");

    answer(h, s1->task, (pl_answer){ .kind = PL_ANS_SENT, .n = 6 });
    expect_cmd(h, 6, PL_CMD_SEND);
    cr_assert(memcmp(pl_harness_cmd(h, 6)->data, "world", 5) == 0);
    answer(h, pl_harness_cmd(h, 6)->task, (pl_answer){ .kind = PL_ANS_SENT, .n = 5 });
    expect_cmd(h, 7, PL_CMD_CLOSE);
    cr_assert_eq(pl_harness_cmd(h, 7)->cmd.fd, 7);
    cr_assert(pl_harness_pending(h, listener), "the listener keeps listening");
    pl_harness_destroy(h);
}

Test(echo, reset_connection_is_closed)
{
    pl_harness *h = start_echo();
    pl_task_id listener = pl_harness_cmd(h, 0)->task;
    answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 9 });
    pl_task_id rx = find_cmd(h, 0, PL_CMD_RECV)->task;
    answer(h, rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -104 });
    const pl_hcmd *c = find_cmd(h, 0, PL_CMD_CLOSE);
    cr_assert_not_null(c);
    cr_assert_eq(c->cmd.fd, 9);
    pl_harness_destroy(h);
}

Test(echo, listen_failure_exits_1)
{
    pl_harness *h = start_echo();
    answer(h, pl_harness_cmd(h, 0)->task,
           (pl_answer){ .kind = PL_ANS_LISTENING, .err = -98 });
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 1);
    cr_assert_eq(find_cmd(h, 0, PL_CMD_LOG)->cmd.flags, PL_LOG_ERR);
    pl_harness_destroy(h);
}

Test(echo, signal_wins_first_and_cancels_every_connection)
{
    pl_harness *h = start_echo();
    pl_task_id listener = pl_harness_cmd(h, 0)->task;
    pl_task_id sigint = pl_harness_cmd(h, 1)->task, sigterm = pl_harness_cmd(h, 2)->task;
    answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 7 });
    answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 8 });
    pl_task_id rx7 = find_cmd(h, 0, PL_CMD_RECV)->task;
    answer(h, sigterm, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGTERM });
    cr_assert(was_cancelled(h, listener));
    cr_assert(was_cancelled(h, rx7));
    cr_assert(was_cancelled(h, sigint), "the other signal of the winning side ended too");
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    expect_log(h, pl_harness_count(h) - 1, "echo stopping on signal 15");
    cr_assert_eq(pl_harness_answer(h, rx7, &(pl_answer){ .kind = PL_ANS_DATA }), -ENOENT);
    pl_harness_destroy(h);
}

Test(echo, same_answers_same_trace)
{
    uint64_t tr[2];
    for (int run = 0; run < 2; run++) {
        pl_harness *h = start_echo();
        pl_task_id listener = pl_harness_cmd(h, 0)->task;
        answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 7 });
        answer(h, find_cmd(h, 0, PL_CMD_RECV)->task, data_ans("abc"));
        tr[run] = pl_harness_trace(h);
        pl_harness_destroy(h);
    }
    cr_assert_eq(tr[0], tr[1]);
}
