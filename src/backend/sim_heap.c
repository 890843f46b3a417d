/* sim_heap.c — the simulators' event heap on (at, seq); see sim_heap.h. */
#include "backend/sim_heap.h"
#include "runtime/assert.h"

#include <stdbool.h>
#include <stdlib.h>

static bool before(const sim_hnode *a, const sim_hnode *b)
{
    return a->at != b->at ? a->at < b->at : a->seq < b->seq;
}

static void put(sim_heap *h, uint32_t i, sim_hnode *e)
{
    h->v[i] = e;
    e->idx = i + 1;
}

/* Move the node at i up or down to where (at, seq) puts it. */
static void sift(sim_heap *h, uint32_t i)
{
    sim_hnode *e = h->v[i];
    while (i > 0 && before(e, h->v[(i - 1) / 2])) {
        put(h, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        sim_hnode *best = e;
        if (l < h->n && before(h->v[l], best))
            m = l, best = h->v[l];
        if (l + 1 < h->n && before(h->v[l + 1], best))
            m = l + 1, best = h->v[l + 1];
        if (m == i)
            break;
        put(h, i, best);
        i = m;
    }
    put(h, i, e);
}

void sim_heap_remove(sim_heap *h, sim_hnode *e)
{
    if (e->idx == 0)
        return;
    uint32_t i = e->idx - 1;
    PL_ASSERT(i < h->n && h->v[i] == e);
    e->idx = 0;
    sim_hnode *last = h->v[--h->n];
    if (last != e) {
        put(h, i, last);
        sift(h, i);
    }
}

void sim_heap_push(sim_heap *h, sim_hnode *e, uint64_t at)
{
    sim_heap_remove(h, e);
    if (h->n == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 256;
        h->v = realloc(h->v, h->cap * sizeof *h->v);
        PL_ASSERT(h->v != NULL);
    }
    e->at = at;
    e->seq = h->seq++;
    put(h, h->n++, e);
    sift(h, h->n - 1);
}

void sim_heap_free(sim_heap *h)
{
    free(h->v);
    *h = (sim_heap){ 0 };
}
