/* serve_file.c — a request whose file is open: validators, preconditions,
 * ranges, the head, then the bytes with SENDFILE.
 *
 * Directories: without a trailing slash a 301 to the slashed path (query
 * kept); with one, the index.html inside, or with --list-dirs a listing when
 * there is none. A missing path may be answered by the --spa file; other
 * 404s by 404.html (serve_page.c). The file descriptor is closed once its
 * bytes are written (serve_on_file_sent), unless the open-file cache keeps it
 * for the next requests (serve_cache.c).
 *
 * Precompressed sidecars: for a client that sends Accept-Encoding, FILE.br,
 * FILE.zst and FILE.gz are opened in the client's order of preference (its
 * q-values, ties br > zstd > gzip). The first that is a regular file no older
 * than FILE is sent instead, with Content-Encoding, FILE's type, an ETag of
 * its own ("...-br") and Vary: Accept-Encoding; ranges and preconditions
 * apply to its bytes. When none the client accepts is there, the others are
 * looked for too: a file with any sidecar gets Vary on its identity response
 * as well, and one with none is marked so in the cache, which then answers
 * every client (serve_cache_suits).
 */
#include "apps/serve.h"
#include "http/mime.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

typedef struct file_mem { int file; } file_mem;

pl_verdict serve_on_file_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const file_mem *f = mem;
    pl_cmd close = pl_cmd_close(f->file);
    pl_send(cx, &close, NULL, NULL, 0);
    return PL_DONE;
}
PL_HANDLER(serve_h_file_sent, serve_on_file_sent);

static void close_file(pl_ctx *cx, int fd)
{
    pl_cmd close = pl_cmd_close(fd);
    pl_send(cx, &close, NULL, NULL, 0);
}

static pl_str str(const char *s) { return (pl_str){ s, strlen(s) }; }

/* The bytes of a task memory holding a serve_req that ends the struct. */
static size_t req_size(const serve_req *r)
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
    close_file(cx, fd);
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
    memcpy(&next, r, req_size(r));                  /* all the task holds */
    int n = snprintf(next.path, sizeof next.path, "%s%sindex.html", r->path,
                     plen > 0 && r->path[plen - 1] != '/' ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof next.path || r->index) {
        fail(cx, r, 404);
        return;
    }
    next.index = true;
    pl_cmd open = pl_cmd_open(c->refs.root, next.path, 0);
    pl_send(cx, &open, &serve_h_opened, &next, req_size(&next));
}

/* The request's headers, as the pure evaluators read them. */
static pl_http_req conditions(const serve_req *r)
{
    pl_http_req q;
    memset(&q, 0, offsetof(pl_http_req, nheaders));
    q.method = r->method;
    q.keep_alive = r->keep_alive;
    q.minor = r->minor;
    q.if_none_match = str(r->if_none_match);
    q.if_match = str(r->if_match);
    q.if_modified_since = str(r->if_modified_since);
    q.if_unmodified_since = str(r->if_unmodified_since);
    q.range = str(r->range);
    q.if_range = str(r->if_range);
    q.accept_encoding = str(r->accept_encoding);
    return q;
}

const char *serve_cache_control(const serve_cfg *cfg, const char *type)
{
    if (cfg->cache_control[0])
        return cfg->cache_control;
    return strncmp(type, "text/html", 9) == 0 ? "no-cache" : NULL;
}

/* Status after the preconditions and Range; fills the body and Content-Range. */
static int decide(const pl_http_req *q, const pl_http_validators *v, const pl_stat *st,
                  serve_body *b, char *crange, size_t cap)
{
    int status = pl_http_preconditions(q, v, true);
    b->off = 0;
    b->len = st->size;
    b->nparts = 0;
    b->size = st->size;
    crange[0] = 0;
    if (status != 200 || q->range.len == 0 || !pl_http_if_range(q, v))
        return status;
    int n = pl_http_parse_range(q->range, st->size, b->parts);
    if (n == -416) {
        snprintf(crange, cap, "bytes */%llu", (unsigned long long)st->size);
        return 416;
    }
    if (n == 0)
        return 200;
    if (n > 1) {
        b->nparts = n;
        pl_http_boundary(v->etag, b->boundary);
        return 206;
    }
    b->off = b->parts[0].first;
    b->len = b->parts[0].last - b->parts[0].first + 1;
    snprintf(crange, cap, "bytes %llu-%llu/%llu", (unsigned long long)b->parts[0].first,
             (unsigned long long)b->parts[0].last, (unsigned long long)st->size);
    return 206;
}

