/* serve_conn.c — one client connection: read a head, answer it, repeat.
 *
 * The receiver takes bytes from the runtime's input buffer: a partial head
 * stays there (pl_consume(0)) until the rest arrives; a complete head is
 * consumed, and the bytes after it (a pipelined request) wait for the next
 * receiver. A request that needs a file ends this receiver; the file's
 * handler starts the next one once the response is queued, so responses
 * leave in request order.
 *
 * Timeouts: a new connection and each keep-alive wait get the idle timeout;
 * the first byte of a request arms the header timeout, which later bytes of
 * the same head do not extend (a slow client cannot hold a connection open
 * by trickling bytes).
 *
 * Closing: after a response the client asked to be the last (Connection:
 * close), at its end of stream and at the idle timeout, a plain CLOSE.
 * After an error answered while the client may still be sending (408, 413,
 * 414, 431, a bad request), a lingering one (hang_up).
 */
#include "apps/serve.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

const serve_cfg *serve_cfg_of(pl_ctx *cx, const serve_refs *r)
{
    return pl_ref_get(cx, r->cfg, NULL);
}

const char *serve_date(pl_ctx *cx, const serve_refs *r)
{
    const serve_clock *k = pl_ref_get(cx, r->clock, NULL);
    return k->date;
}

/* The connection counts as open until its CLOSE is done (serve_h_closed):
 * a drain ends when the last response is out, not when it was queued. */
static void close_conn(pl_ctx *cx, const serve_conn *c)
{
    pl_cmd close = pl_cmd_close(c->fd);
    pl_send(cx, &close, &serve_h_closed, &c->refs, sizeof c->refs);
}

/* After an error answered before the client was done sending (a head too
 * slow or too large, a body, a bad request): a lingering close, so that what
 * it still sends does not make the kernel reset the connection and the
 * client lose the answer (RFC 9112 section 9.6). It reads for at most a few
 * seconds (pluto.h); a drain waits for it like any close. */
static void hang_up(pl_ctx *cx, const serve_conn *c)
{
    pl_cmd close = pl_cmd_close_linger(c->fd);
    pl_send(cx, &close, &serve_h_closed, &c->refs, sizeof c->refs);
}

void serve_close(pl_ctx *cx, const serve_conn *c) { close_conn(cx, c); }

void serve_write(pl_ctx *cx, const serve_conn *c, const void *buf, size_t len)
{
    pl_iov iov = { buf, len };
    pl_cmd send = pl_cmd_writev(c->fd, &iov, 1);
    send.after_ms = serve_cfg_of(cx, &c->refs)->send_timeout_ms;
    pl_send(cx, &send, NULL, NULL, 0);
}

void serve_simple(pl_ctx *cx, const serve_conn *c, int status, bool head, bool close,
                  const char *location, const char *allow)
{
    char buf[2048];
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    pl_http_simple s = { .status = status, .date = serve_date(cx, &c->refs), .head = head,
                         .close = close, .location = location, .allow = allow,
                         .keep_alive_10 = c->keep10, .extra = cfg->extra };
    size_t n = pl_http_resp_simple(buf, sizeof buf, &s);
    if (n == 0)
        return;
    serve_write(cx, c, buf, n);
    if (cfg->access_log[0]) {
        const char *end = memmem(buf, n, "\r\n\r\n", 4);
        serve_log_response(cx, c, NULL, status, end ? n - (size_t)(end + 4 - buf) : 0);
    }
}

void serve_next(pl_ctx *cx, const serve_conn *c, bool keep_alive)
{
    if (!keep_alive) {
        close_conn(cx, c);
        return;
    }
    serve_conn next = *c;
    next.scanned = 0;
    next.served++;
    pl_cmd recv = pl_cmd_recv(c->fd);
    recv.after_ms = serve_cfg_of(cx, &c->refs)->idle_timeout_ms;
    pl_send(cx, &recv, &serve_h_conn, &next, sizeof next);
}

/* Copy a header value into a fixed field; too long to keep means ignored. */
static void keep(char *dst, size_t cap, pl_str v)
{
    dst[0] = 0;
    if (v.len > 0 && v.len < cap) {
        memcpy(dst, v.p, v.len);
        dst[v.len] = 0;
    }
}

