/* kv_store.c — the key-value store, kept entirely in shared refs.
 *
 * The index ref is a header and an open-addressing table (linear probing)
 * of { hash, value ref, tag }; a deleted key leaves a tombstone so that the
 * probe chains through it stay whole. The key itself lives in its value's
 * ref, so a slot is 16 bytes and a lookup compares keys only on a hash hit.
 * The table is rebuilt (twice as large, or the same size without the
 * tombstones) when live slots and tombstones pass three quarters of it; the
 * old table waits in the spare ref meanwhile, so nothing of the store is
 * ever outside the runtime's refs.
 *
 * Refs cannot be freed, so a value's ref, once replaced or deleted, is
 * shrunk to a kv_cell header and chained from index->free_head; the next
 * value takes it. The number of refs is at most the peak number of values
 * plus the bodies being received at once.
 *
 * Hashes are XXH3 with a seed from the start time: a client cannot choose
 * keys that all land in one probe chain without knowing it.
 */
#include "apps/kv.h"
#include "runtime/assert.h"

#include <string.h>
#include <xxhash.h>

enum { KV_CAP_MIN = 1024 };

static size_t index_size(uint32_t cap) { return sizeof(kv_index) + (size_t)cap * sizeof(kv_slot); }

static kv_index *index_mut(pl_ctx *cx, const kv_refs *r)
{
    return pl_ref_mut(cx, r->index, NULL);
}

kv_refs kv_state_new(pl_ctx *cx, const kv_cfg *cfg)
{
    kv_refs r;
    r.index = pl_ref_new(cx, NULL, index_size(KV_CAP_MIN));
    kv_index *ix = index_mut(cx, &r);
    ix->cap = KV_CAP_MIN;
    ix->keys_max = cfg->keys_max;
    ix->bytes_max = cfg->bytes_max;
    r.spare = pl_ref_new(cx, NULL, 0);
    r.clock = pl_ref_new(cx, NULL, sizeof(pl_app_clock));
    return r;
}

void kv_set_seed(pl_ctx *cx, const kv_refs *r, uint64_t seed)
{
    kv_index *ix = index_mut(cx, r);
    PL_ASSERT(ix->keys == 0);                 /* hashes in the table depend on it */
    ix->seed = seed;
}

void kv_set_full(pl_ctx *cx, const kv_refs *r, bool full) { index_mut(cx, r)->full = full; }

bool kv_full(pl_ctx *cx, const kv_refs *r)
{
    const kv_index *ix = pl_ref_get(cx, r->index, NULL);
    return ix->full != 0;
}

static const kv_cell *cell_get(pl_ctx *cx, pl_ref ref, size_t *len)
{
    const kv_cell *c = pl_ref_get(cx, ref, len);
    PL_ASSERT(c->key_len != KV_FREE);
    return c;
}

/* Key and value bytes of a stored cell: what counts against bytes_max. */
static uint64_t cell_bytes(pl_ctx *cx, pl_ref ref)
{
    size_t len;
    cell_get(cx, ref, &len);
    return len - sizeof(kv_cell);
}

static uint64_t key_hash(const kv_index *ix, const char *key, size_t klen)
{
    return XXH3_64bits_withSeed(key, klen, ix->seed);
}

/* The slot holding key, or -1; then *insert (when given) is where it would
 * go: the first tombstone of its chain, else the empty slot ending it. The
 * load limit keeps an empty slot in every table, so probing ends. */
static long find(pl_ctx *cx, const kv_index *ix, const char *key, size_t klen, uint64_t h,
                 uint32_t *insert)
{
    uint32_t mask = ix->cap - 1, tomb = UINT32_MAX, i = (uint32_t)h & mask;
    for (uint32_t n = 0; n < ix->cap; n++, i = (i + 1) & mask) {
        const kv_slot *s = &ix->slot[i];
        if (s->tag == KV_EMPTY)
            break;
        if (s->tag == KV_TOMB) {
            if (tomb == UINT32_MAX)
                tomb = i;
            continue;
        }
        if (s->hash != h)
            continue;
        const kv_cell *c = cell_get(cx, s->ref, NULL);
        if (c->key_len == klen && memcmp(c + 1, key, klen) == 0)
            return (long)i;
    }
    PL_ASSERT(ix->slot[i].tag == KV_EMPTY || tomb != UINT32_MAX);
    if (insert)
        *insert = tomb != UINT32_MAX ? tomb : i;
    return -1;
}

