/* kvsim_sock.c — the machine's end of the simulated network.
 *
 * LISTEN binds at once and then hands out the clients waiting in the backlog,
 * one per event, while a descriptor slot is free (pl__may_accept). RECV hands
 * over what has arrived in chunks of random size while flow control allows
 * (pl__may_recv); a paused receiver waits for kick(). SEND goes out in one or
 * more partial writes, CLOSE lets the client read what was sent, then EOF.
 * When the machine's process ends, each of its connections is reset or
 * closed after the bytes already sent, as a kernel may do either.
 */
#include "kvsim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { KS_PORT = 8080 };

/* ---- the machine's end: LISTEN, RECV, SEND, CLOSE -------------------------------- */

void ks_net_submit(ks_world *w, ks_op *op)
{
    pl__task *t = op->t;
    if (t->cmd.kind == PL_CMD_LISTEN || t->cmd.kind == PL_CMD_CLOSE) {
        ks_sched(w, &op->ev, w->now + ks_below(w, 2));
        return;
    }
    ks_conn *c = ks_conn_of(w, t->cmd.fd);
    if (c == NULL) {
        op->err = -EBADF;
        ks_sched(w, &op->ev, w->now);
        return;
    }
    op->conn = c;
    if (t->cmd.kind == PL_CMD_RECV) {
        PL_ASSERT(c->reader == NULL);
        c->reader = op;
        ks_reader_wake(w, c);
        return;
    }
    PL_ASSERT(c->writer == NULL);       /* the core orders sends on a descriptor */
    c->writer = op;
    ks_sched(w, &op->ev, w->now + ks_below(w, 2));
}

static void listen_step(ks_world *w, ks_op *op)
{
    if (!op->bound) {
        op->bound = true;
        w->lis = op;
        w->lis_fd = ks_fd_alloc(w, &ks_lis_mark);
        pl_answer a = { .kind = PL_ANS_LISTENING, .fd = w->lis_fd, .port = KS_PORT };
        ks_deliver(w, op->t, &a);
        return;
    }
    ks_conn *c = w->bl_head;
    if (c == NULL)
        return;
    if (!pl__may_accept(w->rt)) {
        ks_pause(w, op);                /* kick() resumes it */
        return;
    }
    w->bl_head = c->bl_next;
    if (w->bl_head == NULL)
        w->bl_tail = NULL;
    c->bl_next = NULL;
    c->accepted = true;
    c->fd = ks_fd_alloc(w, c);
    pl__fd_opened(w->rt, c->fd);
    pl_answer a = { .kind = PL_ANS_CLIENT, .fd = c->fd, .port = (uint16_t)(30000 + c->id) };
    snprintf(a.peer, sizeof a.peer, "10.0.%u.%u", (c->id >> 8) & 255u, c->id & 255u);
    pl__task *t = op->t;
    ks_deliver(w, t, &a);
    if (t->bkp == op && w->bl_head != NULL)
        ks_sched_once(w, &op->ev, w->now + ks_below(w, 2));
}

static void recv_step(ks_world *w, ks_op *op)
{
    ks_conn *c = op->conn;
    ks_pipe *p = &c->up;
    pl_answer a = { .kind = PL_ANS_DATA };
    if (c->reset) {
        a.err = -ECONNRESET;
        ks_final(w, op, &a);
        return;
    }
    uint64_t arrived = ks_pipe_arrived(w, p);
    if (p->rd < arrived) {
        if (!pl__may_recv(w->rt, op->t->cmd.fd)) {
            ks_pause(w, op);
            return;
        }
        uint64_t n = ks_size(w, 64 * 1024);
        n = n < arrived - p->rd ? n : arrived - p->rd;
        a.data = p->buf + (p->rd - p->base);
        a.len = (size_t)n;
        p->rd += n;                     /* the buffer stays put until the next write */
        pl__task *t = op->t;
        ks_deliver(w, t, &a);
        if (t->bkp == op)
            ks_reader_wake(w, c);
        return;
    }
    if (ks_pipe_eof(w, p)) {
        ks_final(w, op, &a);            /* len 0: the client closed */
        return;
    }
    ks_reader_wake(w, c);
}

