/* test_ostimer.c — the live backends' timer heap (src/backend/ostimer.c).
 *
 * The heap orders timers, receivers' deadlines and stall limits. A
 * receiver's deadline pushed later is only noted and goes back in when the
 * earlier one comes due; one brought earlier moves at once. Checked here
 * against a plain list: every task pops exactly at its last deadline, in
 * (deadline, arming order), never before.
 */
#include <criterion/criterion.h>

#include "backend/ostimer.h"

#include <stdlib.h>
#include <string.h>

enum { N = 64 };

static pl__task tasks[N];

static pl__task *recv_task(int i)
{
    memset(&tasks[i], 0, sizeof tasks[i]);
    tasks[i].cmd.kind = PL_CMD_RECV;
    PL__OS_HEAPIDX(&tasks[i]) = UINT32_MAX;
    return &tasks[i];
}

Test(ostimer, postponed_deadline_fires_at_the_later_time)
{
    pl__os_timers h = { .now = 1000 };
    pl__task *t = recv_task(0);
    pl__os_deadline(&h, t, 100);                /* due at 1100 */
    h.now = 1050;
    pl__os_deadline(&h, t, 100);                /* now due at 1150: only noted */
    cr_assert_eq(h.n, 1);
    cr_assert_eq(PL__OS_DEADLINE(t), 1100);
    cr_assert(pl__os_timer_due(&h, 1100));      /* the heap wakes the loop... */
    cr_assert_null(pl__os_timer_pop(&h, 1100)); /* ...which finds it postponed */
    cr_assert_eq(h.n, 1);
    cr_assert_eq(PL__OS_DEADLINE(t), 1150);
    cr_assert_null(pl__os_timer_pop(&h, 1149));
    cr_assert_eq(pl__os_timer_pop(&h, 1150), t);
    cr_assert_eq(h.n, 0);
    cr_assert_not(pl__os_timer_armed(&h, t));
    pl__os_timers_deinit(&h);
}

Test(ostimer, earlier_deadline_moves_at_once_and_zero_disarms)
{
    pl__os_timers h = { .now = 0 };
    pl__task *t = recv_task(0);
    pl__os_deadline(&h, t, 500);
    pl__os_deadline(&h, t, 100);                /* earlier: moved, not noted */
    cr_assert_eq(PL__OS_DEADLINE(t), 100);
    cr_assert_eq(pl__os_timer_pop(&h, 100), t);
    pl__os_deadline(&h, t, 300);
    pl__os_deadline(&h, t, 900);                /* noted */
    pl__os_deadline(&h, t, 0);                  /* none: out, the note dropped */
    cr_assert_not(pl__os_timer_armed(&h, t));
    cr_assert_null(pl__os_timer_pop(&h, 10000));
    pl__os_deadline(&h, t, 50);                 /* armed afresh: no stale note */
    cr_assert_eq(pl__os_timer_pop(&h, 50), t);
    pl__os_timers_deinit(&h);
}

/* Random deadlines set, pushed back, brought forward and cleared on N
 * receivers while the clock runs; each pop must be the earliest due in a
 * plain model, at its latest deadline. */
Test(ostimer, matches_a_model_under_random_moves)
{
    srand(12345);
    pl__os_timers h = { .now = 0 };
    uint64_t want[N];                           /* 0: not armed */
    for (int i = 0; i < N; i++)
        recv_task(i), want[i] = 0;
    for (int step = 0; step < 200000; step++) {
        int i = rand() % N;
        uint64_t ms = rand() % 8 == 0 ? 0 : 1 + (uint64_t)(rand() % 400);
        pl__os_deadline(&h, &tasks[i], ms);
        want[i] = ms ? h.now + ms : 0;
        h.now += (uint64_t)(rand() % 3);
        pl__task *t;
        while ((t = pl__os_timer_pop(&h, h.now)) != NULL) {
            int k = (int)(t - tasks);
            cr_assert(want[k] != 0, "task %d popped while not armed", k);
            cr_assert_leq(want[k], h.now, "task %d popped at %llu, due at %llu", k,
                          (unsigned long long)h.now, (unsigned long long)want[k]);
            for (int j = 0; j < N; j++)         /* nothing due earlier is left */
                cr_assert(want[j] == 0 || want[j] >= want[k] || j == k,
                          "task %d (due %llu) left behind %d (due %llu)", j,
                          (unsigned long long)want[j], k, (unsigned long long)want[k]);
            want[k] = 0;
        }
        for (int j = 0; j < N; j++)             /* nothing overdue stays in */
            cr_assert(want[j] == 0 || want[j] > h.now, "task %d overdue", j);
    }
    pl__os_timers_deinit(&h);
}
