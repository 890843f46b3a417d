/* ostimer.h — the live backends' clock: one binary min-heap of tasks by
 * deadline, shared by epoll and io_uring. It holds timers, receivers'
 * deadlines and writers' stall limits, and the loop sleeps until its
 * earliest (no kernel timer per task: a deadline re-armed on every
 * keep-alive request costs a heap update, not a system call).
 *
 * A plain array, ordered by (deadline, sequence); the comparison is inline,
 * not a callback. The heap keeps its bookkeeping in the task's backend
 * scratch (see pl__task in runtime/internal.h), the same fields in every
 * live backend:
 *   bk[0]    PL__OS_DEADLINE  ms, monotonic (pl__os_now_ms)
 *   bk32[2]  PL__OS_HEAPIDX   the task's index in the heap (UINT32_MAX: out)
 *   bk32[3]  PL__OS_SEQ       orders equal deadlines (wraps: compared as a
 *                             difference, so only ties are affected)
 *   bk[2]    PL__OS_TICKS     a TIMER's ticks (pl__os_timer_tick)
 *            PL__OS_LATER     a RECV's postponed deadline (pl__os_deadline)
 * A backend uses bk[2] (or bkp, which shares it) of other kinds as it likes.
 *
 * The clock: the loop reads it into h->now once or twice a turn
 * (pl__os_clock), at its start and when the wait returns; the timers fire
 * by it, and receivers' deadlines count from it (pl__os_deadline): one set
 * late in a long turn comes due that much early. Reading the clock for every
 * request's deadline cost more than the heap; so do writers' stall limits,
 * armed for every send on io_uring. Timers and lingering closes read it
 * afresh.
 */
#ifndef PLUTO_BACKEND_OSTIMER_H
#define PLUTO_BACKEND_OSTIMER_H

#include "runtime/internal.h"

#define PL__OS_DEADLINE(t) ((t)->bk[0])
#define PL__OS_HEAPIDX(t) ((t)->bk32[2])
#define PL__OS_SEQ(t) ((t)->bk32[3])
#define PL__OS_TICKS(t) ((t)->bk[2])
#define PL__OS_LATER(t) ((t)->bk[2])

typedef struct pl__os_timers {
    pl__task **heap;
    size_t n, cap;
    uint32_t seq;                       /* the next task's PL__OS_SEQ */
    uint64_t now;                       /* ms, monotonic: the turn's clock */
} pl__os_timers;

/* The monotonic clock, in ms. */
int64_t pl__os_now_ms(void);

/* Reads the clock into h->now, and returns it. */
static inline uint64_t pl__os_clock(pl__os_timers *h)
{
    return h->now = (uint64_t)pl__os_now_ms();
}

static inline bool pl__os_timer_armed(const pl__os_timers *h, const pl__task *t)
{
    size_t i = PL__OS_HEAPIDX(t);
    return i < h->n && h->heap[i] == t;
}

/* Is a task due at now? (Inline: asked twice a turn, mostly no.) */
static inline bool pl__os_timer_due(const pl__os_timers *h, uint64_t now)
{
    return h->n > 0 && PL__OS_DEADLINE(h->heap[0]) <= now;
}

/* t (not armed) is due at at_ms. */
void pl__os_timer_at(pl__os_timers *h, pl__task *t, uint64_t at_ms);
/* t leaves the heap, if it is in it. */
void pl__os_timer_remove(pl__os_timers *h, pl__task *t);
/* A receiver's deadline: ms after h->now, or none (0). One later than the
 * deadline armed is only noted (PL__OS_LATER) and takes its place when that
 * comes due (pl__os_timer_pop): a keep-alive connection's deadline, pushed
 * back at every request, costs no heap update. */
void pl__os_deadline(pl__os_timers *h, pl__task *t, uint64_t ms);
/* A TIMER starts: no ticks yet, due cmd.after_ms from now (read afresh). */
void pl__os_timer_add(pl__os_timers *h, pl__task *t);
/* The earliest task due at now (taken out of the heap), or NULL; a
 * receiver whose deadline was postponed goes back in at the later one. */
pl__task *pl__os_timer_pop(pl__os_timers *h, uint64_t now);
/* A TIMER popped at now: one more tick, and, if it repeats, armed again
 * (a late loop skips the ticks it missed). Returns its ticks so far. */
uint64_t pl__os_timer_tick(pl__os_timers *h, pl__task *t, uint64_t now);
/* Ms until the earliest deadline or until also_ms (-1: none), at most a
 * minute; -1 when neither is set. */
int pl__os_timer_timeout(const pl__os_timers *h, int64_t now, int64_t also_ms);
void pl__os_timers_deinit(pl__os_timers *h);

#endif
