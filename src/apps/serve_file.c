/* serve_file.c — a request whose file is open: validators, preconditions,
 * ranges, the head, then the bytes with SENDFILE.
 *
 * Directories: without a trailing slash a 301 to the slashed path (query
 * kept); with one, the index.html inside. The file descriptor is closed
 * once its bytes are written (serve_on_file_sent).
 */
#include "apps/serve.h"

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

static int open_error_status(int err)
{
    switch (-err) {
    case EACCES: case EPERM: return 403;
    case EMFILE: case ENFILE: case ENOMEM: return 503;
    case EIO: return 500;
    default: return 404;              /* ENOENT, ENOTDIR, ELOOP, EXDEV, ... */
    }
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
    memcpy(&next, r, offsetof(serve_req, path) + plen + 1);   /* all the task holds */
    int n = snprintf(next.path, sizeof next.path, "%s%sindex.html", r->path,
                     plen > 0 && r->path[plen - 1] != '/' ? "/" : "");
    if (n < 0 || (size_t)n >= sizeof next.path || r->index) {
        serve_simple(cx, c, 404, head, !r->keep_alive, NULL, NULL);
        serve_next(cx, c, r->keep_alive);
        return;
    }
    next.index = true;
    pl_cmd open = pl_cmd_open(c->refs.root, next.path, 0);
    pl_send(cx, &open, &serve_h_opened, &next,
            offsetof(serve_req, path) + (size_t)n + 1);
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
    return q;
}

static const char *cache_control(const serve_cfg *cfg, const char *type)
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

size_t serve_file_head(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const char *path,
                       const pl_stat *st, char *out, size_t cap, serve_body *b)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    pl_http_validators v;
    pl_http_etag(&v, st->ino, st->size, st->mtime_s, st->mtime_ns, NULL);
    char lastmod[32], crange[96], multi[80];
    pl_http_date(st->mtime_s, lastmod);
    b->type = pl_http_mime(path, strlen(path));
    int status = decide(q, &v, st, b, crange, sizeof crange);
    pl_http_resp h = { .status = status, .date = serve_date(cx, &c->refs), .etag = v.etag,
                       .last_modified = lastmod, .cache_control = cache_control(cfg, b->type),
                       .extra = cfg->extra, .close = !q->keep_alive, .accept_ranges = true,
                       .keep_alive_10 = q->keep_alive && q->minor == 0,
                       .content_range = crange };
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
        if (status != 304)
            h.etag = h.last_modified = NULL;
    }
    if (!(status == 200 || status == 206) || q->method == PL_HTTP_HEAD)
        b->len = 0, b->nparts = 0;        /* no body */
    return pl_http_resp_head(out, cap, &h);
}

void serve_flush(pl_ctx *cx, const serve_conn *c, serve_out *out)
{
    if (out != NULL && out->len > 0) {
        pl_write(cx, c->fd, out->buf, out->len);
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

void serve_from_cache(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                      const serve_entry *e, serve_out *out)
{
    enum { ROOM = SERVE_HEAD_MAX + SERVE_CACHE_BODY + SERVE_PARTS_MAX };
    char one[ROOM];
    if (out != NULL && sizeof out->buf - out->len < ROOM)
        serve_flush(cx, c, out);
    char *buf = out != NULL ? out->buf + out->len : one;
    serve_body b;
    size_t n = serve_file_head(cx, c, q, e->path, &e->st, buf, SERVE_HEAD_MAX, &b);
    if (n == 0)
        return;
    n += body_from(buf + n, ROOM - n, &b, e->body);
    if (out != NULL)
        out->len += n;
    else
        pl_write(cx, c->fd, buf, n);
}

/* A file too big for the cache: the head, then SENDFILE from its descriptor. */
static void respond(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st)
{
    const serve_conn *c = &r->conn;
    pl_http_req q = conditions(r);
    char buf[SERVE_HEAD_MAX];
    serve_body b;
    size_t n = serve_file_head(cx, c, &q, r->path, st, buf, sizeof buf, &b);
    if (n > 0)
        pl_write(cx, c->fd, buf, n);
    if (b.nparts == 0 && b.len > 0) {
        b.parts[0] = (pl_http_range){ b.off, b.off + b.len - 1 };
    }
    int count = b.nparts > 0 ? b.nparts : b.len > 0 ? 1 : 0;
    for (int i = 0; i < count; i++) {
        const pl_http_range *p = &b.parts[i];
        if (b.nparts > 0) {
            n = pl_http_part_head(buf, sizeof buf, b.boundary, b.type, p, st->size);
            pl_write(cx, c->fd, buf, n);
        }
        pl_cmd send = pl_cmd_sendfile(c->fd, fd, p->first, p->last - p->first + 1);
        file_mem f = { fd };               /* the last send closes the file */
        pl_send(cx, &send, i == count - 1 ? &serve_h_file_sent : NULL, &f, sizeof f);
    }
    if (b.nparts > 0)
        pl_write(cx, c->fd, buf, pl_http_parts_end(buf, sizeof buf, b.boundary));
    if (count == 0)
        close_file(cx, fd);
    serve_next(cx, c, r->keep_alive);
}

/* A small file: read it whole, keep it in the cache, answer from there. */
typedef struct read_mem { pl_stat st; int file; serve_req r; } read_mem;

static pl_verdict on_read(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const read_mem *m = mem;
    const serve_entry *e = NULL;
    if (a->err == 0 && a->len == m->st.size)
        e = serve_cache_put(cx, &m->r.conn.refs, m->r.path, &m->st, a->data, a->len);
    if (e == NULL) {                      /* changed under us, or not cacheable */
        respond(cx, &m->r, m->file, &m->st);
        return PL_DONE;
    }
    close_file(cx, m->file);
    pl_http_req q = conditions(&m->r);
    serve_from_cache(cx, &m->r.conn, &q, e, NULL);
    serve_next(cx, &m->r.conn, m->r.keep_alive);
    return PL_DONE;
}
PL_HANDLER(serve_h_read, on_read);

static void read_small(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st)
{
    size_t plen = strlen(r->path);
    read_mem m;
    m.st = *st;
    m.file = fd;
    memcpy(&m.r, r, offsetof(serve_req, path) + plen + 1);
    pl_cmd read = pl_cmd_read(fd, 0, st->size);
    pl_send(cx, &read, &serve_h_read, &m, offsetof(read_mem, r.path) + plen + 1);
}

pl_verdict serve_on_opened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_req *r = mem;
    const serve_conn *c = &r->conn;
    bool head = r->method == PL_HTTP_HEAD;
    if (a->err != 0) {
        serve_simple(cx, c, open_error_status(a->err), head, !r->keep_alive, NULL, NULL);
        serve_next(cx, c, r->keep_alive);
        return PL_DONE;
    }
    if (a->st.type == PL_FT_DIR) {
        directory(cx, r, a->fd);
        return PL_DONE;
    }
    if (a->st.type != PL_FT_FILE || (r->dir_slash && !r->index)) {   /* "/file.txt/" */
        close_file(cx, a->fd);
        serve_simple(cx, c, 404, head, !r->keep_alive, NULL, NULL);
        serve_next(cx, c, r->keep_alive);
        return PL_DONE;
    }
    if (a->st.size <= SERVE_CACHE_BODY && strlen(r->path) < sizeof((serve_entry *)0)->path)
        read_small(cx, r, a->fd, &a->st);
    else
        respond(cx, r, a->fd, &a->st);
    return PL_DONE;
}
PL_HANDLER(serve_h_opened, serve_on_opened);
