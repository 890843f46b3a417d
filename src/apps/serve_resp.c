/* serve_resp.c — writing a file's response: the validators, the status the
 * preconditions and Range decide, the head, then the body — from memory (a
 * cache entry: the slice or multipart/byteranges parts, gathered with the
 * head into one send) or from an open descriptor (SENDFILE per part).
 *
 * Which file, and which of its representations (the file or a precompressed
 * sidecar), is decided before (serve_file.c); this module only writes what
 * it is given.
 */
#include "apps/serve.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum { SERVE_PARTS_MAX = 2048 };   /* room for the part heads of a cached file's ranges */

/* What follows a file's head: nothing, one slice, or multipart parts. */
typedef struct serve_body {
    uint64_t off, len;          /* the slice; len 0 and nparts 0: no body */
    int nparts;                 /* several ranges: multipart/byteranges */
    pl_http_range parts[PL_HTTP_RANGES_MAX];
    char boundary[PL_HTTP_BOUNDARY_LEN + 1];
    const char *type;
    uint64_t size;
} serve_body;

typedef struct file_mem { int file; } file_mem;

static pl_verdict serve_on_file_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const file_mem *f = mem;
    serve_close_file(cx, f->file);
    return PL_DONE;
}
PL_HANDLER(serve_h_file_sent, serve_on_file_sent);

void serve_close_file(pl_ctx *cx, int fd)
{
    pl_cmd close = pl_cmd_close(fd);
    pl_send(cx, &close, NULL, NULL, 0);
}

