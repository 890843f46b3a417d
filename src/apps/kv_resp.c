/* kv_resp.c — how the kv app's responses leave: gathered per read, heads
 * written by src/http/resp.c (Server: pluto, Date, nosniff like the static
 * server), short text bodies for statuses.
 *
 * The responses to the pipelined requests of one read go out in one send;
 * a value too large for the gathering buffer goes in a send of its own
 * (head and value in two segments) after what was gathered, so the order of
 * responses is the order of requests.
 */
#include "apps/kv.h"
#include "runtime/assert.h"

#include <stdio.h>
#include <string.h>

void kv_flush(pl_ctx *cx, const kv_conn *c, kv_out *out)
{
    if (out->len > 0)
        pl_write(cx, c->fd, out->buf, out->len);
    out->len = 0;
}

void kv_emit(pl_ctx *cx, const kv_conn *c, kv_out *out, const void *head, size_t hlen,
             const void *body, size_t blen)
{
    if (hlen + blen <= sizeof out->buf - out->len) {
        memcpy(out->buf + out->len, head, hlen);
        if (blen)
            memcpy(out->buf + out->len + hlen, body, blen);
        out->len += hlen + blen;
        return;
    }
    kv_flush(cx, c, out);
    pl_iov iov[2] = { { head, hlen }, { body, blen } };
    pl_cmd send = pl_cmd_writev(c->fd, iov, blen ? 2 : 1);
    pl_send(cx, &send, NULL, NULL, 0);
}

void kv_respond(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp, pl_http_resp *r,
                const void *body, size_t blen)
{
    const pl_app_clock *k = pl_ref_get(cx, c->refs.clock, NULL);
    char head[1024];
    r->date = k->date;
    r->close = rp.close;
    r->keep_alive_10 = rp.keep_alive_10 && !rp.close;
    size_t n = pl_http_resp_head(head, sizeof head, r);
    PL_ASSERT(n > 0);                         /* every head here is short */
    kv_emit(cx, c, out, head, n, body, rp.head ? 0 : blen);
}

void kv_simple(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp, int status,
               const char *allow, const char *extra)
{
    char body[64];
    int n = 0;
    if (status != 204)
        n = snprintf(body, sizeof body, "%d %s\n", status, pl_http_reason(status));
    pl_http_resp r = { .status = status, .has_length = status != 204,
                       .content_length = (uint64_t)n,
                       .content_type = status != 204 ? "text/plain; charset=utf-8" : NULL,
                       .allow = allow, .extra = extra };
    kv_respond(cx, c, out, rp, &r, body, (size_t)n);
}

void kv_close(pl_ctx *cx, kv_conn *c)
{
    if (c->phase == KV_PH_BODY || c->phase == KV_PH_CHUNKED)
        kv_cell_free(cx, &c->refs, c->stage);  /* an unfinished PUT stores nothing */
    c->phase = KV_PH_DRAIN;
    pl_cmd close = pl_cmd_close(c->fd);
    pl_send(cx, &close, NULL, NULL, 0);
}
