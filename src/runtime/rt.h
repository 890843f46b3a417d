/* rt.h — the runtime's own state, shared by the core's files only.
 *
 * Backends see the narrower internal.h; this header is for the files of src/runtime.
 */
#ifndef PLUTO_RUNTIME_RT_H
#define PLUTO_RUNTIME_RT_H

#include "runtime/internal.h"

typedef struct pl__ref { uint8_t *p; size_t len; } pl__ref;

struct pl_rt {
    const pl__backend *be;
    void *b;
    const pl_program *prog;
    pl_task_id next_task;
    uint64_t call_seq;
    uint64_t next_comp;
    pl__comp *root;
    pl__fifo ready;                    /* answers the core produces itself */
    pl__fifo waitfd;                   /* waiting for a descriptor slot */
    pl__fifo pending_in;               /* receivers owed buffered input */
    pl__task *dead;
    pl__fdq *fds;                      /* by descriptor (pl__table_grow) */
    int nfds;
    uint32_t slots_used, slots_max;
    int live;
    bool exiting;
    int exit_code;
    bool checks_failed;        /* a backend's checks failed: pl_run returns 3 */
    uint64_t trace;
    bool traced;               /* the backend's trace is read (sim, harness) */
    pl__pool pool;             /* tasks, send buffers, strings */
    pl__ref *refs;
    uint32_t nrefs;
    /* A durable machine (machine.h), or NULL: answers from the backend are
     * journaled before they are dispatched. */
    struct pl__mach *mach;
    bool hold_input;           /* machine: journal stalled, take no new input */
    bool mach_owed;            /* machine: a commit is owed; the backend must not sleep */
    /* A sandboxed live run's set-up (setup.c): until it is over, the
     * commands under way that may still need what the sandbox takes away. */
    uint8_t setup;             /* PL__SETUP_* */
    bool setup_due;            /* it may be over: the backend must not sleep */
    uint32_t setup_busy;       /* tasks marked setup */
    uint32_t listened;         /* LISTEN commands answered */
};

enum { PL__SETUP_NONE = 0, PL__SETUP_SETTLED, PL__SETUP_LISTENING, PL__SETUP_STARTED };

struct pl_ctx {
    pl_rt *rt;
    pl__task *self;
    pl__comp *comp;
    pl__fifo emit;                     /* created in this call, to submit */
    bool returned;
    pl_result ret;
    bool exit;
    int exit_code;
    size_t consumed;                   /* pl_consume: bytes used of a DATA answer */
    uint64_t timeout_ms;               /* pl_timeout: requested deadline */
    bool timeout_set;
};

/* dispatch.c, run.c */
/* Deliver an answer the core produced itself (ready queue, buffered input, a
 * deadline): a consequence of earlier answers, never journaled. Backends call
 * pl__deliver(). */
void pl__dispatch(pl_rt *rt, pl__task *t, pl_answer *a);
bool pl__is_final(const pl__task *t, const pl_answer *a);   /* the backend lets go */
void pl__start(pl_rt *rt, const pl_program *p, const void *cfg);
void pl__run_ready(pl_rt *rt);
int pl__loop(pl_rt *rt, const pl_program *p, const void *cfg);
/* state: the backend's state when the caller made it, else NULL (create). */
pl_rt *pl__rt_create(const pl_program *p, const pl__backend *be, void *state,
                     const pl_run_opts *o);
void pl__rt_destroy(pl_rt *rt);
/* A live backend chosen as pl_run chooses (o->backend), created for rt: its
 * state and *be, or NULL (said on stderr) when none can run here. */
void *pl__live_create(pl_rt *rt, const pl_run_opts *o, const pl__backend **be);

/* setup.c: a sandboxed live run's set-up. begin: from now on, counting the
 * commands already under way (a machine's, re-issued as it went live);
 * nothing unless o asks for a sandbox. submitted: t enters the count (if
 * its kind may lead on); listening: a LISTEN's first answer takes it out,
 * done: its end (task.c). pl__poll stands for the backend's poll in the
 * loops: once the set-up is over, the turn's commands are performed without
 * waiting, then the sandbox takes its last steps. */
void pl__setup_begin(pl_rt *rt, const pl_run_opts *o);
void pl__setup_submitted(pl_rt *rt, pl__task *t);
void pl__setup_listening(pl_rt *rt, pl__task *t);
void pl__setup_done(pl_rt *rt, pl__task *t);
int pl__poll(pl_rt *rt, bool block);

