/* uring.h — the io_uring backend's state, shared by its files.
 *
 * Commands become submissions and completions become answers. Every request
 * in the kernel is a ur_op, and its user_data is the op's address, except a
 * descriptor's receive: there is one per connection, held as long as the
 * connection, so it lives in the descriptor's ur_fd and its user_data names
 * the descriptor (UR_RECV_UD). An op outlives its task when it must:
 * cancelling a task clears op->t, so later completions are dropped, and the
 * op (and anything the kernel may still touch) is freed only at its last
 * completion.
 */
#ifndef PLUTO_BACKEND_URING_H
#define PLUTO_BACKEND_URING_H

#include "backend/osloop.h"
#include "backend/ossig.h"
#include "backend/ostimer.h"
#include "backend/uring_select.h"

#include <liburing.h>
#include <sys/socket.h>

typedef enum ur_kind {
    UR_SEND = 1,        /* a SEND task's bytes (resubmitted after a short write) */
    UR_POLLOUT,         /* SENDFILE or a file SEND: wait until the socket takes more */
    UR_ACCEPT,          /* accept: multishot, one by one near the limit */
    UR_CONNECT,
    UR_SIGNAL,          /* multishot poll of the signalfd */
    UR_LINGER,          /* a lingering close's receive, into the sink (uring_misc.c) */
} ur_kind;

typedef struct ur_op {
    pl__task *t;            /* NULL once the task is cancelled: completions dropped */
    struct ur_op *next;     /* free list */
    struct sockaddr_storage *addr;  /* CONNECT: the peer, owned */
    uint64_t done;          /* SEND, SENDFILE: bytes written */
    int fd;
    uint8_t kind;           /* ur_kind */
    bool armed;             /* in the kernel, or in the submission queue */
    bool cancelling;        /* an asynchronous cancel is on its way */
} ur_op;

/* What the backend holds for one descriptor: its receiving, and whether it
 * is a socket. Reset when the descriptor is closed. Every idle connection
 * holds one, so it is kept to 16 bytes: its multishot receive is these
 * flags, not an op, and bytes stashed with no receiver to take them (rare)
 * are in a side table. */
typedef struct ur_fd {
    pl__task *reader;       /* the RECV task */
    uint32_t stash;         /* 0, or 1 + its index in e->stashes */
    uint16_t gen;           /* bumped at each reset: completions of an older receive
                             * on this number carry an older one and are dropped */
    uint8_t end_errno;      /* with ended: 0 (end of stream) or the error */
    bool ended : 1;         /* end of stream or an error came (after the stash) */
    bool paused : 1;        /* held back by flow control (on the paused list) */
    bool notsock : 1;       /* sends are plain writes (a file, a pipe) */
    bool armed : 1;         /* its multishot receive is in the kernel or the queue */
    bool cancelling : 1;    /* an asynchronous cancel of that receive is on its way */
} ur_fd;
_Static_assert(sizeof(ur_fd) == 16, "ur_fd is per descriptor: keep it small");

/* A receive's user_data: odd (an op's address is even), then its descriptor's
 * gen and number. */
#define UR_RECV_UD(fd, gen) \
    (((uint64_t)(uint32_t)(fd) << 32) | ((uint64_t)(uint16_t)(gen) << 1) | 1u)

/* Bytes a receive brought while the descriptor had no receiver. */
typedef struct ur_stash {
    uint8_t *buf;           /* NULL when the slot is free */
    uint32_t len, cap;      /* a free slot: len is the next free slot + 1 */
} ur_stash;

/* The buffer ring: UR_NBUFS buffers of UR_BUFSZ bytes, group UR_BGID. */
enum { UR_NBUFS = 256, UR_BUFSZ = 16 * 1024, UR_BGID = 7, UR_RBUF = 64 * 1024 };
enum { UR_BUFS_MIN = 32, UR_BUFS_STEP = 8 };  /* the ring's fill at first; buffers a
                                                 * turn may add to it (uring_setup.c) */
enum { UR_RECV_CAP = 64 * 1024 };      /* bytes a multishot receive takes, then re-arms */
enum { UR_OPS_CHUNK = 256 };            /* ops allocated together */

/* A listener: its multishot accept and the clients accepted while no
 * descriptor slot was free (given out, in order, as slots free up). */
typedef struct ur_lst {
    pl__task *t;            /* NULL once cancelled; swept after its last completion */
    ur_op *op;              /* the accept, or NULL */
    int fd;
    bool paused;
    int *pend;
    uint32_t npend, cappend;
    struct ur_lst *next;
} ur_lst;