static void send_step(ks_world *w, ks_op *op)
{
    ks_conn *c = op->conn;
    pl__task *t = op->t;
    pl_answer a = { .kind = PL_ANS_SENT };
    if (c->reset || c->cl == NULL) {
        a.err = c->reset ? -ECONNRESET : -EPIPE;
        ks_final(w, op, &a);
        return;
    }
    uint64_t n = t->data_len - op->done;
    if (n > 0 && ks_below(w, 3) == 0)
        n = ks_size(w, n);              /* a partial write, as sockets do */
    ks_pipe_write(w, c, &c->down, t->data + op->done, (size_t)n);
    op->done += n;
    if (op->done < t->data_len) {
        ks_sched(w, &op->ev, w->now + ks_below(w, 3));
        return;
    }
    a.n = op->done;
    ks_final(w, op, &a);
}

static void backlog_reset(ks_world *w)
{
    while (w->bl_head != NULL) {
        ks_conn *c = w->bl_head;
        w->bl_head = c->bl_next;
        c->bl_next = NULL;
        c->srv_closed = true;
        ks_conn_reset(w, c);
    }
    w->bl_tail = NULL;
}

static void close_step(ks_world *w, ks_op *op)
{
    int fd = op->t->cmd.fd;
    pl_answer a = { .kind = PL_ANS_DONE };
    if (fd >= 0 && fd < w->nfds && w->fds[fd] == &ks_lis_mark) {
        w->fds[fd] = NULL;
        if (w->lis != NULL)
            w->lis->bound = false;
        w->lis = NULL;
        backlog_reset(w);
    } else if (ks_conn_of(w, fd) == NULL) {
        a.err = -EBADF;
    } else {
        ks_conn *c = w->fds[fd];
        PL_ASSERT(c->writer == NULL && c->reader == NULL);
        w->fds[fd] = NULL;
        c->fd = -1;
        c->srv_closed = true;
        ks_pipe_shut(w, c, &c->down);   /* the client reads what was sent, then EOF */
    }
    ks_final(w, op, &a);
}

void ks_net_step(ks_world *w, ks_op *op)
{
    switch (op->t->cmd.kind) {
    case PL_CMD_LISTEN: listen_step(w, op); return;
    case PL_CMD_RECV: recv_step(w, op); return;
    case PL_CMD_SEND: send_step(w, op); return;
    default: close_step(w, op); return;
    }
}

void ks_net_detach(ks_world *w, ks_op *op)
{
    if (op->conn != NULL) {
        if (op->conn->reader == op)
            op->conn->reader = NULL;
        if (op->conn->writer == op)
            op->conn->writer = NULL;
        op->conn = NULL;
    }
    if (op == w->lis) {                 /* the listener is cancelled: the port closes */
        w->lis = NULL;
        if (w->lis_fd >= 0 && w->lis_fd < w->nfds && w->fds[w->lis_fd] == &ks_lis_mark)
            w->fds[w->lis_fd] = NULL;
        backlog_reset(w);
    }
}

/* The machine's process ended: every descriptor it had is gone. */
void ks_net_died(ks_world *w)
{
    backlog_reset(w);
    w->lis = NULL;
    for (ks_conn *c = w->conns; c != NULL; c = c->next) {
        if (!c->accepted || c->srv_closed || c->reset)
            continue;
        c->srv_closed = true;
        c->fd = -1;
        if (ks_below(w, 2) == 0)
            ks_conn_reset(w, c);
        else
            ks_pipe_shut(w, c, &c->down);
    }
    memset(w->fds, 0, (size_t)w->nfds * sizeof *w->fds);
    w->npaused = 0;
}
