/* epoll.h — the epoll backend's state, shared by its files. */
#ifndef PLUTO_BACKEND_EPOLL_H
#define PLUTO_BACKEND_EPOLL_H

#include "backend/osloop.h"
#include "backend/ossig.h"
#include "backend/ostimer.h"

/* What the backend holds for one descriptor (24 bytes: one per connection).
 * A descriptor is read by at most one task, whose kind says its role: a
 * receiver, a listener, a connection in progress, or a lingering close. Set
 * the role's field; ask with ep_reader/ep_listener/ep_connector/ep_lingerer,
 * which check the kind. */
typedef struct ep_fd {
    union {
        pl__task *reader;       /* RECV */
        pl__task *listener;     /* LISTEN */
        pl__task *connector;    /* CONNECT in progress */
        pl__task *lingerer;     /* CLOSE with PL_CLOSE_LINGER, reading what is left */
    };
    pl__task *writer;           /* SEND/SENDFILE in progress */
    uint32_t events;            /* registered interest */
    bool registered;
    bool paused;                /* reader or listener held back */
    bool fresh;                 /* accepted, not yet received from */
} ep_fd;

static inline pl__task *ep_role(const ep_fd *f, pl_cmd_kind kind)
{
    return f->reader != NULL && f->reader->cmd.kind == kind ? f->reader : NULL;
}
static inline pl__task *ep_reader(const ep_fd *f) { return ep_role(f, PL_CMD_RECV); }
static inline pl__task *ep_listener(const ep_fd *f) { return ep_role(f, PL_CMD_LISTEN); }
static inline pl__task *ep_connector(const ep_fd *f) { return ep_role(f, PL_CMD_CONNECT); }
static inline pl__task *ep_lingerer(const ep_fd *f) { return ep_role(f, PL_CMD_CLOSE); }

typedef struct ep {
    pl_rt *rt;
    int epfd;
    ep_fd *fds;
    int nfds;
    pl__os_list imm;                   /* performed at the next poll */
    pl__os_timers timers;              /* timers, deadlines, stall limits */
    pl__os_answers ans;                /* DATA and SENT (osloop.h) */
    pl__os_sigs sigs;
    pl__os_fdset paused;               /* descriptors with a held-back reader/listener */
    int64_t emfile_until_ms;           /* accepting paused after EMFILE */
    uint8_t *rbuf;                     /* receive buffer */
    size_t rbuf_len;
    int delivered;
    int nreg;                          /* registered descriptors */
} ep;

enum { EP_RBUF = 64 * 1024 };

/* Task scratch fields used by this backend: bk[0] and bk[1] are the timer
 * heap's (ostimer.h); bk[2] is EP_DONE, or PL__OS_TICKS / PL__OS_FILE. */
#define EP_DONE(t) ((t)->bk[2])        /* bytes sent / descriptor + 1 / bytes dropped */

ep_fd *ep_fd_get(ep *e, int fd);
void ep_update(ep *e, int fd);
void ep_pause(ep *e, int fd);
void ep_unregister(ep *e, int fd);
void ep_deliver(ep *e, pl__task *t, pl_answer *a);

/* epoll_net.c */
void ep_listen(ep *e, pl__task *t);
void ep_accept(ep *e, int fd);
void ep_connect(ep *e, pl__task *t);
void ep_connected(ep *e, int fd);
void ep_recv(ep *e, int fd);
void ep_write(ep *e, pl__task *t);

/* epoll_misc.c */
void ep_perform(void *b, pl__task *t);
void ep_linger_read(ep *e, pl__task *t);                  /* a lingering close's socket */
void ep_stall_arm(ep *e, pl__task *t, bool progressed);   /* a writer's stall limit */
void ep_timers_fire(ep *e);
int ep_timer_timeout(ep *e);

#endif
