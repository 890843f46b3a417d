/* kvsim.h — the kv app as a durable machine in a simulated world (sim_kv).
 *
 * The real kv handlers (src/apps/kv*.c) run as a machine (src/runtime/
 * machine_*.c) over the simulated disk (src/machine/disk_sim*.c), exactly as
 * `pluto boot DIR kv` runs them, except that the live backend is the world
 * below and the clock is virtual. The world outlives the machine: the
 * machine is killed, loses power, fails on its disk, fills it, is stopped,
 * and is started again from the same disk while the clients go on.
 *
 *   kvsim_main.c    options, one seed: the machine's lives, the summary line
 *   kvsim_fault.c   the faults of a seed: when, what, and the restarts
 *   kvsim_disk.c    a counting disk in front of the simulated one
 *   kvsim_world.c   the event queue (src/backend/sim_heap.c) and the backend
 *                   table the machine calls
 *   kvsim_net.c     pipes, descriptors, connections
 *   kvsim_sock.c    the machine's end: LISTEN, RECV, SEND, CLOSE; its death
 *   kvsim_client.c  HTTP clients: scripts of PUT/GET/DELETE, hostile writes
 *   kvsim_req.c     their requests as bytes: keys, values, framing
 *   kvsim_resp.c    responses parsed as they arrive, handed to the checker
 *   kvsim_check.c   the checker: acknowledged writes, reads, output commit
 *
 * One seed is one run: every choice comes from it (virtual time, the
 * clients, the faults, the simulated disk), so a failing seed is a bug
 * report. The program is single-threaded; the world is one global (the
 * machine's clock hook takes no argument).
 */
#ifndef PLUTO_TESTS_SIM_KVSIM_H
#define PLUTO_TESTS_SIM_KVSIM_H

#include "backend/sim_heap.h"
#include "runtime/machine.h"
#include "machine/disk.h"

#include <stdio.h>

enum {
    KS_KEYS_MAX = 16,               /* keys a seed writes to */
    KS_WINDOW_MAX = 8,              /* requests a client pipelines at most */
    KS_EPOCH_MS = 1000,             /* virtual time of the first event */
    KS_TIME_CAP_MS = 4 * 3600 * 1000,   /* a run that is not over by then is a violation */
    KS_FAULTS_MAX = 12,
};
#define KS_NEVER UINT64_MAX

/* ---- events ---------------------------------------------------------------- */

typedef enum ks_evkind { KS_EV_OP, KS_EV_CLIENT, KS_EV_FAULT, KS_EV_WORLD } ks_evkind;

/* Embedded first in what it wakes; at most one pending per ks_ev. */
typedef struct ks_ev {
    sim_hnode h;                    /* first: the heap's node is the event */
    uint8_t kind;                   /* ks_evkind */
} ks_ev;

/* ---- the network ------------------------------------------------------------- */

typedef struct ks_seg { uint64_t upto, at; } ks_seg;

/* One direction of a connection. Offsets count from the stream's start:
 * buf holds [base, len); rd <= arrived(now) <= len. */
typedef struct ks_pipe {
    uint8_t *buf;
    size_t cap;
    uint64_t base, len, rd, arrived;
    ks_seg *seg;                    /* arrival times, oldest first */
    size_t seg0, nseg, segcap;
    uint64_t last_at;               /* arrivals never overtake each other */
    bool shut;                      /* the writer closed: EOF after len ... */
    uint64_t shut_at;               /* ... arriving then */
} ks_pipe;

typedef struct ks_op ks_op;
typedef struct ks_client ks_client;

typedef struct ks_conn {
    uint32_t id;
    ks_pipe up, down;               /* client -> machine, machine -> client */
    int fd;                         /* the machine's descriptor; -1 */
    bool accepted, srv_closed, reset;
    uint64_t lat, jit;
    ks_op *reader, *writer;         /* the machine's RECV and SEND on it */
    ks_client *cl;                  /* NULL once the client let go */
    struct ks_conn *next, *bl_next;
} ks_conn;