typedef enum next_step { NEXT_REQUEST, WAIT_FILE, CLOSED } next_step;

/* Requests answered without a file: bodies, methods, bad paths, dotfiles. */
static bool refuse(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, next_step *step)
{
    bool head = q->method == PL_HTTP_HEAD;
    if ((q->has_length && q->content_length > 0) || q->chunked) {
        serve_simple(cx, c, 413, head, true, NULL, NULL);   /* no bodies here */
        hang_up(cx, c);                                     /* the body may follow */
        *step = CLOSED;
        return true;
    }
    if (q->method != PL_HTTP_GET && !head) {
        serve_simple(cx, c, 405, false, !q->keep_alive, NULL, "GET, HEAD");
        *step = q->keep_alive ? NEXT_REQUEST : CLOSED;
        if (!q->keep_alive)
            close_conn(cx, c);
        return true;
    }
    return false;
}

/* A miss: an OPEN task carries a flat copy of what the response needs. */
static void open_file(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const char *path,
                      const pl_http_path *info)
{
    serve_req r;                          /* every field is set: no memset of 1.7 KB */
    r.conn = *c;
    r.method = q->method;
    r.keep_alive = q->keep_alive;
    r.minor = q->minor;
    r.dir_slash = info->dir_slash;
    r.index = false;
    r.spa = false;
    keep(r.query, sizeof r.query, info->query);
    keep(r.accept_encoding, sizeof r.accept_encoding, q->accept_encoding);
    keep(r.if_none_match, sizeof r.if_none_match, q->if_none_match);
    keep(r.if_match, sizeof r.if_match, q->if_match);
    keep(r.if_modified_since, sizeof r.if_modified_since, q->if_modified_since);
    keep(r.if_unmodified_since, sizeof r.if_unmodified_since, q->if_unmodified_since);
    keep(r.range, sizeof r.range, q->range);
    keep(r.if_range, sizeof r.if_range, q->if_range);
    size_t plen = strlen(path);
    memcpy(r.path, path, plen + 1);
    pl_cmd open = pl_cmd_open(c->refs.root, plen ? r.path : ".", 0);
    pl_send(cx, &open, &serve_h_opened, &r, offsetof(serve_req, path) + plen + 1);
}

/* A parsed head: answer it from the caches (small files into out), or start
 * opening its file. Anything else sends what out holds first, to keep order. */
static next_step handle(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, serve_out *out)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    bool head = q->method == PL_HTTP_HEAD;
    next_step step;
    char path[PL_PATH_MAX], key[PL_PATH_MAX + 16];
    pl_http_path info;
    int rc = -400;
    if (q->method == PL_HTTP_GET || head)
        rc = pl_http_map_path(q->target.p, q->target.len, path, sizeof path, &info);
    bool keyed = rc == 0 && !q->chunked && !(q->has_length && q->content_length > 0) &&
                 !(info.dotfile && !cfg->dotfiles_allow) &&
                 serve_cache_key(path, info.dir_slash, key, sizeof key);
    serve_hit hit;
    if (keyed && serve_cache_find(cx, &c->refs, key, q->accept_encoding, &hit)) {
        serve_from_hit(cx, c, q, &hit, out);
        if (!q->keep_alive) {
            serve_flush(cx, c, out);
            close_conn(cx, c);
        }
        return q->keep_alive ? NEXT_REQUEST : CLOSED;
    }
    serve_flush(cx, c, out);
    if (cfg->access_log[0])
        serve_log_request(cx, c, q);      /* its response may come from another task */
    if (refuse(cx, c, q, &step))
        return step;
    if (rc == 0 && info.dotfile && !cfg->dotfiles_allow) {
        serve_not_found(cx, c, q->method, q->keep_alive, q->minor);   /* 404.html, maybe */
        return WAIT_FILE;
    }
    if (rc < 0) {
        serve_simple(cx, c, -rc, head, true, NULL, NULL);
        hang_up(cx, c);
        return CLOSED;
    }
    open_file(cx, c, q, path, &info);
    return WAIT_FILE;
}

