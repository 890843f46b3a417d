/* machine_snap_load.c — rebuild the core's state from a snapshot's bytes
 * (the layout is in machine_snap.c).
 *
 * Into a runtime fresh from pl__rt_create, whose program was not started:
 * computations first (a parent before its kids), then tasks (handlers found
 * by name in the program's registry), then what links them (joins,
 * deadlines, queues, descriptors). Every task in state BACKEND goes into
 * `held`: the replay backend holds them, as the live one held them.
 * Nothing is trusted: a snapshot that does not fit the program (a handler it
 * no longer has, an id that names nothing) is refused with the reason.
 */
#include "runtime/machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct later { uint64_t deadline, owner; } later;

typedef struct loader {
    pl_rt *rt;
    pl__rbuf r;
    pl__comp **comps;          /* in file order */
    uint64_t *join_of;         /* the task id of each one's join, or 0 */
    uint32_t ncomps;
    pl__task **order;          /* tasks in file order */
    later *lt;
    pl__tmap tasks;            /* every task, by id */
    char *why;
    size_t why_len;
} loader;

static int fail(loader *l, const char *fmt, unsigned long long v)
{
    snprintf(l->why, l->why_len, fmt, v);
    return -1;
}

static pl__comp *comp_by_id(const loader *l, uint64_t id)
{
    for (uint32_t i = 0; i < l->ncomps; i++)   /* a few per program: linear is enough */
        if (l->comps[i]->id == id)
            return l->comps[i];
    return NULL;
}

static void link_kid_last(pl__comp *parent, pl__comp *c)
{
    c->parent = parent;
    pl__comp **p = &parent->kids;
    pl__comp *prev = NULL;
    while (*p != NULL) {
        prev = *p;
        p = &(*p)->kid_next;
    }
    *p = c;
    c->kid_prev = prev;
}

static void link_task_last(pl__comp *c, pl__task *t)
{
    t->comp = c;
    pl__task **p = &c->tasks;
    pl__task *prev = NULL;
    while (*p != NULL) {
        prev = *p;
        p = &(*p)->comp_next;
    }
    *p = t;
    t->comp_prev = prev;
}

static int load_comps(loader *l)
{
    l->ncomps = pl__r_u32(&l->r);
    if (l->ncomps == 0 || l->ncomps > l->r.len)
        return fail(l, "bad computation count %llu", l->ncomps);
    l->comps = calloc(l->ncomps, sizeof *l->comps);
    l->join_of = calloc(l->ncomps, sizeof *l->join_of);
    PL_ASSERT(l->comps != NULL && l->join_of != NULL);
    for (uint32_t i = 0; i < l->ncomps; i++) {
        uint64_t id = pl__r_u64(&l->r), born = pl__r_u64(&l->r), parent = pl__r_u64(&l->r);
        l->join_of[i] = pl__r_u64(&l->r);
        pl__comp *c = i == 0 ? l->rt->root : calloc(1, sizeof *c);
        PL_ASSERT(c != NULL);
        l->comps[i] = c;
        c->id = id;
        c->born = born;
        c->side = pl__r_u8(&l->r);
        c->graceful = pl__r_u8(&l->r);
        c->interrupted = pl__r_u8(&l->r);
        if (i == 0)
            continue;
        pl__comp *p = comp_by_id(l, parent);
        if (p == NULL || p == c)
            return fail(l, "computation %llu has no parent", id);
        link_kid_last(p, c);
    }
    return l->r.bad ? fail(l, "truncated computations (%llu)", l->ncomps) : 0;
}

static int load_payload(loader *l, pl__task *t)
{
    if (!pl__r_u8(&l->r))
        return 0;
    uint32_t n = pl__r_u32(&l->r);
    const uint8_t *p = pl__r_bytes(&l->r, n);
    if (p == NULL)
        return -1;
    if (t->cmd.kind == PL_CMD_SEND) {
        t->data = pl__pool_get(&l->rt->pool, n);
        memcpy(t->data, p, n);
        t->data_len = n;
        return 0;
    }
    if (n != t->cmd.len)
        return -1;
    t->str = pl__pool_get(&l->rt->pool, (size_t)n + 1);
    memcpy(t->str, p, n);
    t->str[n] = 0;
    t->cmd.text = t->str;
    return 0;
}

