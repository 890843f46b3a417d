/* kvsim_req.c — the requests of the simulated kv clients, as bytes.
 *
 * Keys come in several forms (plain, with ':' or '~', a space, a literal
 * '%', UTF-8), sent percent-encoded where they must be and now and then where
 * they need not be, in either case of hex. A PUT's value is a stream of bytes
 * from its own seed (ks_value), so that a read can be checked against any
 * write without keeping the values; lengths run from empty to just above
 * kv's 1 MiB limit (413), sent with Content-Length or chunked (chunks of
 * random sizes), now and then with Expect: 100-continue. One request in
 * twelve says Connection: close.
 */
#include "kvsim.h"

#include <stdlib.h>
#include <string.h>

static const char *const KEY_FORMS[] = {
    "k%u", "user:%u", "caf\xc3\xa9-%u", "a b %u", "50%%-%u", "x.y_%u", "~t%u", "%u",
};

void ks_key_name(ks_world *w, uint32_t k)
{
    const char *f = KEY_FORMS[ks_below(w, sizeof KEY_FORMS / sizeof *KEY_FORMS)];
    snprintf(w->keys[k], sizeof w->keys[k], f, k);
}

void ks_value(uint64_t vseed, uint64_t off, uint8_t *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint64_t pos = off + i, word = ks_mix(vseed + (pos >> 3));
        for (unsigned b = (unsigned)(pos & 7); b < 8 && i < n; b++, i++)
            buf[i] = (uint8_t)(word >> (b * 8));
    }
}

/* ---- building requests -------------------------------------------------------- */

static void out_add(ks_client *c, const void *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        c->out = realloc(c->out, cap);
        PL_ASSERT(c->out != NULL);
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void out_str(ks_client *c, const char *s) { out_add(c, s, strlen(s)); }

/* The key in a request target: reserved bytes always percent-encoded, the
 * others now and then, in either case of hex. */
static void out_key(ks_world *w, ks_client *c, const char *key)
{
    bool lower = ks_below(w, 2) == 0, more = ks_below(w, 4) == 0;
    for (const char *p = key; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        bool plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                     (ch >= '0' && ch <= '9') || strchr("-._~:", ch) != NULL;
        if (plain && !(more && ks_below(w, 3) == 0)) {
            out_add(c, p, 1);
            continue;
        }
        char e[4];
        snprintf(e, sizeof e, lower ? "%%%02x" : "%%%02X", ch);
        out_add(c, e, 3);
    }
}

static uint64_t value_len(ks_world *w)
{
    uint64_t r = ks_below(w, 1000);
    if (r < 30)
        return 0;
    if (r < 600)
        return ks_size(w, 100);
    if (r < 900)
        return ks_size(w, 4096);
    if (r < 985 || !w->big)
        return ks_size(w, r < 985 ? 16 * 1024 : 64 * 1024);
    if (r < 998)
        return ks_size(w, 1 << 20);
    return (1 << 20) + 1 + ks_below(w, 64);     /* too large: 413 */
}

static void out_body(ks_world *w, ks_client *c, uint64_t vseed, uint64_t vlen, bool chunked)
{
    uint8_t buf[4096];
    for (uint64_t off = 0; off < vlen || (chunked && off == vlen);) {
        uint64_t n = vlen - off;
        if (chunked) {
            n = n == 0 ? 0 : ks_size(w, n < 70000 ? n : 70000);
            char head[32];
            snprintf(head, sizeof head, "%llx\r\n", (unsigned long long)n);
            out_str(c, head);
        }
        for (uint64_t k = 0; k < n;) {
            size_t m = n - k < sizeof buf ? (size_t)(n - k) : sizeof buf;
            ks_value(vseed, off + k, buf, m);
            out_add(c, buf, m);
            k += m;
        }
        if (chunked)
            out_str(c, "\r\n");
        if (n == 0)
            break;
        off += n;
    }
}

void ks_build(ks_world *w, ks_client *c)
{
    ks_req *q = &c->q[(c->q0 + c->nq) % KS_WINDOW_MAX];
    memset(q, 0, sizeof *q);
    q->write = UINT32_MAX;
    q->at = c->out_base + c->out_len;
    uint64_t r = ks_below(w, 100);
    q->method = c->verifier ? KS_GET : r < 45 ? KS_PUT : r < 85 ? KS_GET : KS_DEL;
    q->key = (uint16_t)(c->verifier ? c->vkey++ : ks_below(w, 3) == 0 ? 0 : ks_below(w, w->nkeys));
    q->close = !c->verifier && ks_below(w, 12) == 0;
    if (c->verifier && q->key == w->nkeys) {    /* after the reads: a write must pass */
        q->probe = true;
        q->method = KS_PUT;
        q->key = 0;
    }
    static const char *const M[] = { "GET", "PUT", "DELETE" };
    out_str(c, M[q->method]);
    out_str(c, " /kv/");
    out_key(w, c, w->keys[q->key]);
    out_str(c, " HTTP/1.1\r\nHost: kv.sim\r\n");
    if (q->close)
        out_str(c, "Connection: close\r\n");
    uint64_t vlen = 0, vseed = 0;
    if (q->method == KS_PUT) {
        vlen = q->probe ? ks_size(w, 100) : value_len(w);
        vseed = ks_mix(w->o.seed * 0x100000001b3ull + w->nw);
        q->chunked = ks_below(w, 6) == 0;
        q->expect = ks_below(w, 20) == 0;
        char h[64];
        snprintf(h, sizeof h, "Content-Length: %llu\r\n", (unsigned long long)vlen);
        out_str(c, q->chunked ? "Transfer-Encoding: chunked\r\n" : h);
        if (q->expect)
            out_str(c, "Expect: 100-continue\r\n");
    }
    out_str(c, "\r\n");
    if (q->method == KS_PUT)
        out_body(w, c, vseed, vlen, q->chunked);
    q->len = c->out_base + c->out_len - q->at;
    if (q->method != KS_GET)
        q->write = ks_write_new(w, q->key, q->method == KS_DEL, vlen, vseed);
    c->nq++;
    c->issued++;
    w->st.requests++;
}
