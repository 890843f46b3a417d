/* sim_sock.c — the program's end of a simulated connection.
 *
 * RECV hands over what has arrived in chunks of random size, one chunk per
 * event, and only while the core allows it (pl__may_recv): a paused reader
 * waits on the paused list until kick(). SEND writes in one or more partial
 * writes, each at most the room left in the peer's window, and answers once
 * every byte is in the pipe. CLOSE shuts the program's direction after what
 * was written, so the peer reads everything and then EOF.
 */
#include "backend/sim.h"

#include <errno.h>

/* Something arrived for end `side` (bytes, EOF) or the connection broke. */
void sim_end_notify(sim_world *w, sim_conn *c, int side)
{
    sim_end *e = &c->end[side];
    if (e->cl != NULL) {
        sim_client_readable(w, e->cl);
        return;
    }
    if (e->hc != NULL) {
        sim_http_readable(w, e->hc);
        return;
    }
    sim_op *r = e->reader;
    if (r == NULL)
        return;
    if (c->reset)
        sim_unpause(w, r);              /* an error is delivered whatever the queue */
    if (!r->paused)
        sim_sched_once(w, &r->ev, w->now + sim_below(w, 2));
}

/* End `side` may write again: its peer read, closed, or the connection broke. */
void sim_end_wake(sim_world *w, sim_conn *c, int side)
{
    sim_end *e = &c->end[side];
    if (e->cl != NULL) {
        sim_client_writable(w, e->cl);
        return;
    }
    if (e->hc != NULL) {
        sim_http_writable(w, e->hc);
        return;
    }
    sim_op *wr = e->writer;
    if (wr != NULL && (wr->blocked || c->reset)) {
        wr->blocked = false;
        sim_sched_once(w, &wr->ev, w->now);
    }
}

/* The connection behind op's descriptor, or op->err set. */
static sim_end *attach(sim_world *w, sim_op *op, int fd)
{
    sim_fd *f = sim_fd_at(w, fd);
    if (f == NULL) {
        op->err = -EBADF;
        return NULL;
    }
    if (f->kind != SIM_FD_CONN) {
        op->err = -ENOTSOCK;
        return NULL;
    }
    op->conn = f->conn;
    op->side = f->side;
    return &f->conn->end[f->side];
}

void sim_sock_reader(sim_world *w, sim_op *op)
{
    sim_end *e = attach(w, op, op->t->cmd.fd);
    if (e != NULL) {
        PL_ASSERT(e->reader == NULL);
        e->reader = op;
    }
    sim_sched(w, &op->ev, w->now);
}

void sim_sock_writer(sim_world *w, sim_op *op)
{
    const pl__cmd *c = &op->t->cmd;
    if (c->kind == PL_CMD_SENDFILE) {
        sim_fd *f = sim_fd_at(w, c->file_fd);
        if (f == NULL || f->kind != SIM_FD_FILE)
            op->err = f == NULL ? -EBADF : -EINVAL;
        else
            op->node = f->node;
    }
    sim_end *e = op->err ? NULL : attach(w, op, c->fd);
    if (e != NULL) {
        PL_ASSERT(e->writer == NULL);
        e->writer = op;
    }
    sim_sched(w, &op->ev, w->now + sim_below(w, 2));
}

void sim_recv_step(sim_world *w, sim_op *op)
{
    sim_conn *c = op->conn;
    sim_pipe *p = &c->to[op->side];
    pl_answer a = { .kind = PL_ANS_DATA };
    if (c->reset) {
        a.err = -ECONNRESET;
        sim_final(w, op, &a);
        return;
    }
    if (p->rd < p->arrived) {
        if (!pl__may_recv(w->rt, op->t->cmd.fd)) {
            w->st.pauses++;
            c->paused = true;
            sim_pause(w, op);
            return;
        }
        uint64_t n = sim_size(w, SIM_CHUNK);
        if (n > p->arrived - p->rd)
            n = p->arrived - p->rd;
        a.data = p->buf + (p->rd - p->base);
        a.len = (size_t)n;
        sim_pipe_consume(w, p, n);      /* the buffer stays put until the next write */
        pl__task *t = op->t;
        sim_deliver(w, t, &a);
        if (t->bkp == op && (p->rd < p->arrived || p->eof))
            sim_sched_once(w, &op->ev, w->now + sim_below(w, 2));
        return;
    }
    if (p->eof)
        sim_final(w, op, &a);           /* len 0: the peer closed */
}