/* Precompressed sidecars, by pl_http_pick_encoding's bits. */
typedef struct coding { const char *ext, *name; } coding;
static const coding CODINGS[] = { { "br", "br" }, { "zst", "zstd" }, { "gz", "gzip" } };

static const coding *coding_of(unsigned bit)
{
    return bit == 1 ? &CODINGS[0] : bit == 2 ? &CODINGS[1] : bit == 4 ? &CODINGS[2] : NULL;
}

/* Which bytes a response sends: path names the type; st is of the file sent
 * (the sidecar's, when enc is one of the coding bits). */
typedef struct rep { const char *path; const pl_stat *st; unsigned enc; bool vary; } rep;

static size_t head_of(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const rep *p,
                      char *out, size_t cap, serve_body *b)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    const coding *enc = coding_of(p->enc);
    const pl_stat *st = p->st;
    pl_http_validators v;
    pl_http_etag(&v, st->ino, st->size, st->mtime_s, st->mtime_ns, enc ? enc->ext : NULL);
    char lastmod[32], crange[96], multi[80];
    pl_http_date(st->mtime_s, lastmod);
    b->type = serve_mime(cx, &c->refs, p->path);
    int status = decide(q, &v, st, b, crange, sizeof crange);
    pl_http_resp h = { .status = status, .date = serve_date(cx, &c->refs), .etag = v.etag,
                       .last_modified = lastmod, .cache_control = serve_cache_control(cfg, b->type),
                       .extra = cfg->extra, .close = !q->keep_alive, .accept_ranges = true,
                       .keep_alive_10 = q->keep_alive && q->minor == 0,
                       .content_range = crange, .content_encoding = enc ? enc->name : NULL,
                       .vary = p->vary ? "Accept-Encoding" : NULL };
    if (status == 200 || status == 206) {
        h.content_type = b->type;
        h.has_length = true;
        h.content_length = b->len;
        if (b->nparts > 0) {
            snprintf(multi, sizeof multi, "multipart/byteranges; boundary=%s", b->boundary);
            h.content_type = multi;
            h.content_length = pl_http_parts_length(b->boundary, b->type, b->parts,
                                                    b->nparts, st->size);
        }
    } else {
        h.has_length = status != 304;
        h.content_length = 0;
        h.content_encoding = NULL;
        if (status != 304)
            h.etag = h.last_modified = NULL;
    }
    if (!(status == 200 || status == 206) || q->method == PL_HTTP_HEAD)
        b->len = 0, b->nparts = 0;        /* no body */
    size_t n = pl_http_resp_head(out, cap, &h);
    if (n > 0 && cfg->access_log[0])
        serve_log_response(cx, c, q, status, b->len || b->nparts ? h.content_length : 0);
    return n;
}

size_t serve_file_head(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const char *path,
                       const pl_stat *st, char *out, size_t cap, serve_body *b)
{
    rep p = { path, st, 0, false };
    return head_of(cx, c, q, &p, out, cap, b);
}

void serve_flush(pl_ctx *cx, const serve_conn *c, serve_out *out)
{
    if (out != NULL && out->len > 0) {
        serve_write(cx, c, out->buf, out->len);
        out->len = 0;
    }
}

/* The body from memory: the slice, or every part and the closing line. */
static size_t body_from(char *dst, size_t cap, const serve_body *b, const uint8_t *bytes)
{
    if (b->nparts == 0) {
        memcpy(dst, bytes + b->off, (size_t)b->len);
        return (size_t)b->len;
    }
    size_t n = 0;
    for (int i = 0; i < b->nparts; i++) {
        const pl_http_range *r = &b->parts[i];
        n += pl_http_part_head(dst + n, cap - n, b->boundary, b->type, r, b->size);
        memcpy(dst + n, bytes + r->first, (size_t)(r->last - r->first + 1));
        n += (size_t)(r->last - r->first + 1);
    }
    return n + pl_http_parts_end(dst + n, cap - n, b->boundary);
}

