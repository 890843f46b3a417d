/* machine_snap.c — the core's whole state as bytes: what a snapshot holds.
 *
 * Taken between two loop turns (nothing dead, nothing being called), in a
 * canonical order, with ids instead of addresses, so that two runtimes in
 * the same state give the same bytes: the state hash that tests compare
 * (live against replay, snapshot + replay against replay from the start).
 *
 *   "PLSTATE1"  u64 next_task, call_seq, next_comp   u32 slots_used
 *   refs        u32 count, each u64 length + bytes
 *   comps       u32 count, preorder from the root, kids in list order:
 *               u64 id, born, parent id (0: root), the join's task id (0: none),
 *               u8 side, graceful, interrupted
 *   tasks       u32 count, by computation (above) then list order:
 *               u64 id, born, comp id; handler name (u32 length, ~0: none);
 *               u8 state, slot; u32 timeout_ms; u64 bk[0] (a READY error);
 *               the command (u32 fd, the shared int, len, flags; u8 kind;
 *               u64 offset/every_ms, count, after_ms); its payload (u8 has,
 *               u32 length + bytes); memory (u32 length + bytes); u64 deadline
 *               and owner ids; its join (u8 has; u8 kind, u64 side comp ids,
 *               u32 have, u32 answer kind, index, two results u32 length + bytes)
 *   queues      ready, waitfd, pending_in: u32 count + task ids
 *   fds         u32 count of descriptors with state, each u32 fd, u64 queued,
 *               u8 open, u64 reader id, u32 count + queued task ids,
 *               u32 length + unconsumed input
 *
 * The pieces of the backend live elsewhere: every task in state BACKEND is
 * re-issued when the machine goes live.
 */
#include "runtime/machine.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define STATE_MAGIC "PLSTATE1"

static uint64_t id_of(const pl__task *t) { return t ? t->id : 0; }

static void w_comp(pl__wbuf *w, const pl__comp *c)
{
    pl__w_u64(w, c->id);
    pl__w_u64(w, c->born);
    pl__w_u64(w, c->parent ? c->parent->id : 0);
    pl__w_u64(w, c->join ? id_of(c->join->then) : 0);
    pl__w_u8(w, (uint8_t)c->side);
    pl__w_u8(w, c->graceful);
    pl__w_u8(w, c->interrupted);
}