static int load_join(loader *l, pl__task *t)
{
    if (!pl__r_u8(&l->r))
        return 0;
    pl__join *j = calloc(1, sizeof *j);
    PL_ASSERT(j != NULL);
    t->join = j;
    j->then = t;
    j->kind = (pl__jkind)pl__r_u8(&l->r);
    for (int i = 0; i < 2; i++) {
        uint64_t id = pl__r_u64(&l->r);
        j->side[i] = id ? comp_by_id(l, id) : NULL;
        if (id && j->side[i] == NULL)
            return fail(l, "a join names computation %llu", id);
    }
    j->have = pl__r_u32(&l->r);
    j->ans.kind = (pl_ans_kind)pl__r_u32(&l->r);
    j->ans.index = (int)pl__r_u32(&l->r);
    for (int i = 0; i < 2; i++) {
        uint32_t n = pl__r_u32(&l->r);
        const uint8_t *p = n <= PL_RESULT_MAX ? pl__r_bytes(&l->r, n) : NULL;
        if (p == NULL)
            return fail(l, "a join's result is damaged%llu", 0);
        j->ans.res[i].len = n;
        memcpy(j->ans.res[i].data, p, n);
    }
    return 0;
}

static int load_task(loader *l, uint32_t i)
{
    pl__rbuf *r = &l->r;
    uint64_t id = pl__r_u64(r), born = pl__r_u64(r), comp = pl__r_u64(r);
    uint32_t nlen = pl__r_u32(r);
    const pl_handler *h = NULL;
    if (nlen != UINT32_MAX) {
        const uint8_t *name = nlen < 256 ? pl__r_bytes(r, nlen) : NULL;
        char buf[256];
        if (name == NULL)
            return fail(l, "task %llu: damaged handler name", id);
        memcpy(buf, name, nlen);
        buf[nlen] = 0;
        h = pl_program_handler(l->rt->prog, buf);
        if (h == NULL) {
            snprintf(l->why, l->why_len, "task %llu runs handler '%s', which program %s %s "
                     "does not have", (unsigned long long)id, buf, l->rt->prog->name,
                     l->rt->prog->version ? l->rt->prog->version : "");
            return -1;
        }
    }
    uint8_t state = pl__r_u8(r), slot = pl__r_u8(r);
    uint32_t timeout_ms = pl__r_u32(r);
    uint64_t bk0 = pl__r_u64(r);
    pl__cmd k = { 0 };
    k.fd = (int)pl__r_u32(r);
    uint32_t shared = pl__r_u32(r);
    memcpy(&k.dir, &shared, sizeof shared);
    k.len = pl__r_u32(r);
    k.flags = (int16_t)(uint16_t)pl__r_u32(r);
    k.kind = pl__r_u8(r);
    k.offset = pl__r_u64(r);
    k.count = pl__r_u64(r);
    k.after_ms = pl__r_u64(r);
    pl__comp *c = comp_by_id(l, comp);
    if (r->bad || c == NULL || k.kind >= PL_CMD_KIND_COUNT || state > PL__T_PARKED ||
        pl__tmap_get(&l->tasks, id) != NULL || id == 0 || id >= l->rt->next_task)
        return fail(l, "task %llu is damaged", id);
    /* The payload comes before the memory, whose length sizes the task. */
    pl__task probe = { .cmd = k };
    if (load_payload(l, &probe) < 0)
        return fail(l, "task %llu: damaged payload", id);
    uint32_t mem_len = pl__r_u32(r);
    const uint8_t *mem = mem_len <= PL_MEM_MAX ? pl__r_bytes(r, mem_len) : NULL;
    if (mem == NULL) {
        if (probe.str != NULL)
            pl__pool_put(&l->rt->pool, probe.str, pl__cmd_payload_size(&probe));
        return fail(l, "task %llu: damaged memory", id);
    }
    pl__task *t = pl__pool_get(&l->rt->pool, sizeof *t + mem_len);
    memset(t, 0, sizeof *t);
    *t = (pl__task){ .id = id, .born = born, .h = h, .cmd = k, .mem_len = mem_len,
                     .timeout_ms = timeout_ms, .state = state, .slot = slot };
    memcpy(t->mem, mem, mem_len);
    t->data = probe.data;               /* the payload read above */
    t->data_len = probe.data_len;
    if (k.kind != PL_CMD_SEND && probe.str != NULL)
        t->cmd.text = t->str;
    if (state == PL__T_READY)
        t->bk[0] = bk0;
    l->lt[i].deadline = pl__r_u64(r);
    l->lt[i].owner = pl__r_u64(r);
    l->order[i] = t;
    link_task_last(c, t);
    pl__tmap_put(&l->tasks, t);
    l->rt->live++;
    return load_join(l, t);
}

