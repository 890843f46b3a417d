/* sim_heap.h — the simulators' order of events: one binary min-heap on
 * (virtual time, sequence number), so that two events due at the same
 * millisecond run in the order they were scheduled. The simulated backend
 * (sim_event.c) and the kv machine's simulated world (tests/sim/kvsim_world.c)
 * both keep their events in one.
 *
 * A node is embedded in what it wakes, and is in the heap at most once.
 */
#ifndef PLUTO_BACKEND_SIM_HEAP_H
#define PLUTO_BACKEND_SIM_HEAP_H

#include <stdint.h>

typedef struct sim_hnode {
    uint64_t at, seq;               /* virtual ms; order of scheduling */
    uint32_t idx;                   /* heap position + 1; 0 when not scheduled */
} sim_hnode;

typedef struct sim_heap {
    sim_hnode **v;
    uint32_t n, cap;
    uint64_t seq;                   /* the next node's sequence number */
} sim_heap;

void sim_heap_push(sim_heap *h, sim_hnode *e, uint64_t at);  /* (re)schedule at `at` */
void sim_heap_remove(sim_heap *h, sim_hnode *e);             /* a no-op unless scheduled */
void sim_heap_free(sim_heap *h);

static inline sim_hnode *sim_heap_top(const sim_heap *h)
{
    return h->n ? h->v[0] : (sim_hnode *)0;
}

#endif