static void from_entry(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                       const serve_entry *e, bool vary, serve_out *out)
{
    enum { ROOM = SERVE_HEAD_MAX + SERVE_CACHE_BODY + SERVE_PARTS_MAX };
    char one[ROOM];
    if (out != NULL && sizeof out->buf - out->len < ROOM)
        serve_flush(cx, c, out);
    char *buf = out != NULL ? out->buf + out->len : one;
    serve_body b;
    rep p = { e->path, &e->st, 0, vary };
    size_t n = head_of(cx, c, q, &p, buf, SERVE_HEAD_MAX, &b);
    if (n == 0)
        return;
    n += body_from(buf + n, ROOM - n, &b, e->body);
    if (out != NULL)
        out->len += n;
    else
        serve_write(cx, c, buf, n);
}

void serve_from_cache(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                      const serve_entry *e, serve_out *out)
{
    from_entry(cx, c, q, e, false, out);
}

/* The head, then SENDFILE from the descriptor (closed after the last send,
 * or its use released when the open-file cache keeps it). */
static void send_open(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, int fd,
                      const rep *p, bool kept)
{
    char buf[SERVE_HEAD_MAX];
    serve_body b;
    size_t n = head_of(cx, c, q, p, buf, sizeof buf, &b);
    if (n > 0)
        serve_write(cx, c, buf, n);
    if (b.nparts == 0 && b.len > 0) {
        b.parts[0] = (pl_http_range){ b.off, b.off + b.len - 1 };
    }
    int count = b.nparts > 0 ? b.nparts : b.len > 0 ? 1 : 0;
    for (int i = 0; i < count; i++) {
        const pl_http_range *part = &b.parts[i];
        if (b.nparts > 0) {
            n = pl_http_part_head(buf, sizeof buf, b.boundary, b.type, part, p->st->size);
            serve_write(cx, c, buf, n);
        }
        pl_cmd send = pl_cmd_sendfile(c->fd, fd, part->first, part->last - part->first + 1);
        send.after_ms = serve_cfg_of(cx, &c->refs)->send_timeout_ms;
        if (i < count - 1)
            pl_send(cx, &send, NULL, NULL, 0);
        else if (kept)                     /* the last send ends the file's use */
            serve_kept_send(cx, &c->refs, &send, fd);
        else {                             /* or closes it */
            file_mem f = { fd };
            pl_send(cx, &send, &serve_h_file_sent, &f, sizeof f);
        }
    }
    if (b.nparts > 0)
        serve_write(cx, c, buf, pl_http_parts_end(buf, sizeof buf, b.boundary));
    if (count == 0 && kept)
        serve_fds_release(cx, &c->refs, fd);
    else if (count == 0)
        close_file(cx, fd);
}

static void respond(pl_ctx *cx, const serve_req *r, int fd, const rep *p, bool kept)
{
    pl_http_req q = conditions(r);
    send_open(cx, &r->conn, &q, fd, p, kept);
    serve_next(cx, &r->conn, r->keep_alive);
}

void serve_from_fd(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                   const serve_fd_entry *e)
{
    rep p = { e->path, &e->st, 0, e->vary };
    serve_fds_use(cx, &c->refs, e->fd);
    send_open(cx, c, q, e->fd, &p, true);
}

/* A small file: read it whole, keep it in the cache, answer from there. */
typedef struct read_mem { pl_stat st; int file; bool vary, no_sidecars; serve_req r; } read_mem;

static pl_verdict on_read(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const read_mem *m = mem;
    const serve_entry *e = NULL;
    if (a->err == 0 && a->len == m->st.size)
        e = serve_cache_put(cx, &m->r.conn.refs, m->r.path, &m->st, a->data, a->len,
                            m->no_sidecars);
    if (e == NULL) {                      /* changed under us, or not cacheable */
        rep p = { m->r.path, &m->st, 0, m->vary };
        respond(cx, &m->r, m->file, &p, false);
        return PL_DONE;
    }
    close_file(cx, m->file);
    pl_http_req q = conditions(&m->r);
    from_entry(cx, &m->r.conn, &q, e, m->vary, NULL);
    serve_next(cx, &m->r.conn, m->r.keep_alive);
    return PL_DONE;
}
PL_HANDLER(serve_h_read, on_read);

/* Send the open file: identity bytes through the cache when small, anything
 * else with SENDFILE. */
