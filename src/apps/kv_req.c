/* kv_req.c — one request of the kv app: route, answer, or start its body.
 *
 *   GET/HEAD /              the page (kv_page.c)
 *   GET/HEAD /kv/           the keys as a JSON array (kv_list.c)
 *   GET/HEAD /kv/KEY        200 with the value, or 404
 *   PUT /kv/KEY             the body (Content-Length or chunked, at most
 *                           1 MiB: 413 above) becomes the value: 204
 *   DELETE /kv/KEY          204, or 404 when absent
 *   anything else           404 for other paths, 405 with Allow for other
 *                           methods; 400 for a bad key
 * While the store is full, PUT and DELETE get 503 with Retry-After; beyond
 * KV_KEYS_MAX keys or KV_BYTES_MAX bytes, a PUT gets 507.
 *
 * A key is the percent-decoded segment after "/kv/": 1..KV_KEY_MAX bytes of
 * UTF-8, without NUL or '/', and not "." or ".." (which clients resolve).
 *
 * A request answered without reading its body (an error, or a GET that
 * came with one) keeps the connection when the body is small and announced
 * by Content-Length: it is skipped. A chunked, oversized or expected
 * ("Expect: 100-continue") body is not read: the answer says close, and the
 * connection reads and drops what still comes for KV_DRAIN_MS, so that the
 * client sees the answer rather than a reset, then closes.
 */
#include "apps/kv.h"
#include "http/chars.h"

#include <string.h>

#define KV_RETRY_AFTER "Retry-After: 5\r\n"

enum { R_PAGE, R_LIST, R_KEY, R_BAD_KEY, R_NONE };

/* The key of a "/kv/" path: percent-decoded once, checked. */
static bool decode_key(const char *s, size_t n, char *key, size_t *klen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '%') {
            if (n - i < 3 || http_hex((unsigned char)s[i + 1]) < 0 ||
                http_hex((unsigned char)s[i + 2]) < 0)
                return false;
            ch = (unsigned char)(http_hex((unsigned char)s[i + 1]) * 16 +
                                 http_hex((unsigned char)s[i + 2]));
            i += 2;
        }
        if (ch == '/' || ch == 0 || o == KV_KEY_MAX)
            return false;
        key[o++] = (char)ch;
    }
    *klen = o;
    return o > 0 && pl_http_utf8_valid(key, o) && !(o <= 2 && memcmp(key, "..", o) == 0);
}

/* Which resource a request-target names (origin or absolute form; the
 * query is ignored). */
static int route(pl_str t, char *key, size_t *klen)
{
    const char *p = t.p;
    size_t n = t.len;
    if (n > 0 && p[0] != '/') {               /* absolute form: skip "scheme://host" */
        const char *s = memmem(p, n, "://", 3);
        if (s == NULL)
            return R_NONE;
        size_t i = (size_t)(s - p) + 3;
        while (i < n && p[i] != '/' && p[i] != '?')
            i++;
        p += i;
        n -= i;
    }
    const char *q = memchr(p, '?', n);
    if (q != NULL)
        n = (size_t)(q - p);
    if (n == 0 || (n == 1 && p[0] == '/'))
        return R_PAGE;
    if (n < 4 || memcmp(p, "/kv/", 4) != 0)
        return R_NONE;
    if (n == 4)
        return R_LIST;
    return decode_key(p + 4, n - 4, key, klen) ? R_KEY : R_BAD_KEY;
}

static bool has_body(const pl_http_req *q)
{
    return q->chunked || (q->has_length && q->content_length > 0);
}

/* A body that can be read past without storing it: announced, not too long,
 * and not waiting for a 100 Continue that will not come. */
static bool skippable(const pl_http_req *q)
{
    return has_body(q) && !q->chunked && !q->expect_continue &&
           q->content_length <= KV_BODY_MAX;
}

/* Will the connection close after answering q without reading its body? */
static bool must_close(const pl_http_req *q)
{
    return !q->keep_alive || (has_body(q) && !skippable(q));
}

static kv_reply reply_of(const pl_http_req *q)
{
    return (kv_reply){ .head = q->method == PL_HTTP_HEAD, .close = must_close(q),
                       .keep_alive_10 = q->minor == 0 };
}

/* After an answer that did not read q's body: skip it (then close if q said
 * so), drain it, or close. */
static kv_step after(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out)
{
    if (skippable(q)) {
        c->phase = KV_PH_SKIP;
        c->skip = q->content_length;
        c->keep_alive = q->keep_alive;
        return KV_MORE;
    }
    if (!must_close(q))
        return KV_MORE;
    if (!has_body(q)) {
        kv_flush(cx, c, out);
        kv_close(cx, c);
        return KV_CLOSED;
    }
    c->phase = KV_PH_DRAIN;
    pl_timeout(cx, KV_DRAIN_MS);
    return KV_MORE;
}

