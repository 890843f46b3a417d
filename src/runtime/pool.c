/* pool.c — per-runtime free lists, so that a request on the hot path does
 * not call malloc.
 *
 * Tasks, their send buffers and their copied strings come and go with every
 * request; each runtime (one per worker thread, sharing nothing) keeps the
 * blocks it freed in lists by size class and hands them out again. No lock:
 * a pool belongs to one thread. Each list keeps at most PL__POOL_KEEP bytes
 * (and at least a few blocks), and all lists together PL__POOL_TOTAL, so a
 * burst leaves a bounded amount behind; blocks beyond that, and blocks above
 * the largest class, go back to malloc.
 *
 * Classes: every 16 bytes up to 1 KiB (a task and its private memory round
 * up by less than 16 bytes), then four per doubling up to 64 KiB (a block
 * is at most a quarter larger than asked for).
 *
 * Under AddressSanitizer a block in a list is poisoned: a use after free that
 * reaches a pooled block is still reported.
 *
 * Tables indexed by descriptor (pl__table_grow) are grown into fresh
 * anonymous mappings: pages past the highest descriptor in use are never
 * touched, so they cost no memory however far the table doubled.
 */
#include "runtime/rt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PL__ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define PL__ASAN 1
#endif
#ifdef PL__ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

enum { FINE_MAX = 1024, FINE_STEP = 16, FINE_CLASSES = FINE_MAX / FINE_STEP };

/* The class of a block of n bytes, or -1 when it is too big to pool. Above
 * FINE_MAX, class sizes are base x 5/4, 6/4, 7/4 and 8/4 for each power of
 * two base. */
static int class_of(size_t n)
{
    if (n <= FINE_MAX)
        return n == 0 ? 0 : (int)((n - 1) / FINE_STEP);
    int c = FINE_CLASSES;
    for (size_t base = FINE_MAX; base < PL__POOL_MAX; base *= 2)
        for (size_t q = 5; q <= 8; q++, c++)
            if (n <= base * q / 4)
                return c;
    return -1;
}

static size_t class_size(int c)
{
    if (c < FINE_CLASSES)
        return (size_t)(c + 1) * FINE_STEP;
    int i = c - FINE_CLASSES;
    return ((size_t)FINE_MAX << (i / 4)) * (size_t)(5 + i % 4) / 4;
}

void *pl__pool_get(pl__pool *p, size_t n)
{
    int c = class_of(n);
    if (c < 0) {
        void *b = malloc(n);
        PL_ASSERT(b != NULL);
        return b;
    }
    void **b = p->free[c];
    if (b == NULL) {
        b = malloc(class_size(c));
        PL_ASSERT(b != NULL);
        return b;
    }
    UNPOISON(b, class_size(c));
    p->free[c] = *b;
    p->nfree[c]--;
    p->kept -= class_size(c);
    return b;
}

void pl__pool_put(pl__pool *p, void *block, size_t n)
{
    if (block == NULL)
        return;
    int c = class_of(n);
    size_t size = c < 0 ? 0 : class_size(c);
    if (c < 0 || p->kept + size > PL__POOL_TOTAL ||
        (p->nfree[c] >= 8 && (p->nfree[c] + 1) * size > PL__POOL_KEEP)) {
        free(block);
        return;
    }
    *(void **)block = p->free[c];
    p->free[c] = block;
    p->nfree[c]++;
    p->kept += size;
    POISON(block, size);
}

void pl__pool_deinit(pl__pool *p)
{
    for (int c = 0; c < PL__POOL_CLASSES; c++) {
        while (p->free[c] != NULL) {
            void **b = p->free[c];
            UNPOISON(b, class_size(c));
            p->free[c] = *b;
            free(b);
        }
        p->nfree[c] = 0;
    }
    p->kept = 0;
}

/* Grow a table of zeroed entries from old_bytes (0: none yet) to new_bytes;
 * the old mapping is released. */
void *pl__table_grow(void *old, size_t old_bytes, size_t new_bytes)
{
    PL_ASSERT(new_bytes > old_bytes);
    void *p = mmap(NULL, new_bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    PL_ASSERT(p != MAP_FAILED);
    if (old != NULL) {
        memcpy(p, old, old_bytes);
        munmap(old, old_bytes);
    }
    return p;
}

void pl__table_free(void *table, size_t bytes)
{
    if (table != NULL)
        munmap(table, bytes);
}
