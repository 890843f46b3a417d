/* machine.h — a durable machine: the runtime glue over the storage layer.
 *
 * src/machine keeps the directory (meta, log segments, snapshots); these
 * files make a runtime into a machine:
 *
 *   machine_run.c      boot and start: open the directory, restore the state
 *                      (snapshot, then replay), the loop, the end
 *   machine_golive.c   from replay to live: dead descriptors, tasks re-issued
 *   machine_live.c     the machine backend: wraps the live one (epoll, uring),
 *                      journals each answer, holds effects until their turn
 *                      is committed, answers commands on dead descriptors
 *   machine_turn.c     the end of a loop turn: commit, release, snapshot,
 *                      disk full (the reserve file, the status answers)
 *   machine_replay.c   the replay backend: answers from the log, by task id
 *   machine_answer.c   an answer as a journal record, and back
 *   machine_snap*.c    the whole core state as bytes (snapshot), and back
 *   machine_map.c      tasks by id
 *
 * Journal records (type, task id, payload):
 *   ANSWER  an answer a backend delivered to the task, before the core saw it
 *           (the core's own answers — START, joins, buffered input, deadline
 *           notices — follow from these, and are never journaled)
 *   TURN    the end of a loop turn's answers: replay delivers the same
 *           batches, so the core's ready queue interleaves as it did live
 *   EPOCH   a start: the live process that follows is a new one
 */
#ifndef PLUTO_RUNTIME_MACHINE_H
#define PLUTO_RUNTIME_MACHINE_H

#include "runtime/rt.h"
#include "machine/journal.h"
#include "machine/snapshot.h"

#include <stdio.h>

enum { PL__MREC_ANSWER = 1, PL__MREC_TURN = 2, PL__MREC_EPOCH = 3 };

/* ---- tasks by id (machine_map.c) ----------------------------------------- */

typedef struct pl__tmap {
    pl__task **slot;
    size_t cap, n;
} pl__tmap;

void pl__tmap_put(pl__tmap *m, pl__task *t);
pl__task *pl__tmap_get(const pl__tmap *m, pl_task_id id);
pl__task *pl__tmap_del(pl__tmap *m, pl_task_id id);
void pl__tmap_free(pl__tmap *m);

/* ---- bytes (machine_snap.c) -------------------------------------------- */

typedef struct pl__wbuf { uint8_t *p; size_t len, cap; } pl__wbuf;
void pl__w_bytes(pl__wbuf *w, const void *p, size_t n);
void pl__w_u8(pl__wbuf *w, uint8_t v);
void pl__w_u32(pl__wbuf *w, uint32_t v);
void pl__w_u64(pl__wbuf *w, uint64_t v);

typedef struct pl__rbuf { const uint8_t *p; size_t len, off; bool bad; } pl__rbuf;
const uint8_t *pl__r_bytes(pl__rbuf *r, size_t n);   /* NULL (and bad) past the end */
uint8_t pl__r_u8(pl__rbuf *r);
uint32_t pl__r_u32(pl__rbuf *r);
uint64_t pl__r_u64(pl__rbuf *r);

/* ---- answers as records (machine_answer.c) ------------------------------ */

/* Append the record of answer a to task t to w (cleared first). */
void pl__answer_encode(pl__wbuf *w, const pl_answer *a);
/* Decode a record's payload: 0, or -1 if it is not an answer. a->data points
 * into p. */
int pl__answer_decode(const uint8_t *p, size_t n, pl_answer *a);

/* ---- state (machine_snap.c, machine_snap_load.c) ------------------------- */

/* The core's whole state between two turns, canonical: the same state gives
 * the same bytes (ids, never addresses). */
void pl__state_save(const pl_rt *rt, pl__wbuf *w);
/* Rebuild it in rt, fresh from pl__rt_create (nothing started). Every task
 * the state says a backend holds is put in held. 0, or -1 with why. */
int pl__state_load(pl_rt *rt, const uint8_t *p, size_t n, pl__tmap *held,
                   char *why, size_t why_len);
uint64_t pl__state_hash(const pl_rt *rt);

/* ---- the machine --------------------------------------------------------- */

/* A list of tasks the machine layer holds (linked through bk_next, the
 * previous in bkp; bk32[0] says which list). */
typedef struct pl__mlist { pl__task *head, *tail; } pl__mlist;
enum { PL__ML_HELD = 1, PL__ML_DEAD = 2, PL__ML_SUBS = 3, PL__ML_SIGS = 4, PL__ML_RETRY = 5 };
enum { PL__RELISTEN_MS = 5000 };        /* a re-issued listener retries a busy port */
enum { PL__RESERVE_BYTES = 4 << 20 };   /* the reserve file (machine_turn.c) */

enum { PL__STALE_NONE = 0, PL__STALE_PLACED = 1, PL__STALE_BUSY = 2 };

