/* epoll_misc.c — the epoll backend's other commands: log, time, files,
 * timers (a binary heap by deadline, which also holds receivers' deadlines
 * and stalled writers' limits) and signals (one signalfd).
 */
#include "backend/epoll.h"
#include "backend/osfile.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void perform_close(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ep_fd *f = ep_fd_get(e, fd);
    if (f->registered)
        e->nreg--;                    /* close() below removes it from the epoll set */
    *f = (ep_fd){ 0 };
    pl_answer a = { .kind = PL_ANS_DONE };
    if (close(fd) != 0 && errno != EINTR)
        a.err = -errno;
    ep_deliver(e, t, &a);
}

static void perform_read_file(ep *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_DATA, .data = e->rbuf };
    if (EP_DONE(t) == 0) {
        int fd = pl__os_open_beneath(t->cmd.dir, t->cmd.text, 0);
        if (fd < 0) {
            a.err = fd;
            ep_deliver(e, t, &a);
            return;
        }
        EP_DONE(t) = (uint64_t)fd + 1;
    }
    int fd = (int)EP_DONE(t) - 1;
    ssize_t n = read(fd, e->rbuf, e->rbuf_len);
    if (n <= 0) {
        a.err = n < 0 ? -errno : 0;
        a.eof = 1;
        close(fd);
        EP_DONE(t) = 0;
        ep_deliver(e, t, &a);
        return;
    }
    a.len = (size_t)n;
    ep_deliver(e, t, &a);
    if (t->state == PL__T_BACKEND)
        ep_imm_push(e, t);              /* next chunk at the next turn */
}

static void perform_file(ep *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    uint8_t *buf = pl__os_file_cmd(t, e->rbuf, e->rbuf_len, &a);
    ep_deliver(e, t, &a);
    free(buf);
}

void ep_perform(ep *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        pl__os_log(t);
        ep_deliver(e, t, &a);
        return;
    case PL_CMD_TIME:
        pl__os_time(&a);
        ep_deliver(e, t, &a);
        return;
    case PL_CMD_LISTEN: ep_listen(e, t); return;
    case PL_CMD_CONNECT: ep_connect(e, t); return;
    case PL_CMD_SEND:
    case PL_CMD_SENDFILE: ep_write(e, t); return;
    case PL_CMD_CLOSE: perform_close(e, t); return;
    case PL_CMD_READ_FILE: perform_read_file(e, t); return;
    case PL_CMD_RECV: {
        ep_fd *f = ep_fd_get(e, t->cmd.fd);
        f->reader = t;
        f->paused = false;
        ep_update(e, t->cmd.fd);
        if (!e->fds[t->cmd.fd].registered) {
            e->fds[t->cmd.fd].reader = NULL;
            a.err = -EBADF;
            ep_deliver(e, t, &a);
        }
        return;
    }
    default:
        perform_file(e, t);
        return;
    }
}

/* ---- timers: a min-heap on (deadline, sequence) ------------------------ */

static bool before(const pl__task *a, const pl__task *b)
{
    return EP_DEADLINE(a) != EP_DEADLINE(b) ? EP_DEADLINE(a) < EP_DEADLINE(b)
                                            : EP_SEQ(a) < EP_SEQ(b);
}

static void heap_set(ep *e, size_t i, pl__task *t)
{
    e->heap[i] = t;
    EP_HEAPIDX(t) = i;
}

