/* kv_conn.c — one client connection of the kv app: heads, bodies, repeat.
 *
 * One receiver task per connection, for its whole life, with a small
 * memory (kv_conn) and a phase:
 *
 *   HEAD      a partial head stays in the runtime's input buffer
 *             (pl_consume) until it is complete; then it is answered
 *             (kv_req.c) or its body is awaited
 *   BODY      Content-Length bytes are copied into the value's cell as they
 *             arrive and consumed: a 1 MiB body never sits in the input
 *             buffer (capped at PL_INPUT_MAX) nor in task memory
 *   CHUNKED   the same, decoded in place in the cell (src/http/chunked.c)
 *   SKIP      a body already answered (an error): dropped
 *   DRAIN     answered with Connection: close; what still comes is dropped
 *             until the client closes or KV_DRAIN_MS passes
 *
 * Every complete request of a read is answered in that read, in order, and
 * the responses leave together (kv_resp.c).
 *
 * Timeouts: KV_IDLE_MS between requests, KV_HEAD_MS for a head from its
 * first byte (not extended by later bytes), KV_BODY_MS between reads of a
 * body.
 */
#include "apps/kv.h"
#include "runtime/assert.h"

#include <errno.h>
#include <string.h>

/* A head that never ends: too long a request line (414) or head (431). */
static kv_step too_big(pl_ctx *cx, kv_conn *c, const char *p, size_t len, kv_out *out)
{
    int status = memchr(p, '\n', len) == NULL ? 414 : 431;
    kv_simple(cx, c, out, (kv_reply){ .close = true }, status, NULL, NULL);
    kv_flush(cx, c, out);
    kv_close(cx, c);
    return KV_CLOSED;
}

static kv_step read_head(pl_ctx *cx, kv_conn *c, const char *p, size_t left, size_t *off,
                         kv_out *out)
{
    if (left == 0) {
        pl_timeout(cx, KV_IDLE_MS);           /* between requests */
        return KV_WAIT;
    }
    bool started = c->scanned > 0;
    size_t end = pl_http_head_end(p, left, &c->scanned);
    if (end == 0 || end > KV_HEAD_MAX) {
        if (left >= KV_HEAD_MAX || end > KV_HEAD_MAX)
            return too_big(cx, c, p, left, out);
        if (!started)
            pl_timeout(cx, KV_HEAD_MS);       /* a head began: not extended */
        return KV_WAIT;
    }
    pl_http_req q;
    int rc = pl_http_parse_head(p, end, &q);
    *off += end;
    c->scanned = 0;
    if (rc < 0) {                             /* framing in doubt: answer and close */
        kv_simple(cx, c, out, (kv_reply){ .close = true }, -rc, NULL, NULL);
        kv_flush(cx, c, out);
        kv_close(cx, c);
        return KV_CLOSED;
    }
    return kv_request(cx, c, &q, out);
}

static kv_step read_body(pl_ctx *cx, kv_conn *c, const char *p, size_t left, size_t *off,
                         kv_out *out)
{
    size_t n = left < c->want - c->got ? left : (size_t)(c->want - c->got);
    memcpy(kv_cell_value(cx, c->stage) + c->got, p, n);
    c->got += n;
    *off += n;
    if (c->got == c->want)
        return kv_put_done(cx, c, out);
    pl_timeout(cx, KV_BODY_MS);
    return KV_WAIT;
}

/* Raw chunked bytes are copied to where the body goes next and decoded
 * there; the decoded bytes are never more than the raw ones, and the cell
 * keeps KV_CHUNK_SLACK bytes past KV_BODY_MAX (the decoder stops at 413
 * before that), so every copy makes progress. */
static kv_step read_chunked(pl_ctx *cx, kv_conn *c, const char *p, size_t left, size_t *off,
                            kv_out *out)
{
    char *dst = (char *)kv_cell_value(cx, c->stage) + c->got;
    size_t room = KV_BODY_MAX + KV_CHUNK_SLACK - (size_t)c->got;
    size_t k = left < room ? left : room;
    memcpy(dst, p, k);
    size_t body = 0;
    int done = 0;
    long used = pl_http_chunked_feed(&c->chunked, dst, k, &body, KV_BODY_MAX, &done);
    if (used < 0)
        return kv_body_failed(cx, c, out, (int)-used);
    c->got += body;
    *off += (size_t)used;
    if (done)
        return kv_put_done(cx, c, out);
    if ((size_t)used < left)
        return KV_MORE;
    pl_timeout(cx, KV_BODY_MS);
    return KV_WAIT;
}

static kv_step skip_body(pl_ctx *cx, kv_conn *c, size_t left, size_t *off, kv_out *out)
{
    size_t n = left < c->skip ? left : (size_t)c->skip;
    c->skip -= n;
    *off += n;
    if (c->skip == 0 && !c->keep_alive) {
        kv_flush(cx, c, out);
        kv_close(cx, c);
        return KV_CLOSED;
    }
    if (c->skip == 0) {
        c->phase = KV_PH_HEAD;
        return KV_MORE;
    }
    pl_timeout(cx, KV_BODY_MS);
    return KV_WAIT;
}

/* One step on the unread input p[0..left): each step that returns KV_MORE
 * consumed at least one byte or ended a body. */
static kv_step step(pl_ctx *cx, kv_conn *c, const char *p, size_t left, size_t *off,
                    kv_out *out)
{
    if (c->phase == KV_PH_HEAD)
        return read_head(cx, c, p, left, off, out);
    if (left == 0)
        return KV_WAIT;
    switch (c->phase) {
    case KV_PH_BODY: return read_body(cx, c, p, left, off, out);
    case KV_PH_CHUNKED: return read_chunked(cx, c, p, left, off, out);
    case KV_PH_SKIP: return skip_body(cx, c, left, off, out);
    default: *off += left; return KV_WAIT;    /* KV_PH_DRAIN */
    }
}

/* The end of the stream, an error or a timeout: say 408 if a request was
 * under way when time ran out, then close. */
static pl_verdict conn_end(pl_ctx *cx, kv_conn *c, int err)
{
    bool midway = (c->phase == KV_PH_HEAD && c->scanned > 0) || c->phase == KV_PH_BODY ||
                  c->phase == KV_PH_CHUNKED || c->phase == KV_PH_SKIP;
    if (err == -ETIMEDOUT && midway) {
        kv_out out;
        out.len = 0;
        kv_simple(cx, c, &out, (kv_reply){ .close = true }, 408, NULL, NULL);
        kv_flush(cx, c, &out);
    }
    kv_close(cx, c);
    return PL_DONE;
}

static pl_verdict on_conn(pl_ctx *cx, void *mem, const pl_answer *a)
{
    kv_conn *c = mem;
    if (a->err != 0 || a->len == 0)
        return conn_end(cx, c, a->err);
    const char *data = (const char *)a->data;
    kv_out out;                               /* responses of this read, sent once */
    out.len = 0;
    size_t off = 0;
    kv_step s = KV_MORE;
    for (size_t n = 0; s == KV_MORE; n++) {
        PL_ASSERT(n <= a->len + 2);           /* each step makes progress */
        s = step(cx, c, data + off, a->len - off, &off, &out);
    }
    kv_flush(cx, c, &out);
    pl_consume(cx, s == KV_CLOSED ? a->len : off);
    return s == KV_CLOSED ? PL_DONE : PL_KEEP;
}
PL_HANDLER(kv_h_conn, on_conn);
