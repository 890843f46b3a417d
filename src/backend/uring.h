/* uring.h — the io_uring backend's state, shared by its files.
 *
 * Commands become submissions and completions become answers. Every request
 * in the kernel is a ur_op, and its user_data is the op's address. An op
 * outlives its task when it must: cancelling a task clears op->t, so later
 * completions are dropped, and the op (and anything the kernel may still
 * touch) is freed only at its last completion.
 */
#ifndef PLUTO_BACKEND_URING_H
#define PLUTO_BACKEND_URING_H

#include "backend/uring_select.h"

#include <liburing.h>
#include <signal.h>
#include <sys/socket.h>

typedef enum ur_kind {
    UR_RECV = 1,        /* multishot receive into the buffer ring */
    UR_SEND,            /* a SEND task's bytes (resubmitted after a short write) */
    UR_POLLOUT,         /* SENDFILE or a file SEND: wait until the socket takes more */
    UR_ACCEPT,          /* multishot accept */
    UR_CONNECT,
    UR_SIGNAL,          /* multishot poll of the signalfd */
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
    bool orphan;            /* RECV: its descriptor was closed; drop what comes */
} ur_op;

/* What the backend holds for one descriptor: its receiving, and whether it
 * is a socket. Reset when the descriptor is closed. */
typedef struct ur_fd {
    pl__task *reader;       /* the RECV task */
    ur_op *rop;             /* the multishot receive armed on it */
    uint8_t *stash;         /* bytes that came with no receiver to take them */
    uint32_t stash_len, stash_cap;
    int end_err;            /* with ended: 0 (end of stream) or a negative errno */
    bool ended;             /* end of stream or an error came (after the stash) */
    bool paused;            /* held back by flow control (on the paused list) */
    bool notsock;           /* sends are plain writes (a file, a pipe) */
} ur_fd;

/* A listener: its multishot accept and the clients accepted while no
 * descriptor slot was free (given out, in order, as slots free up). */
typedef struct ur_lst {
    pl__task *t;            /* NULL once cancelled; swept after its last completion */
    ur_op *op;              /* the multishot accept, or NULL */
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
    ur_fd *fds;
    int nfds;
    ur_op *free_ops;
    void **chunks;                     /* op storage, freed at destroy */
    size_t nchunks;
    pl__task *imm_head, *imm_tail;     /* performed at the next poll */
    pl__task **heap;                   /* timers and deadlines, by time */
    size_t nheap, capheap;
    uint32_t timer_seq;
    int sigfd;
    sigset_t sigmask;
    pl__task *sigtasks[65];            /* per signal: a list via bk_next */
    ur_op sigop;
    int *paused;                       /* descriptors whose receiving is held back */
    size_t npaused, cappaused;
    ur_lst *listeners;
    int lpaused;                       /* listeners held back */
    int64_t emfile_until_ms;           /* accepting paused after EMFILE */
    uint8_t *rbuf;                     /* file reads */
    size_t rbuf_len;
    int delivered;
    int inflight;                      /* ops in the kernel */
    bool kicked;
    bool recv_cap;                     /* the kernel ends a receive after a byte cap */
} ur;

/* The buffer ring: UR_NBUFS buffers of UR_BUFSZ bytes, group UR_BGID. */
enum { UR_NBUFS = 256, UR_BUFSZ = 16 * 1024, UR_BGID = 7, UR_RBUF = 64 * 1024 };
enum { UR_RECV_CAP = 64 * 1024 };      /* bytes a multishot receive takes, then re-arms */
enum { UR_OPS_CHUNK = 256 };            /* ops allocated together */

/* Task scratch fields used by this backend. */
#define UR_DEADLINE(t) ((t)->bk[0])     /* heap: ms, monotonic */
#define UR_HEAPIDX(t) ((t)->bk32[2])
#define UR_SEQ(t) ((t)->bk32[3])        /* orders equal deadlines (wraps: ties only) */
#define UR_COUNT(t) ((t)->bk[2])        /* TIMER: ticks; READ_FILE: file fd + 1 */
#define UR_PTR(t) ((t)->bkp)            /* SEND, SENDFILE, CONNECT: op; LISTEN: ur_lst */

/* uring.c */
int64_t ur_now_ms(void);
ur_fd *ur_fd_get(ur *e, int fd);
struct io_uring_sqe *ur_sqe(ur *e);
void ur_arm(ur *e, ur_op *op, struct io_uring_sqe *sqe);
ur_op *ur_op_new(ur *e, pl__task *t, ur_kind kind, int fd);
void ur_op_free(ur *e, ur_op *op);
void ur_cancel_async(ur *e, ur_op *op);
void ur_cancel_sync(ur *e, ur_op *op);
void ur_imm_push(ur *e, pl__task *t);
void ur_imm_remove(ur *e, pl__task *t);
void ur_deliver(ur *e, pl__task *t, pl_answer *a);

/* uring_setup.c */
int ur_ring_init(ur *e, char *why, size_t why_len);
void ur_ring_deinit(ur *e);
void ur_buf_recycle(ur *e, unsigned bid);

/* uring_recv.c */
void ur_recv_submit(ur *e, pl__task *t);
void ur_recv_cancel(ur *e, pl__task *t);
void ur_recv_flush(ur *e, pl__task *t);
void ur_recv_cqe(ur *e, ur_op *op, int res, unsigned flags);
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
void ur_perform(ur *e, pl__task *t);
void ur_timer_add(ur *e, pl__task *t);
void ur_timer_at(ur *e, pl__task *t, uint64_t at_ms);
void ur_timer_remove(ur *e, pl__task *t);
bool ur_timer_armed(const ur *e, const pl__task *t);
void ur_timers_fire(ur *e);
int ur_timer_timeout(ur *e);
void ur_signal_add(ur *e, pl__task *t);
void ur_signal_remove(ur *e, pl__task *t);
void ur_signal_cqe(ur *e, int res, unsigned flags);

#endif
