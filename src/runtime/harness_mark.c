/* harness_mark.c — a harness's mark, and the rewinds back to it.
 *
 * A mark copies what a rewind must find again or put back: the runtime's
 * counters, every computation, join and task (header and private memory)
 * reachable from the root, the descriptor table, the shared refs. Copying
 * the runtime's state is enough because a rewind first checks that the
 * program came back on its own to the same tasks and computations: only
 * bytes are put back (refs, private memory), never structure.
 *
 * A ref is put back page by page, reading only what may differ. A large one
 * (a cache, of which a run writes a few pages and reads more) is read only
 * where it may hold something else than zeroes: the pagemap's PAGEMAP_SCAN
 * (Linux 6.7) lists the pages mapped to anything but the shared zero page;
 * the others are zeroes, malloc's memory being private and anonymous. Of a
 * page that was zero at the mark, such a page is zeroed if it is not, and
 * given back (MADV_DONTNEED) once runs have left it alone for a while: a
 * page runs keep writing stays mapped (no fault for the next), one they
 * stopped writing is no longer read at each rewind, and what runs only
 * read stays on the zero page. Where the scan cannot be had, every page is
 * compared.
 */
#include "runtime/harness_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

/* Like harness.c, not code under test: no coverage for a fuzzer to trace. */
#if defined(__clang__) && __clang_major__ >= 13
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#endif

enum { PAGE = 4096, BIG = 64 * 1024, IDLE_MAX = 16 };

struct scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t inverted, mask, anyof, ret;        /* categories */
};
struct scan_region { uint64_t start, end, categories; };
enum { IS_PRESENT = 1 << 3, IS_SWAPPED = 1 << 4, IS_PFNZERO = 1 << 5 };
#define PAGEMAP_SCAN_ _IOWR('f', 16, struct scan_arg)

/* The regions of [lo, hi) that may hold more than zeroes: present but not
 * the zero page, or swapped out. Returns how many are in r (at most cap), or
 * -1; *next: where the scan stopped. */
static long scan(int pagemap, uintptr_t lo, uintptr_t hi, struct scan_region *r, size_t cap,
                 uintptr_t *next)
{
    struct scan_arg a = { .size = sizeof a, .start = lo, .end = hi, .vec = (uintptr_t)r,
                          .vec_len = cap, .inverted = IS_PFNZERO, .mask = IS_PFNZERO,
                          .anyof = IS_PRESENT | IS_SWAPPED, .ret = IS_PRESENT | IS_SWAPPED };
    long n = ioctl(pagemap, PAGEMAP_SCAN_, &a);
    *next = (uintptr_t)a.walk_end;
    return n < 0 || *next <= lo ? -1 : n;
}

static void *copy_of(const void *p, size_t n)
{
    void *d = malloc(n ? n : 1);
    PL_ASSERT(d != NULL);
    if (n > 0)
        memcpy(d, p, n);
    return d;
}

static bool is_zero(const uint8_t *p, size_t n)
{
    static const uint8_t zero[PAGE];
    for (size_t i = 0; i < n; i += PAGE)
        if (memcmp(p + i, zero, n - i < PAGE ? n - i : PAGE) != 0)
            return false;
    return true;
}

/* Put back the bytes of [p, p+n) that differ from copy, a page at a time. */
static void put_back(uint8_t *p, const uint8_t *copy, size_t n)
{
    for (size_t i = 0; i < n; i += PAGE) {
        size_t k = n - i < PAGE ? n - i : PAGE;
        if (memcmp(p + i, copy + i, k) != 0)
            memcpy(p + i, copy + i, k);
    }
}

