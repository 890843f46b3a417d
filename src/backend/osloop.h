/* osloop.h — what the two live backends' loops (epoll, io_uring) do the
 * same way: the immediate list of commands performed at the next poll, the
 * list of held-back descriptors, growing the per-descriptor table, and the
 * commands performed in the loop with plain calls (log, time, files), and
 * when a send holds its last bytes for what follows (MSG_MORE).
 * Their timers are in ostimer.h, their signals in ossig.h.
 */
#ifndef PLUTO_BACKEND_OSLOOP_H
#define PLUTO_BACKEND_OSLOOP_H

#include "runtime/internal.h"

#include <sys/socket.h>

/* Tasks through bk_next, each marked bk_listed while on it. */
typedef struct pl__os_list {
    pl__task *head, *tail;
} pl__os_list;

static inline void pl__os_list_push(pl__os_list *l, pl__task *t)
{
    PL_ASSERT(!t->bk_listed);
    t->bk_listed = true;
    t->bk_next = NULL;
    if (l->tail)
        l->tail->bk_next = t;
    else
        l->head = t;
    l->tail = t;
}

/* t leaves the list, if it is on it. */
void pl__os_list_remove(pl__os_list *l, pl__task *t);

/* A backend's perform: answers t now, or takes it on. */
typedef void pl__os_perform_fn(void *b, pl__task *t);

/* Perform what the list holds (what was submitted before this turn), then
 * what those answers started at once while the core has nothing of its own
 * to do (a response's file right after its head, without another wait for
 * the kernel in between); a few rounds only, so the kernel's events are
 * still read. Once the run is exiting, the rest stays listed (for
 * pl__os_list_finish). Inline, so perform is a direct call. */
static inline void pl__os_list_run(pl__os_list *l, pl_rt *rt, pl__os_perform_fn *perform,
                                   void *b)
{
    for (int round = 0; round < 5 && l->head != NULL && !pl__exiting(rt); round++) {
        if (round > 0 && !pl__core_idle(rt))
            break;
        pl__task *t = l->head;
        *l = (pl__os_list){ 0 };
        while (t != NULL && !pl__exiting(rt)) {
            pl__task *next = t->bk_next;
            t->bk_next = NULL;
            t->bk_listed = false;
            if (t->state == PL__T_BACKEND)
                perform(b, t);
            t = next;
        }
        for (pl__task *next; t != NULL; t = next) {   /* exiting: kept, in order */
            next = t->bk_next;
            t->bk_listed = false;
            pl__os_list_push(l, t);
        }
    }
}

/* The run ended: log lines already issued still go out, in order. */
void pl__os_list_finish(pl__os_list *l, pl__os_perform_fn *perform, void *b);

/* The answers of every request, a receive's bytes and a send's end, built
 * on structs that stay zero but for the fields set here: clearing the 320
 * bytes of a pl_answer for each was a twentieth of the loop's own work.
 * A delivery is over when pl__deliver returns (what the runtime keeps, it
 * copies), and nothing else writes these structs' other fields. */
typedef struct pl__os_answers { pl_answer data, sent; } pl__os_answers;

static inline pl_answer *pl__os_data(pl__os_answers *s, int err, const uint8_t *p, size_t len)
{
    pl_answer *a = &s->data;
    a->kind = PL_ANS_DATA, a->err = err, a->data = p, a->len = len;
    return a;
}

static inline pl_answer *pl__os_sent(pl__os_answers *s, int err, uint64_t n)
{
    pl_answer *a = &s->sent;
    a->kind = PL_ANS_SENT, a->err = err, a->n = n;
    return a;
}

/* MSG_MORE for a SEND whose descriptor has more queued right behind it, or
 * 0. A response head followed by its file: the kernel keeps the head to go
 * out with the file's first bytes (one segment, one wakeup of the reader);
 * the sendfile, which comes next, ends the hold. The last bytes before a
 * CLOSE are held the same way, and the close's FIN leaves with them: one
 * segment fewer for each closed connection, one acknowledgement fewer from
 * the client. */
static inline int pl__os_more_follows(const pl__task *t)
{
    const pl__task *next = pl__fdq_next(t);
    return next != NULL && ((next->cmd.kind == PL_CMD_SENDFILE && next->cmd.count > 0) ||
                            next->cmd.kind == PL_CMD_CLOSE)
         ? MSG_MORE : 0;
}

/* Descriptors held back (flow control, descriptor slots), in no order. */
typedef struct pl__os_fdset {
    int *fd;
    size_t n, cap;
} pl__os_fdset;

void pl__os_fdset_add(pl__os_fdset *s, int fd);
/* The fd at i leaves (the last takes its place). */
static inline void pl__os_fdset_drop(pl__os_fdset *s, size_t i)
{
    PL_ASSERT(i < s->n);
    s->fd[i] = s->fd[--s->n];
}

/* A per-descriptor table of elem-byte entries grown (doubling, zeroed) to
 * hold fd; returns the table, *n its new length. */
void *pl__os_table_fit(void *table, int *n, size_t elem, int fd);
/* The run's open descriptors below n are closed (at destroy). */
void pl__os_close_open(const pl_rt *rt, int n);

/* LOG, TIME, READ_FILE and the file commands (pl__os_file_cmd), answered
 * in a with plain calls. Returns a buffer to free once a is delivered, or
 * NULL. A READ_FILE answers a chunk at a time into rbuf: its file is opened
 * at the first and held in PL__OS_FILE(t) (descriptor + 1) until the end;
 * *again says more is to come (the task is performed again next turn). */
#define PL__OS_FILE(t) ((t)->bk[2])
uint8_t *pl__os_loop_cmd(pl__task *t, uint8_t *rbuf, size_t rbuf_len, pl_answer *a,
                         bool *again);

#endif
