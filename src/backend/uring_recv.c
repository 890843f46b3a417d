/* uring_recv.c — receiving: one multishot receive per descriptor, into
 * buffers the kernel picks from the provided buffer ring.
 *
 * The receive belongs to the descriptor, not to the RECV task: a protocol
 * often ends one receiver and starts another on the same socket, and bytes
 * the kernel already took must reach the next one, in order. So when a task
 * is cancelled, or times out, the receive stays armed; whatever it brings
 * with no receiver to take it is kept (the stash) and the receive is then
 * cancelled, so the stash stays small and the peer is pushed back by TCP.
 * The next receiver gets the stash first, from the next poll.
 *
 * Flow control: after each delivery, if the core says the descriptor may not
 * receive (too many bytes wait to be written to it), the receive is
 * cancelled and the descriptor paused; kick() re-arms it. Bytes already in
 * flight are still delivered. Left alone, a multishot receive takes from a
 * busy socket as many buffers as the ring has before the loop sees any (200
 * clients pushing without reading: 144 MB of RSS where epoll holds 59 MB).
 * Where the kernel takes a byte cap (sqe->optlen; recent kernels, probed at
 * setup), a receive ends after UR_RECV_CAP bytes and is re-armed only if
 * flow control allows, so at most that much passes the mark; elsewhere the
 * ring bounds it.
 *
 * The receive is no ur_op: the descriptor's ur_fd says it is armed, and its
 * user_data is the descriptor's number and gen. Closing a descriptor bumps
 * gen, so what a receive cancelled at the close still brings is told from
 * the next descriptor's with that number, and dropped. (gen has 16 bits: the
 * cancel ends the old receive in the next loop turn, long before the number
 * could be reused 65,536 times.)
 */
#include "backend/uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Ask the kernel to end the descriptor's receive; its last completion
 * still comes. */
static void recv_cancel(ur *e, int fd, ur_fd *f)
{
    if (!f->armed || f->cancelling)
        return;
    f->cancelling = true;
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_cancel64(sqe, UR_RECV_UD(fd, f->gen), 0);
    io_uring_sqe_set_data64(sqe, 0);
}

static void pause_fd(ur *e, int fd, ur_fd *f)
{
    if (f->paused)
        return;
    f->paused = true;
    pl__os_fdset_add(&e->paused, fd);
    recv_cancel(e, fd, f);
}

static void unpause(ur *e, int fd, ur_fd *f)
{
    if (!f->paused)
        return;
    f->paused = false;
    for (size_t i = 0; i < e->paused.n; i++) {
        if (e->paused.fd[i] == fd) {
            pl__os_fdset_drop(&e->paused, i);
            return;
        }
    }
}

/* Arm the descriptor's receive if a receiver waits and nothing holds it back. */
static void arm(ur *e, int fd, ur_fd *f)
{
    if (f->reader == NULL || f->armed || f->ended || f->paused || f->reader->bk_listed)
        return;
    if (!pl__may_recv(e->rt, fd)) {
        pause_fd(e, fd, f);
        return;
    }
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    if (e->recv_cap)
        sqe->file_index = UR_RECV_CAP;  /* newer kernels: optlen, bytes until it ends */
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = UR_BGID;
    io_uring_sqe_set_data64(sqe, UR_RECV_UD(fd, f->gen));
    f->armed = true;
    f->cancelling = false;
    e->inflight++;
}

/* ---- receivers ----------------------------------------------------------- */

void ur_recv_submit(ur *e, pl__task *t)
{
    ur_fd *f = ur_fd_get(e, t->cmd.fd);
    PL_ASSERT(f->reader == NULL);
    f->reader = t;
    if (f->paused && pl__may_recv(e->rt, t->cmd.fd))
        unpause(e, t->cmd.fd, f);       /* the queue drained while nobody received */
    if (f->stash != 0 || f->ended)
        pl__os_list_push(&e->imm, t);   /* what came before it: at the next poll */
    else
        arm(e, t->cmd.fd, f);
}

/* The task gets nothing more; the receive stays armed for the next one. */
void ur_recv_cancel(ur *e, pl__task *t)
{
    pl__os_timer_remove(&e->timers, t);
    int fd = t->cmd.fd;
    if (fd >= 0 && fd < e->nfds && e->fds[fd].reader == t)
        e->fds[fd].reader = NULL;
}

/* A final answer: the backend lets go of the receiver before delivering. */
static void deliver_end(ur *e, ur_fd *f)
{
    pl__task *t = f->reader;
    f->reader = NULL;
    pl__os_timer_remove(&e->timers, t);
    pl_answer a = { .kind = PL_ANS_DATA, .err = -(int)f->end_errno, .data = e->rbuf, .len = 0 };
    ur_deliver(e, t, &a);
}

