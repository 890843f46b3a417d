/* serve_cache.c — small files in shared memory, answered without I/O.
 *
 * A direct-mapped table in one shared ref: a request whose file is here
 * (and was checked less than a second ago) is answered inside the
 * connection handler with one send, and the next pipelined request is read
 * from the same buffer. A miss opens the file; a small regular file is then
 * read and put here. Entries are checked again after a second (one open and
 * stat), so a changed file is served at most a second late. An entry also
 * keeps the head of a plain 200 for its bytes (serve_resp.c), built when it
 * is put and so replaced with it.
 *
 * Precompressed sidecars are kept the same way, in entries of their own
 * keyed by the file's path and their coding. The file's entry says which
 * sidecars were beside it, no older than it, when it was checked (or that
 * nobody looked yet); a request that accepts encodings picks among those, so
 * neither a file with sidecars nor one without costs an open or a stat per
 * request. A sidecar's entry holds the file's stat from that check, and is
 * used only while the file's entry has the same one: when the file changes,
 * its new entry comes from a new look at the sidecars, and a sidecar older
 * than the new file is not served from here either.
 */
#include "apps/serve.h"
#include "runtime/assert.h"

#include <string.h>

static uint64_t hash_path(const char *p)
{
    uint64_t h = 1469598103934665603ull;            /* FNV-1a */
    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h | 1;                                   /* 0 marks an empty slot */
}

/* The slot of a representation: a file's sidecars follow its own slot (by
 * their coding bits: +1, +2, +4), so that they never push it out, nor it
 * them. */