/* The whole pages of a ref: [*lo, *lo + n * PAGE). */
static size_t whole_pages(const uint8_t *p, size_t len, uintptr_t *lo)
{
    uintptr_t a = (uintptr_t)p, hi = (a + len) & ~(uintptr_t)(PAGE - 1);
    *lo = (a + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    return hi > *lo ? (hi - *lo) / PAGE : 0;
}

/* One whole page of a large ref back to its bytes at the mark (was; zero:
 * they are zeroes; idle: rewinds it was found so); mapped: it may hold
 * more than zeroes now. */
static void page_back(uint8_t *pg, const uint8_t *was, bool zero, uint8_t *idle, bool mapped)
{
    if (!zero && mapped) {
        put_back(pg, was, PAGE);
    } else if (!zero) {
        memcpy(pg, was, PAGE);
    } else if (mapped && !is_zero(pg, PAGE)) {
        memset(pg, 0, PAGE);
        *idle = 0;
    } else if (mapped && ++*idle == IDLE_MAX) {
        madvise(pg, PAGE, MADV_DONTNEED);
        *idle = 0;
    }
}

/* A large ref's whole pages, scanned. False: the scan failed, and the
 * caller compares every page. */
static bool put_back_scanned(int pagemap, const pl__refmark *was, uint8_t *p)
{
    const uint8_t *copy = was->copy;
    size_t len = was->len;
    uintptr_t lo, next;
    size_t n = whole_pages(p, len, &lo), head = lo - (uintptr_t)p, i = 0;
    struct scan_region r[32];
    for (uintptr_t at = lo; at < lo + n * PAGE; at = next) {
        long k = scan(pagemap, at, lo + n * PAGE, r, 32, &next);
        if (k < 0)
            return false;
        for (long j = 0; j <= k; j++) {
            uintptr_t from = j < k ? r[j].start : next, to = j < k ? r[j].end : next;
            for (; i < n && lo + i * PAGE < to; i++)
                page_back((uint8_t *)lo + i * PAGE, copy + head + i * PAGE, was->zero[i],
                          &was->idle[i], lo + i * PAGE >= from);
        }
    }
    put_back(p, copy, head);            /* the partial pages at both ends */
    put_back(p + head + n * PAGE, copy + head + n * PAGE, len - head - n * PAGE);
    return true;
}

/* The pagemap, if it can be scanned (and finds a page just written). */
static int pagemap_open(void)
{
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    static volatile uint8_t probe[2 * PAGE];
    uintptr_t pg = ((uintptr_t)probe + PAGE - 1) & ~(uintptr_t)(PAGE - 1), next;
    *(volatile uint8_t *)pg = 1;
    struct scan_region r[1];
    if (fd >= 0 && scan(fd, pg, pg + PAGE, r, 1, &next) != 1) {
        close(fd);
        fd = -1;
    }
    return fd;
}

void pl__hmark_init(pl__hmark *m)
{
    *m = (pl__hmark){ .pagemap = -1 };
}

void pl__hmark_free(pl__hmark *m)
{
    for (size_t i = 0; i < m->nobj; i++)
        free(m->obj[i].copy);
    for (uint32_t i = 0; m->set && i < m->rt.nrefs; i++) {
        free(m->refs[i].copy);
        free(m->refs[i].zero);
        free(m->refs[i].idle);
    }
    if (m->pagemap >= 0)
        close(m->pagemap);
    free(m->obj);
    free(m->refs);
    free(m->fds);
    free(m->held);
    pl__hmark_init(m);
}

static void save_ref(pl__hmark *m, pl__refmark *s, const pl__ref *ref)
{
    *s = (pl__refmark){ .copy = calloc(1, ref->len ? ref->len : 1), .len = ref->len,
                        .live = ref->p };
    PL_ASSERT(s->copy != NULL);
    for (size_t i = 0; i < ref->len; i += PAGE)   /* a large copy's zero pages stay untouched */
        if (!is_zero(ref->p + i, ref->len - i < PAGE ? ref->len - i : PAGE))
            memcpy(s->copy + i, ref->p + i, ref->len - i < PAGE ? ref->len - i : PAGE);
    uintptr_t lo;
    size_t n = whole_pages(ref->p, ref->len, &lo);
    if (m->pagemap < 0 || ref->len < BIG || n == 0)
        return;
    s->zero = malloc(n);
    s->idle = calloc(n, 1);
    PL_ASSERT(s->zero != NULL && s->idle != NULL);
    for (size_t i = 0; i < n; i++)
        s->zero[i] = is_zero((const uint8_t *)lo + i * PAGE, PAGE);
}

/* One object of the walk: saved (at the mark), or found again and its
 * loose bytes put back (at a rewind). False: it is not the same. */
static bool visit(pl__hmark *m, size_t *i, bool save, void *at, size_t fixed, size_t len)
{
    if (save) {
        if (m->nobj == m->capobj) {
            m->capobj = m->capobj ? m->capobj * 2 : 16;
            m->obj = realloc(m->obj, m->capobj * sizeof *m->obj);
            PL_ASSERT(m->obj != NULL);
        }
        m->obj[m->nobj++] = (pl__saved){ at, len, fixed, copy_of(at, len) };
        return true;
    }
    const pl__saved *s = *i < m->nobj ? &m->obj[(*i)++] : NULL;
    if (s == NULL || s->at != at || s->len != len || memcmp(at, s->copy, fixed) != 0)
        return false;
    memcpy((uint8_t *)at + fixed, s->copy + fixed, len - fixed);
    return true;
}

/* Every computation from c down, its join and its tasks, in tree order. */
static bool walk(pl__hmark *m, size_t *i, bool save, pl__comp *c)
{
    if (!visit(m, i, save, c, sizeof *c, sizeof *c))
        return false;
    if (c->join != NULL && !visit(m, i, save, c->join, sizeof *c->join, sizeof *c->join))
        return false;
    for (pl__task *t = c->tasks; t != NULL; t = t->comp_next)
        if (!visit(m, i, save, t, sizeof *t, sizeof *t + t->mem_len) ||
            (t->join != NULL && !visit(m, i, save, t->join, sizeof *t->join, sizeof *t->join)))
            return false;
    for (pl__comp *k = c->kids; k != NULL; k = k->kid_next)
        if (!walk(m, i, save, k))
            return false;
    return true;
}

/* The next block in a list of the runtime's pool: the link is a block's
 * first word (pool.c), poisoned with the rest under ASan. */
__attribute__((no_sanitize_address)) static void *pooled_next(void *b)
{
    return *(void **)b;
}

/* List the blocks the runtime keeps in its pool for the next run, where
 * LeakSanitizer sees them: it ignores pointers in poisoned memory, so all
 * but the first of each list would look leaked at a leak check between two
 * runs (a fuzzer's, after each input). */
static void list_pooled(pl_harness *h)
{
    const pl__pool *p = &h->rt->pool;
    h->npooled = 0;
    for (int c = 0; c < PL__POOL_CLASSES; c++) {
        for (void *b = p->free[c]; b != NULL; b = pooled_next(b)) {
            if (h->npooled == h->cappooled) {
                h->cappooled = h->cappooled ? h->cappooled * 2 : 256;
                h->pooled = realloc(h->pooled, h->cappooled * sizeof *h->pooled);
                PL_ASSERT(h->pooled != NULL);
            }
            h->pooled[h->npooled++] = b;
        }
    }
}

void pl_harness_mark(pl_harness *h)
{
    pl_rt *rt = h->rt;
    pl__hmark_free(&h->m);
    pl__reap(rt);
    list_pooled(h);
    pl__hmark *m = &h->m;
    m->pagemap = pagemap_open();
    size_t i = 0;
    walk(m, &i, true, rt->root);
    m->refs = calloc(rt->nrefs ? rt->nrefs : 1, sizeof *m->refs);
    PL_ASSERT(m->refs != NULL);
    for (uint32_t r = 0; r < rt->nrefs; r++)
        save_ref(m, &m->refs[r], &rt->refs[r]);
    m->fds = copy_of(rt->fds, (size_t)rt->nfds * sizeof *rt->fds);
    m->held = copy_of(h->held, h->nheld * sizeof *h->held);
    m->nheld = h->nheld;
    m->nlog = h->nlog;
    m->at = h->bytes;
    m->rt = *rt;
    m->set = true;
}

/* The runtime is where the mark left it, but for bytes. Its descriptor
 * table may have grown since (or been made): with empty entries only. */
static bool same_shape(const pl_harness *h)
{
    const pl_rt *rt = h->rt, *was = &h->m.rt;
    size_t fdq = sizeof *rt->fds, had = (size_t)was->nfds;
    return h->m.set && !rt->exiting && rt->root == was->root && rt->live == was->live &&
           rt->ready.head == NULL && rt->waitfd.head == NULL && rt->pending_in.head == NULL &&
           rt->dead == NULL && rt->slots_used == was->slots_used && rt->nrefs >= was->nrefs &&
           rt->nfds >= was->nfds && rt->mach == NULL &&
           (had == 0 || memcmp(rt->fds, h->m.fds, had * fdq) == 0) &&
           (rt->nfds == was->nfds || is_zero((const uint8_t *)(rt->fds + had),
                                             ((size_t)rt->nfds - had) * fdq)) &&
           h->nheld == h->m.nheld && h->nlog >= h->m.nlog &&
           memcmp(h->held, h->m.held, h->nheld * sizeof *h->held) == 0;
}

int pl_harness_rewind(pl_harness *h)
{
    pl_rt *rt = h->rt;
    pl__hmark *m = &h->m;
    pl__reap(rt);
    size_t i = 0;
    if (!same_shape(h) || !walk(m, &i, false, rt->root) || i != m->nobj)
        return -EBUSY;
    for (uint32_t r = rt->nrefs; r-- > m->rt.nrefs;)
        free(rt->refs[r].p);            /* made since: nothing holds them now */
    for (uint32_t r = 0; r < m->rt.nrefs; r++) {
        pl__ref *ref = &rt->refs[r];
        const pl__refmark *was = &m->refs[r];
        size_t len = was->len;
        if (ref->len != len) {
            free(ref->p);
            *ref = (pl__ref){ copy_of(was->copy, len), len };
        } else if (was->zero == NULL || ref->p != was->live ||
                   !put_back_scanned(m->pagemap, was, ref->p)) {
            put_back(ref->p, was->copy, len);
        }
    }
    rt->nrefs = m->rt.nrefs;
    rt->next_task = m->rt.next_task;    /* the same ids again */
    rt->next_comp = m->rt.next_comp;
    rt->call_seq = m->rt.call_seq;
    rt->trace = m->rt.trace;
    h->nlog = m->nlog;                  /* and their bytes: */
    h->bytes.cur = m->at.cur;
    h->bytes.used = m->at.used;
    list_pooled(h);
    return 0;
}

#if defined(__clang__) && __clang_major__ >= 13
#pragma clang attribute pop
#endif
