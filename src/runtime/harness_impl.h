/* harness_impl.h — the scenario harness's state, shared by harness.c (the
 * backend and the API of include/pluto/harness.h) and harness_mark.c (mark
 * and rewind).
 */
#ifndef PLUTO_RUNTIME_HARNESS_IMPL_H
#define PLUTO_RUNTIME_HARNESS_IMPL_H

#include "pluto/harness.h"
#include "runtime/rt.h"

/* The bytes the records point to (strings, data sent), in chunks kept with
 * the harness: a record costs no allocation, and a rewind takes back what
 * the records after its mark used. */
typedef struct pl__chunk { struct pl__chunk *next; size_t cap; uint8_t b[]; } pl__chunk;
typedef struct pl__bytes { pl__chunk *first, *cur; size_t used; } pl__bytes;

/* An object of the runtime as the mark saw it: its first `fixed` bytes must
 * be found again, the rest (a task's private memory) is put back. */
typedef struct pl__saved { void *at; size_t len, fixed; uint8_t *copy; } pl__saved;

/* A ref at the mark: its bytes, where they were, and for a large one which
 * of its whole pages were zeroes, and for how many rewinds each has stayed
 * so (harness_mark.c). */
typedef struct pl__refmark {
    uint8_t *copy;
    size_t len;
    uint8_t *live, *zero, *idle;
} pl__refmark;

typedef struct pl__hmark {
    bool set;
    pl_rt rt;                           /* the runtime's fields */
    pl__bytes at;                       /* where the records' bytes ended */
    size_t nlog, nheld;
    pl__task **held;
    pl__saved *obj;                     /* computations, joins, tasks */
    size_t nobj, capobj;
    pl__refmark *refs;
    pl__fdq *fds;                       /* a copy of the table */
    int pagemap;                        /* /proc/self/pagemap, or -1 */
} pl__hmark;

struct pl_harness {
    pl_rt *rt;
    pl_hcmd *log;
    size_t nlog, caplog;
    pl__task **held;                    /* the tasks the backend holds */
    size_t nheld, capheld;
    pl__bytes bytes;
    pl__hmark m;
    void **pooled;                      /* the runtime's pooled blocks, at the last rewind */
    size_t npooled, cappooled;
};

/* harness_mark.c: no mark (init), or what a mark holds let go (free). */
void pl__hmark_init(pl__hmark *m);
void pl__hmark_free(pl__hmark *m);

#endif