/* What the world holds for one task of the machine (task->bkp). */
struct ks_op {
    ks_ev ev;
    pl__task *t;
    ks_conn *conn;
    uint64_t done;                  /* SEND: bytes written; TIMER: ticks */
    int err;                        /* answer this error at the next event */
    bool paused, bound;
    ks_op *prev, *next;
};

/* ---- clients ------------------------------------------------------------------ */

typedef enum ks_method { KS_GET, KS_PUT, KS_DEL } ks_method;

typedef struct ks_req {
    uint8_t method;                 /* ks_method */
    uint16_t key;
    bool close, chunked, expect;
    bool probe;                     /* the verifier's write after the final restarts */
    uint32_t write;                 /* its write in the history; UINT32_MAX: a GET */
    uint64_t at, len;               /* its bytes in the client's output stream */
    uint64_t s;                     /* virtual ms its first byte was written; 0 */
} ks_req;

struct ks_client {
    ks_ev ev;
    uint32_t id;
    bool verifier;                  /* reads every key after each start */
    uint32_t ops, issued;           /* script length, requests built so far */
    uint32_t window;                /* in flight at most */
    bool slow;                      /* writes a byte at a time, slowly */
    uint32_t wmax, wgap_ms, think_ms;
    ks_conn *conn;
    uint8_t *out;                   /* the output stream: [out_base, out_base + out_len) */
    size_t out_len, out_cap;
    uint64_t out_base, sent;
    ks_req q[KS_WINDOW_MAX];        /* built and not answered, oldest first */
    uint32_t q0, nq;
    uint8_t *in;                    /* received, not yet a whole response */
    size_t in_len, in_cap;
    uint64_t reset_after;           /* reset once this many bytes moved; KS_NEVER */
    uint64_t moved;
    uint64_t ready_at;              /* the next request not before */
    uint64_t wr_at;                 /* the next write; KS_NEVER */
    uint32_t vkey, vend;            /* verifier: the next key to read; the end */
    bool closing, done;
};

/* ---- the checker ---------------------------------------------------------------- */

typedef enum ks_wstate { KS_W_PENDING, KS_W_ACKED, KS_W_FAILED, KS_W_UNKNOWN } ks_wstate;

typedef struct ks_write {
    uint16_t key;
    bool del;
    uint8_t state;                  /* ks_wstate */
    uint64_t vlen, vseed;
    uint64_t s, e;                  /* first byte sent; acknowledged (or connection lost) */
    uint32_t next;                  /* the next write to the same key; UINT32_MAX */
} ks_write;

/* ---- the run -------------------------------------------------------------------- */

typedef enum ks_fkind {
    KS_F_POWER_CALL, KS_F_POWER_NOW, KS_F_KILL, KS_F_STOP, KS_F_EIO, KS_F_OFFLINE,
    KS_F_FULL, KS_F_HEAL_DISK, KS_F_ROOM, KS_F_KINDS,
} ks_fkind;

typedef struct ks_fault { ks_ev ev; uint8_t kind; } ks_fault;

typedef struct ks_stats {
    uint64_t requests, responses, acked, failed, unknown, checked, s503, s408;
    uint64_t resets, power_call, power_now, kills, stops, fatal, restarts;
    uint64_t start_retries, eio, eio_sync, eio_write, eio_other, enospc;
    uint64_t offline, short_writes, snapshots, segments, replayed;
} ks_stats;

typedef struct ks_opts {
    uint64_t seed;
    bool verbose, break_check, lying_disk, no_faults;
    uint32_t clients;               /* 0: from the seed */
} ks_opts;

