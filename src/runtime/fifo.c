/* fifo.c — the one queue shape the core uses: tasks linked through q_next.
 *
 * A task is on at most one core queue at a time (ready, waiting for a
 * descriptor slot, a descriptor's sends, a handler call's new tasks), so a
 * single link serves them all.
 */
#include "runtime/internal.h"

void pl__fifo_push(pl__fifo *f, pl__task *t)
{
    t->q_next = NULL;
    if (f->tail)
        f->tail->q_next = t;
    else
        f->head = t;
    f->tail = t;
}

pl__task *pl__fifo_pop(pl__fifo *f)
{
    pl__task *t = f->head;
    if (t == NULL)
        return NULL;
    f->head = t->q_next;
    if (f->head == NULL)
        f->tail = NULL;
    t->q_next = NULL;
    return t;
}

bool pl__fifo_remove(pl__fifo *f, pl__task *t)
{
    pl__task *prev = NULL;
    for (pl__task *q = f->head; q != NULL; prev = q, q = q->q_next) {
        if (q != t)
            continue;
        if (prev)
            prev->q_next = q->q_next;
        else
            f->head = q->q_next;
        if (f->tail == q)
            f->tail = prev;
        t->q_next = NULL;
        return true;
    }
    return false;
}
