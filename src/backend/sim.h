/* sim.h — the simulation backend's world, shared by its files.
 *
 * The world is everything outside the program: a seeded PRNG, a virtual clock
 * in milliseconds, one event queue ordered by (virtual time, sequence number),
 * simulated descriptors, TCP connections whose ends are program descriptors
 * or simulated clients, and an in-memory file tree. Nothing here reads real
 * time, real sockets or real files, and no order depends on a pointer value,
 * so one seed always gives one run and one trace.
 *
 *   sim.c         the backend table: submit, cancel, kick, poll, finish
 *   sim_event.c   PRNG, event queue, the per-task records (ops), delivery
 *   sim_heap.c    the event queue's heap on (at, seq), also the kv world's
 *   sim_net.c     descriptors, listeners, connections
 *   sim_pipe.c    one direction of a connection: latency, window, EOF
 *   sim_sock.c    the program's end of a connection: recv, send, close
 *   sim_client.c  the simulated echo clients and their invariant
 *   sim_http.c    the simulated HTTP clients (serve): connection, writes, reads
 *   sim_http_req.c    their scripts of requests, and what each must get back
 *   sim_http_resp.c   responses parsed as they arrive; the server's EOF judged
 *   sim_http_check.c  each response checked against its request and the tree
 *   sim_http_end.c    the end of a serve run: nothing left waiting or leaked
 *   sim_files.c   the file tree and the file commands
 *   sim_report.c  the checks at the end of a run, the summary, the trace line
 */
#ifndef PLUTO_BACKEND_SIM_H
#define PLUTO_BACKEND_SIM_H

#include "backend/sim_heap.h"
#include "runtime/internal.h"

enum {
    SIM_CHUNK = 64 * 1024,          /* largest read, write or file chunk */
    SIM_FD_FIRST = 3,               /* descriptors 0..2 are the std streams */
    SIM_FD_LIMIT = 1024,            /* the simulated RLIMIT_NOFILE, or max_open + 16 */
    SIM_BACKLOG = 128,              /* connections waiting on a listener */
    SIM_PORT_EPHEMERAL = 40000,     /* first port given for LISTEN on port 0 */
    SIM_SPAWN_MS = 2000,            /* clients connect within this after LISTENING */
    SIM_EMFILE_BACKOFF_MS = 100,    /* accepting pauses this long after EMFILE */
    SIM_EMFILE_ONE_IN = 25,         /* injected EMFILE: one accept in N */
    SIM_RESET_ONE_IN = 6,           /* injected ECONNRESET: one client in N */
    SIM_EIO_ONE_IN = 600,           /* injected EIO: one file read step in N */
    SIM_OPEN_EMFILE_ONE_IN = 40,    /* serve: injected EMFILE, one file open in N */
    SIM_HTTP_HEADER_MS = 10000,     /* serve's default --header-timeout: the checks */
    SIM_HTTP_IDLE_MS = 60000,       /* ... and --idle-timeout assume these */
    SIM_HTTP_REQS_MAX = 10,         /* requests in one client's script */
    SIM_HTTP_HEAD_MAX = 16384,      /* a response head longer than this is a violation */
    SIM_HTTP_SLACK_MS = 30,         /* a byte's latency and a receive's delay, at most */
};
/* A run never passes 10 virtual minutes, plus 1 s per 10 KB a client may send. */
#define SIM_TIME_CAP_MS(w) (10ull * 60 * 1000 + (w)->o.bytes / 10)
#define SIM_EPOCH_NS (1700000000ll * 1000000000ll)  /* wall clock at virtual time 0 */
#define SIM_NEVER UINT64_MAX

typedef struct sim_world sim_world;
typedef struct sim_conn sim_conn;
typedef struct sim_client sim_client;
typedef struct sim_lis sim_lis;
typedef struct sim_hclient sim_hclient;

typedef enum sim_evkind {
    SIM_EV_OP, SIM_EV_PIPE, SIM_EV_CL_START, SIM_EV_CL_WRITE, SIM_EV_CL_READ,
    SIM_EV_HC_START, SIM_EV_HC_WRITE, SIM_EV_HC_READ,
} sim_evkind;

/* An event: embedded in what it wakes; at most one pending per sim_ev. */
typedef struct sim_ev {
    sim_hnode h;                    /* first: the heap's node is the event */
    uint8_t kind;                   /* sim_evkind */
    bool timer;                     /* a program timer: keeps nothing else alive */
} sim_ev;

/* What the backend holds for one task (task->bkp): freed on its final answer
 * or on cancel, whichever comes first, and task->bkp cleared. */
