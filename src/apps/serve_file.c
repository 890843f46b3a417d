/* serve_file.c — from a request's OPEN to the bytes that answer it: which
 * file (or which of its representations), whether to keep it in the caches,
 * and what stands in for a path that is missing. The response itself is
 * written by serve_resp.c.
 *
 * A regular file up to SERVE_CACHE_BODY is read whole into the small-file
 * cache and answered from there; a larger one is kept open by the open-file
 * cache (serve_cache.c) and sent with SENDFILE. For a client that sends
 * Accept-Encoding, its precompressed sidecars are looked for first
 * (serve_side.c), and the one sent is kept the same way.
 *
 * Directories: without a trailing slash a 301 to the slashed path (query
 * kept); with one, the index.html inside, or with --list-dirs a listing when
 * there is none. A missing path may be answered by the --spa file; other
 * 404s by 404.html (serve_page.c).
 */
#include "apps/serve.h"
#include "http/mime.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

size_t serve_req_size(const serve_req *r)
{
    return offsetof(serve_req, path) + strlen(r->path) + 1;
}

static int open_error_status(int err)
{
    switch (-err) {
    case EACCES: case EPERM: return 403;
    case EMFILE: case ENFILE: case ENOMEM: return 503;
    case EIO: return 500;
    default: return 404;              /* ENOENT, ENOTDIR, ELOOP, EXDEV, ... */
    }
}

/* A response without a file; a 404 may carry 404.html. Then the next request. */
static void fail(pl_ctx *cx, const serve_req *r, int status)
{
    if (status == 404) {
        serve_not_found(cx, &r->conn, r->method, r->keep_alive, r->minor);
        return;
    }
    serve_simple(cx, &r->conn, status, r->method == PL_HTTP_HEAD, !r->keep_alive, NULL, NULL);
    serve_next(cx, &r->conn, r->keep_alive);
}

/* A directory: redirect to the slashed path, or open its index.html. */
static void directory(pl_ctx *cx, const serve_req *r, int fd)
{
    serve_close_file(cx, fd);
    const serve_conn *c = &r->conn;
    bool head = r->method == PL_HTTP_HEAD;
    if (!r->dir_slash && r->path[0] != 0) {
        char location[3 * PL_PATH_MAX + 600];
        size_t n = pl_http_encode_path(r->path, location + 1, sizeof location - 600);
        location[0] = '/';
        snprintf(location + 1 + n, sizeof location - 1 - n, "/%s", r->query);
        serve_simple(cx, c, 301, head, !r->keep_alive, location, NULL);
        serve_next(cx, c, r->keep_alive);
        return;
    }
    serve_req next;
    size_t plen = strlen(r->path);
    memcpy(&next, r, serve_req_size(r));            /* all the task holds */
    int n = snprintf(next.path, sizeof next.path, "%s%sindex.html", r->path,
                     plen > 0 && r->path[plen - 1] != '/' ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof next.path || r->index) {
        fail(cx, r, 404);
        return;
    }
    next.index = true;
    pl_cmd open = pl_cmd_open(c->refs.root, next.path, 0);
    pl_send(cx, &open, &serve_h_opened, &next, serve_req_size(&next));
}

static void respond(pl_ctx *cx, const serve_req *r, int fd, const serve_rep *p, bool kept)
{
    pl_http_req q = serve_conditions(r);
    serve_send_open(cx, &r->conn, &q, fd, p, kept, NULL);
    serve_next(cx, &r->conn, r->keep_alive);
}

/* A small file: read it whole, keep it in the cache, answer from there. */
typedef struct read_mem { pl_stat st; int file; serve_variant v; serve_req r; } read_mem;

static pl_verdict on_read(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const read_mem *m = mem;
    const serve_entry *e = NULL;
    if (a->err == 0 && a->len == m->st.size)
        e = serve_cache_put(cx, &m->r.conn.refs, m->r.path, &m->st, a->data, a->len, &m->v);
    if (e == NULL) {                      /* changed under us, or not cacheable */
        serve_rep p = { m->r.path, &m->st, m->v.enc, serve_vary(&m->v) };
        respond(cx, &m->r, m->file, &p, false);
        return PL_DONE;
    }
    serve_close_file(cx, m->file);
    pl_http_req q = serve_conditions(&m->r);
    serve_from_entry(cx, &m->r.conn, &q, e, NULL);
    serve_next(cx, &m->r.conn, m->r.keep_alive);
    return PL_DONE;
}
PL_HANDLER(serve_h_read, on_read);

