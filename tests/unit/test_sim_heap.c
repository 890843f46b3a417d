/* test_sim_heap.c — the simulators' event heap (src/backend/sim_heap.c).
 *
 * Both simulated worlds take their order from it, so a seed's run depends on
 * it: nodes come out by virtual time, and nodes due at the same time in the
 * order they were (last) scheduled. Checked against a plain array over random
 * pushes, re-pushes and removals.
 */
#include <criterion/criterion.h>

#include "backend/sim_heap.h"

#include <stdlib.h>

enum { N = 300 };

static sim_hnode nodes[N];
static uint64_t due[N], order[N];   /* the model: time and last scheduling */
static int queued[N];

static uint64_t rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* The model's next node: the least (due, order) of those queued. */
static int model_first(void)
{
    int best = -1;
    for (int i = 0; i < N; i++)
        if (queued[i] && (best < 0 || due[i] < due[best] ||
                          (due[i] == due[best] && order[i] < order[best])))
            best = i;
    return best;
}

Test(sim_heap, pops_by_time_then_by_scheduling_order)
{
    sim_heap h = { 0 };
    uint64_t s = 7, seq = 0;
    for (int round = 0; round < 20000; round++) {
        int i = (int)(rnd(&s) % N);
        switch (rnd(&s) % 4) {
        case 0:
        case 1:                                  /* (re)schedule; few times, many ties */
            due[i] = rnd(&s) % 50;
            order[i] = seq++;
            queued[i] = 1;
            sim_heap_push(&h, &nodes[i], due[i]);
            break;
        case 2:                                  /* remove, queued or not */
            queued[i] = 0;
            sim_heap_remove(&h, &nodes[i]);
            cr_assert_eq(nodes[i].idx, 0);
            break;
        default: {                               /* pop the first */
            int want = model_first();
            sim_hnode *top = sim_heap_top(&h);
            if (want < 0) {
                cr_assert_null(top);
                break;
            }
            cr_assert_eq(top, &nodes[want], "round %d: got node %d, want %d", round,
                         (int)(top - nodes), want);
            cr_assert_eq(top->at, due[want]);
            queued[want] = 0;
            sim_heap_remove(&h, top);
        }
        }
        uint32_t n = 0;
        for (int k = 0; k < N; k++)
            n += (uint32_t)queued[k];
        cr_assert_eq(h.n, n, "round %d: %u queued, the heap holds %u", round, n, h.n);
    }
    for (int want; (want = model_first()) >= 0; queued[want] = 0) {
        cr_assert_eq(sim_heap_top(&h), &nodes[want]);
        sim_heap_remove(&h, &nodes[want]);
    }
    cr_assert_null(sim_heap_top(&h));
    sim_heap_free(&h);
    cr_assert_null(h.v);
}