/* Bytes [off, off + n) of what op sends, in w->scratch for SENDFILE. */
static const uint8_t *send_bytes(sim_world *w, sim_op *op, uint64_t off, size_t n)
{
    pl__task *t = op->t;
    if (t->cmd.kind == PL_CMD_SEND)
        return t->data + off;
    sim_file_content(w, op->node, t->cmd.offset + off, w->scratch, n);
    return w->scratch;
}

/* How many bytes the next write may take; 0 when op must wait or fail. */
static uint64_t send_room(sim_world *w, sim_op *op, uint64_t total, int *err)
{
    sim_conn *c = op->conn;
    if (c->reset) {
        *err = -ECONNRESET;
        return 0;
    }
    if (c->end[1 - op->side].closed) {
        *err = -EPIPE;
        return 0;
    }
    uint64_t n = total - op->done;
    if (op->t->cmd.kind == PL_CMD_SENDFILE) {
        uint64_t size = w->nodes[op->node].size, at = op->t->cmd.offset + op->done;
        uint64_t left = at < size ? size - at : 0;
        if (left == 0)
            *err = -EPIPE;              /* the file is shorter than asked */
        n = n < left ? n : left;
    }
    uint64_t room = sim_pipe_room(&c->to[1 - op->side]);
    n = n < room ? n : room;
    return n < SIM_CHUNK ? n : SIM_CHUNK;
}

void sim_send_step(sim_world *w, sim_op *op)
{
    pl__task *t = op->t;
    uint64_t total = t->cmd.kind == PL_CMD_SEND ? t->data_len : t->cmd.count;
    pl_answer a = { .kind = PL_ANS_SENT };
    if (op->done < total) {
        uint64_t n = send_room(w, op, total, &a.err);
        if (n == 0 && a.err == 0) {
            op->blocked = true;         /* the peer's window is full */
            return;
        }
        if (n > 0) {
            if (sim_below(w, 3) == 0)
                n = sim_size(w, n);     /* a partial write, as sockets do */
            if (n < total - op->done)
                w->st.shorts++;
            sim_pipe_write(w, &op->conn->to[1 - op->side], send_bytes(w, op, op->done, n), n);
            op->done += n;
            if (op->done < total) {
                sim_sched(w, &op->ev, w->now + sim_below(w, 2));
                return;
            }
        }
    }
    a.n = op->done;
    sim_final(w, op, &a);
}

void sim_close_step(sim_world *w, sim_op *op)
{
    int fd = op->t->cmd.fd;
    sim_fd *f = sim_fd_at(w, fd);
    pl_answer a = { .kind = PL_ANS_DONE };
    if (f == NULL) {
        a.err = -EBADF;
    } else if (f->kind == SIM_FD_LISTEN) {
        sim_lis_shut(w, f->lis);        /* frees the descriptor */
    } else {
        if (f->kind == SIM_FD_CONN) {
            sim_conn *c = f->conn;
            sim_end *e = &c->end[f->side];
            PL_ASSERT(e->writer == NULL);       /* the core orders sends and close */
            if (e->reader != NULL) {            /* a RECV issued after the CLOSE */
                e->reader->err = -EBADF;
                sim_unpause(w, e->reader);
                sim_sched(w, &e->reader->ev, w->now);
            }
            e->fd = -1;
            e->closed = true;
            sim_pipe_shut(w, &c->to[1 - f->side]);
            sim_end_wake(w, c, 1 - f->side);    /* its writes now fail */
            sim_conn_closed(c);
        }
        sim_fd_free(w, fd);
    }
    sim_final(w, op, &a);
}
