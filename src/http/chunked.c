/* chunked.c — the chunked transfer coding of request bodies (RFC 9112 section 7.1).
 *
 * A body whose length is not known up front arrives as sized chunks; the
 * server reads whatever the network gives it, so the decoder is a byte state
 * machine that stops anywhere and resumes from pl_http_chunked alone. It
 * decodes in place: body bytes move to the front of the input. The format:
 *
 *   1a;name=value\r\n                   chunk-size in hex [ chunk-ext ] CRLF
 *   abcdefghijklmnopqrstuvwxyz\r\n      chunk-data CRLF
 *   0\r\n                               last-chunk
 *   Expires: never\r\n                  trailer fields (read, checked, dropped)
 *   \r\n                                the end of the body
 *
 * Strict like parse.c: lines end in CRLF only; whitespace after the size only
 * before ";" (BWS); extensions are skipped but may not hold control bytes; a
 * size line (with its extensions) is at most SIZE_LINE_MAX bytes and the
 * trailer section at most TRAILER_MAX; a size that overflows 64 bits is 400; a
 * chunk that would take the body past max_body is 413 as soon as its size line
 * ends. After an error the decoder keeps answering it; after the end it
 * consumes nothing, so bytes of a pipelined request stay with the caller.
 */
#include "http/http.h"
#include "http/chars.h"

#include <string.h>

enum { SIZE_LINE_MAX = 4096, TRAILER_MAX = 8192 };

enum {
    C_SIZE0,        /* first hex digit of a size */
    C_SIZE,         /* more hex digits, ";", BWS or CR */
    C_SIZE_WS,      /* BWS after the size: more of it or ";" */
    C_EXT,          /* chunk extensions up to CR */
    C_SIZE_LF,      /* LF ending the size line */
    C_DATA,         /* left bytes of chunk data */
    C_DATA_CR, C_DATA_LF,
    C_TRAILER,      /* start of a trailer line: CR ends the body */
    C_TNAME, C_TVALUE, C_TLF,
    C_END_LF,       /* LF after the final empty line */
    C_DONE, C_ERR400, C_ERR413,
};

/* Field-value and extension bytes: VCHAR, obs-text, SP, HT. */
static bool is_text(unsigned char c) { return (c >= 0x20 && c != 0x7f) || c == '\t'; }

/* The size line: hex digits, BWS, extensions, CRLF. */
static int step_size(pl_http_chunked *c, unsigned char ch, uint64_t max_body)
{
    if (++c->line > SIZE_LINE_MAX)
        return C_ERR400;
    int d = http_hex(ch);
    switch (c->state) {
    case C_SIZE0:
        if (d < 0)
            return C_ERR400;
        c->left = (uint64_t)d;
        return C_SIZE;
    case C_SIZE:
        if (d >= 0) {
            if (c->left > UINT64_MAX >> 4)
                return C_ERR400;
            c->left = c->left << 4 | (uint64_t)d;
            return C_SIZE;
        }
        if (ch == ';')
            return C_EXT;
        return ch == ' ' || ch == '\t' ? C_SIZE_WS : ch == '\r' ? C_SIZE_LF : C_ERR400;
    case C_SIZE_WS:
        return ch == ' ' || ch == '\t' ? C_SIZE_WS : ch == ';' ? C_EXT : C_ERR400;
    case C_EXT:
        return ch == '\r' ? C_SIZE_LF : is_text(ch) ? C_EXT : C_ERR400;
    default:    /* C_SIZE_LF */
        if (ch != '\n')
            return C_ERR400;
        if (c->total > max_body || c->left > max_body - c->total)
            return C_ERR413;
        c->line = 0;
        return c->left == 0 ? C_TRAILER : C_DATA;
    }
}

/* Everything after the data of a chunk: its CRLF, the trailers, the end. */
static int step_after(pl_http_chunked *c, unsigned char ch)
{
    switch (c->state) {
    case C_DATA_CR: return ch == '\r' ? C_DATA_LF : C_ERR400;
    case C_DATA_LF: return ch == '\n' ? C_SIZE0 : C_ERR400;
    case C_END_LF: return ch == '\n' ? C_DONE : C_ERR400;
    default: break;
    }
    if (++c->line > TRAILER_MAX)
        return C_ERR400;
    switch (c->state) {
    case C_TRAILER:
        return ch == '\r' ? C_END_LF : http_is_tchar(ch) ? C_TNAME : C_ERR400;
    case C_TNAME:
        return http_is_tchar(ch) ? C_TNAME : ch == ':' ? C_TVALUE : C_ERR400;
    case C_TVALUE:
        return ch == '\r' ? C_TLF : is_text(ch) ? C_TVALUE : C_ERR400;
    default:    /* C_TLF */
        return ch == '\n' ? C_TRAILER : C_ERR400;
    }
}

long pl_http_chunked_feed(pl_http_chunked *c, char *in, size_t len, size_t *body_len,
                          uint64_t max_body, int *done)
{
    HTTP_ASSERT(c != NULL && c->state >= C_SIZE0 && c->state <= C_ERR413);
    size_t i = 0, out = 0;
    while (i < len && c->state < C_DONE) {
        if (c->state == C_DATA) {
            size_t n = len - i < c->left ? len - i : (size_t)c->left;
            memmove(in + out, in + i, n);
            out += n, i += n;
            c->left -= n;
            c->total += n;
            if (c->left == 0)
                c->state = C_DATA_CR;
            continue;
        }
        unsigned char ch = (unsigned char)in[i++];
        c->state = c->state <= C_SIZE_LF ? step_size(c, ch, max_body) : step_after(c, ch);
    }
    HTTP_ASSERT(out <= i && i <= len);
    *body_len = out;
    *done = c->state == C_DONE;
    if (c->state == C_ERR400)
        return -400;
    if (c->state == C_ERR413)
        return -413;
    return (long)i;
}