/* Rebuild the table with cap slots: the old one is copied to the spare ref
 * and its live slots reinserted (no key comparisons: keys are distinct). */
static void rebuild(pl_ctx *cx, const kv_refs *r, uint32_t cap)
{
    size_t len;
    const kv_index *cur = pl_ref_get(cx, r->index, &len);
    pl_ref_set(cx, r->spare, cur, len);
    const kv_index *old = pl_ref_get(cx, r->spare, NULL);
    pl_ref_set(cx, r->index, NULL, index_size(cap));
    kv_index *ix = index_mut(cx, r);
    *ix = *old;                               /* the header only */
    ix->cap = cap;
    ix->tombs = 0;
    for (uint32_t j = 0; j < old->cap; j++) {
        if (old->slot[j].tag != KV_LIVE)
            continue;
        uint32_t i = (uint32_t)old->slot[j].hash & (cap - 1);
        while (ix->slot[i].tag != KV_EMPTY)
            i = (i + 1) & (cap - 1);
        ix->slot[i] = old->slot[j];
    }
    pl_ref_set(cx, r->spare, NULL, 0);
}

/* Before an insert: keep live slots and tombstones under 3/4 of the table,
 * and live ones under 1/2 after a rebuild. */
static void make_room(pl_ctx *cx, const kv_refs *r)
{
    const kv_index *ix = pl_ref_get(cx, r->index, NULL);
    if ((uint64_t)(ix->keys + ix->tombs + 1) * 4 <= (uint64_t)ix->cap * 3)
        return;
    uint32_t cap = ix->cap;
    while ((uint64_t)(ix->keys + 1) * 2 > cap)
        cap *= 2;
    rebuild(cx, r, cap);
}

const uint8_t *kv_get(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen,
                      size_t *len)
{
    const kv_index *ix = pl_ref_get(cx, r->index, NULL);
    long i = find(cx, ix, key, klen, key_hash(ix, key, klen), NULL);
    if (i < 0)
        return NULL;
    size_t clen;
    const kv_cell *c = cell_get(cx, ix->slot[i].ref, &clen);
    *len = clen - sizeof *c - c->key_len;
    return (const uint8_t *)(c + 1) + c->key_len;
}

int kv_fits(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen, uint64_t len)
{
    const kv_index *ix = pl_ref_get(cx, r->index, NULL);
    long i = find(cx, ix, key, klen, key_hash(ix, key, klen), NULL);
    uint64_t old = i >= 0 ? cell_bytes(cx, ix->slot[i].ref) : 0;
    if (i < 0 && ix->keys >= ix->keys_max)
        return -507;
    if (ix->bytes - old + klen + len > ix->bytes_max)
        return -507;
    return 0;
}

void kv_cell_free(pl_ctx *cx, const kv_refs *r, pl_ref cell)
{
    kv_index *ix = index_mut(cx, r);
    kv_cell c = { KV_FREE, ix->free_head };
    pl_ref_set(cx, cell, &c, sizeof c);       /* drops the value's bytes */
    ix->free_head = cell + 1;
}

/* A free cell's ref, or a new one. */
static pl_ref cell_take(pl_ctx *cx, const kv_refs *r)
{
    kv_index *ix = index_mut(cx, r);
    if (ix->free_head == 0)
        return pl_ref_new(cx, NULL, sizeof(kv_cell));
    pl_ref ref = ix->free_head - 1;
    const kv_cell *c = pl_ref_get(cx, ref, NULL);
    PL_ASSERT(c->key_len == KV_FREE);
    ix->free_head = c->next;
    return ref;
}