static uint32_t count_comps(const pl__comp *c)
{
    uint32_t n = 1;
    for (const pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        n += count_comps(k);
    return n;
}

static void w_comps(pl__wbuf *w, const pl__comp *c)
{
    w_comp(w, c);
    for (const pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        w_comps(w, k);
}

static uint32_t count_tasks(const pl__comp *c)
{
    uint32_t n = 0;
    for (const pl__task *t = c->tasks; t != NULL; t = t->comp_next)
        n++;
    for (const pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        n += count_tasks(k);
    return n;
}

static void w_result(pl__wbuf *w, const pl_result *r)
{
    uint32_t len = r->len <= PL_RESULT_MAX ? r->len : PL_RESULT_MAX;
    pl__w_u32(w, len);
    pl__w_bytes(w, r->data, len);
}

static void w_cmd(pl__wbuf *w, const pl__task *t)
{
    const pl__cmd *k = &t->cmd;
    uint32_t shared;
    memcpy(&shared, &k->dir, sizeof shared);   /* dir, signo, file_fd or port */
    pl__w_u32(w, (uint32_t)k->fd);
    pl__w_u32(w, shared);
    pl__w_u32(w, k->len);
    pl__w_u32(w, (uint32_t)(uint16_t)k->flags);
    pl__w_u8(w, k->kind);
    pl__w_u64(w, k->offset);                   /* or every_ms */
    pl__w_u64(w, k->count);
    pl__w_u64(w, k->after_ms);
    if (k->kind == PL_CMD_SEND) {
        pl__w_u8(w, 1);
        pl__w_u32(w, t->data_len);
        pl__w_bytes(w, t->data, t->data_len);
    } else if (t->str != NULL) {
        pl__w_u8(w, 1);
        pl__w_u32(w, k->len);
        pl__w_bytes(w, t->str, k->len);
    } else {
        pl__w_u8(w, 0);
    }
}

static void w_task(pl__wbuf *w, const pl__task *t)
{
    pl__w_u64(w, t->id);
    pl__w_u64(w, t->born);
    pl__w_u64(w, t->comp ? t->comp->id : 0);
    if (t->h == NULL) {
        pl__w_u32(w, UINT32_MAX);
    } else {
        size_t n = strlen(t->h->name);
        pl__w_u32(w, (uint32_t)n);
        pl__w_bytes(w, t->h->name, n);
    }
    pl__w_u8(w, t->state);
    pl__w_u8(w, t->slot);
    pl__w_u32(w, t->timeout_ms);
    pl__w_u64(w, t->state == PL__T_READY && t->join == NULL ? t->bk[0] : 0);
    w_cmd(w, t);
    pl__w_u32(w, t->mem_len);
    pl__w_bytes(w, t->mem, t->mem_len);
    pl__w_u64(w, id_of(t->deadline));
    pl__w_u64(w, id_of(t->owner));
    const pl__join *j = t->join;
    pl__w_u8(w, j != NULL);
    if (j == NULL)
        return;
    pl__w_u8(w, (uint8_t)j->kind);
    pl__w_u64(w, j->side[0] ? j->side[0]->id : 0);
    pl__w_u64(w, j->side[1] ? j->side[1]->id : 0);
    pl__w_u32(w, j->have);
    pl__w_u32(w, (uint32_t)j->ans.kind);
    pl__w_u32(w, (uint32_t)j->ans.index);
    w_result(w, &j->ans.res[0]);
    w_result(w, &j->ans.res[1]);
}

static void w_tasks(pl__wbuf *w, const pl__comp *c)
{
    for (const pl__task *t = c->tasks; t != NULL; t = t->comp_next)
        w_task(w, t);
    for (const pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        w_tasks(w, k);
}

static void w_fifo(pl__wbuf *w, const pl__fifo *f)
{
    uint32_t n = 0;
    for (const pl__task *t = f->head; t != NULL; t = t->q_next)
        n++;
    pl__w_u32(w, n);
    for (const pl__task *t = f->head; t != NULL; t = t->q_next)
        pl__w_u64(w, t->id);
}

static bool fd_used(const pl__fdq *q)
{
    return q->open || q->queued || q->in_len || q->reader || q->q.head;
}

void pl__state_save(const pl_rt *rt, pl__wbuf *w)
{
    PL_ASSERT(rt->dead == NULL);
    pl__w_bytes(w, STATE_MAGIC, 8);
    pl__w_u64(w, rt->next_task);
    pl__w_u64(w, rt->call_seq);
    pl__w_u64(w, rt->next_comp);
    pl__w_u32(w, rt->slots_used);
    pl__w_u32(w, rt->nrefs);
    for (uint32_t i = 0; i < rt->nrefs; i++) {
        pl__w_u64(w, rt->refs[i].len);
        pl__w_bytes(w, rt->refs[i].p, rt->refs[i].len);
    }
    pl__w_u32(w, count_comps(rt->root));
    w_comps(w, rt->root);
    pl__w_u32(w, count_tasks(rt->root));
    w_tasks(w, rt->root);
    w_fifo(w, &rt->ready);
    w_fifo(w, &rt->waitfd);
    w_fifo(w, &rt->pending_in);
    uint32_t n = 0;
    for (int fd = 0; fd < rt->nfds; fd++)
        n += fd_used(&rt->fds[fd]);
    pl__w_u32(w, n);
    for (int fd = 0; fd < rt->nfds; fd++) {
        const pl__fdq *q = &rt->fds[fd];
        if (!fd_used(q))
            continue;
        pl__w_u32(w, (uint32_t)fd);
        pl__w_u64(w, q->queued);
        pl__w_u8(w, q->open);
        pl__w_u64(w, id_of(q->reader));
        w_fifo(w, &q->q);
        pl__w_u32(w, q->in_len);
        pl__w_bytes(w, q->in, q->in_len);
    }
}

uint64_t pl__state_hash(const pl_rt *rt)
{
    pl__wbuf w = { 0 };
    pl__state_save(rt, &w);
    uint64_t h = XXH3_64bits(w.p, w.len);
    free(w.p);
    return h;
}