typedef struct sim_op {
    sim_ev ev;
    pl__task *t;
    struct sim_op *prev, *next;     /* every live op, for destroy */
    int err;                        /* answer with this error at the next event */
    uint64_t done;                  /* SEND: bytes written; TIMER: ticks; READ_FILE: offset */
    int node;                       /* READ_FILE, SENDFILE: the file; -1 */
    sim_conn *conn;                 /* RECV, SEND, SENDFILE: the connection */
    int side;                       /* ... and which end is the program's */
    sim_lis *lis;                   /* LISTEN */
    bool paused;                    /* on the paused list: flow control, slots */
    bool blocked;                   /* SEND waiting for room in the peer's window */
} sim_op;

/* Bytes in flight to one end of a connection. Offsets count from the start
 * of the stream: written <= len, arrived <= len, read (rd) <= arrived. */
typedef struct sim_seg { uint64_t at, upto; bool eof; } sim_seg;

typedef struct sim_pipe {
    sim_ev ev;                      /* the next segment's arrival */
    sim_conn *conn;
    int side;                       /* carries bytes to conn->end[side] */
    uint8_t *buf;                   /* stream bytes [base, len) */
    size_t cap;
    uint64_t base, len, arrived, rd;
    uint64_t win;                   /* the receiver's window: len - rd <= win */
    uint64_t last_at;               /* arrivals never overtake each other */
    bool eof_sent, eof;             /* writer shut down; that EOF has arrived */
    sim_seg *segs;
    size_t seg0, nsegs, capsegs;
} sim_pipe;

typedef struct sim_end {
    int fd;                         /* program descriptor; -1 for a client or unaccepted */
    sim_op *reader, *writer;        /* program RECV and SEND on it */
    sim_client *cl;                 /* the simulated client driving it */
    sim_hclient *hc;                /* ... or the simulated HTTP client */
    bool closed;
} sim_end;

struct sim_conn {
    sim_pipe to[2];                 /* to[s]: bytes travelling to end[s] */
    sim_end end[2];                 /* 0: the accepted end, 1: the connecting end */
    bool reset;
    bool paused;                    /* the program's receiving paused on it once */
    uint32_t id;
    uint64_t lat_ms, jit_ms;        /* one-way latency and its jitter */
    uint64_t accepted_at;           /* when the program accepted it; SIM_NEVER before */
    sim_conn *next;                 /* every connection, for destroy */
    sim_conn *bl_next;              /* in a listener's backlog */
};

struct sim_lis {
    uint16_t port;
    int fd;                         /* -1 once closed */
    bool closed;
    sim_op *op;                     /* the LISTEN task; NULL once cancelled */
    sim_conn *bl_head, *bl_tail;
    uint32_t nbl;
    uint64_t emfile_until;
    sim_lis *next;
};

struct sim_client {
    sim_ev ev_start, ev_write, ev_read;
    uint32_t id;
    uint64_t seed;                  /* its byte stream: sim_fill(seed, offset) */
    uint64_t want, sent, got;
    uint64_t reset_at;              /* reset after sending this many; SIM_NEVER */
    uint32_t wmax, wgap_ms, rmax, rgap_ms;
    sim_conn *conn;
    bool shut, done, faulted, refused, wr_blocked, bad, close_early;
};

/* What an HTTP request asks for; the expected answer follows from it. */
typedef enum sim_hkind {
    SIM_HK_FILE, SIM_HK_RANGE, SIM_HK_MULTI, SIM_HK_DIR, SIM_HK_DIR_SLASH, SIM_HK_MISSING,
    SIM_HK_METHOD, SIM_HK_COND,
} sim_hkind;

typedef struct sim_hrange { uint64_t first, last; } sim_hrange;

/* One request of an HTTP client's script, and what came back for it. */
typedef struct sim_hreq {
    uint8_t kind;                   /* sim_hkind */
    bool head, close, http10, ka10; /* HEAD; Connection: close; HTTP/1.0 (keep-alive) */
    bool encode;                    /* a byte of the path percent-encoded */
    int node;                       /* the file or directory named */
    int file;                       /* the file whose bytes must come back; -1 */
    int want;                       /* status: 200, 206, 301, 304, 404, 405 or 416 */
    int nparts;                     /* 206: the ranges the body must hold */
    sim_hrange part[3];
    char range[80];                 /* the Range value sent */
    int cond_of;                    /* SIM_HK_COND: the request whose ETag it sends */
    uint32_t think_ms;              /* pause after the previous response (window 1) */
    uint64_t at, len;               /* its bytes in the client's output stream */
    uint64_t start_at, sent_at;     /* virtual ms: first and last byte written; 0: not yet */
    uint64_t done_at;               /* its response complete */
    int status;                     /* what came back; 0 before */
    char etag[48];                  /* the ETag that came back */
} sim_hreq;

