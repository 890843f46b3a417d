/* uring_net.c — listeners and connections for the io_uring backend.
 *
 * A listener has one multishot accept. The descriptor budget is exact: a
 * client is handed out only when pl__may_accept() says a slot is free. The
 * accept is cancelled (paused) as soon as no slot is; clients the kernel
 * accepted meanwhile wait in the listener's queue and are handed out, in
 * order, as slots free up. Those hold descriptors the budget does not count,
 * and a multishot accept takes as many as are waiting in the backlog, so
 * near the limit (UR_ONE_BY_ONE slots left) it accepts one at a time: what
 * the kernel holds beyond the budget stays one client, and a file opened by
 * a connection does not meet EMFILE. EMFILE pauses accepting for 100 ms
 * instead of spinning. Accepted sockets inherit TCP_NODELAY and TCP_NOTSENT_LOWAT from
 * the listener (pl__os_listen).
 */
#include "backend/osfile.h"
#include "backend/uring.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { UR_ONE_BY_ONE = 64 };

static void arm_accept(ur *e, ur_lst *l)
{
    if (l->t == NULL || l->op != NULL || l->paused)
        return;
    ur_op *op = ur_op_new(e, l->t, UR_ACCEPT, l->fd);
    struct io_uring_sqe *sqe = ur_sqe(e);
    if (pl__accept_room(e->rt) > UR_ONE_BY_ONE)
        io_uring_prep_multishot_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    else
        io_uring_prep_accept(sqe, l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    ur_arm(e, op, sqe);
    l->op = op;
}

static void pause_listener(ur *e, ur_lst *l)
{
    if (!l->paused) {
        l->paused = true;
        e->lpaused++;
    }
    if (l->op != NULL)
        ur_cancel_async(e, l->op);
}

void ur_listen(ur *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_LISTENING };
    int fd = pl__os_listen(t->cmd.host, t->cmd.port, t->cmd.flags, &a.port);
    if (fd < 0) {
        a.err = fd;
        ur_deliver(e, t, &a);
        return;
    }
    ur_lst *l = calloc(1, sizeof *l);
    PL_ASSERT(l != NULL);
    l->t = t;
    l->fd = fd;
    l->next = e->listeners;
    e->listeners = l;
    UR_PTR(t) = l;
    a.fd = fd;
    ur_deliver(e, t, &a);
    if (l->t != NULL && !pl__may_accept(e->rt))
        pause_listener(e, l);
    arm_accept(e, l);
}

/* Hand one accepted client to the listener's task. */
static void client(ur *e, ur_lst *l, int c)
{
    pl__fd_opened(e->rt, c);
    ur_recv_close(e, c);                /* a new descriptor: nothing of an old one */
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    pl_answer a = { .kind = PL_ANS_CLIENT, .fd = c };
    if (getpeername(c, (struct sockaddr *)&ss, &len) == 0)
        pl__os_addr_text(&ss, a.peer, sizeof a.peer, &a.port);
    ur_deliver(e, l->t, &a);
}

static void pend_push(ur_lst *l, int c)
{
    if (l->npend == l->cappend) {
        l->cappend = l->cappend ? l->cappend * 2 : 16;
        l->pend = realloc(l->pend, l->cappend * sizeof *l->pend);
        PL_ASSERT(l->pend != NULL);
    }
    l->pend[l->npend++] = c;
}

/* Clients waiting for a slot go out in order while slots are free. */
static void pend_drain(ur *e, ur_lst *l)
{
    while (l->npend > 0 && l->t != NULL && pl__may_accept(e->rt) && !pl__exiting(e->rt)) {
        int c = l->pend[0];             /* taken first: the handler may cancel l */
        l->npend--;
        memmove(l->pend, l->pend + 1, l->npend * sizeof *l->pend);
        client(e, l, c);
    }
}

void ur_accept_cqe(ur *e, ur_op *op, int res, unsigned flags)
{
    bool last = !(flags & IORING_CQE_F_MORE);
    if (op->t == NULL) {                /* the listener was cancelled */
        if (res >= 0)
            close(res);
        if (last)
            ur_op_free(e, op);
        return;
    }
    ur_lst *l = UR_PTR(op->t);
    if (last)
        l->op = NULL;
    if (res >= 0) {
        pend_push(l, res);
        pend_drain(e, l);
    } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
        e->emfile_until_ms = pl__os_now_ms() + 100;
        pause_listener(e, l);
    }
    if (last)
        ur_op_free(e, op);
    if (l->t != NULL && (l->npend > 0 || !pl__may_accept(e->rt)))
        pause_listener(e, l);
    else if (!last && l->op != NULL && pl__accept_room(e->rt) <= UR_ONE_BY_ONE)
        ur_cancel_async(e, l->op);      /* near the limit: re-armed one by one */
    arm_accept(e, l);
}