typedef struct pl__mach {
    pl_rt *rt;
    const pl_program *prog;
    pm_disk *disk;
    bool own_disk;
    pm_meta meta;
    bool meta_dirty;            /* another program or version: rewrite meta */
    pm_journal *j;
    pm_journal_opts jo;
    uint64_t snapshot_every;
    const pl__backend *live;
    void *lb;
    bool replaying;             /* answers come from the log: nothing is journaled */
    pl__tmap *rmap;             /* replay: the tasks the replay backend holds */
    uint64_t replayed;          /* answers replayed at this start */
    /* the turn */
    uint64_t turn_answers;      /* answers journaled since the last TURN */
    uint64_t since_snap;        /* answers since the last snapshot */
    uint64_t durable_call;      /* handler calls up to this one had durable causes */
    pl__mlist held;             /* effects waiting for their turn's commit */
    pl__mlist dead;             /* commands on dead descriptors, answered next poll */
    pl__mlist subs;             /* PL_CMD_MACHINE streams */
    pl__mlist sigs;             /* the program's SIGINT/SIGTERM: never answered */
    pl__task *stop[2];          /* the machine's own SIGINT and SIGTERM */
    pl__mlist retry;            /* re-issued listeners whose port is still busy */
    pl_task_id *relisten;       /* the listeners re-issued at go-live, until bound */
    size_t nrelisten;
    uint64_t relisten_until;
    uint8_t *stale;             /* by descriptor: PL__STALE_* */
    int nstale;
    pl__wbuf buf;               /* a record being encoded */
    /* how it goes */
    bool stopping;              /* SIGINT/SIGTERM: one last turn, then exit 0 */
    bool drained;               /* that last turn was polled */
    bool stopped;               /* and committed: the machine ended the run, not the program */
    int fatal;                  /* the journal failed for good: exit 1, release nothing */
    bool stalled;               /* a commit failed: output held, input paused */
    bool full;                  /* the disk is full (status -ENOSPC) */
    bool reserve;               /* the reserve file exists */
    uint64_t reserve_bytes;     /* its size */
    uint64_t retry_ms;          /* next attempt to recreate the reserve */
    int warned;                 /* last error reported (once) */
    bool no_placeholders;       /* tests: no dup2 onto descriptor numbers */
    uint64_t (*now_ms)(void);
    FILE *err;                  /* messages (stderr) */
    const char *name;           /* the directory, in messages */
} pl__mach;

extern const pl__backend pl__backend_machine;
extern const pl__backend pl__backend_replay;

/* machine_live.c */
void pl__mlist_push(pl__mlist *l, int which, pl__task *t);
void pl__mlist_remove(pl__mlist *l, pl__task *t);
pl__task *pl__mlist_pop(pl__mlist *l);
/* Hand t (an effect whose turn is committed) to the live backend. */
void pl__mach_release(pl__mach *m, pl__task *t);
void pl__mach_deliver_status(pl__mach *m);
/* A re-issued listener's answer: true if it was taken for a retry. */
bool pl__mach_relisten(pl__mach *m, pl__task *t, const pl_answer *a);
int pl__mach_deliver_dead(pl__mach *m);

/* machine_turn.c */
/* Append a record; on failure the run stops (fatal): 0 or the error. */
int pl__mach_append(pl__mach *m, uint64_t task, uint32_t type, const void *p, size_t n);
void pl__mach_end_turn(pl__mach *m);        /* commit, release, snapshot, disk full */
bool pl__mach_reserve_make(pl__mach *m);
int pl__mach_snapshot(pl__mach *m);
void pl__mach_say(pl__mach *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* machine_golive.c: from replay to live; 0, or 1 with the reason in msg. */
int pl__mach_go_live(pl__mach *m, pl__tmap *held, const pl_run_opts *ro, uint64_t from,
                     char *msg, size_t len);

/* machine_replay.c: replay the log from from_seq; 0, or -1 with a message. */
int pl__mach_replay(pl__mach *m, pl__tmap *held, uint64_t from_seq, char *msg, size_t len);

/* ---- running a machine (machine_run.c); tests drive it turn by turn ------ */

typedef struct pl__mach_opts {
    const char *dir;            /* the directory (posix disk, locked) ... */
    pm_disk *disk;              /* ... or this disk (tests; not destroyed) */
    const pl__backend *live;    /* NULL: the kind in run.backend */
    pl_run_opts run;
    bool fsync_given;
    pm_fsync fsync;
    bool snapshot_given;
    uint64_t snapshot_every;
    bool no_placeholders;
    uint64_t reserve_bytes;     /* the reserve file; 0: PL__RESERVE_BYTES */
    uint64_t (*now_ms)(void);   /* NULL: CLOCK_MONOTONIC */
    FILE *err;                  /* NULL: stderr */
    bool sandbox;               /* sandbox the live run (a machine of the command line;
                                 * run.sandbox.mode and .user: start's overrides) */
} pl__mach_opts;

/* machine_sandbox.c: the words boot records with the arguments
 * (--no-sandbox, --user NAME); the sandbox of ro, after the program's tune
 * (0, or 1 with msg); and Landlock once the machine is live (the same). */
int pl__mach_args_write(pm_disk *d, int argc, char **argv, const pl__mach_opts *o);
int pl__mach_sandbox_opts(pl__mach *m, const pl__mach_opts *o, pl_run_opts *ro, char *msg,
                          size_t len);
int pl__mach_sandbox_begin(pl__mach *m, const pl_run_opts *ro, char *msg, size_t len);

/* 0 and *out ready to run; else an exit code (1, 2), the reason in msg. */
int pl__mach_boot(pl__mach **out, const pl_program *p, int argc, char **argv,
                  const pl__mach_opts *o, char *msg, size_t len);
int pl__mach_start(pl__mach **out, const pl_program *p, const pl__mach_opts *o,
                   char *msg, size_t len);
/* One turn of the loop; false once the run is over. */
bool pl__mach_turn(pl__mach *m);
/* The end: commit (unless the program exited), release, free. Exit code. */
int pl__mach_end(pl__mach *m);
/* As if the process died now: nothing more is written; free. */
void pl__mach_crash(pl__mach *m);
pl_rt *pl__mach_rt(pl__mach *m);
pm_journal *pl__mach_journal(pl__mach *m);

#endif