static size_t slot(uint64_t h, unsigned enc, size_t slots)
{
    return (size_t)((h % slots + enc) % slots);
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

/* The entry of path (h: its hash) with representation enc, if fresh. */
static const serve_entry *mem_get(serve_cache *k, const char *path, uint64_t h, unsigned enc,
                                  int64_t now)
{
    const serve_entry *e = &k->e[slot(h, enc, k->slots)];
    if (e->hash != h || e->v.enc != enc || strcmp(e->path, path) != 0 || now >= e->until_s)
        return NULL;
    return e;
}

const serve_entry *serve_cache_get(pl_ctx *cx, const serve_refs *r, const char *path)
{
    return mem_get(cache_of(cx, r), path, hash_path(path), 0, serve_now(cx, r));
}

static void forget_fd(pl_ctx *cx, serve_fds *f, const char *path, uint64_t h, unsigned enc);

/* A representation put in one table leaves the other, so that a file that
 * grew or shrank past SERVE_CACHE_BODY is not served from both. */
const serve_entry *serve_cache_put(pl_ctx *cx, const serve_refs *r, const char *path,
                                   const pl_stat *st, const uint8_t *body, size_t len,
                                   const serve_variant *v)
{
    size_t plen = strlen(path);
    if (plen >= sizeof((serve_entry *)0)->path || len > SERVE_CACHE_BODY)
        return NULL;
    serve_variant none = { .enc = 0 };
    if (v == NULL)
        v = &none;
    uint64_t h = hash_path(path);
    serve_cache *k = cache_of(cx, r);
    forget_fd(cx, &k->fds, path, h, v->enc);        /* it was large until now */
    serve_entry *e = &k->e[slot(h, v->enc, k->slots)];
    e->hash = h;
    e->until_s = serve_now(cx, r) + 2;              /* this second and the next */
    e->st = *st;
    e->v = *v;
    memcpy(e->path, path, plen + 1);
    memcpy(e->body, body, len);
    e->body_len = (uint32_t)len;
    serve_rep p = { e->path, &e->st, e->v.enc, serve_vary(&e->v) };
    serve_head_keep(cx, r, &p, &e->head);           /* the same for most requests */
    return e;
}

/* The cache key of a request path: a directory's index.html. */
bool serve_cache_key(const char *path, bool dir_slash, char *key, size_t cap)
{
    size_t n = strlen(path);
    bool dir = n == 0 || dir_slash;
    bool sep = dir && n > 0 && path[n - 1] != '/';
    size_t need = n + (dir ? sep + 10 : 0) + 1;
    if (need > cap)
        return false;
    memcpy(key, path, n);
    if (sep)
        key[n++] = '/';
    if (dir)
        memcpy(key + n, "index.html", 10), n += 10;
    key[n] = 0;
    return true;
}

/* ---- open files ---------------------------------------------------------------
 *
 * A file too big for the table above is sent with SENDFILE from an open
 * descriptor. Opening it, a stat and a close for every request cost three
 * system calls; instead the descriptor stays open in a small direct-mapped
 * table, checked again after a second like the entries above. A descriptor
 * is shared by every send in flight from it, so it is counted: the cache's
 * own hold while an entry names it, plus one per send. It is closed when the
 * count falls to zero — its entry replaced or expired, and its last send
 * done. Expired entries are let go as requests pass by, one slot each; all
 * of them every second (serve_fds_expire), since requests waiting for a
 * descriptor slot pass by no more; and every entry when the last connection
 * closes: an idle server holds no file.
 */

static serve_fds *fds_of(pl_ctx *cx, const serve_refs *r)
{
    return &cache_of(cx, r)->fds;
}

static void drop(pl_ctx *cx, serve_fds *f, int fd)
{
    PL_ASSERT(fd >= 0 && fd < SERVE_FDS_MAX && f->users[fd] > 0);
    if (--f->users[fd] > 0)
        return;
    pl_cmd close = pl_cmd_close(fd);
    pl_send(cx, &close, NULL, NULL, 0);
}

/* The entry leaves the table: the cache's hold on its descriptor ends. */
static void evict(pl_ctx *cx, serve_fds *f, serve_fd_entry *e)
{
    if (e->hash == 0)
        return;
    e->hash = 0;
    drop(cx, f, e->fd);
}

/* One slot per call, in turn: an entry past its time is let go, so a file
 * nobody asks for again is not held open for long. */
static void sweep(pl_ctx *cx, const serve_refs *r, serve_fds *f)
{
    serve_fd_entry *e = &f->e[f->sweep++ % SERVE_FDS_SLOTS];
    if (e->hash != 0 && serve_now(cx, r) >= e->until_s)
        evict(cx, f, e);
}

static const serve_fd_entry *fd_get(serve_fds *f, const char *path, uint64_t h, unsigned enc,
                                    int64_t now)
{
    const serve_fd_entry *e = &f->e[slot(h, enc, SERVE_FDS_SLOTS)];
    if (e->hash != h || e->v.enc != enc || strcmp(e->path, path) != 0 || now >= e->until_s)
        return NULL;
    return e;
}

static void forget_fd(pl_ctx *cx, serve_fds *f, const char *path, uint64_t h, unsigned enc)
{
    serve_fd_entry *e = &f->e[slot(h, enc, SERVE_FDS_SLOTS)];
    if (e->hash == h && e->v.enc == enc && strcmp(e->path, path) == 0)
        evict(cx, f, e);
}

bool serve_fds_put(pl_ctx *cx, const serve_refs *r, const char *path, const pl_stat *st,
                   int fd, const serve_variant *v)
{
    size_t plen = strlen(path);
    const serve_state *state = pl_ref_get(cx, r->conns, NULL);
    if (fd < 0 || fd >= SERVE_FDS_MAX || plen >= sizeof((serve_fd_entry *)0)->path ||
        state->draining)                            /* about to exit: keep nothing */
        return false;
    serve_fds *f = fds_of(cx, r);
    PL_ASSERT(f->users[fd] == 0);
    uint64_t h = hash_path(path);
    serve_cache *k = cache_of(cx, r);
    serve_entry *m = &k->e[slot(h, v->enc, k->slots)];
    if (m->hash == h && m->v.enc == v->enc && strcmp(m->path, path) == 0)
        m->hash = 0;                                /* it was small until now */
    serve_fd_entry *e = &f->e[slot(h, v->enc, SERVE_FDS_SLOTS)];
    evict(cx, f, e);                                /* older, or another path */
    e->hash = h;
    e->until_s = serve_now(cx, r) + 2;              /* this second and the next */
    e->st = *st;
    e->fd = fd;
    e->v = *v;
    memcpy(e->path, path, plen + 1);
    serve_rep p = { e->path, &e->st, e->v.enc, serve_vary(&e->v) };
    serve_head_keep(cx, r, &p, &e->head);
    f->users[fd] = 2;                               /* the cache's, and the caller's */
    return true;
}

/* ---- lookups ------------------------------------------------------------------- */

static bool same_file(const pl_stat *a, const pl_stat *b)
{
    return a->ino == b->ino && a->dev == b->dev && a->size == b->size &&
           a->mtime_s == b->mtime_s && a->mtime_ns == b->mtime_ns;
}

/* The representation enc of the file at key, from memory or kept open, if
 * it was checked against the file as it is now cached (st). */
static bool variant(serve_cache *k, const char *key, uint64_t hash, unsigned enc,
                    const pl_stat *st, int64_t now, serve_hit *h)
{
    h->mem = mem_get(k, key, hash, enc, now);
    h->fd = h->mem != NULL ? NULL : fd_get(&k->fds, key, hash, enc, now);
    const serve_variant *v = h->mem != NULL ? &h->mem->v : h->fd != NULL ? &h->fd->v : NULL;
    return v != NULL && same_file(&v->file, st);
}

/* The file's entry first: it says which sidecars there are. A client
 * without Accept-Encoding, or with one too long to keep (it counts as
 * none, as on the way to the file), gets the file itself; so does one that
 * takes none of the sidecars. One that takes a sidecar gets it when its
 * entry is there too; else the lookup goes to the disk, which refills both. */
bool serve_cache_find(pl_ctx *cx, const serve_refs *r, const char *key, pl_str accept_encoding,
                      serve_hit *h)
{
    serve_cache *k = cache_of(cx, r);
    int64_t now = serve_now(cx, r);
    uint64_t hash = hash_path(key);
    h->mem = mem_get(k, key, hash, 0, now);
    h->fd = NULL;
    if (h->mem == NULL) {
        sweep(cx, r, &k->fds);
        h->fd = fd_get(&k->fds, key, hash, 0, now);
        if (h->fd == NULL)
            return false;
    }
    const serve_variant *v = h->mem != NULL ? &h->mem->v : &h->fd->v;
    if (accept_encoding.len == 0 || accept_encoding.len >= SERVE_STR)
        return true;
    if (!v->looked)
        return false;                               /* the sidecars are unknown */
    unsigned enc = v->sidecars ? pl_http_pick_encoding(accept_encoding, v->sidecars) : 0;
    if (enc == 0)
        return true;
    return variant(k, key, hash, enc, h->mem != NULL ? &h->mem->st : &h->fd->st, now, h);
}

void serve_fds_use(pl_ctx *cx, const serve_refs *r, int fd)
{
    serve_fds *f = fds_of(cx, r);
    PL_ASSERT(fd >= 0 && fd < SERVE_FDS_MAX && f->users[fd] > 0);
    f->users[fd]++;
}

/* The last SENDFILE of a response from a kept file ends its use. */
typedef struct kept_mem { serve_refs refs; int file; } kept_mem;

static pl_verdict on_kept_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const kept_mem *m = mem;
    serve_fds_release(cx, &m->refs, m->file);
    return PL_DONE;
}
PL_HANDLER(serve_h_kept_sent, on_kept_sent);