static pl__task *task_by_id(loader *l, uint64_t id)
{
    return id ? pl__tmap_get(&l->tasks, id) : NULL;
}

static int load_fifo(loader *l, pl__fifo *f)
{
    uint32_t n = pl__r_u32(&l->r);
    for (uint32_t i = 0; i < n && !l->r.bad; i++) {
        pl__task *t = task_by_id(l, pl__r_u64(&l->r));
        if (t == NULL || t->q_next != NULL || f->tail == t)
            return fail(l, "a queue names a missing task%llu", 0);
        pl__fifo_push(f, t);
    }
    return l->r.bad ? -1 : 0;
}

static int load_fds(loader *l)
{
    uint32_t n = pl__r_u32(&l->r);
    for (uint32_t i = 0; i < n && !l->r.bad; i++) {
        uint32_t fd = pl__r_u32(&l->r);
        if (fd > (1u << 24))
            return fail(l, "descriptor %llu out of range", fd);
        pl__fdq *q = pl__fdq_get(l->rt, (int)fd);
        q->queued = pl__r_u64(&l->r);
        q->open = pl__r_u8(&l->r) != 0;
        q->reader = task_by_id(l, pl__r_u64(&l->r));
        if (load_fifo(l, &q->q) < 0)
            return -1;
        uint32_t len = pl__r_u32(&l->r);
        const uint8_t *in = len <= PL_INPUT_MAX ? pl__r_bytes(&l->r, len) : NULL;
        if (in == NULL)
            return fail(l, "descriptor %llu: damaged input", fd);
        if (len > 0) {
            q->in = malloc(len);
            PL_ASSERT(q->in != NULL);
            memcpy(q->in, in, len);
            q->in_len = q->in_cap = len;
        }
    }
    return l->r.bad ? -1 : 0;
}

static int load_refs(loader *l)
{
    pl_rt *rt = l->rt;
    uint32_t n = pl__r_u32(&l->r);
    if (n > l->r.len)
        return fail(l, "bad ref count %llu", n);
    rt->refs = calloc(n ? n : 1, sizeof *rt->refs);
    PL_ASSERT(rt->refs != NULL);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t len = pl__r_u64(&l->r);
        const uint8_t *p = len <= l->r.len ? pl__r_bytes(&l->r, len) : NULL;
        if (p == NULL)
            return fail(l, "ref %llu is damaged", i);
        rt->refs[i].p = malloc(len ? len : 1);
        PL_ASSERT(rt->refs[i].p != NULL);
        memcpy(rt->refs[i].p, p, len);
        rt->refs[i].len = len;
        rt->nrefs = i + 1;
    }
    return 0;
}

