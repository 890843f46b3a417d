/* epoll.c — the default live backend: readiness, then non-blocking calls.
 *
 * Submitted commands go on an immediate list that the next poll performs
 * (a backend never answers from inside submit). Receivers and listeners stay
 * registered for EPOLLIN for as long as their task keeps listening; a writer
 * registers EPOLLOUT only after a write would block; so does a lingering
 * close for EPOLLIN while it reads what the peer still sends (epoll_misc.c).
 */
#include "backend/epoll.h"
#include "backend/osfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

ep_fd *ep_fd_get(ep *e, int fd)
{
    PL_ASSERT(fd >= 0);
    if (fd >= e->nfds)
        e->fds = pl__os_table_fit(e->fds, &e->nfds, sizeof *e->fds, fd);
    return &e->fds[fd];
}

/* Bring the registered interest of fd in line with what waits on it. */
void ep_update(ep *e, int fd)
{
    ep_fd *f = ep_fd_get(e, fd);
    uint32_t want = 0;
    bool connecting = ep_connector(f) != NULL;
    if (f->reader != NULL && !connecting && !f->paused)
        want |= EPOLLIN | EPOLLRDHUP;       /* a receiver or a listener */
    if (f->writer || connecting)
        want |= EPOLLOUT;
    if (want == f->events && (f->registered || want == 0))
        return;
    /* Lazy: a receiver that ends is usually replaced in the same turn, so
     * read interest stays registered until an event finds nobody waiting
     * (ep_poll) or the descriptor is closed (close removes it). */
    if (want == 0 && f->registered && !f->paused && !(f->events & EPOLLOUT))
        return;
    struct epoll_event ev = { .events = want, .data.fd = fd };
    if (want == 0) {
        if (f->registered) {
            epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
            e->nreg--;
        }
        f->registered = false;
    } else if (f->registered) {
        epoll_ctl(e->epfd, EPOLL_CTL_MOD, fd, &ev);
    } else if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) {
        f->registered = true;
        e->nreg++;
    }
    f->events = want;
}

void ep_unregister(ep *e, int fd)
{
    ep_fd *f = ep_fd_get(e, fd);
    if (!f->registered || f->reader || f->writer)
        return;
    epoll_ctl(e->epfd, EPOLL_CTL_DEL, fd, NULL);
    f->registered = false;
    f->events = 0;
    e->nreg--;
}

void ep_pause(ep *e, int fd)
{
    ep_fd *f = ep_fd_get(e, fd);
    if (f->paused)
        return;
    f->paused = true;
    pl__os_fdset_add(&e->paused, fd);
    ep_update(e, fd);
}

static void ep_kick(void *b)
{
    ep *e = b;
    for (size_t i = 0; i < e->paused.n;) {
        int fd = e->paused.fd[i];
        ep_fd *f = ep_fd_get(e, fd);
        bool ok = ep_listener(f) ? pl__may_accept(e->rt) && pl__os_now_ms() >= e->emfile_until_ms
                : ep_reader(f) ? pl__may_recv(e->rt, fd) : true;
        if (!ok) {
            i++;
            continue;
        }
        f->paused = false;
        pl__os_fdset_drop(&e->paused, i);
        ep_update(e, fd);
    }
}

void ep_deliver(ep *e, pl__task *t, pl_answer *a)
{
    e->delivered++;
    pl__deliver(e->rt, t, a);
}

static void *ep_create(pl_rt *rt, const pl_run_opts *o)
{
    (void)o;
    ep *e = calloc(1, sizeof *e);
    PL_ASSERT(e != NULL);
    e->rt = rt;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->rbuf_len = EP_RBUF;
    e->rbuf = malloc(e->rbuf_len);
    if (e->epfd < 0 || e->rbuf == NULL) {
        fprintf(stderr, "pluto: epoll: %s\n", strerror(errno));
        free(e->rbuf);
        free(e);
        return NULL;
    }
    pl__os_sigs_init(&e->sigs);
    pl__os_clock(&e->timers);           /* deadlines set before the first turn */
    return e;
}

static void ep_destroy(void *b)
{
    ep *e = b;
    pl__os_close_open(e->rt, e->nfds);
    pl__os_sigs_deinit(&e->sigs);
    close(e->epfd);
    pl__table_free(e->fds, (size_t)e->nfds * sizeof *e->fds);
    pl__os_timers_deinit(&e->timers);
    free(e->paused.fd);
    free(e->rbuf);
    free(e);
}

static void ep_submit(void *b, pl__task *t)
{
    ep *e = b;
    switch (t->cmd.kind) {
    case PL_CMD_TIMER:
        pl__os_timer_add(&e->timers, t);
        return;
    case PL_CMD_SIGNAL:
        if (pl__os_sig_add(&e->sigs, t)) {
            struct epoll_event ev = { .events = EPOLLIN, .data.fd = e->sigs.fd };
            epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->sigs.fd, &ev);
            e->nreg++;
        }
        return;
    default:
        pl__os_list_push(&e->imm, t);
        return;
    }
}

