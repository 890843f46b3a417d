/* ostimer.c — the live backends' timer heap (see ostimer.h). */
#include "backend/ostimer.h"

#include <stdlib.h>
#include <time.h>

int64_t pl__os_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline bool before(const pl__task *a, const pl__task *b)
{
    if (PL__OS_DEADLINE(a) != PL__OS_DEADLINE(b))
        return PL__OS_DEADLINE(a) < PL__OS_DEADLINE(b);
    return (int32_t)(PL__OS_SEQ(a) - PL__OS_SEQ(b)) < 0;
}

static inline void heap_set(pl__os_timers *h, size_t i, pl__task *t)
{
    h->heap[i] = t;
    PL__OS_HEAPIDX(t) = (uint32_t)i;
}

static void sift(pl__os_timers *h, size_t i)
{
    pl__task *t = h->heap[i];
    while (i > 0 && before(t, h->heap[(i - 1) / 2])) {
        heap_set(h, i, h->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        pl__task *best = t;
        if (l < h->n && before(h->heap[l], best))
            m = l, best = h->heap[l];
        if (l + 1 < h->n && before(h->heap[l + 1], best))
            m = l + 1, best = h->heap[l + 1];
        if (m == i)
            break;
        heap_set(h, i, best);
        i = m;
    }
    heap_set(h, i, t);
}

void pl__os_timer_at(pl__os_timers *h, pl__task *t, uint64_t at_ms)
{
    PL_ASSERT(!pl__os_timer_armed(h, t));
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->heap = realloc(h->heap, h->cap * sizeof *h->heap);
        PL_ASSERT(h->heap != NULL);
    }
    PL__OS_DEADLINE(t) = at_ms;
    PL__OS_SEQ(t) = h->seq++;
    heap_set(h, h->n++, t);
    sift(h, h->n - 1);
}

void pl__os_timer_remove(pl__os_timers *h, pl__task *t)
{
    if (!pl__os_timer_armed(h, t))
        return;
    size_t i = PL__OS_HEAPIDX(t);
    pl__task *last = h->heap[--h->n];
    if (last != t) {
        heap_set(h, i, last);
        sift(h, i);
    }
    PL__OS_HEAPIDX(t) = UINT32_MAX;
}

void pl__os_deadline(pl__os_timers *h, pl__task *t, uint64_t ms)
{
    PL_ASSERT(t->cmd.kind == PL_CMD_RECV);
    uint64_t at = h->now + ms;
    if (ms > 0 && pl__os_timer_armed(h, t) && at >= PL__OS_DEADLINE(t)) {
        PL__OS_LATER(t) = at;
        return;
    }
    pl__os_timer_remove(h, t);
    PL__OS_LATER(t) = 0;
    if (ms > 0)
        pl__os_timer_at(h, t, at);
}

void pl__os_timer_add(pl__os_timers *h, pl__task *t)
{
    PL__OS_TICKS(t) = 0;
    pl__os_timer_at(h, t, pl__os_clock(h) + t->cmd.after_ms);
}

pl__task *pl__os_timer_pop(pl__os_timers *h, uint64_t now)
{
    while (h->n > 0 && PL__OS_DEADLINE(h->heap[0]) <= now) {
        pl__task *t = h->heap[0];
        if (t->cmd.kind == PL_CMD_RECV && PL__OS_LATER(t) != 0) {
            PL__OS_DEADLINE(t) = PL__OS_LATER(t);   /* postponed: back in, later */
            PL__OS_SEQ(t) = h->seq++;
            PL__OS_LATER(t) = 0;
            sift(h, 0);
            continue;
        }
        pl__os_timer_remove(h, t);
        return t;
    }
    return NULL;
}

uint64_t pl__os_timer_tick(pl__os_timers *h, pl__task *t, uint64_t now)
{
    PL_ASSERT(t->cmd.kind == PL_CMD_TIMER);
    PL__OS_TICKS(t)++;
    if (t->cmd.every_ms > 0) {
        uint64_t next = PL__OS_DEADLINE(t) + t->cmd.every_ms;
        pl__os_timer_at(h, t, next <= now ? now + t->cmd.every_ms : next);
    }
    return PL__OS_TICKS(t);
}

int pl__os_timer_timeout(const pl__os_timers *h, int64_t now, int64_t also_ms)
{
    int64_t until = also_ms;
    if (h->n > 0 && (until < 0 || (int64_t)PL__OS_DEADLINE(h->heap[0]) < until))
        until = (int64_t)PL__OS_DEADLINE(h->heap[0]);
    if (until < 0)
        return -1;
    return until <= now ? 0 : (int)(until - now > 60000 ? 60000 : until - now);
}

void pl__os_timers_deinit(pl__os_timers *h)
{
    free(h->heap);
    *h = (pl__os_timers){ 0 };
}
