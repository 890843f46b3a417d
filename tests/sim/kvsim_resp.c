/* kvsim_resp.c — the kv machine's responses, parsed as a strict client would
 * and handed to the checker.
 *
 * A response must parse (status line, headers within 16 KiB, Content-Length
 * on every status but 1xx and 204), answer the oldest request in flight, and
 * have a status the request allows:
 *
 *   PUT      204 stored; 503 (with Retry-After) while the disk is full;
 *            413 only for a value over 1 MiB; 408 when the request was cut
 *   GET      200 with the value, 404 when absent; 408
 *   DELETE   204 removed, 404 absent (a read of the key too); 503; 408
 *   1xx      only 100 Continue, only for a request that asked for it
 *
 * Anything else is a violation, as is a value nobody wrote (kvsim_check.c).
 */
#include "kvsim.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { HEAD_MAX = 16384 };

typedef struct resp {
    int status;
    size_t head_len;
    bool has_len, close, retry_after;
    uint64_t len;
} resp;

/* The value of header `name` in head[0..n), or NULL; *vlen its length. */
static const char *header(const char *h, size_t n, const char *name, size_t *vlen)
{
    size_t k = strlen(name);
    for (const char *p = h; p < h + n;) {
        const char *eol = memchr(p, '\n', (size_t)(h + n - p));
        if (eol == NULL)
            break;
        if ((size_t)(eol - p) > k && p[k] == ':' && strncasecmp(p, name, k) == 0) {
            const char *v = p + k + 1;
            while (v < eol && *v == ' ')
                v++;
            const char *e = eol;
            while (e > v && (e[-1] == '\r' || e[-1] == ' '))
                e--;
            *vlen = (size_t)(e - v);
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/* 1 and *r: a whole head at the front of c->in; 0: not yet; -1: garbage. */
static int parse_head(const ks_client *c, resp *r)
{
    const uint8_t *end = NULL;
    size_t scan = c->in_len < HEAD_MAX ? c->in_len : HEAD_MAX;
    for (size_t i = 3; i < scan && end == NULL; i++)
        if (memcmp(c->in + i - 3, "\r\n\r\n", 4) == 0)
            end = c->in + i + 1;
    if (end == NULL)
        return c->in_len >= HEAD_MAX ? -1 : 0;
    const char *h = (const char *)c->in;
    size_t n = (size_t)(end - c->in);
    memset(r, 0, sizeof *r);
    r->head_len = n;
    if (n < 14 || memcmp(h, "HTTP/1.", 7) != 0 || (h[7] != '1' && h[7] != '0') ||
        h[8] != ' ' || h[9] < '1' || h[9] > '5' || h[10] < '0' || h[10] > '9' ||
        h[11] < '0' || h[11] > '9')
        return -1;
    r->status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    size_t vl;
    const char *v = header(h, n, "Content-Length", &vl);
    if (v != NULL) {
        char num[24];
        if (vl == 0 || vl >= sizeof num)
            return -1;
        memcpy(num, v, vl);
        num[vl] = 0;
        char *e;
        r->len = strtoull(num, &e, 10);
        if (*e != 0)
            return -1;
        r->has_len = true;
    }
    v = header(h, n, "Connection", &vl);
    r->close = v != NULL && vl == 5 && strncasecmp(v, "close", 5) == 0;
    r->retry_after = header(h, n, "Retry-After", &vl) != NULL;
    return 1;
}

static const char *method_name(const ks_req *q)
{
    return q->method == KS_PUT ? "PUT" : q->method == KS_DEL ? "DELETE" : "GET";
}

/* Response r (its body after the head) to the oldest request q. */
static void judge(ks_world *w, ks_client *c, ks_req *q, const resp *r, const uint8_t *body)
{
    int st = r->status;
    uint64_t h[3] = { w->now, (uint64_t)st, r->len };
    ks_trace(w, h, sizeof h);
    w->st.responses++;
    if (st == 408) {
        w->st.s408++;
        if (q->write != UINT32_MAX)
            ks_write_failed(w, q->write);
        return;
    }
    bool ok;
    switch (q->method) {
    case KS_GET:
        ok = st == 200 || st == 404;
        if (ok)
            ks_check_read(w, c, q->key, q->s, st == 404, body, r->len);
        break;
    case KS_PUT: {
        const ks_write *wr = &w->w[q->write];
        bool big = wr->vlen > (1 << 20);
        ok = (st == 204 && !big) || (st == 413 && big) || (st == 503 && r->retry_after);
        if (st == 204 && ok)
            ks_write_acked(w, q->write);
        else
            ks_write_failed(w, q->write);
        w->st.s503 += st == 503;
        break;
    }
    default:
        ok = st == 204 || st == 404 || (st == 503 && r->retry_after);
        if (st == 404)
            ks_check_read(w, c, q->key, q->s, true, NULL, 0);
        if (st == 204 || st == 404)
            ks_write_acked(w, q->write);
        else
            ks_write_failed(w, q->write);
        w->st.s503 += st == 503;
        break;
    }
    if (!ok)
        ks_violation(w, "client %u: %s /kv/%s answered %d", c->id, method_name(q),
                     w->keys[q->key], st);
    else if (q->probe && st != 204)
        ks_violation(w, "a PUT after the faults and a restart answered %d: kv still refuses "
                     "writes", st);
}

void ks_take(ks_world *w, ks_client *c)
{
    while (c->in_len > 0) {
        resp r;
        int e = parse_head(c, &r);
        if (e == 0)
            return;
        if (e < 0) {
            ks_violation(w, "client %u: a response that does not parse: \"%.40s\"", c->id,
                         (const char *)c->in);
            c->in_len = 0;
            return;
        }
        ks_req *q = c->nq > 0 ? &c->q[c->q0] : NULL;
        bool interim = r.status >= 100 && r.status < 200;
        if (!interim && r.status != 204 && !r.has_len) {
            ks_violation(w, "client %u: status %d without Content-Length", c->id, r.status);
            c->in_len = 0;
            return;
        }
        uint64_t whole = r.head_len + (interim || r.status == 204 ? 0 : r.len);
        if (whole > c->in_len)
            return;
        if (q == NULL) {
            ks_violation(w, "client %u: a response (%d) to no request", c->id, r.status);
        } else if (interim) {
            if (r.status != 100 || !q->expect)
                ks_violation(w, "client %u: an interim %d to %s", c->id, r.status,
                             method_name(q));
        } else {
            judge(w, c, q, &r, c->in + r.head_len);
            c->q0 = (c->q0 + 1) % KS_WINDOW_MAX;
            c->nq--;
            ks_client_answered(w, c);
            if (r.close)
                c->closing = true;
        }
        memmove(c->in, c->in + whole, c->in_len - (size_t)whole);
        c->in_len -= (size_t)whole;
    }
}
