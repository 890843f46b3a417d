/* scenario.h — helpers for scenario tests: find recorded commands, answer them. */
#ifndef PLUTO_TESTS_SCENARIO_H
#define PLUTO_TESTS_SCENARIO_H

#include "pluto/harness.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

/* The i-th recorded command after index `from` of the given kind (not a cancel). */
static inline const pl_hcmd *find_cmd(pl_harness *h, size_t from, pl_cmd_kind k)
{
    for (size_t i = from; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == k)
            return c;
    }
    return NULL;
}

static inline bool was_cancelled(pl_harness *h, pl_task_id id)
{
    for (size_t i = 0; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (c->cancel && c->task == id)
            return true;
    }
    return false;
}

static inline void expect_cmd(pl_harness *h, size_t i, pl_cmd_kind k)
{
    const pl_hcmd *c = pl_harness_cmd(h, i);
    cr_assert_not_null(c, "no command #%zu (only %zu)", i, pl_harness_count(h));
    cr_assert(!c->cancel, "command #%zu is a cancellation", i);
    cr_assert_eq(c->cmd.kind, k, "command #%zu: kind %d, expected %d", i, c->cmd.kind, k);
}

static inline void expect_log(pl_harness *h, size_t i, const char *text)
{
    expect_cmd(h, i, PL_CMD_LOG);
    cr_assert_str_eq(pl_harness_cmd(h, i)->cmd.text, text);
}

static inline void answer(pl_harness *h, pl_task_id id, pl_answer a)
{
    cr_assert_eq(pl_harness_answer(h, id, &a), 0, "task %llu is not pending",
                 (unsigned long long)id);
}

static inline pl_answer data_ans(const char *s)
{
    return (pl_answer){ .kind = PL_ANS_DATA, .data = (const uint8_t *)s, .len = strlen(s) };
}

#endif