kv_step kv_refuse(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out, int status,
                  const char *allow, const char *extra)
{
    kv_simple(cx, c, out, reply_of(q), status, allow, extra);
    return after(cx, c, q, out);
}

kv_step kv_body_failed(pl_ctx *cx, kv_conn *c, kv_out *out, int status)
{
    kv_cell_free(cx, &c->refs, c->stage);
    c->phase = KV_PH_DRAIN;
    kv_simple(cx, c, out, (kv_reply){ .close = true }, status, NULL, NULL);
    pl_timeout(cx, KV_DRAIN_MS);
    return KV_MORE;
}

static kv_step get(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out,
                   const char *key, size_t klen)
{
    size_t len = 0;
    const uint8_t *v = kv_get(cx, &c->refs, key, klen, &len);
    if (v == NULL)
        return kv_refuse(cx, c, q, out, 404, NULL, NULL);
    pl_http_resp r = { .status = 200, .content_type = "application/octet-stream",
                       .has_length = true, .content_length = len };
    kv_respond(cx, c, out, reply_of(q), &r, v, len);
    return after(cx, c, q, out);
}

static kv_step delete(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out,
                      const char *key, size_t klen)
{
    if (kv_full(cx, &c->refs))
        return kv_refuse(cx, c, q, out, 503, NULL, KV_RETRY_AFTER);
    int rc = kv_delete(cx, &c->refs, key, klen);
    return kv_refuse(cx, c, q, out, rc == 0 ? 204 : -rc, NULL, NULL);
}

/* A PUT: check what the head tells, then receive the body into a cell. */
static kv_step put(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out,
                   const char *key, size_t klen)
{
    if (kv_full(cx, &c->refs))
        return kv_refuse(cx, c, q, out, 503, NULL, KV_RETRY_AFTER);
    uint64_t len = q->has_length ? q->content_length : 0;
    if (len > KV_BODY_MAX)
        return kv_refuse(cx, c, q, out, 413, NULL, NULL);
    int rc = kv_fits(cx, &c->refs, key, klen, len);
    if (rc != 0)
        return kv_refuse(cx, c, q, out, -rc, NULL, NULL);
    /* A chunked body's length is known at its end: room for the largest,
     * plus slack for the framing that is decoded in place (kv_conn.c). */
    size_t cap = q->chunked ? KV_BODY_MAX + KV_CHUNK_SLACK : (size_t)len;
    c->stage = kv_cell_new(cx, &c->refs, key, klen, cap);
    c->keep_alive = q->keep_alive;
    c->http10 = q->minor == 0;
    c->want = len;
    c->got = 0;
    c->phase = q->chunked ? KV_PH_CHUNKED : KV_PH_BODY;
    if (!q->chunked && len == 0)
        return kv_put_done(cx, c, out);
    memset(&c->chunked, 0, sizeof c->chunked);
    if (q->expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        kv_emit(cx, c, out, cont, sizeof cont - 1, NULL, 0);
    }
    pl_timeout(cx, KV_BODY_MS);
    return KV_MORE;
}

kv_step kv_put_done(pl_ctx *cx, kv_conn *c, kv_out *out)
{
    int rc = kv_commit(cx, &c->refs, c->stage, c->got);
    c->phase = KV_PH_HEAD;
    kv_reply rp = { .close = !c->keep_alive, .keep_alive_10 = c->http10 };
    kv_simple(cx, c, out, rp, rc == 0 ? 204 : -rc, NULL, rc == -503 ? KV_RETRY_AFTER : NULL);
    if (c->keep_alive)
        return KV_MORE;
    kv_flush(cx, c, out);
    kv_close(cx, c);
    return KV_CLOSED;
}

kv_step kv_request(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out)
{
    char key[KV_KEY_MAX];
    size_t klen = 0;
    int where = route(q->target, key, &klen);
    bool get_or_head = q->method == PL_HTTP_GET || q->method == PL_HTTP_HEAD;
    if (where == R_NONE)
        return kv_refuse(cx, c, q, out, 404, NULL, NULL);
    if (where == R_PAGE || where == R_LIST) {
        if (!get_or_head)
            return kv_refuse(cx, c, q, out, 405, "GET, HEAD", NULL);
        if (where == R_PAGE)
            kv_page(cx, c, out, reply_of(q));
        else
            kv_list(cx, c, out, reply_of(q));
        return after(cx, c, q, out);
    }
    if (!get_or_head && q->method != PL_HTTP_PUT && q->method != PL_HTTP_DELETE)
        return kv_refuse(cx, c, q, out, 405, "GET, HEAD, PUT, DELETE", NULL);
    if (where == R_BAD_KEY)
        return kv_refuse(cx, c, q, out, 400, NULL, NULL);
    if (get_or_head)
        return get(cx, c, q, out, key, klen);
    if (q->method == PL_HTTP_DELETE)
        return delete(cx, c, q, out, key, klen);
    return put(cx, c, q, out, key, klen);
}