struct sim_hclient {
    sim_ev ev_start, ev_write, ev_read;
    uint32_t id;
    sim_conn *conn;
    sim_hreq req[SIM_HTTP_REQS_MAX];
    uint32_t nreq, window;          /* requests in flight at most; 1: one at a time */
    uint32_t built, answered;       /* requests in the output stream; responses checked */
    uint8_t *out;                   /* the output stream: requests as built */
    size_t out_len, out_cap;
    uint64_t sent;                  /* bytes of out written */
    uint8_t *in;                    /* bytes received and not yet a whole response */
    size_t in_len, in_cap;
    uint64_t got;                   /* bytes received */
    uint64_t ready_at;              /* the next request may start then */
    uint32_t wmax, wgap_ms, rmax, rgap_ms;
    uint64_t reset_tx, reset_rx;    /* reset after writing / reading so many; SIM_NEVER */
    bool slow;                      /* trickles its heads: the header timeout must cut it */
    bool done, faulted, refused, wr_blocked, bad;
    bool closing;                   /* a response said Connection: close: EOF next */
};

typedef enum sim_fdkind {
    SIM_FD_FREE = 0, SIM_FD_LISTEN, SIM_FD_CONN, SIM_FD_FILE, SIM_FD_DIR,
    SIM_FD_APPEND,                  /* OPEN with PL_OPEN_APPEND: a log, counted not kept */
} sim_fdkind;

typedef struct sim_fd {
    uint8_t kind, side;
    int node;
    sim_conn *conn;
    sim_lis *lis;
} sim_fd;

typedef struct sim_node {
    char name[24];
    uint8_t type;                   /* PL_FT_FILE or PL_FT_DIR */
    int parent, child, last, next;  /* tree links; -1 for none */
    uint64_t size, seed;
    int64_t mtime_s;
    bool faulted;                   /* an EIO was injected on it */
    bool emfiled;                   /* an EMFILE was injected opening it */
} sim_node;

typedef struct sim_stats {
    uint64_t resets, emfile, eio, shorts, pauses, echoed, refused;
    uint64_t emfile_open, requests, responses, body_bytes, timeouts408, idle_closes;
    uint64_t resets_tx, resets_rx;
} sim_stats;

struct sim_world {
    pl_rt *rt;
    pl_sim_opts o;
    bool echo, walk, http;          /* which scenario checks apply */
    uint64_t rng[4];
    uint64_t now;
    sim_heap events;                /* every sim_ev scheduled */
    uint32_t ntimers;               /* of them, program timers */
    sim_op *ops;
    sim_op **paused;
    uint32_t npaused, cappaused;
    sim_fd *fds;
    int nfds, nopen, fd_limit;
    sim_lis *lis;
    sim_conn *conns;
    uint32_t nconns;
    uint16_t next_port, port;
    sim_client *cl;
    sim_hclient *hc;
    uint32_t ncl, ndone;            /* echo or HTTP clients, and how many are done */
    int base_fds, base_tasks;       /* serve: what the program held before any client */
    bool base_taken;
    sim_node *nodes;
    uint32_t nnodes;
    uint64_t tree_files, tree_bytes;
    bool tree_used, walk_seen, timed_out;
    uint64_t walk_files, walk_bytes;
    uint8_t *scratch;               /* SIM_CHUNK bytes */
    uint8_t *dirbuf;
    size_t dircap;
    sim_stats st;
    uint32_t violations;
    int delivered;
};

/* sim_event.c */
uint64_t sim_mix(uint64_t x);
void sim_rng_seed(uint64_t s[4], uint64_t seed);
uint64_t sim_rng_next(uint64_t s[4]);
uint64_t sim_below(sim_world *w, uint64_t n);          /* [0, n); 0 when n is 0 */
uint64_t sim_size(sim_world *w, uint64_t max);         /* log-uniform in [1, max] */
void sim_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t n);
void sim_sched(sim_world *w, sim_ev *e, uint64_t at);  /* (re)schedule */
void sim_sched_once(sim_world *w, sim_ev *e, uint64_t at);  /* unless pending */
void sim_unsched(sim_world *w, sim_ev *e);
sim_ev *sim_next(sim_world *w);                        /* earliest, or NULL */
sim_op *sim_op_new(sim_world *w, pl__task *t);
void sim_op_free(sim_world *w, sim_op *op);
void sim_pause(sim_world *w, sim_op *op);
void sim_unpause(sim_world *w, sim_op *op);
void sim_deliver(sim_world *w, pl__task *t, pl_answer *a);
void sim_final(sim_world *w, sim_op *op, pl_answer *a);

