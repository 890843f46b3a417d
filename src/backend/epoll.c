/* epoll.c — the default live backend: readiness, then non-blocking calls.
 *
 * Submitted commands go on an immediate list that the next poll performs
 * (a backend never answers from inside submit). Receivers and listeners stay
 * registered for EPOLLIN for as long as their task keeps listening; a writer
 * registers EPOLLOUT only after a write would block.
 */
#include "backend/epoll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

int64_t ep_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

ep_fd *ep_fd_get(ep *e, int fd)
{
    PL_ASSERT(fd >= 0);
    if (fd >= e->nfds) {
        int n = e->nfds ? e->nfds : 256;
        while (n <= fd)
            n *= 2;
        e->fds = pl__table_grow(e->fds, (size_t)e->nfds * sizeof *e->fds,
                                (size_t)n * sizeof *e->fds);
        e->nfds = n;
    }
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
    if (e->npaused == e->cappaused) {
        e->cappaused = e->cappaused ? e->cappaused * 2 : 64;
        e->paused = realloc(e->paused, e->cappaused * sizeof *e->paused);
        PL_ASSERT(e->paused != NULL);
    }
    e->paused[e->npaused++] = fd;
    ep_update(e, fd);
}

static void ep_kick(void *b)
{
    ep *e = b;
    for (size_t i = 0; i < e->npaused;) {
        int fd = e->paused[i];
        ep_fd *f = ep_fd_get(e, fd);
        bool ok = ep_listener(f) ? pl__may_accept(e->rt) && ep_now_ms() >= e->emfile_until_ms
                : ep_reader(f) ? pl__may_recv(e->rt, fd) : true;
        if (!ok) {
            i++;
            continue;
        }
        f->paused = false;
        e->paused[i] = e->paused[--e->npaused];
        ep_update(e, fd);
    }
}

void ep_imm_push(ep *e, pl__task *t)
{
    PL_ASSERT(!t->bk_listed);
    t->bk_listed = true;
    t->bk_next = NULL;
    if (e->imm_tail)
        e->imm_tail->bk_next = t;
    else
        e->imm_head = t;
    e->imm_tail = t;
}

void ep_imm_remove(ep *e, pl__task *t)
{
    pl__task *prev = NULL;
    for (pl__task *q = e->imm_head; q; prev = q, q = q->bk_next) {
        if (q != t)
            continue;
        if (prev)
            prev->bk_next = q->bk_next;
        else
            e->imm_head = q->bk_next;
        if (e->imm_tail == q)
            e->imm_tail = prev;
        break;
    }
    t->bk_listed = false;
    t->bk_next = NULL;
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
    e->sigfd = -1;
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    e->rbuf_len = EP_RBUF;
    e->rbuf = malloc(e->rbuf_len);
    if (e->epfd < 0 || e->rbuf == NULL) {
        fprintf(stderr, "pluto: epoll: %s\n", strerror(errno));
        free(e->rbuf);
        free(e);
        return NULL;
    }
    sigemptyset(&e->sigmask);
    signal(SIGPIPE, SIG_IGN);
    return e;
}

static void ep_destroy(void *b)
{
    ep *e = b;
    for (int fd = 0; fd < e->nfds; fd++)
        if (e->rt && pl__fdq_is_open(e->rt, fd))
            close(fd);
    if (e->sigfd >= 0)
        close(e->sigfd);
    close(e->epfd);
    pl__table_free(e->fds, (size_t)e->nfds * sizeof *e->fds);
    free(e->heap);
    free(e->paused);
    free(e->rbuf);
    free(e);
}

static void ep_submit(void *b, pl__task *t)
{
    ep *e = b;
    switch (t->cmd.kind) {
    case PL_CMD_TIMER:
        ep_timer_add(e, t);
        return;
    case PL_CMD_SIGNAL:
        ep_signal_add(e, t);
        return;
    default:
        ep_imm_push(e, t);
        return;
    }
}

static void ep_cancel(void *b, pl__task *t)
{
    ep *e = b;
    if (t->bk_listed)
        ep_imm_remove(e, t);
    int fd = t->cmd.fd;
    switch (t->cmd.kind) {
    case PL_CMD_TIMER:
        ep_timer_remove(e, t);
        break;
    case PL_CMD_SIGNAL:
        ep_signal_remove(e, t);
        break;
    case PL_CMD_RECV:
        ep_timer_remove(e, t);          /* its deadline, if any */
        if (fd >= 0 && fd < e->nfds && e->fds[fd].reader == t) {
            e->fds[fd].reader = NULL;
            ep_update(e, fd);
        }
        break;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE:
        ep_timer_remove(e, t);          /* its stall limit, if any */
        if (fd >= 0 && fd < e->nfds && e->fds[fd].writer == t) {
            e->fds[fd].writer = NULL;
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
    ep *e = b;
    ep_timer_remove(e, t);
    if (ms == 0)
        return;
    EP_DEADLINE(t) = (uint64_t)ep_now_ms() + ms;
    ep_timer_push(e, t);
}

/* Perform what was submitted before this turn. */
static void perform_listed(ep *e)
{
    pl__task *list = e->imm_head;
    e->imm_head = e->imm_tail = NULL;
    while (list != NULL) {
        pl__task *t = list;
        list = t->bk_next;
        t->bk_next = NULL;
        t->bk_listed = false;
        if (t->state == PL__T_BACKEND)
            ep_perform(e, t);
        if (pl__exiting(e->rt))
            break;
    }
}

static int ep_poll(void *b, bool block)
{
    ep *e = b;
    e->delivered = 0;
    perform_listed(e);
    /* What those answers started at once, while the core has nothing of its
     * own to do: a response's file right after its head, without another
     * epoll_wait in between. A few rounds only, so events are still read. */
    for (int round = 0; round < 4 && e->imm_head != NULL && pl__core_idle(e->rt) &&
                        !pl__exiting(e->rt); round++)
        perform_listed(e);
    ep_timers_fire(e);
    int timeout = 0;
    /* Answers delivered above may have given the core work of its own (or us
     * new commands); if not, wait: a SENT alone is no reason to poll twice. */
    if (block && e->imm_head == NULL && pl__core_idle(e->rt) && !pl__exiting(e->rt))
        timeout = ep_timer_timeout(e);
    if (timeout < 0 && e->nreg == 0 && e->npaused == 0)
        return -1;                      /* nothing could ever wake us */
    if (timeout != 0)
        fflush(stdout);                 /* lines logged above go out before we sleep */
    struct epoll_event evs[256];
    int n = epoll_wait(e->epfd, evs, 256, timeout);
    for (int i = 0; i < n && !pl__exiting(e->rt); i++) {
        int fd = evs[i].data.fd;
        uint32_t ev = evs[i].events;
        if (fd == e->sigfd) {
            ep_signals_read(e);
            continue;
        }
        ep_fd *f = &e->fds[fd];
        if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
            if (ep_listener(f))
                ep_accept(e, fd);
            else if (ep_reader(f))
                ep_recv(e, fd);
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
    if (e->npaused)
        ep_kick(e);
    ep_timers_fire(e);
    fflush(stdout);
    return e->delivered;
}

/* The run ended: log lines already issued still go out, in order. */
static void ep_finish(void *b, int code)
{
    ep *e = b;
    (void)code;
    for (pl__task *t = e->imm_head; t != NULL; t = t->bk_next)
        if (t->cmd.kind == PL_CMD_LOG && t->state == PL__T_BACKEND)
            ep_perform(e, t);
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