static void deliver_data(ur *e, int fd, ur_fd *f, const uint8_t *data, size_t len)
{
    ur_deliver(e, f->reader, pl__os_data(&e->ans, 0, data, len));
    f = ur_fd_get(e, fd);
    if (f->reader != NULL && !pl__may_recv(e->rt, fd))
        pause_fd(e, fd, f);
}

/* A receiver that came after bytes or the end: give them, then arm. */
void ur_recv_flush(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_fd *f = ur_fd_get(e, fd);
    if (f->reader != t)
        return;
    if (f->stash != 0) {
        size_t n;
        uint8_t *s = ur_stash_take(e, f, &n);   /* first: the next receiver must not see it */
        deliver_data(e, fd, f, s, n);
        free(s);
        f = ur_fd_get(e, fd);
    }
    if (f->reader == t && f->ended)
        deliver_end(e, f);
    else if (f->reader == t)
        arm(e, fd, f);
}

static void on_data(ur *e, int fd, ur_fd *f, const uint8_t *data, size_t len)
{
    if (f->reader != NULL && f->stash == 0 && !f->reader->bk_listed) {
        deliver_data(e, fd, f, data, len);
        return;
    }
    ur_stash_add(e, f, data, len);      /* behind older bytes, or nobody to take it */
    if (f->reader == NULL)
        recv_cancel(e, fd, f);
}

static void on_end(ur *e, ur_fd *f, int err)
{
    f->ended = true;
    f->end_errno = (uint8_t)(-err > 0 && -err < 256 ? -err : err == 0 ? 0 : EIO);
    if (f->reader != NULL && f->stash == 0 && !f->reader->bk_listed)
        deliver_end(e, f);
}

/* A completion of the receive UR_RECV_UD(fd, gen). One of a receive that an
 * older descriptor with this number had (gen differs) only gives its buffer
 * back. */
void ur_recv_cqe(ur *e, uint64_t ud, int res, unsigned flags)
{
    bool last = !(flags & IORING_CQE_F_MORE);
    const uint8_t *buf = NULL;
    unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
    if (flags & IORING_CQE_F_BUFFER)
        buf = e->bufs + (size_t)bid * UR_BUFSZ;
    int fd = (int)(ud >> 32);
    ur_fd *f = fd < e->nfds ? &e->fds[fd] : NULL;
    bool mine = f != NULL && f->armed && f->gen == (uint16_t)(ud >> 1);
    if (mine) {
        if (last)
            f->armed = f->cancelling = false;
        if (res > 0 && buf != NULL)
            on_data(e, fd, f, buf, (size_t)res);
        else if (res == 0 || (res < 0 && res != -ENOBUFS && res != -ECANCELED))
            on_end(e, f, res);          /* ENOBUFS: the ring ran dry; re-armed below */
    }
    if (flags & IORING_CQE_F_BUFFER)
        ur_buf_recycle(e, bid);
    if (res == -ENOBUFS)
        ur_buf_dry(e);
    if (last && mine)
        arm(e, fd, ur_fd_get(e, fd));
}

/* The receiver's deadline passed: it ends with -ETIMEDOUT. */
void ur_recv_timeout(ur *e, pl__task *t)
{
    int fd = t->cmd.fd;
    ur_fd *f = ur_fd_get(e, fd);
    if (f->reader == t)
        f->reader = NULL;
    pl__os_list_remove(&e->imm, t);
    pl_answer a = { .kind = PL_ANS_DATA, .err = -ETIMEDOUT, .data = e->rbuf };
    ur_deliver(e, t, &a);
}

/* After a kick: descriptors that may receive again are re-armed. */
void ur_recv_resume(ur *e)
{
    for (size_t i = 0; i < e->paused.n;) {
        int fd = e->paused.fd[i];
        ur_fd *f = ur_fd_get(e, fd);
        if (f->reader != NULL && !pl__may_recv(e->rt, fd)) {
            i++;
            continue;
        }
        f->paused = false;
        pl__os_fdset_drop(&e->paused, i);
        arm(e, fd, f);
    }
}

/* fd is being closed (or was just opened: nothing of an old descriptor with
 * its number may remain): what its receive still brings belongs to nobody,
 * and the receive must end for the socket to be released. */
void ur_recv_close(ur *e, int fd)
{
    ur_fd *f = ur_fd_get(e, fd);
    recv_cancel(e, fd, f);
    unpause(e, fd, f);
    if (f->stash != 0) {
        size_t n;
        free(ur_stash_take(e, f, &n));
    }
    uint16_t gen = (uint16_t)(f->gen + 1);
    *f = (ur_fd){ .gen = gen };
}