typedef struct ks_world {
    ks_opts o;
    uint64_t rng;
    uint64_t now;
    sim_heap events;                /* every ks_ev scheduled */
    /* the machine */
    pl__mach *m;                    /* NULL while down */
    pl_rt *rt;                      /* its runtime once live; NULL */
    pm_disk *disk, *sim;            /* the counting disk, and the simulated one below */
    FILE *err;                      /* the machine's messages */
    char *errbuf;
    size_t errlen, errseen;
    uint64_t snapshot_every, reserve_bytes;
    pm_fsync fsync;                 /* always; interval or never: no power losses then */
    uint64_t seg_max;               /* log segments this small (0: the journal's 64 MiB) */
    uint32_t max_open;
    int pending;                    /* a fault the main loop must act on: ks_fkind + 1 */
    ks_ev restart;                  /* KS_EV_WORLD: start again */
    ks_ev fin;                      /* KS_EV_WORLD: the next of the final checks */
    int delivered;                  /* answers delivered by this poll */
    bool down, ended, finishing;
    int phase;                      /* the end: 0 clients at work, 1.. final checks */
    uint64_t fail_at, crash_at;     /* armed on the simulated disk; 0 */
    bool offline, full;
    bool fault_during_start;
    /* the world's side of the machine */
    ks_op *ops;
    ks_op **paused;
    uint32_t npaused, cappaused;
    ks_conn **fds;                  /* by descriptor: a connection, or lis_mark */
    int nfds;
    ks_op *lis;                     /* the LISTEN task, once bound */
    int lis_fd;
    ks_conn *bl_head, *bl_tail;
    ks_conn *conns;
    uint32_t nconns;
    pl__task *sigs[8];              /* SIGNAL tasks held (never answered but SIGTERM) */
    int nsigs;
    /* output commit: the journal's last seq when each handler call was made */
    uint64_t *cause, ncause, map_base, mapped;
    /* clients */
    ks_client *cl;
    uint32_t ncl;
    uint32_t nkeys;
    bool big;                       /* this seed sends values up to 1 MiB */
    char keys[KS_KEYS_MAX][24];     /* decoded key names */
    /* faults */
    ks_fault faults[KS_FAULTS_MAX];
    uint32_t nfaults;
    ks_fault heal, room;            /* the disk back online; room on it again */
    uint32_t faults_since_start;    /* injected errors (or a full disk) this life */
    /* the checker */
    ks_write *w;
    uint32_t nw, capw;
    uint32_t khead[KS_KEYS_MAX], ktail[KS_KEYS_MAX];
    uint64_t trace;
    uint32_t violations;
    ks_stats st;
} ks_world;

extern ks_world *ks_w;