pl_ref kv_cell_new(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen, size_t cap)
{
    PL_ASSERT(klen > 0 && klen <= KV_KEY_MAX);
    pl_ref ref = cell_take(cx, r);
    pl_ref_set(cx, ref, NULL, sizeof(kv_cell) + klen + cap);
    kv_cell *c = pl_ref_mut(cx, ref, NULL);
    c->key_len = (uint32_t)klen;
    memcpy(c + 1, key, klen);
    return ref;
}

uint8_t *kv_cell_value(pl_ctx *cx, pl_ref cell)
{
    kv_cell *c = pl_ref_mut(cx, cell, NULL);
    PL_ASSERT(c->key_len <= KV_KEY_MAX);
    return (uint8_t *)(c + 1) + c->key_len;
}

/* A cell of exactly need bytes with the first need bytes of cell (a chunked
 * body was received into room for the largest one); cell is freed. */
static pl_ref shrink(pl_ctx *cx, const kv_refs *r, pl_ref cell, size_t need)
{
    pl_ref n = cell_take(cx, r);
    pl_ref_set(cx, n, pl_ref_get(cx, cell, NULL), need);
    kv_cell_free(cx, r, cell);
    return n;
}

/* Put cell (key and value) in the table, freeing the value it replaces. */
static void store(pl_ctx *cx, const kv_refs *r, pl_ref cell)
{
    const kv_cell *c = cell_get(cx, cell, NULL);
    const char *key = (const char *)(c + 1);
    make_room(cx, r);
    kv_index *ix = index_mut(cx, r);
    uint64_t h = key_hash(ix, key, c->key_len);
    uint32_t at;
    long i = find(cx, ix, key, c->key_len, h, &at);
    ix->bytes += cell_bytes(cx, cell);
    if (i >= 0) {
        pl_ref old = ix->slot[i].ref;
        ix->bytes -= cell_bytes(cx, old);
        ix->slot[i].ref = cell;
        kv_cell_free(cx, r, old);
        return;
    }
    if (ix->slot[at].tag == KV_TOMB)
        ix->tombs--;
    ix->slot[at] = (kv_slot){ h, cell, KV_LIVE };
    ix->keys++;
}

int kv_commit(pl_ctx *cx, const kv_refs *r, pl_ref cell, uint64_t len)
{
    size_t clen;
    const kv_cell *c = cell_get(cx, cell, &clen);
    size_t need = sizeof *c + c->key_len + (size_t)len;
    PL_ASSERT(need <= clen);
    int rc = kv_full(cx, r) ? -503 : kv_fits(cx, r, (const char *)(c + 1), c->key_len, len);
    if (rc != 0) {
        kv_cell_free(cx, r, cell);
        return rc;
    }
    if (need < clen)
        cell = shrink(cx, r, cell, need);
    store(cx, r, cell);
    return 0;
}

int kv_delete(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen)
{
    kv_index *ix = index_mut(cx, r);
    long i = find(cx, ix, key, klen, key_hash(ix, key, klen), NULL);
    if (i < 0)
        return -404;
    pl_ref old = ix->slot[i].ref;
    ix->bytes -= cell_bytes(cx, old);
    ix->slot[i].tag = KV_TOMB;
    ix->keys--;
    ix->tombs++;
    kv_cell_free(cx, r, old);
    return 0;
}

const char *kv_next_key(pl_ctx *cx, const kv_refs *r, uint32_t *pos, size_t *klen)
{
    const kv_index *ix = pl_ref_get(cx, r->index, NULL);
    for (; *pos < ix->cap; (*pos)++) {
        if (ix->slot[*pos].tag != KV_LIVE)
            continue;
        const kv_cell *c = cell_get(cx, ix->slot[(*pos)++].ref, NULL);
        *klen = c->key_len;
        return (const char *)(c + 1);
    }
    return NULL;
}