static void sift(ep *e, size_t i)
{
    pl__task *t = e->heap[i];
    while (i > 0 && before(t, e->heap[(i - 1) / 2])) {
        heap_set(e, i, e->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        pl__task *best = t;
        if (l < e->nheap && before(e->heap[l], best))
            m = l, best = e->heap[l];
        if (l + 1 < e->nheap && before(e->heap[l + 1], best))
            m = l + 1, best = e->heap[l + 1];
        if (m == i)
            break;
        heap_set(e, i, best);
        i = m;
    }
    heap_set(e, i, t);
}

void ep_timer_push(ep *e, pl__task *t);

static void heap_push(ep *e, pl__task *t)
{
    if (e->nheap == e->capheap) {
        e->capheap = e->capheap ? e->capheap * 2 : 64;
        e->heap = realloc(e->heap, e->capheap * sizeof *e->heap);
        PL_ASSERT(e->heap != NULL);
    }
    EP_SEQ(t) = e->timer_seq++;
    heap_set(e, e->nheap++, t);
    sift(e, e->nheap - 1);
}

void ep_timer_add(ep *e, pl__task *t)
{
    EP_DEADLINE(t) = (uint64_t)ep_now_ms() + t->cmd.after_ms;
    heap_push(e, t);
}

void ep_timer_push(ep *e, pl__task *t) { heap_push(e, t); }

void ep_timer_remove(ep *e, pl__task *t)
{
    size_t i = EP_HEAPIDX(t);
    if (i >= e->nheap || e->heap[i] != t)
        return;
    pl__task *last = e->heap[--e->nheap];
    if (last != t) {
        heap_set(e, i, last);
        sift(e, i);
    }
}

static bool in_heap(const ep *e, const pl__task *t)
{
    size_t i = EP_HEAPIDX(t);
    return i < e->nheap && e->heap[i] == t;
}

/* A SEND or SENDFILE that would block: its stall limit (cmd.after_ms) runs
 * from the last write that made progress, so a slow reader is never cut, one
 * that stopped reading is. */
void ep_stall_arm(ep *e, pl__task *t, bool progressed)
{
    if (t->cmd.after_ms == 0 || (in_heap(e, t) && !progressed))
        return;
    ep_timer_remove(e, t);
    EP_DEADLINE(t) = (uint64_t)ep_now_ms() + t->cmd.after_ms;
    heap_push(e, t);
}

/* The limit passed: the stream cannot go on half-written, so the socket is
 * shut down (later sends fail, the receiver sees the end) and the writer
 * gets -ETIMEDOUT. */
static void stall_fire(ep *e, pl__task *t)
{
    int fd = t->cmd.fd;
    if (fd >= 0 && fd < e->nfds && e->fds[fd].writer == t) {
        e->fds[fd].writer = NULL;
        ep_update(e, fd);
    }
    shutdown(fd, SHUT_RDWR);
    pl_answer a = { .kind = PL_ANS_SENT, .err = -ETIMEDOUT, .n = EP_DONE(t) };
    ep_deliver(e, t, &a);
}

void ep_timers_fire(ep *e)
{
    uint64_t now = (uint64_t)ep_now_ms();
    for (int n = 0; n < 1024 && e->nheap > 0 && EP_DEADLINE(e->heap[0]) <= now; n++) {
        pl__task *t = e->heap[0];
        ep_timer_remove(e, t);
        if (t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE) {
            stall_fire(e, t);
            continue;
        }
        if (t->cmd.kind == PL_CMD_RECV) {         /* a receiver's deadline passed */
            int fd = t->cmd.fd;
            if (fd >= 0 && fd < e->nfds && e->fds[fd].reader == t) {
                e->fds[fd].reader = NULL;
                ep_update(e, fd);
            }
            pl_answer a = { .kind = PL_ANS_DATA, .err = -ETIMEDOUT, .data = e->rbuf };
            ep_deliver(e, t, &a);
            continue;
        }
        EP_DONE(t)++;
        if (t->cmd.every_ms > 0) {
            EP_DEADLINE(t) += t->cmd.every_ms;
            if (EP_DEADLINE(t) <= now)
                EP_DEADLINE(t) = now + t->cmd.every_ms;
            heap_push(e, t);
        }
        pl_answer a = { .kind = PL_ANS_TICK, .n = EP_DONE(t) };
        ep_deliver(e, t, &a);
        if (pl__exiting(e->rt))
            return;
    }
}

int ep_timer_timeout(ep *e)
{
    int64_t now = ep_now_ms(), until = -1;
    if (e->nheap > 0)
        until = (int64_t)EP_DEADLINE(e->heap[0]);
    if (e->npaused > 0 && e->emfile_until_ms > now && (until < 0 || e->emfile_until_ms < until))
        until = e->emfile_until_ms;
    if (until < 0)
        return -1;
    return until <= now ? 0 : (int)(until - now > 60000 ? 60000 : until - now);
}

/* ---- signals: one signalfd for every signal a task listens to ---------- */

void ep_signal_add(ep *e, pl__task *t)
{
    int s = t->cmd.signo;
    PL_ASSERT(s > 0 && s < 65);
    t->bk_next = e->sigtasks[s];
    e->sigtasks[s] = t;
    sigaddset(&e->sigmask, s);
    pthread_sigmask(SIG_BLOCK, &e->sigmask, NULL);
    bool fresh = e->sigfd < 0;
    e->sigfd = signalfd(e->sigfd, &e->sigmask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fresh && e->sigfd >= 0) {
        struct epoll_event ev = { .events = EPOLLIN, .data.fd = e->sigfd };
        epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->sigfd, &ev);
        e->nreg++;
    }
}

void ep_signal_remove(ep *e, pl__task *t)
{
    pl__task **p = &e->sigtasks[t->cmd.signo];
    while (*p && *p != t)
        p = &(*p)->bk_next;
    if (*p)
        *p = t->bk_next;
    t->bk_next = NULL;
}

void ep_signals_read(ep *e)
{
    struct signalfd_siginfo si;
    while (read(e->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int s = (int)si.ssi_signo;
        if (s <= 0 || s >= 65)
            continue;
        if (si.ssi_code != SI_TKILL)
            pl__workers_forward(s);     /* sent to the process: every worker hears it */
        pl__task *ts[16];
        int n = 0;
        for (pl__task *t = e->sigtasks[s]; t && n < 16; t = t->bk_next)
            ts[n++] = t;
        for (int i = 0; i < n && !pl__exiting(e->rt); i++) {
            if (ts[i]->state != PL__T_BACKEND)
                continue;
            pl_answer a = { .kind = PL_ANS_SIGNAL, .signo = s };
            ep_deliver(e, ts[i], &a);
        }
    }
}
