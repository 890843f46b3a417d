/* serve_side.c — precompressed sidecars: which one a client gets.
 *
 * For a client that sends Accept-Encoding, FILE.br, FILE.zst and FILE.gz
 * are opened in the client's order of preference (its q-values, ties
 * br > zstd > gzip), then the ones it does not take. The first it takes
 * that is a regular file no older than FILE is sent instead of FILE, with
 * Content-Encoding, FILE's type, an ETag of its own ("...-br") and
 * Vary: Accept-Encoding; ranges and preconditions apply to its bytes. A file
 * with any sidecar gets Vary on its identity responses as well.
 *
 * Every sidecar is looked for, even after the one to send is found, so that
 * the cache learns the whole answer: FILE's entry records which sidecars
 * are there (none, too), and the sidecar sent gets an entry of its own
 * (serve_cache.c). Later requests, whatever they accept, are then answered
 * without an open until the entries are checked again. When a sidecar is
 * sent, FILE is kept in the cache beside it (read, or held open) for that.
 */
#include "apps/serve.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct side_mem {
    int file;                   /* the file asked for, open */
    pl_stat st;
    unsigned tried;             /* coding bits looked for */
    unsigned cand;              /* the one being opened */
    bool wanted;                /* cand is the client's choice among those not tried */
    unsigned found;             /* sidecars there, no older than the file */
    unsigned chosen;            /* the one to send (0: none yet) */
    int side;                   /* its descriptor */
    pl_stat side_st;
    serve_req r;
} side_mem;

/* FILE itself, kept in the cache while a sidecar is sent: its bytes when
 * small (the read's answer puts them there), else its descriptor. */
typedef struct keep_mem {
    serve_refs refs;
    pl_stat st;
    int file;
    serve_variant v;
    char path[PL_PATH_MAX];     /* last: tasks copy it up to its end */
} keep_mem;

static pl_verdict on_keep_read(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const keep_mem *m = mem;
    if (a->err == 0 && a->len == m->st.size)      /* else changed under us: not kept */
        serve_cache_put(cx, &m->refs, m->path, &m->st, a->data, a->len, &m->v);
    serve_close_file(cx, m->file);
    return PL_DONE;
}
PL_HANDLER(serve_h_keep_read, on_keep_read);

static void keep_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st,
                      const serve_variant *v)
{
    const serve_refs *refs = &r->conn.refs;
    size_t plen = strlen(r->path);
    if (plen >= sizeof((serve_entry *)0)->path) {
        serve_close_file(cx, fd);                 /* too long a path to keep */
    } else if (st->size > SERVE_CACHE_BODY) {
        if (serve_fds_put(cx, refs, r->path, st, fd, v))
            serve_fds_release(cx, refs, fd);      /* no send of ours uses it */
        else
            serve_close_file(cx, fd);
    } else {
        keep_mem m = { .refs = *refs, .st = *st, .file = fd, .v = *v };
        memcpy(m.path, r->path, plen + 1);
        pl_cmd read = pl_cmd_read(fd, 0, st->size);
        pl_send(cx, &read, &serve_h_keep_read, &m, offsetof(keep_mem, path) + plen + 1);
    }
}

/* Every sidecar was looked for: send the chosen one, or the file. */
static void looked(pl_ctx *cx, const side_mem *m)
{
    serve_variant v = { .enc = 0, .sidecars = (uint8_t)m->found, .looked = true, .file = m->st };
    if (m->chosen == 0) {
        serve_send_file(cx, &m->r, m->file, &m->st, &v);
        return;
    }
    keep_file(cx, &m->r, m->file, &m->st, &v);
    v.enc = (uint8_t)m->chosen;                   /* valid while FILE's entry has m->st */
    serve_send_file(cx, &m->r, m->side, &m->side_st, &v);
}

/* Open the next sidecar to look for; after the last, answer. */
static void next_sidecar(pl_ctx *cx, side_mem *m)
{
    for (;;) {
        unsigned left = 7u & ~m->tried;
        unsigned c = m->chosen ? 0 : pl_http_pick_encoding(serve_str(m->r.accept_encoding), left);
        m->wanted = c != 0;
        if (c == 0)
            c = left & (0u - left);               /* the rest, in turn: for the cache */
        if (c == 0) {
            looked(cx, m);
            return;
        }
        m->cand = c;
        m->tried |= c;
        char path[PL_PATH_MAX];
        int n = snprintf(path, sizeof path, "%s.%s", m->r.path, serve_coding_ext(c));
        if (n < 0 || (size_t)n >= sizeof path)
            continue;                             /* a name too long cannot be there */
        pl_cmd open = pl_cmd_open(m->r.conn.refs.root, path, 0);
        pl_send(cx, &open, &serve_h_sidecar, m, offsetof(side_mem, r) + serve_req_size(&m->r));
        return;
    }
}

static bool older(const pl_stat *a, const pl_stat *b)
{
    return a->mtime_s < b->mtime_s || (a->mtime_s == b->mtime_s && a->mtime_ns < b->mtime_ns);
}

static pl_verdict on_sidecar(pl_ctx *cx, void *mem, const pl_answer *a)
{
    side_mem *m = mem;
    /* Missing, not a file, or stale (FILE changed since): not there. */
    bool there = a->err == 0 && a->st.type == PL_FT_FILE && !older(&a->st, &m->st);
    if (there)
        m->found |= m->cand;
    if (there && m->wanted) {
        m->chosen = m->cand;
        m->side = a->fd;
        m->side_st = a->st;
    } else if (a->err == 0) {
        serve_close_file(cx, a->fd);
    }
    next_sidecar(cx, m);
    return PL_DONE;
}
PL_HANDLER(serve_h_sidecar, on_sidecar);

void serve_sidecars(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st)
{
    side_mem m;
    m.file = fd;
    m.st = *st;
    m.tried = m.cand = m.found = m.chosen = 0;
    m.wanted = false;
    m.side = -1;
    m.side_st = (pl_stat){ 0 };
    memcpy(&m.r, r, serve_req_size(r));
    next_sidecar(cx, &m);
}