/* Whether the request in p[0..len) — complete or not — is a HEAD, so that
 * an error answering it has no body (RFC 9110 section 9.3.2). The method is
 * known once its token and the space after it are in (after the empty lines
 * the parser skips), even if the rest of the line is not: "HEAD " can only
 * begin a HEAD request line. Before that — a 408 or 414 for "HEA", say, or
 * the 503 sent at accept (serve.c), before any byte — the method is unknown
 * and the error page is sent: a client that did not say HEAD expects one, and
 * the connection is closed after it either way. */
static bool says_head(const char *p, size_t len)
{
    size_t i = 0;                       /* the empty lines the parser skips, no more */
    while (i < PL_HTTP_LEAD_MAX && i + 1 < len && p[i] == '\r' && p[i + 1] == '\n')
        i += 2;
    return len - i >= 5 && memcmp(p + i, "HEAD ", 5) == 0;
}

/* A head that never ends, p[0..len): too long a request line (414, no line
 * end yet) or head (431). */
static pl_verdict too_big(pl_ctx *cx, serve_conn *c, const char *p, size_t len)
{
    int status = memchr(p, '\n', len) == NULL ? 414 : 431;
    serve_simple(cx, c, status, says_head(p, len), true, NULL, NULL);
    hang_up(cx, c);                       /* the rest of the head is on its way */
    return PL_DONE;
}

static pl_verdict read_heads(pl_ctx *cx, serve_conn *c, const pl_answer *a,
                             const serve_cfg *cfg, serve_out *out);

/* Answer every complete head in the buffer; keep a partial one for later. */
static pl_verdict on_conn(pl_ctx *cx, void *mem, const pl_answer *a)
{
    serve_conn *c = mem;
    if (a->err == -ETIMEDOUT) {
        if (c->scanned == 0) {            /* idle: nothing is on its way */
            close_conn(cx, c);
            return PL_DONE;
        }
        serve_simple(cx, c, 408, c->head, true, NULL, NULL);   /* say why we hang up */
        hang_up(cx, c);
        return PL_DONE;
    }
    if (a->err != 0 || a->len == 0) {
        close_conn(cx, c);
        return PL_DONE;
    }
    const serve_cfg *cfg = serve_cfg_of(cx, &c->refs);
    serve_out out;                      /* responses of this read, sent once */
    out.len = 0, out.niov = 0;
    pl_verdict v = read_heads(cx, c, a, cfg, &out);
    serve_flush(cx, c, &out);
    return v;
}
PL_HANDLER(serve_h_conn, on_conn);

static pl_verdict read_heads(pl_ctx *cx, serve_conn *c, const pl_answer *a,
                             const serve_cfg *cfg, serve_out *out)
{
    size_t off = 0;
    for (int n = 0; n < 1024; n++) {      /* bounded: the rest waits for the next call */
        const char *p = (const char *)a->data + off;
        size_t left = a->len - off;
        bool started = c->scanned > 0;
        size_t end = left ? pl_http_head_end(p, left, &c->scanned) : 0;
        if (end == 0 || end > cfg->max_header_bytes) {
            if (left >= cfg->max_header_bytes || end > cfg->max_header_bytes) {
                serve_flush(cx, c, out);
                return too_big(cx, c, p, left);
            }
            pl_consume(cx, off);
            c->head = says_head(p, left);           /* for a 408 */
            if (left == 0)
                pl_timeout(cx, cfg->idle_timeout_ms);       /* between requests */
            else if (!started)
                pl_timeout(cx, cfg->header_timeout_ms);     /* a head began: not extended */
            return PL_KEEP;
        }
        pl_http_req q;
        int rc = pl_http_parse_head(p, end, &q);
        off += end;
        c->scanned = 0;
        pl_consume(cx, off);
        if (rc < 0) {
            serve_flush(cx, c, out);
            serve_simple(cx, c, -rc, says_head(p, end), true, NULL, NULL);
            hang_up(cx, c);
            return PL_DONE;
        }
        c->keep10 = q.keep_alive && q.minor == 0;
        next_step step = handle(cx, c, &q, out);
        if (step != NEXT_REQUEST)
            return PL_DONE;
        c->served++;
    }
    return PL_KEEP;
}
