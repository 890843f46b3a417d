/* internal.h — what the runtime core and its backends share.
 *
 * The core owns tasks, computations, shared refs and per-descriptor queues;
 * a backend owns only the OS (or the simulated world). The contract:
 *
 *   submit(t)      start performing t's command. Never deliver from inside
 *                  submit: answers are delivered from poll().
 *   cancel(t)      t gets no further answer; release what the backend holds
 *                  for it. Called only for tasks the backend holds.
 *   deadline(t,ms) optional: time out a held RECV without a timer task.
 *   kick()         descriptor slots or send queues changed: re-check paused
 *                  listeners and receivers (pl__may_accept, pl__may_recv).
 *   poll(block)    deliver ready answers through pl__deliver(); if block,
 *                  wait for at least one. Returns the number delivered.
 *
 * Streams (LISTEN, RECV, READ_FILE, SIGNAL, repeating TIMER) stay armed in
 * the backend until cancel(). SEND and CLOSE reach the backend one at a time
 * per descriptor, in order; a backend completes a SEND only when every byte
 * is written (or on error).
 */
#ifndef PLUTO_RUNTIME_INTERNAL_H
#define PLUTO_RUNTIME_INTERNAL_H

#include "pluto/pluto.h"
#include "runtime/assert.h"

#include <stdbool.h>

typedef struct pl__comp pl__comp;
typedef struct pl__join pl__join;
typedef struct pl__task pl__task;

typedef enum pl__tstate {
    PL__T_NEW = 0,      /* created during a handler call, not yet submitted */
    PL__T_WAIT_FD,      /* waiting for a descriptor slot */
    PL__T_QUEUED,       /* SEND/CLOSE behind others on its descriptor */
    PL__T_BACKEND,      /* held by the backend */
    PL__T_READY,        /* in the core's ready queue (START, join answers) */
    PL__T_PARKED,       /* continuation waiting for its join */
    PL__T_DEAD,         /* finished or cancelled; freed at the end of the turn */
} pl__tstate;

struct pl__task {
    pl_task_id id;
    uint64_t born;          /* handler call that created it */
    const pl_handler *h;
    pl_cmd cmd;             /* copied; cmd.text/host point into str */
    pl__tstate state;
    bool slot;              /* holds a descriptor slot */
    pl__comp *comp;
    pl__task *comp_prev, *comp_next;   /* in comp->tasks */
    pl__task *q_next;                  /* ready / wait-fd / per-fd queue */
    pl__join *join;                    /* PARKED continuation: its join */
    uint8_t *data;          /* SEND: bytes to write (owned) */
    size_t data_len;
    char *str;              /* copied text/host (owned) */
    uint64_t bk[4];         /* backend scratch */
    void *bkp;              /* backend scratch */
    pl__task *bk_next;      /* backend's own list link */
    pl__task *deadline;     /* its pl_timeout timer task, or NULL */
    pl__task *owner;        /* a deadline timer: the task it times */
    bool bk_deadline;       /* a deadline armed in the backend (backend->deadline) */
    bool bk_listed;         /* on the backend's list */
    uint32_t mem_len;
    _Alignas(16) uint8_t mem[];
};

struct pl__comp {
    uint64_t id;
    uint64_t born;
    pl__comp *parent;                  /* computation that started it */
    pl__comp *kids, *kid_next, *kid_prev;
    pl__task *tasks;
    pl__join *join;                    /* where the result goes; NULL at the root */
    int side;
};

typedef enum pl__jkind { PL__J_BIND, PL__J_JOIN, PL__J_FIRST } pl__jkind;

struct pl__join {
    pl__jkind kind;
    pl__comp *side[2];
    pl__task *then;
    unsigned have;                     /* bit i: side i returned */
    pl_answer ans;
};

/* A FIFO of tasks linked through q_next (fifo.c). */
typedef struct pl__fifo { pl__task *head, *tail; } pl__fifo;

void pl__fifo_push(pl__fifo *f, pl__task *t);
pl__task *pl__fifo_pop(pl__fifo *f);
bool pl__fifo_remove(pl__fifo *f, pl__task *t);   /* false: t was not in f */

/* The per-descriptor state the core keeps. */
typedef struct pl__fdq {
    pl__fifo q;                        /* SEND/CLOSE in order; the head is in the backend */
    uint64_t queued;                   /* bytes in queued sends */
    bool open;                         /* counted as a held descriptor */
    uint8_t *in;                       /* unconsumed input (pl_consume), or NULL */
    size_t in_len, in_cap;
} pl__fdq;

typedef struct pl__backend {
    const char *name;
    void *(*create)(pl_rt *rt, const pl_run_opts *o);
    void (*destroy)(void *b);
    void (*submit)(void *b, pl__task *t);
    void (*cancel)(void *b, pl__task *t);
    void (*kick)(void *b);
    int (*poll)(void *b, bool block);
    /* Optional: a deadline for a RECV task the backend holds (ms 0: none).
     * When it passes, the backend lets go of the task and delivers DATA with
     * -ETIMEDOUT. Without it, the core arms a hidden TIMER task instead. */
    void (*deadline)(void *b, pl__task *t, uint64_t ms);
    /* End of run: print what the backend reports last (sim: the trace). */
    void (*finish)(void *b, int code);
} pl__backend;

extern const pl__backend pl__backend_epoll;
extern const pl__backend pl__backend_sim;

enum { PL__SEND_HIGH = 256 * 1024 };   /* pause receiving above this many queued bytes */
enum { PL__SEND_LOW = 64 * 1024 };     /* resume below this */

/* Called by backends. */
pl_ans_kind pl__ans_kind_of(pl_cmd_kind k);
void pl__deliver(pl_rt *rt, pl__task *t, pl_answer *a);
bool pl__may_recv(pl_rt *rt, int fd);      /* flow control for receivers */
bool pl__may_accept(pl_rt *rt);            /* a descriptor slot is free */
void pl__fd_opened(pl_rt *rt, int fd);     /* an accepted client: takes a slot */
bool pl__fdq_is_open(const pl_rt *rt, int fd);
uint64_t pl__trace_hash(const pl_rt *rt);
bool pl__exiting(const pl_rt *rt);
int pl__live_tasks(const pl_rt *rt);
/* The backend's own checks failed (sim: an invariant was violated); call it
 * from finish(). pl_run then returns 3, whatever the program's exit code. */
void pl__checks_failed(pl_rt *rt);

/* Trace: the core hashes every command it submits and every answer it
 * delivers; backends may add their own events. */
void pl__trace_mix(pl_rt *rt, const void *p, size_t n);

#endif