/* registry.c */
bool pl__registered(const pl_program *p, const pl_handler *h);
void pl__registry_check(const pl_program *p);

/* cmd.c */
void pl__cmd_copy(pl_rt *rt, pl__task *t, const pl_cmd *cmd);   /* packed + payload */
size_t pl__cmd_payload_size(const pl__task *t);                  /* pooled bytes */

/* task.c */
pl__task *pl__task_new(pl_ctx *cx, pl__comp *comp, const pl_cmd *cmd,
                       const pl_handler *h, const void *mem, size_t len);
void pl__task_finish(pl_rt *rt, pl__task *t);   /* cancel if held, then free later */
void pl__task_free(pl_rt *rt, pl__task *t);   /* back to the pool */
void pl__task_detach(pl_rt *rt, pl__task *t);  /* out of every queue; state NEW */
void pl__submit(pl_rt *rt, pl__task *t);
void pl__ready_push(pl_rt *rt, pl__task *t);
void pl__ready_error(pl_rt *rt, pl__task *t, int err);
void pl__reap(pl_rt *rt);

/* comp.c */
pl__comp *pl__comp_new(pl_rt *rt, pl__comp *parent, pl__join *j, int side);
void pl__comp_cancel(pl_rt *rt, pl__comp *c);   /* cancels tasks and kids, frees c */
void pl__comp_return(pl_ctx *cx);                /* after a call that did pl_ret */
void pl__comp_link(pl__comp *c, pl__task *t);
void pl__comp_unlink(pl__task *t);

/* input.c */
void pl__input_before(pl_rt *rt, pl__task *t, pl_answer *a);
void pl__input_after(pl_rt *rt, pl__task *t, const pl_answer *a, size_t consumed);
void pl__input_pending(pl_rt *rt, pl__task *t);
bool pl__input_deliver(pl_rt *rt);
void pl__input_drop(pl_rt *rt, int fd);
void pl__deadline_set(pl_ctx *cx);
void pl__deadline_initial(pl_rt *rt, pl__task *t);
bool pl__deadline_fired(pl_rt *rt, pl__task *t);
bool pl__deadline_extend(pl_rt *rt, pl__task *t, const pl_answer *a);

/* fdq.c */
pl__fdq *pl__fdq_grow(pl_rt *rt, int fd);
/* fd's queue, the table grown to hold it (inline: a few times per request). */
static inline pl__fdq *pl__fdq_get(pl_rt *rt, int fd)
{
    PL_ASSERT(fd >= 0);
    return fd < rt->nfds ? &rt->fds[fd] : pl__fdq_grow(rt, fd);
}
void pl__fdq_submit(pl_rt *rt, pl__task *t);     /* SEND or CLOSE */
void pl__fdq_done(pl_rt *rt, pl__task *t, const pl_answer *a);
void pl__slot_take(pl_rt *rt, pl__task *t);
void pl__slot_release(pl_rt *rt);
void pl__slots_admit(pl_rt *rt);
bool pl__reader_set(pl_rt *rt, int fd, pl__task *t);
void pl__reader_clear(pl_rt *rt, pl__task *t);

/* machine_*.c: journal a backend's answer; false: drop it (the machine's own
 * task, or the journal failed and the run stops). */
bool pl__machine_answer(struct pl__mach *m, pl__task *t, const pl_answer *a);

/* trace.c */
void pl__trace_cmd(pl_rt *rt, const pl__task *t);
void pl__trace_ans(pl_rt *rt, const pl__task *t, const pl_answer *a);

static inline bool pl__cmd_is_stream(const pl__cmd *c)
{
    return c->kind == PL_CMD_LISTEN || c->kind == PL_CMD_RECV ||
           c->kind == PL_CMD_READ_FILE || c->kind == PL_CMD_SIGNAL ||
           c->kind == PL_CMD_MACHINE ||
           (c->kind == PL_CMD_TIMER && c->every_ms > 0);
}

static inline bool pl__cmd_takes_slot(const pl__cmd *c)
{
    return c->kind == PL_CMD_LISTEN || c->kind == PL_CMD_CONNECT ||
           c->kind == PL_CMD_OPEN || c->kind == PL_CMD_READ_FILE ||
           c->kind == PL_CMD_READDIR;
}

#endif
