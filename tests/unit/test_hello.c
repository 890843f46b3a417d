/* test_hello.c — hello world under Join: both lines, then exit 0. */
#include "scenario.h"
#include "apps/apps.h"

Test(hello, logs_both_then_exits_after_both)
{
    pl_harness *h = pl_harness_start(&pl_app_hello, NULL, 0);
    cr_assert_eq(pl_harness_count(h), 2);
    expect_log(h, 0, "Hello");
    expect_log(h, 1, "World");
    answer(h, pl_harness_cmd(h, 1)->task, (pl_answer){ .kind = PL_ANS_DONE });
    cr_assert(!pl_harness_exited(h, NULL));
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_DONE });
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    pl_harness_destroy(h);
}
