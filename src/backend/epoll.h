/* epoll.h — the epoll backend's state, shared by its files. */
#ifndef PLUTO_BACKEND_EPOLL_H
#define PLUTO_BACKEND_EPOLL_H

#include "runtime/internal.h"

#include <signal.h>

/* What the backend holds for one descriptor (24 bytes: one per connection).
 * A descriptor is read by at most one task, whose kind says its role: a
 * receiver, a listener, or a connection in progress. Set the role's field;
 * ask with ep_reader/ep_listener/ep_connector, which check the kind. */
typedef struct ep_fd {
    union {
        pl__task *reader;       /* RECV */
        pl__task *listener;     /* LISTEN */
        pl__task *connector;    /* CONNECT in progress */
    };
    pl__task *writer;           /* SEND/SENDFILE in progress */
    uint32_t events;            /* registered interest */
    bool registered;
    bool paused;                /* reader or listener held back */
} ep_fd;

static inline pl__task *ep_role(const ep_fd *f, pl_cmd_kind kind)
{
    return f->reader != NULL && f->reader->cmd.kind == kind ? f->reader : NULL;
}
static inline pl__task *ep_reader(const ep_fd *f) { return ep_role(f, PL_CMD_RECV); }
static inline pl__task *ep_listener(const ep_fd *f) { return ep_role(f, PL_CMD_LISTEN); }
static inline pl__task *ep_connector(const ep_fd *f) { return ep_role(f, PL_CMD_CONNECT); }

typedef struct ep {
    pl_rt *rt;
    int epfd;
    int sigfd;
    sigset_t sigmask;
    ep_fd *fds;
    int nfds;
    pl__task *imm_head, *imm_tail;     /* performed at the next poll */
    pl__task **heap;                   /* timers, by deadline */
    size_t nheap, capheap;
    uint64_t timer_seq;
    pl__task *sigtasks[65];            /* per signal: a list via bkp */
    int *paused;                       /* descriptors with a held-back reader/listener */
    size_t npaused, cappaused;
    int64_t emfile_until_ms;           /* accepting paused after EMFILE */
    uint8_t *rbuf;                     /* receive buffer */
    size_t rbuf_len;
    int delivered;
    int nreg;                          /* registered descriptors */
} ep;

enum { EP_RBUF = 64 * 1024 };

/* Task scratch fields used by this backend. */
#define EP_DEADLINE(t) ((t)->bk[0])    /* timers and RECV deadlines: ms, monotonic */
#define EP_HEAPIDX(t) ((t)->bk32[2])
#define EP_SEQ(t) ((t)->bk32[3])       /* orders equal deadlines (wraps: ties only) */
#define EP_DONE(t) ((t)->bk[2])        /* bytes sent / ticks fired / file fd + 1 */

int64_t ep_now_ms(void);
ep_fd *ep_fd_get(ep *e, int fd);
void ep_update(ep *e, int fd);
void ep_pause(ep *e, int fd);
void ep_unregister(ep *e, int fd);
void ep_imm_push(ep *e, pl__task *t);
void ep_imm_remove(ep *e, pl__task *t);
void ep_deliver(ep *e, pl__task *t, pl_answer *a);

/* epoll_net.c */
void ep_listen(ep *e, pl__task *t);
void ep_accept(ep *e, int fd);
void ep_connect(ep *e, pl__task *t);
void ep_connected(ep *e, int fd);
void ep_recv(ep *e, int fd);
void ep_write(ep *e, pl__task *t);

/* epoll_misc.c */
void ep_perform(ep *e, pl__task *t);
void ep_timer_add(ep *e, pl__task *t);
void ep_timer_push(ep *e, pl__task *t);
void ep_timer_remove(ep *e, pl__task *t);
void ep_stall_arm(ep *e, pl__task *t, bool progressed);   /* a writer's stall limit */
void ep_timers_fire(ep *e);
int ep_timer_timeout(ep *e);
void ep_signal_add(ep *e, pl__task *t);
void ep_signal_remove(ep *e, pl__task *t);
void ep_signals_read(ep *e);

#endif
