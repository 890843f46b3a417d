/* uring_ops.c — the io_uring backend's bookkeeping: ops (one per request in
 * the kernel, pooled, freed only at their last completion), submission
 * entries, cancelling, the descriptor table and its stashes.
 */
#include "backend/uring.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

ur_fd *ur_fd_get(ur *e, int fd)
{
    PL_ASSERT(fd >= 0);
    if (fd >= e->nfds)
        e->fds = pl__os_table_fit(e->fds, &e->nfds, sizeof *e->fds, fd);
    return &e->fds[fd];
}

/* A submission queue entry. A full queue goes to the kernel first: batching
 * never loses a request. */
struct io_uring_sqe *ur_sqe(ur *e)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
    if (sqe == NULL) {
        io_uring_submit(&e->ring);
        sqe = io_uring_get_sqe(&e->ring);
    }
    PL_ASSERT(sqe != NULL);
    return sqe;
}

/* sqe, prepared, now performs op: its completions come back to op. */
void ur_arm(ur *e, ur_op *op, struct io_uring_sqe *sqe)
{
    PL_ASSERT(!op->armed);
    io_uring_sqe_set_data(sqe, op);
    op->armed = true;
    op->cancelling = false;
    e->inflight++;
}

ur_op *ur_op_new(ur *e, pl__task *t, ur_kind kind, int fd)
{
    if (e->free_ops == NULL) {
        ur_op *c = calloc(UR_OPS_CHUNK, sizeof *c);
        void **cs = realloc(e->chunks, (e->nchunks + 1) * sizeof *cs);
        PL_ASSERT(c != NULL && cs != NULL);
        e->chunks = cs;
        e->chunks[e->nchunks++] = c;
        for (int i = UR_OPS_CHUNK - 1; i >= 0; i--) {
            c[i].next = e->free_ops;
            e->free_ops = &c[i];
        }
    }
    ur_op *op = e->free_ops;
    e->free_ops = op->next;
    *op = (ur_op){ .t = t, .kind = (uint8_t)kind, .fd = fd };
    return op;
}

void ur_op_free(ur *e, ur_op *op)
{
    PL_ASSERT(!op->armed);
    free(op->addr);
    op->addr = NULL;
    op->t = NULL;
    op->next = e->free_ops;
    e->free_ops = op;
}

/* Ask the kernel to end op; its last completion still comes (and frees it). */
void ur_cancel_async(ur *e, ur_op *op)
{
    if (!op->armed || op->cancelling)
        return;
    op->cancelling = true;
    struct io_uring_sqe *sqe = ur_sqe(e);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)op, 0);
    io_uring_sqe_set_data64(sqe, 0);
}

/* End op now: when this returns the kernel no longer touches what op points
 * to (a cancelled send's bytes are freed with its task this turn). Its last
 * completion may still be in the completion queue; it is dropped there. */
void ur_cancel_sync(ur *e, ur_op *op)
{
    if (!op->armed)
        return;
    if (io_uring_sq_ready(&e->ring) > 0)
        io_uring_submit(&e->ring);      /* an op still in the queue: let it start */
    struct io_uring_sync_cancel_reg reg = {
        .addr = (uint64_t)(uintptr_t)op, .fd = -1, .timeout = { .tv_sec = -1, .tv_nsec = -1 },
    };
    int err = io_uring_register_sync_cancel(&e->ring, &reg);
    PL_ASSERT(err == 0 || err == -ENOENT || err == -EALREADY);
    op->cancelling = true;
}

void ur_deliver(ur *e, pl__task *t, pl_answer *a)
{
    e->delivered++;
    pl__deliver(e->rt, t, a);
}

/* ---- stashes: a side table, since few descriptors ever have one -------- */

static ur_stash *stash_of(ur *e, const ur_fd *f)
{
    return f->stash != 0 ? &e->stashes[f->stash - 1] : NULL;
}

static ur_stash *stash_new(ur *e, ur_fd *f)
{
    uint32_t i;
    if (e->stash_free != 0) {
        i = e->stash_free - 1;
        e->stash_free = e->stashes[i].len;
    } else {
        if (e->nstashes == e->capstashes) {
            e->capstashes = e->capstashes ? e->capstashes * 2 : 16;
            e->stashes = realloc(e->stashes, e->capstashes * sizeof *e->stashes);
            PL_ASSERT(e->stashes != NULL);
        }
        i = e->nstashes++;
    }
    e->stashes[i] = (ur_stash){ 0 };
    f->stash = i + 1;
    return &e->stashes[i];
}

/* The stash's bytes leave with the caller (to free); its slot is free again. */
uint8_t *ur_stash_take(ur *e, ur_fd *f, size_t *len)
{
    ur_stash *s = stash_of(e, f);
    uint8_t *buf = s->buf;
    *len = s->len;
    *s = (ur_stash){ .len = e->stash_free };
    e->stash_free = f->stash;
    f->stash = 0;
    return buf;
}

void ur_stash_add(ur *e, ur_fd *f, const uint8_t *data, size_t len)
{
    ur_stash *s = f->stash != 0 ? stash_of(e, f) : stash_new(e, f);
    if (s->len + len > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + len)
            cap *= 2;
        s->buf = realloc(s->buf, cap);
        PL_ASSERT(s->buf != NULL);
        s->cap = (uint32_t)cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += (uint32_t)len;
}