/* Cancelled listeners are freed here, at the end of a poll, where no
 * caller still holds one. */
void ur_listen_sweep(ur *e)
{
    for (ur_lst **p = &e->listeners; *p != NULL;) {
        ur_lst *l = *p;
        if (l->t != NULL) {
            p = &l->next;
            continue;
        }
        *p = l->next;
        free(l);
    }
}

/* Closed now: the port is free again when this returns (sync cancel). */
void ur_listen_cancel(ur *e, pl__task *t)
{
    ur_lst *l = UR_PTR(t);
    if (l == NULL)
        return;
    UR_PTR(t) = NULL;
    l->t = NULL;
    if (l->op != NULL) {
        l->op->t = NULL;
        ur_cancel_sync(e, l->op);
        l->op = NULL;                   /* the op frees itself at its last completion */
    }
    if (l->paused)
        e->lpaused--;
    l->paused = false;
    for (uint32_t i = 0; i < l->npend; i++)
        close(l->pend[i]);
    free(l->pend);
    l->pend = NULL;
    l->npend = l->cappend = 0;
    close(l->fd);
}

/* After a kick or an EMFILE pause: hand out waiting clients, re-arm. */
void ur_listen_resume(ur *e)
{
    int64_t now = pl__os_now_ms();
    bool emfile = now < e->emfile_until_ms;
    if (!emfile)
        e->emfile_until_ms = 0;
    for (ur_lst *l = e->listeners; l != NULL && !pl__exiting(e->rt); l = l->next) {
        if (!l->paused || l->t == NULL)
            continue;
        pend_drain(e, l);
        if (l->t == NULL || l->npend > 0 || emfile || !pl__may_accept(e->rt))
            continue;
        l->paused = false;
        e->lpaused--;
        arm_accept(e, l);
    }
}

/* ---- connect ------------------------------------------------------------ */

void ur_connect(ur *e, pl__task *t)
{
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = -1 };
    struct sockaddr_storage *ss = malloc(sizeof *ss);
    socklen_t len = 0;
    PL_ASSERT(ss != NULL);
    a.err = pl__os_sockaddr(t->cmd.host, t->cmd.port, ss, &len);
    int fd = a.err ? -1 : socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (a.err == 0 && fd < 0)
        a.err = -errno;
    if (a.err != 0) {
        free(ss);
        ur_deliver(e, t, &a);
        return;
    }
    ur_op *op = ur_op_new(e, t, UR_CONNECT, fd);
    op->addr = ss;
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_connect(sqe, fd, (struct sockaddr *)ss, len);
    ur_arm(e, op, sqe);
    UR_PTR(t) = op;
}

void ur_connect_cqe(ur *e, ur_op *op, int res)
{
    pl__task *t = op->t;
    int fd = op->fd;
    ur_op_free(e, op);
    if (t == NULL) {                    /* cancelled: the socket was closed then */
        PL_ASSERT(fd < 0);
        return;
    }
    UR_PTR(t) = NULL;
    pl_answer a = { .kind = PL_ANS_CONNECTED, .fd = fd, .err = res < 0 ? res : 0 };
    if (res < 0) {
        close(fd);
        a.fd = -1;
    } else {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ur_recv_close(e, fd);           /* a new descriptor: nothing of an old one */
    }
    ur_deliver(e, t, &a);
}

/* SEND, SENDFILE or CONNECT cancelled: synchronously, since the kernel may
 * be reading the task's bytes (freed with it this turn) or connecting a
 * socket that is closed now. */
void ur_write_cancel(ur *e, pl__task *t)
{
    pl__os_timer_remove(&e->timers, t);     /* a stall limit */
    ur_op *op = UR_PTR(t);
    if (op == NULL)
        return;
    UR_PTR(t) = NULL;
    op->t = NULL;
    if (!op->armed) {
        ur_op_free(e, op);
        return;
    }
    ur_cancel_sync(e, op);
    if (op->kind == UR_CONNECT) {
        close(op->fd);
        op->fd = -1;
    }
}