static void ep_cancel(void *b, pl__task *t)
{
    ep *e = b;
    pl__os_list_remove(&e->imm, t);
    int fd = t->cmd.fd;
    switch (t->cmd.kind) {
    case PL_CMD_TIMER:
        pl__os_timer_remove(&e->timers, t);
        break;
    case PL_CMD_SIGNAL:
        pl__os_sig_remove(&e->sigs, t);
        break;
    case PL_CMD_RECV:
        pl__os_timer_remove(&e->timers, t);   /* its deadline, if any */
        if (fd >= 0 && fd < e->nfds && e->fds[fd].reader == t) {
            e->fds[fd].reader = NULL;
            ep_update(e, fd);
        }
        break;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE:
        pl__os_timer_remove(&e->timers, t);   /* its stall limit, if any */
        if (fd >= 0 && fd < e->nfds && e->fds[fd].writer == t) {
            e->fds[fd].writer = NULL;
            ep_update(e, fd);
        }
        break;
    case PL_CMD_CLOSE:
        /* Lingering: it stops reading; the descriptor stays open (pluto.h). */
        if (fd >= 0 && fd < e->nfds && e->fds[fd].lingerer == t) {
            pl__os_timer_remove(&e->timers, t);
            e->fds[fd].lingerer = NULL;
            ep_update(e, fd);
        }
        break;
    case PL_CMD_LISTEN:
    case PL_CMD_CONNECT:
    case PL_CMD_READ_FILE:
        if (EP_DONE(t) > 0) {           /* descriptor + 1 held by the task */
            int own = (int)EP_DONE(t) - 1;
            ep_fd *f = ep_fd_get(e, own);
            f->listener = f->connector = NULL;
            f->paused = false;
            ep_update(e, own);
            close(own);
            EP_DONE(t) = 0;
        }
        break;
    default:
        break;
    }
}

/* A receiver's deadline lives in the timer heap itself (ep_timers_fire). */
static void ep_deadline(void *b, pl__task *t, uint64_t ms)
{
    pl__os_deadline(&((ep *)b)->timers, t, ms);
}

static int ep_poll(void *b, bool block)
{
    ep *e = b;
    e->delivered = 0;
    pl__os_list_run(&e->imm, e->rt, ep_perform, e);
    pl__os_clock(&e->timers);           /* the turn's clock (ostimer.h) */
    ep_timers_fire(e);
    int timeout = 0;
    /* Answers delivered above may have given the core work of its own (or us
     * new commands); if not, wait: a SENT alone is no reason to poll twice. */
    if (block && e->imm.head == NULL && pl__core_idle(e->rt) && !pl__exiting(e->rt))
        timeout = ep_timer_timeout(e);
    if (timeout < 0 && e->nreg == 0 && e->paused.n == 0)
        return -1;                      /* nothing could ever wake us */
    if (timeout != 0)
        pl__os_flush();                 /* lines logged above go out before we sleep */
    struct epoll_event evs[256];
    int n = epoll_wait(e->epfd, evs, 256, timeout);
    if (timeout != 0)
        pl__os_clock(&e->timers);       /* it may have slept */
    for (int i = 0; i < n && !pl__exiting(e->rt); i++) {
        int fd = evs[i].data.fd;
        uint32_t ev = evs[i].events;
        if (fd == e->sigs.fd) {
            e->delivered += pl__os_sigs_read(&e->sigs, e->rt);
            continue;
        }
        ep_fd *f = &e->fds[fd];
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
            if (ep_listener(f))
                ep_accept(e, fd);
            else if (ep_reader(f))
                ep_recv(e, fd);
            else if (ep_lingerer(f))
                ep_linger_read(e, f->lingerer);
            else if (f->reader == NULL)
                ep_unregister(e, fd);   /* lazily kept interest: drop it now */
        }
        f = &e->fds[fd];                /* the table may have grown */
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            if (ep_connector(f))
                ep_connected(e, fd);
            else if (f->writer)
                ep_write(e, f->writer);
        }
    }
    if (e->paused.n)
        ep_kick(e);
    ep_timers_fire(e);
    pl__os_flush();
    return e->delivered;
}

/* The run ended: log lines already issued still go out, in order. */
static void ep_finish(void *b, int code)
{
    ep *e = b;
    (void)code;
    pl__os_list_finish(&e->imm, ep_perform, e);
    fflush(stdout);
}

const pl__backend pl__backend_epoll = {
    .name = "epoll",
    .create = ep_create,
    .destroy = ep_destroy,
    .submit = ep_submit,
    .cancel = ep_cancel,
    .kick = ep_kick,
    .poll = ep_poll,
    .deadline = ep_deadline,
    .finish = ep_finish,
    .untraced = true,
};
