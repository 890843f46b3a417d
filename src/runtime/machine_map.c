/* machine_map.c — tasks by id, for replay and for loading a snapshot.
 *
 * Open addressing with linear probing; a removal shifts the entries after it
 * back, so there are no tombstones and a lookup stops at the first empty
 * slot. Ids are consecutive numbers: a multiplicative hash spreads them.
 */
#include "runtime/machine.h"

#include <stdlib.h>

static size_t home(const pl__tmap *m, pl_task_id id)
{
    return (size_t)((id * 0x9e3779b97f4a7c15ull) >> 17) & (m->cap - 1);
}

static void grow(pl__tmap *m)
{
    pl__tmap bigger = { .cap = m->cap ? m->cap * 2 : 256 };
    bigger.slot = calloc(bigger.cap, sizeof *bigger.slot);
    PL_ASSERT(bigger.slot != NULL);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slot[i] != NULL)
            pl__tmap_put(&bigger, m->slot[i]);
    free(m->slot);
    *m = bigger;
}

void pl__tmap_put(pl__tmap *m, pl__task *t)
{
    if ((m->n + 1) * 4 > m->cap * 3)
        grow(m);
    size_t i = home(m, t->id);
    while (m->slot[i] != NULL && m->slot[i]->id != t->id)
        i = (i + 1) & (m->cap - 1);
    if (m->slot[i] == NULL)
        m->n++;
    m->slot[i] = t;
}

static size_t find(const pl__tmap *m, pl_task_id id)
{
    if (m->cap == 0)
        return SIZE_MAX;
    for (size_t i = home(m, id);; i = (i + 1) & (m->cap - 1)) {
        if (m->slot[i] == NULL)
            return SIZE_MAX;
        if (m->slot[i]->id == id)
            return i;
    }
}

pl__task *pl__tmap_get(const pl__tmap *m, pl_task_id id)
{
    size_t i = find(m, id);
    return i == SIZE_MAX ? NULL : m->slot[i];
}

pl__task *pl__tmap_del(pl__tmap *m, pl_task_id id)
{
    size_t i = find(m, id);
    if (i == SIZE_MAX)
        return NULL;
    pl__task *t = m->slot[i];
    m->slot[i] = NULL;
    m->n--;
    /* Shift back the entries of the run after i that may move into the hole. */
    for (size_t j = (i + 1) & (m->cap - 1); m->slot[j] != NULL; j = (j + 1) & (m->cap - 1)) {
        size_t h = home(m, m->slot[j]->id);
        bool between = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (between)
            continue;
        m->slot[i] = m->slot[j];
        m->slot[j] = NULL;
        i = j;
    }
    return t;
}

void pl__tmap_free(pl__tmap *m)
{
    free(m->slot);
    *m = (pl__tmap){ 0 };
}
