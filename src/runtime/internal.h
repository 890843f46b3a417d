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

/* A command as a task keeps it: the fields of pl_cmd, with those no kind
 * uses together sharing space (pl_cmd is 96 bytes, this 48). Read by field,
 * as a pl_cmd would be; pl__cmd_public() rebuilds the public form. */
typedef struct pl__cmd {
    int fd;                 /* RECV, SEND, SENDFILE (socket), CLOSE, READ */
    union {
        int dir;            /* OPEN, STAT, READ_FILE, READDIR */
        int signo;          /* SIGNAL */
        int file_fd;        /* SENDFILE */
        uint16_t port;      /* LISTEN, CONNECT */
    };
    uint32_t len;           /* LOG text or path length */
    int16_t flags;          /* OPEN, LOG, LISTEN */
    uint8_t kind;           /* pl_cmd_kind */
    union {
        const char *text;   /* LOG, path commands: the task's str */
        const char *host;   /* LISTEN, CONNECT: the task's str */
    };
    union {
        uint64_t offset;    /* SENDFILE, READ; READDIR: cookie */
        uint64_t every_ms;  /* TIMER */
    };
    uint64_t count;         /* SENDFILE, READ, READDIR */
    uint64_t after_ms;      /* TIMER; RECV, SEND, SENDFILE: a limit (see pluto.h) */
} pl__cmd;

struct pl__task {
    pl_task_id id;
    uint64_t born;          /* handler call that created it */
    const pl_handler *h;
    pl__comp *comp;
    pl__task *comp_prev, *comp_next;   /* in comp->tasks */
    pl__task *q_next;                  /* ready / wait-fd / per-fd queue */
    pl__join *join;                    /* PARKED continuation: its join */
    union {
        uint8_t *data;      /* SEND: bytes to write (owned, pooled) */
        char *str;          /* other kinds: copied text/host (owned, pooled), or NULL */
    };
    union {                 /* backend scratch; the core uses bk[0] for READY errors */
        uint64_t bk[3];
        uint32_t bk32[6];
        struct { uint64_t bk_core_[2]; void *bkp; };
    };
    pl__task *bk_next;      /* backend's own list link */
    pl__task *deadline;     /* its pl_timeout timer task, or NULL */
    pl__task *owner;        /* a deadline timer: the task it times */
    pl__cmd cmd;            /* copied; cmd.text/host point into str */
    uint32_t data_len;      /* SEND: bytes in data (below 4 GiB); 0 for other kinds */
    uint32_t mem_len;
    uint32_t timeout_ms;    /* RECV: the length of its current deadline (0: none) */
    uint8_t state;          /* pl__tstate */
    bool slot;              /* holds a descriptor slot */
    bool bk_deadline;       /* a deadline armed in the backend (backend->deadline) */
    bool bk_listed;         /* on the backend's list */
    bool bk_machine;        /* held by a durable machine's layer, not the live backend */
    bool setup;             /* under way in a sandboxed run's set-up (setup.c) */
    _Alignas(16) uint8_t mem[];
};

/* The public form of a task's command (harness records, the trace). */
pl_cmd pl__cmd_public(const pl__task *t);

struct pl__comp {
    uint64_t id;
    uint64_t born;
    pl__comp *parent;                  /* computation that started it */
    pl__comp *kids, *kid_next, *kid_prev;
    pl__task *tasks;
    pl__join *join;                    /* where the result goes; NULL at the root */
    int side;
    bool graceful;                     /* PL_START_GRACEFUL: interrupted when it loses */
    bool interrupted;                  /* lost a First: its streams get -ECANCELED */
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

/* The per-descriptor state the core keeps (48 bytes: one per connection). */
typedef struct pl__fdq {
    pl__fifo q;                        /* SEND/CLOSE in order; the head is in the backend */
    uint64_t queued;                   /* bytes in queued sends */
    uint8_t *in;                       /* unconsumed input (pl_consume), or NULL */
    uint32_t in_len;                   /* at most PL_INPUT_MAX */
    uint32_t in_cap : 31;
    uint32_t open : 1;                 /* counted as a held descriptor */
    pl__task *reader;                  /* its RECV task, or NULL */
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
    /* Nobody reads this backend's trace (live runs): the core skips hashing. */
    bool untraced;
} pl__backend;

extern const pl__backend pl__backend_epoll;
extern const pl__backend pl__backend_sim;

enum { PL__SEND_HIGH = 256 * 1024 };   /* pause receiving above this many queued bytes */
enum { PL__SEND_LOW = 64 * 1024 };     /* resume below this */

/* Called by backends. */
pl_ans_kind pl__ans_kind_of(pl_cmd_kind k);
void pl__deliver(pl_rt *rt, pl__task *t, pl_answer *a);
bool pl__may_recv(pl_rt *rt, int fd);      /* flow control for receivers */
bool pl__may_accept(pl_rt *rt);            /* a slot is free for a client */
uint32_t pl__accept_room(pl_rt *rt);      /* clients that may be accepted now */
bool pl__slots_wanted(const pl_rt *rt);    /* commands wait for a descriptor slot */
void pl__fd_opened(pl_rt *rt, int fd);     /* an accepted client: takes a slot */
bool pl__fdq_is_open(const pl_rt *rt, int fd);
/* The command queued behind t (a SEND or SENDFILE the backend holds) on its
 * descriptor, or NULL: a backend may tell the kernel more follows. */
const pl__task *pl__fdq_next(const pl__task *t);
uint64_t pl__trace_hash(const pl_rt *rt);
bool pl__exiting(const pl_rt *rt);
/* The core has no answer of its own to deliver (ready tasks, buffered input):
 * after delivering, a backend may still block if this holds and it has
 * nothing to perform. */
bool pl__core_idle(const pl_rt *rt);
int pl__live_tasks(const pl_rt *rt);
/* The backend's own checks failed (sim: an invariant was violated); call it
 * from finish(). pl_run then returns 3, whatever the program's exit code. */
void pl__checks_failed(pl_rt *rt);
/* A signal sent to the process reached this worker's loop: pass it on to the
 * other workers (workers.c), so that each one stops, drains or reopens its log. */
void pl__workers_forward(int signo);

/* Pooled memory (pool.c): blocks of n bytes from the runtime's free lists;
 * give back the same n. Blocks above PL__POOL_MAX come from malloc. */
enum { PL__POOL_MAX = 64 * 1024, PL__POOL_CLASSES = 64 + 6 * 4 };
enum { PL__POOL_KEEP = 256 * 1024, PL__POOL_TOTAL = 4 * 1024 * 1024 };   /* kept, bytes */
typedef struct pl__pool {
    void *free[PL__POOL_CLASSES];
    uint32_t nfree[PL__POOL_CLASSES];
    size_t kept;                        /* bytes in every list */
} pl__pool;
void *pl__pool_get(pl__pool *p, size_t n);
void pl__pool_put(pl__pool *p, void *block, size_t n);
void pl__pool_deinit(pl__pool *p);
/* Tables by descriptor: zeroed, and untouched (no memory) beyond what is used. */
void *pl__table_grow(void *old, size_t old_bytes, size_t new_bytes);
void pl__table_free(void *table, size_t bytes);

/* Trace: the core hashes every command it submits and every answer it
 * delivers; backends may add their own events. */
void pl__trace_mix(pl_rt *rt, const void *p, size_t n);

#endif
