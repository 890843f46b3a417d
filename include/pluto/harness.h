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
 * pl_harness_destroy() (or a pl_harness_rewind() that drops their record).
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

/* Stop hashing: pl_harness_trace() keeps its present value. For a caller
 * that never reads the trace (a fuzz driver), whose runs it slows down. */
void pl_harness_trace_off(pl_harness *h);

/* Mark the program's present state, to come back to it with
 * pl_harness_rewind() (a new mark replaces the last): its tasks and
 * computations, its shared refs, the descriptors it holds, the id counters
 * and the trace, and how many commands were recorded. Mark when nothing is
 * under way inside the core (between answers, as after any call here). */
void pl_harness_mark(pl_harness *h);

/* Back to the mark, as if what came after had not happened, for a run that
 * must start each time from the same state (a fuzz driver: start once,
 * rewind after each input). The program must have come back to the mark's
 * tasks and computations by itself, in the same states, with no other task,
 * no descriptor opened since still open and no buffered input, and not have
 * exited; then the shared refs and the tasks' private memory get their bytes
 * back, refs made since are freed, the next tasks get the same ids again,
 * the trace is the mark's, and the commands recorded since are dropped.
 * What the run allocated is freed, or kept in the runtime's pool, where a
 * leak check finds it (LeakSanitizer, between two runs). A large ref is
 * read only where a run may have written it (Linux 6.7's PAGEMAP_SCAN, else
 * in full). Returns 0, or -EBUSY when the program is elsewhere, or nothing
 * is marked: the harness may then only be destroyed. */
int pl_harness_rewind(pl_harness *h);

void pl_harness_destroy(pl_harness *h);

#endif