typedef struct ur {
    pl_rt *rt;
    struct io_uring ring;
    struct io_uring_buf_ring *br;      /* provided buffers for receives */
    uint8_t *bufs;
    size_t br_bytes;
    uint16_t bstack[UR_NBUFS];         /* buffers out of the ring and free; top: next in */
    uint16_t nbstack;
    uint16_t bring;                    /* buffers in the ring (given, not yet come back) */
    uint16_t bwant;                    /* how many the ring is kept at */
    uint16_t bgrow;                    /* how many more this turn may add to bwant */
    ur_fd *fds;
    int nfds;
    ur_stash *stashes;
    uint32_t nstashes, capstashes;
    uint32_t stash_free;               /* 0, or 1 + the first free slot */
    ur_op *free_ops;
    void **chunks;                     /* op storage, freed at destroy */
    size_t nchunks;
    pl__os_list imm;                   /* performed at the next poll */
    pl__os_timers timers;              /* timers, deadlines, stall limits */
    pl__os_answers ans;                /* DATA and SENT (osloop.h) */
    pl__os_sigs sigs;
    ur_op sigop;                       /* the signalfd's multishot poll */
    pl__os_fdset paused;               /* descriptors whose receiving is held back */
    ur_lst *listeners;
    int lpaused;                       /* listeners held back */
    int64_t emfile_until_ms;           /* accepting paused after EMFILE */
    uint8_t *rbuf;                     /* file reads */
    size_t rbuf_len;
    uint8_t *sink;                     /* UR_RBUF bytes lingering closes receive into and
                                        * drop (never read), or NULL until the first */
    int delivered;
    int inflight;                      /* ops in the kernel */
    bool kicked;
    bool recv_cap;                     /* the kernel ends a receive after a byte cap */
    bool restricted;                   /* a sandboxed run's ring (uring_setup.c) */
} ur;

/* Task scratch fields used by this backend: bk[0] and bk[1] are the timer
 * heap's (ostimer.h); bk[2] is PL__OS_TICKS (TIMER), PL__OS_FILE (READ_FILE)
 * or UR_PTR. */
#define UR_PTR(t) ((t)->bkp)            /* SEND, SENDFILE, CONNECT, lingering CLOSE: op;
                                         * LISTEN: ur_lst */

/* uring.c */
ur_fd *ur_fd_get(ur *e, int fd);
struct io_uring_sqe *ur_sqe(ur *e);
void ur_arm(ur *e, ur_op *op, struct io_uring_sqe *sqe);
ur_op *ur_op_new(ur *e, pl__task *t, ur_kind kind, int fd);
void ur_op_free(ur *e, ur_op *op);
void ur_cancel_async(ur *e, ur_op *op);
void ur_cancel_sync(ur *e, ur_op *op);
void ur_deliver(ur *e, pl__task *t, pl_answer *a);
void ur_stash_add(ur *e, ur_fd *f, const uint8_t *data, size_t len);
uint8_t *ur_stash_take(ur *e, ur_fd *f, size_t *len);

/* uring_setup.c */
/* Set up e's ring and buffer ring; restricted: for a sandboxed run, limited
 * to the operations the backend submits (e->restricted says whether the
 * kernel took it). 0, or a negative errno with the reason in why. */
int ur_ring_init(ur *e, bool restricted, char *why, size_t why_len);
void ur_ring_deinit(ur *e);
void ur_buf_recycle(ur *e, unsigned bid);
void ur_buf_dry(ur *e);
void ur_buf_turn(ur *e);

/* uring_recv.c */
void ur_recv_submit(ur *e, pl__task *t);
void ur_recv_cancel(ur *e, pl__task *t);
void ur_recv_flush(ur *e, pl__task *t);
void ur_recv_cqe(ur *e, uint64_t ud, int res, unsigned flags);
void ur_recv_timeout(ur *e, pl__task *t);
void ur_recv_resume(ur *e);
void ur_recv_close(ur *e, int fd);

/* uring_net.c */
void ur_listen(ur *e, pl__task *t);
void ur_accept_cqe(ur *e, ur_op *op, int res, unsigned flags);
void ur_listen_cancel(ur *e, pl__task *t);
void ur_listen_resume(ur *e);
void ur_listen_sweep(ur *e);
void ur_connect(ur *e, pl__task *t);
void ur_connect_cqe(ur *e, ur_op *op, int res);
void ur_write_cancel(ur *e, pl__task *t);

/* uring_send.c */
void ur_send_submit(ur *e, pl__task *t);
void ur_send_perform(ur *e, pl__task *t);
void ur_send_cqe(ur *e, ur_op *op, int res);
void ur_sendfile(ur *e, pl__task *t);
void ur_pollout_cqe(ur *e, ur_op *op, int res);
void ur_stall_fire(ur *e, pl__task *t);

/* uring_misc.c */
void ur_perform(void *b, pl__task *t);
void ur_signal_add(ur *e, pl__task *t);
void ur_signal_cqe(ur *e, int res, unsigned flags);
void ur_timers_fire(ur *e);
int ur_timer_timeout(ur *e);
void ur_linger_cqe(ur *e, ur_op *op, int res);
void ur_linger_cancel(ur *e, pl__task *t);

#endif