void serve_kept_send(pl_ctx *cx, const serve_refs *r, const pl_cmd *send, int fd)
{
    kept_mem m = { *r, fd };
    pl_send(cx, send, &serve_h_kept_sent, &m, sizeof m);
}

/* A send is done. While the server drains, its file leaves the cache too,
 * so that it is closed once no send uses it. */
void serve_fds_release(pl_ctx *cx, const serve_refs *r, int fd)
{
    serve_fds *f = fds_of(cx, r);
    const serve_state *state = pl_ref_get(cx, r->conns, NULL);
    for (int i = 0; state->draining && i < SERVE_FDS_SLOTS; i++)
        if (f->e[i].hash != 0 && f->e[i].fd == fd)
            evict(cx, f, &f->e[i]);
    drop(cx, f, fd);
}

void serve_fds_expire(pl_ctx *cx, const serve_refs *r)
{
    serve_fds *f = fds_of(cx, r);
    int64_t now = serve_now(cx, r);
    for (int i = 0; i < SERVE_FDS_SLOTS; i++)
        if (f->e[i].hash != 0 && now >= f->e[i].until_s)
            evict(cx, f, &f->e[i]);
}

void serve_fds_idle(pl_ctx *cx, const serve_refs *r)
{
    serve_fds *f = fds_of(cx, r);
    for (int i = 0; i < SERVE_FDS_SLOTS; i++)
        evict(cx, f, &f->e[i]);
}