static void send_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st, unsigned enc,
                      bool vary, bool no_sidecars)
{
    size_t plen = strlen(r->path);
    if (enc != 0 || st->size > SERVE_CACHE_BODY || plen >= sizeof((serve_entry *)0)->path) {
        rep p = { r->path, st, enc, vary };
        bool kept = enc == 0 &&          /* identity bytes: kept open for the next requests */
                    serve_fds_put(cx, &r->conn.refs, r->path, st, fd, vary, no_sidecars);
        respond(cx, r, fd, &p, kept);
        return;
    }
    read_mem m;
    m.st = *st;
    m.file = fd;
    m.vary = vary;
    m.no_sidecars = no_sidecars;
    memcpy(&m.r, r, req_size(r));
    pl_cmd read = pl_cmd_read(fd, 0, st->size);
    pl_send(cx, &read, &serve_h_read, &m, offsetof(read_mem, r) + req_size(r));
}

/* ---- sidecars ------------------------------------------------------------------ */

typedef struct side_mem {
    int file;                   /* the file asked for, open */
    pl_stat st;
    unsigned tried;             /* coding bits looked for */
    unsigned cand;              /* the one being opened */
    bool wanted;                /* the client accepts cand */
    serve_req r;
} side_mem;

/* Open the next sidecar to look for, or send the file itself. */
static void next_sidecar(pl_ctx *cx, side_mem *m)
{
    unsigned left = 7u & ~m->tried;
    unsigned c = pl_http_pick_encoding(str(m->r.accept_encoding), left);
    m->wanted = c != 0;
    if (c == 0)
        c = left & (0u - left);           /* none it accepts: do others exist (Vary)? */
    if (c == 0) {
        send_file(cx, &m->r, m->file, &m->st, 0, false, true);
        return;
    }
    m->cand = c;
    m->tried |= c;
    char path[PL_PATH_MAX];
    int n = snprintf(path, sizeof path, "%s.%s", m->r.path, coding_of(c)->ext);
    if (n < 0 || (size_t)n >= sizeof path) {
        send_file(cx, &m->r, m->file, &m->st, 0, false, false);
        return;
    }
    pl_cmd open = pl_cmd_open(m->r.conn.refs.root, path, 0);
    pl_send(cx, &open, &serve_h_sidecar, m, offsetof(side_mem, r) + req_size(&m->r));
}

static bool older(const pl_stat *a, const pl_stat *b)
{
    return a->mtime_s < b->mtime_s || (a->mtime_s == b->mtime_s && a->mtime_ns < b->mtime_ns);
}

static pl_verdict on_sidecar(pl_ctx *cx, void *mem, const pl_answer *a)
{
    side_mem *m = mem;
    bool there = a->err == 0 && a->st.type == PL_FT_FILE && !older(&a->st, &m->st);
    if (a->err == 0 && !(there && m->wanted))
        close_file(cx, a->fd);
    if (!there)                           /* missing, or stale: FILE changed since */
        next_sidecar(cx, m);
    else if (!m->wanted)
        send_file(cx, &m->r, m->file, &m->st, 0, true, false);
    else {
        close_file(cx, m->file);
        send_file(cx, &m->r, a->fd, &a->st, m->cand, true, false);
    }
    return PL_DONE;
}
PL_HANDLER(serve_h_sidecar, on_sidecar);

static void regular_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st)
{
    if (r->accept_encoding[0] == 0) {
        send_file(cx, r, fd, st, 0, false, false);
        return;
    }
    side_mem m;
    m.file = fd;
    m.st = *st;
    m.tried = 0;
    memcpy(&m.r, r, req_size(r));
    next_sidecar(cx, &m);
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
    const serve_entry *e = serve_cache_get(cx, &c->refs, next.path);
    if (e != NULL && serve_cache_suits(e, str(r->accept_encoding))) {
        pl_http_req q = conditions(&next);
        serve_from_cache(cx, c, &q, e, NULL);
        serve_next(cx, c, r->keep_alive);
        return;
    }
    pl_cmd open = pl_cmd_open(c->refs.root, next.path, 0);
    pl_send(cx, &open, &serve_h_opened, &next, req_size(&next));
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

pl_verdict serve_on_opened(pl_ctx *cx, void *mem, const pl_answer *a)
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
        close_file(cx, a->fd);
        fail(cx, r, 404);
        return PL_DONE;
    }
    regular_file(cx, r, a->fd, &a->st);
    return PL_DONE;
}
PL_HANDLER(serve_h_opened, serve_on_opened);
