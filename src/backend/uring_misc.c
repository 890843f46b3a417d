/* uring_misc.c — the io_uring backend's commands performed in the loop:
 * log, time, close and the file commands (through osfile.c, as the epoll
 * backend does: on cached files a plain call is cheaper than a request the
 * kernel would hand to a worker thread); and signals, one signalfd watched
 * by a multishot poll.
 */
#include "backend/osfile.h"
#include "backend/uring.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

static void perform_close(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_recv_close(e, fd);
    pl_answer a = { .kind = PL_ANS_DONE };
    if (close(fd) != 0 && errno != EINTR)
        a.err = -errno;
    ur_deliver(e, t, &a);
}

/* A new descriptor from OPEN: nothing of an old one with its number, and a
 * SEND to it is a write(). */
static void ur_fd_opened_file(ur *e, int fd)
{
    ur_recv_close(e, fd);
    ur_fd_get(e, fd)->notsock = true;
}

static void perform_read_file(ur *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_DATA, .data = e->rbuf };
    if (UR_COUNT(t) == 0) {
        int fd = pl__os_open_beneath(t->cmd.dir, t->cmd.text, 0);
        if (fd < 0) {
            a.err = fd;
            ur_deliver(e, t, &a);
            return;
        }
        UR_COUNT(t) = (uint64_t)fd + 1;
    }
    int fd = (int)UR_COUNT(t) - 1;
    ssize_t n = read(fd, e->rbuf, e->rbuf_len);
    if (n <= 0) {
        a.err = n < 0 ? -errno : 0;
        a.eof = 1;
        close(fd);
        UR_COUNT(t) = 0;
        ur_deliver(e, t, &a);
        return;
    }
    a.len = (size_t)n;
    ur_deliver(e, t, &a);
    if (t->state == PL__T_BACKEND)
        ur_imm_push(e, t);              /* next chunk at the next turn */
}

static void perform_file(ur *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    uint8_t *buf = pl__os_file_cmd(t, e->rbuf, e->rbuf_len, &a);
    if (t->cmd.kind == PL_CMD_OPEN && a.err == 0)
        ur_fd_opened_file(e, a.fd);
    ur_deliver(e, t, &a);
    free(buf);
}

void ur_perform(ur *e, pl__task *t)
{
    pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind) };
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        pl__os_log(t);
        ur_deliver(e, t, &a);
        return;
    case PL_CMD_TIME:
        pl__os_time(&a);
        ur_deliver(e, t, &a);
        return;
    case PL_CMD_LISTEN: ur_listen(e, t); return;
    case PL_CMD_CONNECT: ur_connect(e, t); return;
    case PL_CMD_SEND: ur_send_perform(e, t); return;
    case PL_CMD_SENDFILE: ur_sendfile(e, t); return;
    case PL_CMD_CLOSE: perform_close(e, t); return;
    case PL_CMD_READ_FILE: perform_read_file(e, t); return;
    case PL_CMD_RECV: ur_recv_flush(e, t); return;
    default: perform_file(e, t); return;
    }
}

/* ---- signals: one signalfd for every signal a task listens to ---------- */

static void arm_signals(ur *e)
{
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_poll_multishot(sqe, e->sigfd, POLLIN);
    ur_arm(e, &e->sigop, sqe);
}

void ur_signal_add(ur *e, pl__task *t)
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
        e->sigop = (ur_op){ .kind = UR_SIGNAL, .fd = e->sigfd };
        arm_signals(e);
    }
}

void ur_signal_remove(ur *e, pl__task *t)
{
    pl__task **p = &e->sigtasks[t->cmd.signo];
    while (*p && *p != t)
        p = &(*p)->bk_next;
    if (*p)
        *p = t->bk_next;
    t->bk_next = NULL;
}

static void deliver_signal(ur *e, int s)
{
    pl__task *ts[16];
    int n = 0;
    for (pl__task *t = e->sigtasks[s]; t && n < 16; t = t->bk_next)
        ts[n++] = t;
    for (int i = 0; i < n && !pl__exiting(e->rt); i++) {
        if (ts[i]->state != PL__T_BACKEND)
            continue;
        pl_answer a = { .kind = PL_ANS_SIGNAL, .signo = s };
        ur_deliver(e, ts[i], &a);
    }
}

/* The signalfd is readable (the poll keeps watching unless it ended). */
void ur_signal_cqe(ur *e, int res, unsigned flags)
{
    struct signalfd_siginfo si;
    while (res >= 0 && read(e->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int s = (int)si.ssi_signo;
        if (s <= 0 || s >= 65)
            continue;
        if (si.ssi_code != SI_TKILL)
            pl__workers_forward(s);     /* sent to the process: every worker hears it */
        deliver_signal(e, s);
    }
    if (!(flags & IORING_CQE_F_MORE) && !pl__exiting(e->rt))
        arm_signals(e);
}
