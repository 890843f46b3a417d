/* kv_list.c — GET /kv/: every key, as a JSON array of strings.
 *
 *   ["greeting","a \"quoted\" key","tab\there","bell\u0007","café"]
 *
 * Keys are UTF-8 (kv_req.c checks), so they go out as they are except for
 * what JSON must escape: '"', '\\' and the control characters (\n, \t, ...,
 * others as \u00XX). The array is in table order (the page sorts it).
 *
 * The length is counted in a first pass, so the response has a
 * Content-Length; the second pass writes the array through the gathering
 * buffer, a send each time it fills, so no copy of the whole list is made.
 */
#include "apps/kv.h"

#include <string.h>

/* Bytes of key as a JSON string, quotes included. */
static size_t json_len(const char *key, size_t n)
{
    size_t len = 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' ||
            ch == '\t')
            len += 2;
        else if (ch < 0x20)
            len += 6;
        else
            len += 1;
    }
    return len;
}

/* Write key as a JSON string to dst (json_len bytes); returns the length. */
static size_t json_put(char *dst, const char *key, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    static const char short_esc[] = "btn\0fr";     /* for \b \t \n, \f \r */
    size_t o = 0;
    dst[o++] = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)key[i];
        if (ch == '"' || ch == '\\') {
            dst[o++] = '\\';
            dst[o++] = (char)ch;
        } else if (ch >= '\b' && ch <= '\r' && ch != 0x0b) {
            dst[o++] = '\\';
            dst[o++] = short_esc[ch - '\b'];
        } else if (ch < 0x20) {
            memcpy(dst + o, "\\u00", 4);
            dst[o + 4] = hex[ch >> 4];
            dst[o + 5] = hex[ch & 15];
            o += 6;
        } else {
            dst[o++] = (char)ch;
        }
    }
    dst[o++] = '"';
    return o;
}

/* At least n free bytes in out: send what it holds when they are not. */
static void room(pl_ctx *cx, const kv_conn *c, kv_out *out, size_t n)
{
    if (sizeof out->buf - out->len < n)
        kv_flush(cx, c, out);
}

void kv_list(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp)
{
    uint64_t total = 2;                       /* "[" "]" */
    uint32_t pos = 0, count = 0;
    size_t klen;
    for (const char *k; (k = kv_next_key(cx, &c->refs, &pos, &klen)) != NULL; count++)
        total += json_len(k, klen) + (count > 0);
    pl_http_resp r = { .status = 200, .content_type = "application/json",
                       .has_length = true, .content_length = total,
                       .cache_control = "no-store" };
    kv_respond(cx, c, out, rp, &r, NULL, 0);
    if (rp.head)
        return;
    enum { ONE_MAX = 1 + 2 + 6 * KV_KEY_MAX };  /* a comma and a key escaped */
    room(cx, c, out, 1);
    out->buf[out->len++] = '[';
    pos = 0;
    for (uint32_t i = 0; i < count; i++) {
        const char *k = kv_next_key(cx, &c->refs, &pos, &klen);
        room(cx, c, out, ONE_MAX);
        if (i > 0)
            out->buf[out->len++] = ',';
        out->len += json_put(out->buf + out->len, k, klen);
    }
    room(cx, c, out, 1);
    out->buf[out->len++] = ']';
}