pl_http_req serve_conditions(const serve_req *r)
{
    pl_http_req q;
    memset(&q, 0, offsetof(pl_http_req, nheaders));
    q.method = r->method;
    q.keep_alive = r->keep_alive;
    q.minor = r->minor;
    q.if_none_match = serve_str(r->if_none_match);
    q.if_match = serve_str(r->if_match);
    q.if_modified_since = serve_str(r->if_modified_since);
    q.if_unmodified_since = serve_str(r->if_unmodified_since);
    q.range = serve_str(r->range);
    q.if_range = serve_str(r->if_range);
    q.accept_encoding = serve_str(r->accept_encoding);
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

const char *serve_coding_ext(unsigned bit)
{
    const coding *c = coding_of(bit);
    return c != NULL ? c->ext : NULL;
}

/* The buffers a head's fields point into. */
typedef struct head_text {
    pl_http_validators v;
    char lastmod[32], crange[96], multi[80];
} head_text;

/* The fields of the head for p's bytes (status from the preconditions and
 * Range) into h, pointing into t, and what body follows in b. */
static void head_fields(pl_ctx *cx, const serve_refs *refs, const pl_http_req *q,
                        const serve_rep *p, serve_body *b, pl_http_resp *h, head_text *t)
{
    const serve_cfg *cfg = serve_cfg_of(cx, refs);
    const coding *enc = coding_of(p->enc);
    const pl_stat *st = p->st;
    pl_http_etag(&t->v, st->ino, st->size, st->mtime_s, st->mtime_ns, enc ? enc->ext : NULL);
    pl_http_date(st->mtime_s, t->lastmod);
    b->type = serve_mime(cx, refs, p->path);
    int status = decide(q, &t->v, st, b, t->crange, sizeof t->crange);
    *h = (pl_http_resp){ .status = status, .date = serve_date(cx, refs), .etag = t->v.etag,
                         .last_modified = t->lastmod,
                         .cache_control = serve_cache_control(cfg, b->type),
                         .extra = cfg->extra, .close = !q->keep_alive, .accept_ranges = true,
                         .keep_alive_10 = q->keep_alive && q->minor == 0,
                         .content_range = t->crange,
                         .content_encoding = enc ? enc->name : NULL,
                         .vary = p->vary ? "Accept-Encoding" : NULL };
    if (status == 200 || status == 206) {
        h->content_type = b->type;
        h->has_length = true;
        h->content_length = b->len;
        if (b->nparts > 0) {
            snprintf(t->multi, sizeof t->multi, "multipart/byteranges; boundary=%s",
                     b->boundary);
            h->content_type = t->multi;
            h->content_length = pl_http_parts_length(b->boundary, b->type, b->parts,
                                                     b->nparts, st->size);
        }
    } else {
        h->has_length = status != 304;
        h->content_length = 0;
        h->content_encoding = NULL;
        if (status != 304)
            h->etag = h->last_modified = NULL;
    }
    if (!(status == 200 || status == 206) || q->method == PL_HTTP_HEAD)
        b->len = 0, b->nparts = 0;        /* no body */
}

/* The head for p's bytes into out, and what body follows in b; the head's
 * length, 0 if it did not fit. The response is logged here, when there is
 * an access log. */
static size_t head_of(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const serve_rep *p,
                      char *out, size_t cap, serve_body *b)
{
    pl_http_resp h;
    head_text t;
    head_fields(cx, &c->refs, q, p, b, &h, &t);
    size_t n = pl_http_resp_head(out, cap, &h);
    if (n > 0 && serve_cfg_of(cx, &c->refs)->access_log[0])
        serve_log_response(cx, c, q, h.status, b->len || b->nparts ? h.content_length : 0);
    return n;
}

/* ---- the kept head of a cached file ---------------------------------------------
 *
 * Most requests for a cached file are a plain GET or HEAD: no preconditions,
 * no Range. Their head is the same for every request but for the Date, and
 * the Connection line that the request's version and Connection header
 * decide; so it is built once, when the entry is put, up to where the
 * Connection line goes. Such a request copies it, writes the current Date
 * over the one it was built with, and adds the Connection line, the
 * --header lines and the blank line, as pl_http_resp_head would. The entry
 * is replaced when its file is checked again, and the head with it.
 */

enum { DATE_AT = 38 };          /* "HTTP/1.1 200 OK\r\nServer: pluto\r\nDate: " */
_Static_assert(SERVE_HEAD_KEPT + 24 + sizeof((serve_cfg *)0)->extra + 2 <= SERVE_HEAD_MAX,
               "a kept head with its Connection line and --header lines fits a head's room");

void serve_head_keep(pl_ctx *cx, const serve_refs *r, const serve_rep *p, serve_kept_head *k)
{
    k->len = 0;
    pl_http_req q;
    memset(&q, 0, offsetof(pl_http_req, nheaders));
    q.method = PL_HTTP_GET;
    q.keep_alive = true;
    q.minor = 1;
    serve_body b;
    pl_http_resp h;
    head_text t;
    head_fields(cx, r, &q, p, &b, &h, &t);
    h.extra = NULL;                       /* per request, with the Connection line */
    char buf[SERVE_HEAD_MAX];
    size_t n = pl_http_resp_head(buf, sizeof buf, &h);
    if (h.status != 200 || n < DATE_AT + 29 + 2 || n - 2 > sizeof k->text ||
        memcmp(buf + DATE_AT - 6, "Date: ", 6) != 0 || memcmp(buf + DATE_AT + 29, "\r\n", 2) != 0)
        return;                           /* every request takes the general path */
    memcpy(k->text, buf, n - 2);          /* without the blank line */
    k->len = (uint16_t)(n - 2);
}

static void put_str(char *dst, size_t *n, const char *s, size_t len)
{
    memcpy(dst + *n, s, len);
    *n += len;
}

/* A plain GET or HEAD answered with a kept head into buf (room for it and
 * the --header lines), its body size bytes long; the head's length, 0 when
 * the request is not plain (the general path answers it). */
static size_t from_kept(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                        const serve_kept_head *k, uint64_t size, char *buf)
{
    if (k->len == 0 || q->if_match.len || q->if_unmodified_since.len ||
        q->if_none_match.len || q->if_modified_since.len || q->range.len)
        return 0;
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    size_t n = 0;
    put_str(buf, &n, k->text, k->len);
    memcpy(buf + DATE_AT, serve_date(cx, &c->refs), 29);
    if (!q->keep_alive)
        put_str(buf, &n, "Connection: close\r\n", 19);
    else if (q->minor == 0)
        put_str(buf, &n, "Connection: keep-alive\r\n", 24);
    put_str(buf, &n, cfg->extra, strlen(cfg->extra));
    put_str(buf, &n, "\r\n", 2);
    if (cfg->access_log[0])
        serve_log_response(cx, c, q, 200, q->method != PL_HTTP_HEAD ? size : 0);
    return n;
}

void serve_flush(pl_ctx *cx, const serve_conn *c, serve_out *out)
{
    if (out != NULL && out->niov > 0) {
        pl_cmd send = pl_cmd_writev(c->fd, out->iov, out->niov);
        send.after_ms = serve_cfg_of(cx, &c->refs)->send_timeout_ms;
        pl_send(cx, &send, NULL, NULL, 0);
    }
    if (out != NULL)
        out->len = 0, out->niov = 0;
}

/* n bytes just built at out->buf + out->len join the send (the slice before
 * them grows when they follow it); then len bytes at p, by reference. */
static void out_add(serve_out *out, size_t n, const void *p, size_t len)
{
    pl_iov *last = out->niov > 0 ? &out->iov[out->niov - 1] : NULL;
    char *at = out->buf + out->len;
    if (n > 0 && last != NULL && (const char *)last->base + last->len == at)
        last->len += n;
    else if (n > 0)
        out->iov[out->niov++] = (pl_iov){ at, n };
    out->len += n;
    if (len > 0)
        out->iov[out->niov++] = (pl_iov){ p, len };
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

void serve_from_entry(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                      const serve_entry *e, serve_out *out)
{
    enum { ROOM = SERVE_HEAD_MAX + SERVE_CACHE_BODY + SERVE_PARTS_MAX };
    char one[ROOM];
    if (out != NULL && (sizeof out->buf - out->len < ROOM || out->niov + 2 > SERVE_OUT_IOV))
        serve_flush(cx, c, out);
    char *buf = out != NULL ? out->buf + out->len : one;
    size_t n = from_kept(cx, c, q, &e->head, e->body_len, buf);
    if (n > 0) {                        /* the kept head; the body by reference */
        size_t body = q->method != PL_HTTP_HEAD ? e->body_len : 0;
        if (out != NULL) {
            out_add(out, n, e->body, body);
            return;
        }
        put_str(buf, &n, (const char *)e->body, body);
    } else {
        serve_body b;
        serve_rep p = { e->path, &e->st, e->v.enc, serve_vary(&e->v) };
        n = head_of(cx, c, q, &p, buf, SERVE_HEAD_MAX, &b);
        if (n == 0)
            return;
        n += body_from(buf + n, ROOM - n, &b, e->body);
    }
    if (out != NULL)
        out_add(out, n, NULL, 0);
    else
        serve_write(cx, c, buf, n);
}

/* The head, then SENDFILE from the descriptor (closed after the last send,
 * or its use released when the open-file cache keeps it). */
void serve_send_open(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, int fd,
                     const serve_rep *p, bool kept, const serve_kept_head *head)
{
    char buf[SERVE_HEAD_MAX];
    serve_body b;
    size_t n = head ? from_kept(cx, c, q, head, p->st->size, buf) : 0;
    if (n > 0) {                            /* the whole file, or none for a HEAD */
        b.off = 0, b.nparts = 0;
        b.len = q->method != PL_HTTP_HEAD ? p->st->size : 0;
    } else
        n = head_of(cx, c, q, p, buf, sizeof buf, &b);
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
        serve_close_file(cx, fd);
}

void serve_from_hit(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const serve_hit *h,
                    serve_out *out)
{
    if (h->mem != NULL) {
        serve_from_entry(cx, c, q, h->mem, out);
        return;
    }
    const serve_fd_entry *e = h->fd;
    serve_rep p = { e->path, &e->st, e->v.enc, serve_vary(&e->v) };
    serve_flush(cx, c, out);                /* what came before goes first */
    serve_fds_use(cx, &c->refs, e->fd);
    serve_send_open(cx, c, q, e->fd, &p, true, &e->head);
}
