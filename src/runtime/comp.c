/* comp.c — computations: Bind, Join and First, and what ending one means.
 *
 * A computation is a tree node holding its tasks and the computations it
 * started. It ends when one of its tasks calls pl_ret(): every task still in
 * it is cancelled (its handler is never called again), so are the
 * computations it started, and its result goes to the join that waits for
 * it. A First also cancels the losing side the moment the winner returns —
 * or, when that side is graceful, interrupts it: its streams get a last
 * answer with -ECANCELED and its one-shot commands finish, so a server can
 * stop listening and still write the responses it has begun.
 */
#include "runtime/rt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

pl__comp *pl__comp_new(pl_rt *rt, pl__comp *parent, pl__join *j, int side)
{
    pl__comp *c = calloc(1, sizeof *c);
    PL_ASSERT(c != NULL);
    c->id = rt->next_comp++;
    c->born = rt->call_seq;
    c->parent = parent;
    c->join = j;
    c->side = side;
    if (parent != NULL) {
        c->kid_next = parent->kids;
        if (parent->kids)
            parent->kids->kid_prev = c;
        parent->kids = c;
    }
    return c;
}

void pl__comp_link(pl__comp *c, pl__task *t)
{
    t->comp = c;
    t->comp_prev = NULL;
    t->comp_next = c->tasks;
    if (c->tasks)
        c->tasks->comp_prev = t;
    c->tasks = t;
}

void pl__comp_unlink(pl__task *t)
{
    pl__comp *c = t->comp;
    if (c == NULL)
        return;
    if (t->comp_prev)
        t->comp_prev->comp_next = t->comp_next;
    else
        c->tasks = t->comp_next;
    if (t->comp_next)
        t->comp_next->comp_prev = t->comp_prev;
    t->comp = NULL;
    t->comp_prev = t->comp_next = NULL;
}

static void kid_unlink(pl__comp *c)
{
    if (c->parent == NULL)
        return;
    if (c->kid_prev)
        c->kid_prev->kid_next = c->kid_next;
    else
        c->parent->kids = c->kid_next;
    if (c->kid_next)
        c->kid_next->kid_prev = c->kid_prev;
    c->parent = NULL;
    c->kid_prev = c->kid_next = NULL;
}

static void kid_link(pl__comp *parent, pl__comp *c)
{
    c->parent = parent;
    c->kid_prev = NULL;
    c->kid_next = parent->kids;
    if (parent->kids)
        parent->kids->kid_prev = c;
    parent->kids = c;
}

void pl__comp_cancel(pl_rt *rt, pl__comp *c)
{
    while (c->kids != NULL)
        pl__comp_cancel(rt, c->kids);
    while (c->tasks != NULL)
        pl__task_finish(rt, c->tasks);   /* unlinks it */
    if (c->join != NULL && c->join->side[c->side] == c)
        c->join->side[c->side] = NULL;
    kid_unlink(c);
    free(c);
}

/* Move what the returning call created into the computation that receives
 * the result, so that a reply sent together with pl_ret() still goes out. */
static void adopt_fresh(pl_rt *rt, pl__comp *from, pl__comp *to)
{
    for (pl__task *t = from->tasks, *next; t != NULL; t = next) {
        next = t->comp_next;
        if (t->born == rt->call_seq) {
            pl__comp_unlink(t);
            pl__comp_link(to, t);
        }
    }
    for (pl__comp *k = from->kids, *next; k != NULL; k = next) {
        next = k->kid_next;
        if (k->born == rt->call_seq) {
            kid_unlink(k);
            kid_link(to, k);
        }
    }
}

/* Tell every stream of c, and of the computations it started, that c lost:
 * a last answer with -ECANCELED each, oldest task first. One-shot commands
 * are left to finish; streams started later are refused (dispatch.c). */
static void interrupt(pl_rt *rt, pl__comp *c)
{
    c->interrupted = true;
    pl__task *t = c->tasks;
    while (t != NULL && t->comp_next != NULL)
        t = t->comp_next;
    for (; t != NULL; t = t->comp_prev) {
        if (!pl__cmd_is_stream(&t->cmd))
            continue;
        pl__task_detach(rt, t);           /* the backend lets go of it */
        pl__ready_error(rt, t, -ECANCELED);
    }
    for (pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        interrupt(rt, k);
}

static void join_deliver(pl_rt *rt, pl__join *j, int side, const pl_result *res)
{
    j->have |= 1u << side;
    if (j->kind == PL__J_FIRST) {
        if (j->have != (1u << side))
            return;                       /* the other side won already */
        j->ans.kind = PL_ANS_FIRST;
        j->ans.index = side;
        j->ans.res[0] = *res;
        pl__comp *loser = j->side[1 - side];
        bool graceful = loser != NULL && loser->graceful;
        if (loser != NULL && !graceful)
            pl__comp_cancel(rt, loser);
        PL_ASSERT(j->then != NULL && j->then->state == PL__T_PARKED);
        pl__ready_push(rt, j->then);      /* before a graceful loser's notices */
        if (graceful) {
            j->side[1 - side] = NULL;     /* it answers to nobody now: the join */
            loser->join = NULL;           /* goes with the continuation */
            interrupt(rt, loser);
        }
        return;
    }
    j->ans.kind = j->kind == PL__J_BIND ? PL_ANS_RESULT : PL_ANS_JOIN;
    j->ans.res[side] = *res;
    unsigned all = j->kind == PL__J_BIND ? 1u : 3u;
    if (j->have != all)
        return;
    PL_ASSERT(j->then != NULL && j->then->state == PL__T_PARKED);
    pl__ready_push(rt, j->then);
}

void pl__comp_return(pl_ctx *cx)
{
    pl_rt *rt = cx->rt;
    pl__comp *c = cx->comp;
    PL_ASSERT(c != NULL);
    if (c->join == NULL)
        return;                           /* the root, or an interrupted loser: nobody waits */
    pl__join *j = c->join;
    int side = c->side;
    adopt_fresh(rt, c, j->then->comp);
    pl__comp_cancel(rt, c);               /* includes the returning task */
    join_deliver(rt, j, side, &cx->ret);
}
