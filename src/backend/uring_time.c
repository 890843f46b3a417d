/* uring_time.c — the io_uring backend's clock: one binary heap by deadline
 * holds timers, receivers' deadlines and writers' stall limits, and the
 * loop waits in io_uring_enter() until the earliest (no timeout request per
 * timer: a deadline re-armed on every request costs a heap update, not a
 * submission).
 */
#include "backend/uring.h"

#include <errno.h>
#include <stdlib.h>

static bool before(const pl__task *a, const pl__task *b)
{
    if (UR_DEADLINE(a) != UR_DEADLINE(b))
        return UR_DEADLINE(a) < UR_DEADLINE(b);
    return (int32_t)(UR_SEQ(a) - UR_SEQ(b)) < 0;
}

static void heap_set(ur *e, size_t i, pl__task *t)
{
    e->heap[i] = t;
    UR_HEAPIDX(t) = (uint32_t)i;
}

static void sift(ur *e, size_t i)
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

bool ur_timer_armed(const ur *e, const pl__task *t)
{
    size_t i = UR_HEAPIDX(t);
    return i < e->nheap && e->heap[i] == t;
}

void ur_timer_at(ur *e, pl__task *t, uint64_t at_ms)
{
    PL_ASSERT(!ur_timer_armed(e, t));
    if (e->nheap == e->capheap) {
        e->capheap = e->capheap ? e->capheap * 2 : 64;
        e->heap = realloc(e->heap, e->capheap * sizeof *e->heap);
        PL_ASSERT(e->heap != NULL);
    }
    UR_DEADLINE(t) = at_ms;
    UR_SEQ(t) = e->timer_seq++;
    heap_set(e, e->nheap++, t);
    sift(e, e->nheap - 1);
}

void ur_timer_add(ur *e, pl__task *t)
{
    UR_COUNT(t) = 0;
    ur_timer_at(e, t, (uint64_t)ur_now_ms() + t->cmd.after_ms);
}

void ur_timer_remove(ur *e, pl__task *t)
{
    if (!ur_timer_armed(e, t))
        return;
    size_t i = UR_HEAPIDX(t);
    pl__task *last = e->heap[--e->nheap];
    if (last != t) {
        heap_set(e, i, last);
        sift(e, i);
    }
    UR_HEAPIDX(t) = UINT32_MAX;
}

static void tick(ur *e, pl__task *t, uint64_t now)
{
    UR_COUNT(t)++;
    if (t->cmd.every_ms > 0) {
        uint64_t next = UR_DEADLINE(t) + t->cmd.every_ms;
        ur_timer_at(e, t, next <= now ? now + t->cmd.every_ms : next);
    }
    pl_answer a = { .kind = PL_ANS_TICK, .n = UR_COUNT(t) };
    ur_deliver(e, t, &a);
}

void ur_timers_fire(ur *e)
{
    uint64_t now = (uint64_t)ur_now_ms();
    for (int n = 0; n < 1024 && e->nheap > 0 && UR_DEADLINE(e->heap[0]) <= now; n++) {
        pl__task *t = e->heap[0];
        ur_timer_remove(e, t);
        switch (t->cmd.kind) {
        case PL_CMD_RECV: ur_recv_timeout(e, t); break;
        case PL_CMD_SEND:
        case PL_CMD_SENDFILE: ur_stall_fire(e, t); break;
        default: tick(e, t, now); break;
        }
        if (pl__exiting(e->rt))
            return;
    }
}

/* Milliseconds until the earliest deadline (or the end of an EMFILE pause
 * while a listener waits on it); -1: none. */
int ur_timer_timeout(ur *e)
{
    int64_t now = ur_now_ms(), until = -1;
    if (e->nheap > 0)
        until = (int64_t)UR_DEADLINE(e->heap[0]);
    if (e->lpaused > 0 && e->emfile_until_ms > 0 && (until < 0 || e->emfile_until_ms < until))
        until = e->emfile_until_ms;
    if (until < 0)
        return -1;
    return until <= now ? 0 : (int)(until - now > 60000 ? 60000 : until - now);
}