/* sim_net.c */
int sim_fd_alloc(sim_world *w, sim_fdkind kind);       /* or -EMFILE */
sim_fd *sim_fd_at(sim_world *w, int fd);               /* NULL unless open */
void sim_fd_free(sim_world *w, int fd);
void sim_listen_step(sim_world *w, sim_op *op);
void sim_lis_shut(sim_world *w, sim_lis *l);
sim_conn *sim_conn_open(sim_world *w, uint16_t port, int *err);
void sim_connect_step(sim_world *w, sim_op *op);
void sim_conn_reset(sim_world *w, sim_conn *c);
void sim_conn_closed(sim_conn *c);                     /* an end closed */
void sim_net_free(sim_world *w);

/* sim_pipe.c */
uint64_t sim_pipe_room(const sim_pipe *p);
void sim_pipe_write(sim_world *w, sim_pipe *p, const uint8_t *d, size_t n);
void sim_pipe_shut(sim_world *w, sim_pipe *p);
void sim_pipe_consume(sim_world *w, sim_pipe *p, uint64_t n);
void sim_pipe_step(sim_world *w, sim_pipe *p);

/* sim_sock.c */
void sim_end_notify(sim_world *w, sim_conn *c, int side);  /* bytes, EOF or reset */
void sim_end_wake(sim_world *w, sim_conn *c, int side);    /* room to write */
void sim_sock_reader(sim_world *w, sim_op *op);
void sim_sock_writer(sim_world *w, sim_op *op);
void sim_recv_step(sim_world *w, sim_op *op);
void sim_send_step(sim_world *w, sim_op *op);
void sim_close_step(sim_world *w, sim_op *op);

/* sim_client.c */
void sim_clients_spawn(sim_world *w, uint16_t port);
void sim_client_event(sim_world *w, sim_ev *e);
void sim_client_readable(sim_world *w, sim_client *cl);
void sim_client_writable(sim_world *w, sim_client *cl);
void sim_violation(sim_world *w, const sim_client *cl, uint64_t off, const char *why);

/* sim_http.c */
void sim_http_spawn(sim_world *w, uint16_t port);
void sim_http_event(sim_world *w, sim_ev *e);
void sim_http_readable(sim_world *w, sim_hclient *c);
void sim_http_writable(sim_world *w, sim_hclient *c);
void sim_http_violation(sim_world *w, sim_hclient *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_http_free(sim_world *w);

/* sim_http_req.c */
void sim_http_script(sim_world *w, sim_hclient *c);
void sim_http_build(sim_world *w, sim_hclient *c, uint32_t i);   /* request i into out */

/* A response head as an HTTP client parsed it. */
typedef struct sim_hresp {
    int status;
    size_t head_len;
    bool has_len, close, keep_alive;
    uint64_t len;
    char crange[96], ctype[128], etag[48], location[256];
} sim_hresp;

/* sim_http_resp.c: check and drop every whole response at the front of c->in. */
void sim_http_take(sim_world *w, sim_hclient *c);
void sim_http_eof(sim_world *w, sim_hclient *c);     /* the server closed */
void sim_http_keep(char *dst, size_t cap, const char *v, size_t n);

/* sim_http_check.c: response r (body: its bytes) to request q. */
void sim_http_check(sim_world *w, sim_hclient *c, sim_hreq *q, const sim_hresp *r,
                    const uint8_t *body);
bool sim_http_head_in_time(const sim_hclient *c, const sim_hreq *q);

/* sim_http_end.c */
void sim_http_baseline(sim_world *w);                 /* before the first client */
void sim_http_report(sim_world *w);                   /* checks and summary line */

/* sim_files.c */
void sim_tree_build(sim_world *w);
size_t sim_node_path(const sim_world *w, int node, char *buf, size_t cap);  /* "/d1/a.txt" */
void sim_file_step(sim_world *w, sim_op *op);     /* also a SEND to an append fd */
bool sim_is_append(sim_world *w, int fd);
void sim_file_content(const sim_world *w, int node, uint64_t off, uint8_t *buf, size_t n);

/* sim_report.c */
void sim_log(sim_world *w, const pl__task *t);
void sim_report(sim_world *w, int code);

#endif