static int link_tasks(loader *l, uint32_t ntasks)
{
    for (uint32_t i = 0; i < l->ncomps; i++) {
        pl__task *then = task_by_id(l, l->join_of[i]);
        if (l->join_of[i] && (then == NULL || then->join == NULL))
            return fail(l, "a computation waits on a missing join %llu", l->join_of[i]);
        if (then != NULL)
            l->comps[i]->join = then->join;
    }
    for (uint32_t i = 0; i < ntasks; i++) {
        pl__task *t = l->order[i];
        t->deadline = task_by_id(l, l->lt[i].deadline);
        t->owner = task_by_id(l, l->lt[i].owner);
        if ((l->lt[i].deadline && t->deadline == NULL) || (l->lt[i].owner && t->owner == NULL))
            return fail(l, "task %llu: its deadline or owner is missing", t->id);
    }
    return 0;
}

static int load(loader *l, pl__tmap *held)
{
    pl_rt *rt = l->rt;
    const uint8_t *magic = pl__r_bytes(&l->r, 8);
    if (magic == NULL || memcmp(magic, "PLSTATE1", 8) != 0)
        return fail(l, "not a runtime state of format %llu", 1);
    rt->next_task = pl__r_u64(&l->r);
    rt->call_seq = pl__r_u64(&l->r);
    rt->next_comp = pl__r_u64(&l->r);
    rt->slots_used = pl__r_u32(&l->r);
    if (load_refs(l) < 0 || load_comps(l) < 0)
        return -1;
    uint32_t ntasks = pl__r_u32(&l->r);
    if (ntasks > l->r.len)
        return fail(l, "bad task count %llu", ntasks);
    l->lt = calloc(ntasks ? ntasks : 1, sizeof *l->lt);
    l->order = calloc(ntasks ? ntasks : 1, sizeof *l->order);
    PL_ASSERT(l->lt != NULL && l->order != NULL);
    for (uint32_t i = 0; i < ntasks; i++)
        if (load_task(l, i) < 0)
            return -1;
    if (link_tasks(l, ntasks) < 0 || load_fifo(l, &rt->ready) < 0 ||
        load_fifo(l, &rt->waitfd) < 0 || load_fifo(l, &rt->pending_in) < 0 || load_fds(l) < 0)
        return -1;
    if (l->r.off != l->r.len)
        return fail(l, "%llu bytes left over", l->r.len - l->r.off);
    for (uint32_t i = 0; i < ntasks; i++)
        if (l->order[i]->state == PL__T_BACKEND)
            pl__tmap_put(held, l->order[i]);
    return 0;
}

/* A load that failed: take apart what was built, without the core's
 * bookkeeping (which the half-built state could not satisfy). */
static void discard(loader *l)
{
    pl_rt *rt = l->rt;
    for (size_t s = 0; s < l->tasks.cap; s++)
        if (l->tasks.slot[s] != NULL)
            pl__task_free(rt, l->tasks.slot[s]);
    for (uint32_t i = 1; i < l->ncomps; i++)
        free(l->comps[i]);
    rt->root->tasks = NULL;
    rt->root->kids = NULL;
    rt->ready = rt->waitfd = rt->pending_in = (pl__fifo){ 0 };
    for (int fd = 0; fd < rt->nfds; fd++) {
        free(rt->fds[fd].in);
        rt->fds[fd] = (pl__fdq){ 0 };
    }
    rt->live = 0;
    rt->slots_used = 0;
}

int pl__state_load(pl_rt *rt, const uint8_t *p, size_t n, pl__tmap *held, char *why,
                   size_t why_len)
{
    PL_ASSERT(rt->live == 0 && rt->root->tasks == NULL && rt->root->kids == NULL);
    loader l = { .rt = rt, .r = { .p = p, .len = n }, .why = why, .why_len = why_len };
    why[0] = 0;
    int e = load(&l, held);
    if (e < 0 && why[0] == 0)
        snprintf(why, why_len, "the state is %s", l.r.bad ? "truncated" : "damaged");
    if (e < 0) {
        pl__tmap_free(held);
        discard(&l);
    }
    pl__tmap_free(&l.tasks);
    free(l.comps);
    free(l.join_of);
    free(l.order);
    free(l.lt);
    return e;
}