/* kvsim_world.c */
uint64_t ks_rand(ks_world *w);
uint64_t ks_below(ks_world *w, uint64_t n);             /* [0, n); 0 when n is 0 */
uint64_t ks_size(ks_world *w, uint64_t max);            /* log-uniform in [1, max] */
uint64_t ks_mix(uint64_t x);
void ks_sched(ks_world *w, ks_ev *e, uint64_t at);      /* (re)schedule */
void ks_sched_once(ks_world *w, ks_ev *e, uint64_t at); /* unless pending */
void ks_unsched(ks_world *w, ks_ev *e);
ks_ev *ks_next(ks_world *w);
void ks_run_event(ks_world *w, ks_ev *e);               /* take it off, move the clock, run */
void ks_deliver(ks_world *w, pl__task *t, pl_answer *a);
void ks_final(ks_world *w, ks_op *op, pl_answer *a);
void ks_op_free(ks_world *w, ks_op *op);
void ks_pause(ks_world *w, ks_op *op);
void ks_trace(ks_world *w, const void *p, size_t n);
void ks_say(ks_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t ks_now_ms(void);
extern const pl__backend ks_backend;

/* kvsim_sock.c */
void ks_net_submit(ks_world *w, ks_op *op);              /* LISTEN, RECV, SEND, CLOSE */
void ks_net_step(ks_world *w, ks_op *op);
void ks_net_detach(ks_world *w, ks_op *op);
void ks_net_died(ks_world *w);                           /* the machine's process ended */

/* kvsim_net.c */
extern ks_conn ks_lis_mark;                              /* fds[fd] of the listener */
int ks_fd_alloc(ks_world *w, ks_conn *c);                /* lowest free, not the core's */
ks_conn *ks_conn_of(ks_world *w, int fd);                /* NULL: none, or the listener */
ks_conn *ks_connect(ks_world *w, ks_client *c);          /* NULL: refused */
void ks_pipe_write(ks_world *w, ks_conn *c, ks_pipe *p, const uint8_t *d, size_t n);
void ks_pipe_shut(ks_world *w, ks_conn *c, ks_pipe *p);
uint64_t ks_pipe_arrived(ks_world *w, ks_pipe *p);
uint64_t ks_pipe_next_at(ks_world *w, ks_pipe *p);       /* KS_NEVER */
bool ks_pipe_eof(ks_world *w, ks_pipe *p);
void ks_conn_reset(ks_world *w, ks_conn *c);
void ks_reader_wake(ks_world *w, ks_conn *c);            /* bytes for the machine */
void ks_conn_gone(ks_world *w, ks_conn *c);              /* free its buffers if unused */
void ks_net_free(ks_world *w);

/* kvsim_client.c */
void ks_clients_make(ks_world *w);
void ks_client_event(ks_world *w, ks_client *c);
void ks_client_wake(ks_world *w, ks_client *c);          /* bytes or EOF for it */
void ks_client_lost(ks_world *w, ks_client *c);          /* its connection ended */
void ks_client_answered(ks_world *w, ks_client *c);      /* a response came */
void ks_verify_start(ks_world *w);                       /* after a start: read every key */
bool ks_clients_done(ks_world *w);
void ks_clients_free(ks_world *w);

/* kvsim_req.c */
void ks_key_name(ks_world *w, uint32_t k);               /* w->keys[k], from the seed */
void ks_build(ks_world *w, ks_client *c);                /* the next request into c->out */
void ks_value(uint64_t vseed, uint64_t off, uint8_t *buf, size_t n);

/* kvsim_resp.c: whole responses at the front of c->in, checked and dropped. */
void ks_take(ks_world *w, ks_client *c);

/* kvsim_check.c */
uint32_t ks_write_new(ks_world *w, uint16_t key, bool del, uint64_t vlen, uint64_t vseed);
void ks_write_acked(ks_world *w, uint32_t wi);
void ks_write_failed(ks_world *w, uint32_t wi);
void ks_write_unknown(ks_world *w, uint32_t wi);
/* A read of key over [s, now]: absent, or body (len bytes). */
void ks_check_read(ks_world *w, ks_client *c, uint16_t key, uint64_t s, bool absent,
                   const uint8_t *body, uint64_t len);
void ks_violation(ks_world *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ks_commit_map(ks_world *w);
void ks_commit_check(ks_world *w, const pl__task *t);
void ks_commit_reset(ks_world *w, pl_rt *rt);

/* kvsim_disk.c */
pm_disk *ks_disk_wrap(ks_world *w, pm_disk *sim);

/* kvsim_fault.c */
void ks_faults_plan(ks_world *w);
void ks_fault_event(ks_world *w, ks_fault *f);
void ks_fault_act(ks_world *w);                          /* the pending kill, power loss */
void ks_machine_ended(ks_world *w);                      /* the machine stopped by itself */
void ks_power_lost(ks_world *w);                         /* a power loss at a call fired */
void ks_finish_check(ks_world *w);                       /* time for the final checks? */
void ks_restart(ks_world *w);
void ks_finish_step(ks_world *w);                        /* the final checks, step by step */
bool ks_fault_active(ks_world *w);
void ks_cut_log(ks_world *w);                            /* --lying-disk */
void ks_machine_tune(ks_world *w);                       /* after a boot or start */

#endif