void serve_send_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st,
                     const serve_variant *v)
{
    size_t plen = strlen(r->path);
    if (st->size > SERVE_CACHE_BODY || plen >= sizeof((serve_entry *)0)->path) {
        serve_rep p = { r->path, st, v->enc, serve_vary(v) };
        bool kept = serve_fds_put(cx, &r->conn.refs, r->path, st, fd, v);
        respond(cx, r, fd, &p, kept);
        return;
    }
    read_mem m;
    m.st = *st;
    m.file = fd;
    m.v = *v;
    memcpy(&m.r, r, serve_req_size(r));
    pl_cmd read = pl_cmd_read(fd, 0, st->size);
    pl_send(cx, &read, &serve_h_read, &m, offsetof(read_mem, r) + serve_req_size(r));
}

/* A client that accepts encodings may get a sidecar (serve_side.c). */
static void regular_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st)
{
    if (r->accept_encoding[0] != 0) {
        serve_sidecars(cx, r, fd, st);
        return;
    }
    serve_variant v = { .enc = 0 };       /* the file itself; its sidecars unknown */
    serve_send_file(cx, r, fd, st, &v);
}

/* ---- missing paths: --spa, listings ---------------------------------------------- */

/* --spa answers a path that does not exist and looks like a route: no
 * extension on its last segment (so a missing /app.js stays 404), no dot
 * segment; an index.html that a directory lacks is not such a path. */
static bool spa_applies(const serve_cfg *cfg, const serve_req *r, int err)
{
    if (cfg->spa[0] == 0 || r->spa || r->index || (err != -ENOENT && err != -ENOTDIR))
        return false;
    size_t n = strlen(r->path);
    for (size_t i = 0; i < n; i++)
        if (r->path[i] == '.' && (i == 0 || r->path[i - 1] == '/'))
            return false;
    return r->dir_slash || !pl_http_has_extension(r->path, n);
}

static void spa(pl_ctx *cx, const serve_req *r, const serve_cfg *cfg)
{
    serve_req next;
    memcpy(&next, r, offsetof(serve_req, path));
    snprintf(next.path, sizeof next.path, "%s", cfg->spa);
    next.spa = true;
    next.dir_slash = false;
    const serve_conn *c = &r->conn;
    serve_hit hit;
    if (serve_cache_find(cx, &c->refs, next.path, serve_str(r->accept_encoding), &hit)) {
        pl_http_req q = serve_conditions(&next);
        serve_from_hit(cx, c, &q, &hit, NULL);
        serve_next(cx, c, r->keep_alive);
        return;
    }
    pl_cmd open = pl_cmd_open(c->refs.root, next.path, 0);
    pl_send(cx, &open, &serve_h_opened, &next, serve_req_size(&next));
}

static void missing(pl_ctx *cx, const serve_req *r, int err)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &r->conn.refs);
    if (cfg->list_dirs && r->index && err == -ENOENT)
        serve_list(cx, r);
    else if (spa_applies(cfg, r, err))
        spa(cx, r, cfg);
    else
        fail(cx, r, open_error_status(err));
}

static pl_verdict serve_on_opened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_req *r = mem;
    if (a->err != 0) {
        missing(cx, r, a->err);
        return PL_DONE;
    }
    if (a->st.type == PL_FT_DIR && !r->spa) {
        directory(cx, r, a->fd);
        return PL_DONE;
    }
    if (a->st.type != PL_FT_FILE || (r->dir_slash && !r->index)) {   /* "/file.txt/" */
        serve_close_file(cx, a->fd);
        fail(cx, r, 404);
        return PL_DONE;
    }
    regular_file(cx, r, a->fd, &a->st);
    return PL_DONE;
}
PL_HANDLER(serve_h_opened, serve_on_opened);
