/* uring_send.c — writing for the io_uring backend: SEND and SENDFILE.
 *
 * The core hands a descriptor's sends over one at a time, in order, so a
 * send needs no link to the previous one. A SEND to a socket is an
 * IORING_OP_SEND of the task's bytes, resubmitted from where a short write
 * stopped until every byte is out. A SEND to something else (an append-only
 * log file, a pipe) is a plain write(), since the kernel refuses socket sends
 * there; the descriptor is remembered as such after the first refusal. A
 * response head with its file queued behind it is a plain send() with
 * MSG_MORE, and the file follows in the same loop turn, as on epoll: one
 * segment, no round trip through the ring in between. So is a send with a
 * CLOSE behind it: the FIN goes out with its last bytes.
 *
 * SENDFILE calls sendfile() from the loop, and waits for the socket with a
 * one-shot POLLOUT request when it is full. Measured against two linked
 * IORING_OP_SPLICE per chunk through a pipe (io_uring runs splices on its
 * worker threads): 10 MiB files went out as fast for about 20% less CPU
 * per request; 64 KiB files at the same CPU per request, though splice
 * moved more bytes per second there. Splice also needs a pipe, two
 * descriptors outside the runtime's budget, per transfer.
 *
 * A writer with a stall limit (cmd.after_ms) is in the timer heap from when
 * it starts (or, written from the loop, first finds the socket full), pushed
 * back whenever a write makes progress: a slow reader is never cut, one that
 * stopped reading is, with -ETIMEDOUT, and its socket is shut down so the
 * stream cannot go on half-written.
 */
#include "backend/uring.h"

#include <errno.h>
#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

static uint64_t total_of(const pl__task *t)
{
    return t->cmd.kind == PL_CMD_SEND ? t->data_len : t->cmd.count;
}

static void stall_arm(ur *e, pl__task *t, bool progressed)
{
    if (t->cmd.after_ms == 0 || (pl__os_timer_armed(&e->timers, t) && !progressed))
        return;
    pl__os_timer_remove(&e->timers, t);
    pl__os_timer_at(&e->timers, t, e->timers.now + t->cmd.after_ms);   /* the turn's clock */
}

/* The writer is done (err, or every byte out): it gets its answer. */
static void finish(ur *e, pl__task *t, ur_op *op, int err)
{
    pl__os_timer_remove(&e->timers, t);
    uint64_t n = op->done;
    UR_PTR(t) = NULL;
    ur_op_free(e, op);
    ur_deliver(e, t, pl__os_sent(&e->ans, err, n));
}

static void send_arm(ur *e, ur_op *op)
{
    pl__task *t = op->t;
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_send(sqe, op->fd, t->data + op->done, t->data_len - op->done,
                       MSG_NOSIGNAL | pl__os_more_follows(t));
    ur_arm(e, op, sqe);
}

/* Sends are prepared in the next poll, when what follows them on their
 * descriptor is known (the core queues a head's file after the head). */
void ur_send_submit(ur *e, pl__task *t)
{
    UR_PTR(t) = ur_op_new(e, t, UR_SEND, t->cmd.fd);
    pl__os_list_push(&e->imm, t);
}

void ur_send_perform(ur *e, pl__task *t)
{
    ur_op *op = UR_PTR(t);
    if (ur_fd_get(e, t->cmd.fd)->notsock || pl__os_more_follows(t)) {
        op->kind = UR_POLLOUT;          /* written from the loop, as its file will be */
        ur_sendfile(e, t);
        return;
    }
    send_arm(e, op);
    stall_arm(e, t, true);
}

/* Write what is left with plain calls until done or the descriptor is full;
 * then wait for it with a POLLOUT request. */
void ur_sendfile(ur *e, pl__task *t)
{
    ur_op *op = UR_PTR(t);
    if (op == NULL) {
        op = ur_op_new(e, t, UR_POLLOUT, t->cmd.fd);
        UR_PTR(t) = op;
    }
    uint64_t total = total_of(t), before = op->done;
    int fd = t->cmd.fd, err = 0;
    while (op->done < total) {
        ssize_t n;
        if (t->cmd.kind == PL_CMD_SEND && ur_fd_get(e, fd)->notsock) {
            n = write(fd, t->data + op->done, total - op->done);
        } else if (t->cmd.kind == PL_CMD_SEND) {
            n = send(fd, t->data + op->done, total - op->done,
                     MSG_NOSIGNAL | pl__os_more_follows(t));
            if (n < 0 && errno == ENOTSOCK) {
                ur_fd_get(e, fd)->notsock = true;
                continue;
            }
        } else {
            off_t off = (off_t)(t->cmd.offset + op->done);
            n = sendfile(fd, t->cmd.file_fd, &off, total - op->done);
            if (n == 0)
                n = -1, errno = EPIPE;  /* the file shrank under us */
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            stall_arm(e, t, op->done > before);
            struct io_uring_sqe *sqe = ur_sqe(e);
            io_uring_prep_poll_add(sqe, fd, POLLOUT);
            ur_arm(e, op, sqe);
            return;
        }
        if (n < 0) {
            err = -errno;
            break;
        }
        op->done += (uint64_t)n;
    }
    finish(e, t, op, err);
}

void ur_send_cqe(ur *e, ur_op *op, int res)
{
    pl__task *t = op->t;
    if (t == NULL) {                    /* cancelled */
        ur_op_free(e, op);
        return;
    }
    if (res == -ENOTSOCK && op->done == 0) {
        ur_fd_get(e, op->fd)->notsock = true;
        op->kind = UR_POLLOUT;
        ur_sendfile(e, t);
        return;
    }
    if (res > 0) {
        op->done += (uint64_t)res;
        if (op->done < t->data_len) {
            stall_arm(e, t, true);
            send_arm(e, op);            /* a short write: the rest, in order */
            return;
        }
    }
    finish(e, t, op, res < 0 ? res : op->done < t->data_len ? -EPIPE : 0);
}

void ur_pollout_cqe(ur *e, ur_op *op, int res)
{
    pl__task *t = op->t;
    if (t == NULL) {
        ur_op_free(e, op);
        return;
    }
    if (res < 0)
        finish(e, t, op, res);
    else
        ur_sendfile(e, t);
}

/* The stall limit passed: no byte could be written for cmd.after_ms. */
void ur_stall_fire(ur *e, pl__task *t)
{
    ur_op *op = UR_PTR(t);
    PL_ASSERT(op != NULL);
    pl__os_list_remove(&e->imm, t);
    shutdown(t->cmd.fd, SHUT_RDWR);
    ur_cancel_sync(e, op);
    if (op->armed) {                    /* its last completion frees it */
        UR_PTR(t) = NULL;
        op->t = NULL;
        pl_answer a = { .kind = PL_ANS_SENT, .err = -ETIMEDOUT, .n = op->done };
        ur_deliver(e, t, &a);
        return;
    }
    finish(e, t, op, -ETIMEDOUT);
}
