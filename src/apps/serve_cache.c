/* serve_cache.c — small files in shared memory, answered without I/O.
 *
 * A direct-mapped table in one shared ref: a request whose file is here
 * (and was checked less than a second ago) is answered inside the
 * connection handler with one send, and the next pipelined request is read
 * from the same buffer. A miss opens the file; a small regular file is then
 * read and put here. Entries are checked again after a second (one open and
 * stat), so a changed file is served at most a second late.
 */
#include "apps/serve.h"

#include <string.h>

static uint64_t hash_path(const char *p)
{
    uint64_t h = 1469598103934665603ull;            /* FNV-1a */
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h | 1;                                   /* 0 marks an empty slot */
}

static serve_cache *cache_of(pl_ctx *cx, const serve_refs *r)
{
    return pl_ref_mut(cx, r->cache, NULL);
}

int64_t serve_now(pl_ctx *cx, const serve_refs *r)
{
    const serve_clock *k = pl_ref_get(cx, r->clock, NULL);
    return k->now_s;
}

const serve_entry *serve_cache_get(pl_ctx *cx, const serve_refs *r, const char *path)
{
    uint64_t h = hash_path(path);
    const serve_entry *e = &cache_of(cx, r)->e[h % SERVE_CACHE_SLOTS];
    if (e->hash != h || strcmp(e->path, path) != 0 || serve_now(cx, r) >= e->until_s)
        return NULL;
    return e;
}

const serve_entry *serve_cache_put(pl_ctx *cx, const serve_refs *r, const char *path,
                                   const pl_stat *st, const uint8_t *body, size_t len)
{
    size_t plen = strlen(path);
    if (plen >= sizeof((serve_entry *)0)->path || len > SERVE_CACHE_BODY)
        return NULL;
    uint64_t h = hash_path(path);
    serve_entry *e = &cache_of(cx, r)->e[h % SERVE_CACHE_SLOTS];
    e->hash = h;
    e->until_s = serve_now(cx, r) + 2;              /* this second and the next */
    e->st = *st;
    memcpy(e->path, path, plen + 1);
    memcpy(e->body, body, len);
    e->body_len = (uint32_t)len;
    return e;
}

/* The cache key of a request path: a directory's index.html. */
bool serve_cache_key(const char *path, bool dir_slash, char *key, size_t cap)
{
    size_t n = strlen(path);
    bool dir = n == 0 || dir_slash;
    const char *sep = n > 0 && path[n - 1] != '/' ? "/" : "";
    size_t need = n + (dir ? strlen(sep) + 10 : 0) + 1;
    if (need > cap)
        return false;
    memcpy(key, path, n + 1);
    if (dir) {
        strcat(key, sep);
        strcat(key, "index.html");
    }
    return true;
}
