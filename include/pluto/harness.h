/* harness.h — run a program by hand: the executable semantics of Pluto.
 *
 * A harness runs a program against no OS at all. Every command the program
 * issues is recorded; the test answers any pending task with an answer it
 * builds, and reads which commands came out. This is how the scenario tests
 * check a program: feed answers, assert the exact commands.
 *
 *   pl_harness *h = pl_harness_start(&pl_app_echo, &cfg);
 *   const pl_hcmd *c = pl_harness_cmd(h, 0);          // PL_CMD_LISTEN
 *   pl_answer a = { .kind = PL_ANS_CLIENT, .fd = 7 };
 *   pl_harness_answer(h, c->task, &a);                // a RECV on fd 7 follows
 *
 * Strings and bytes inside the records belong to the harness and live until
 * pl_harness_destroy().
 */
#ifndef PLUTO_HARNESS_H
#define PLUTO_HARNESS_H

#include "pluto/pluto.h"

#include <stdbool.h>

typedef struct pl_harness pl_harness;

typedef struct pl_hcmd {
    pl_task_id task;
    bool cancel;            /* a cancellation of task, not a command */
    pl_cmd cmd;             /* text/host point to copies; iov is NULL */
    const uint8_t *data;    /* SEND: the bytes */
    size_t len;
} pl_hcmd;

/* Start program p with cfg (its start runs now). max_open bounds the
 * descriptor slots (0: 64). Returns NULL on allocation failure. */
pl_harness *pl_harness_start(const pl_program *p, const void *cfg, uint32_t max_open);

/* Commands and cancellations recorded so far, in the order the runtime
 * performed them. */
size_t pl_harness_count(const pl_harness *h);
const pl_hcmd *pl_harness_cmd(const pl_harness *h, size_t i);

/* Deliver answer a to task; the handler runs, and then every answer the
 * core itself produces (join results, START). Returns 0, or -ENOENT when
 * the task is not waiting for an answer (finished or cancelled). */
int pl_harness_answer(pl_harness *h, pl_task_id task, const pl_answer *a);

/* Is task still waiting for answers? */
bool pl_harness_pending(const pl_harness *h, pl_task_id task);

/* Has the program called pl_exit()? */
bool pl_harness_exited(const pl_harness *h, int *code);

/* Every answer delivered and command issued so far, as one hash. */
uint64_t pl_harness_trace(const pl_harness *h);

void pl_harness_destroy(pl_harness *h);

#endif
