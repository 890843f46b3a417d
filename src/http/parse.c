/* parse.c — request heads, strictly (RFC 9112 sections 2-3, 6; RFC 9110 section 5).
 *
 * Every framing decision of the server starts here, and request smuggling lives
 * in the gaps between lenient parsers; so this one accepts one spelling and
 * answers 400 to the rest. A head looks like:
 *
 *   GET /docs/a.html?v=2 HTTP/1.1\r\n      method SP request-target SP HTTP/1.d
 *   Host: example.org:8080\r\n             field-name ":" OWS field-value OWS
 *   If-None-Match: "1a-2b-3c", W/"x"\r\n
 *   Connection: keep-alive, Upgrade\r\n    token lists, case-insensitive
 *   \r\n                                   the empty line ends the head
 *
 * Decisions (each one has a test in tests/unit/test_http_parse.c):
 * - Lines end in CRLF only: a bare LF or bare CR anywhere is 400, as is NUL.
 *   pl_http_head_end also stops at LF LF and LF CR LF, so a bare-LF client gets
 *   its 400 at once instead of waiting for the header timeout.
 * - Up to PL_HTTP_LEAD_MAX / 2 empty lines before the request line are skipped (RFC 9112
 *   section 2.2: SHOULD ignore at least one) and count in head_len; more is 400.
 * - HTTP/1.2 to HTTP/1.9 are processed as HTTP/1.1 (RFC 9112 section 2.3), so
 *   minor is 1. Any other HTTP/d.d is 505; anything else in the version is 400.
 * - Transfer-Encoding: the final coding must be chunked and chunked may appear
 *   once (else 400); a coding before it that we do not implement (gzip, ...) is
 *   501; with Content-Length, or in an HTTP/1.0 request (RFC 9112 section 6.1:
 *   the framing is faulty), 400.
 * - Host is required in HTTP/1.1, at most once, and holds only uri-host and
 *   port characters (possibly empty). Content-Length: digits, once.
 * - The convenience slices take the first of duplicate fields. Expect:
 *   100-continue is ignored in HTTP/1.0 (RFC 9110 section 10.1.1).
 * - Parsing stops at the first empty line: bytes after it (a body, the next
 *   pipelined request) are not looked at; head_len says where the head ended.
 */
#include "http/http.h"
#include "http/chars.h"

#include <stddef.h>
#include <string.h>

/* Pure code cannot reach the runtime's reporter: trap in place (stays on). */

/* Fields we act on; H_SLICE ones fill the pl_str of r at off. */
enum hid { H_OTHER, H_HOST, H_CL, H_TE, H_CONN, H_EXPECT, H_SLICE };

#define SLICE(name, field) { name, sizeof name - 1, H_SLICE, offsetof(pl_http_req, field) }
static const struct { const char *name; size_t len; unsigned id; size_t off; } known[] = {
    { "host", 4, H_HOST, 0 }, { "content-length", 14, H_CL, 0 },
    { "transfer-encoding", 17, H_TE, 0 }, { "connection", 10, H_CONN, 0 },
    { "expect", 6, H_EXPECT, 0 }, SLICE("if-none-match", if_none_match),
    SLICE("if-match", if_match), SLICE("if-modified-since", if_modified_since),
    SLICE("if-unmodified-since", if_unmodified_since), SLICE("range", range),
    SLICE("if-range", if_range), SLICE("accept-encoding", accept_encoding),
    SLICE("origin", origin),
};
enum { NKNOWN = sizeof known / sizeof known[0] };

/* known[]'s entries by the length of their name, each +1 (0: none); no more than
 * two names share a length. A field's name is compared with those, not with all. */
static const unsigned char by_len[20][2] = {
    [4] = { 1 },  [5] = { 10 }, [6] = { 5, 13 }, [8] = { 7, 11 }, [10] = { 4 },
    [13] = { 6 }, [14] = { 2 }, [15] = { 12 }, [17] = { 3, 8 }, [19] = { 9 },
};
_Static_assert(NKNOWN == 13, "by_len lists every entry of known[]: update both");

static const struct { const char *name; unsigned char len, m; } methods[] = {
    { "GET", 3, PL_HTTP_GET }, { "HEAD", 4, PL_HTTP_HEAD }, { "POST", 4, PL_HTTP_POST },
    { "PUT", 3, PL_HTTP_PUT }, { "DELETE", 6, PL_HTTP_DELETE },
    { "OPTIONS", 7, PL_HTTP_OPTIONS }, { "PATCH", 5, PL_HTTP_PATCH },
    { "TRACE", 5, PL_HTTP_TRACE }, { "CONNECT", 7, PL_HTTP_CONNECT },
};

/* What the fields said, before the checks that need all of them. */
typedef struct fields {
    bool close, keep, expect, te, te_bad, te_unknown, te_last_chunked;
    unsigned te_chunked;
} fields;

/* a[0..alen) equals b[0..n), ignoring ASCII case. */
static bool ieq(const char *a, size_t alen, const char *b, size_t n)
{
    if (alen != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (http_lower(a[i]) != http_lower(b[i]))
            return false;
    return true;
}

static pl_str trim(const char *p, size_t n)
{
    while (n > 0 && http_is_ows(p[0]))
        p++, n--;
    while (n > 0 && http_is_ows(p[n - 1]))
        n--;
    return (pl_str){ p, n };
}

/* Bytes of CRLF pairs at the start of buf, at most PL_HTTP_LEAD_MAX. */
static size_t lead_len(const char *buf, size_t len)
{
    size_t n = 0;
    while (n < PL_HTTP_LEAD_MAX && n + 1 < len && buf[n] == '\r' && buf[n + 1] == '\n')
        n += 2;
    return n;
}

size_t pl_http_head_end(const char *buf, size_t len, size_t *scanned)
{
    size_t lead = lead_len(buf, len);
    for (size_t i = *scanned; i < len; i++) {
        const char *nl = memchr(buf + i, '\n', len - i);
        if (nl == NULL)
            break;
        i = (size_t)(nl - buf);
        if (i < lead || i == 0)
            continue;           /* inside the skipped empty lines */
        if (buf[i - 1] == '\n' || (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')) {
            *scanned = i;       /* a repeated call finds the same end */
            return i + 1;
        }
    }
    *scanned = len;
    return 0;
}

/* The line starting at pos ends at *eol (its CR). NUL, bare CR, bare LF: 400;
 * so is a head that ends without an empty line. */
static int next_line(const char *buf, size_t len, size_t pos, size_t *eol)
{
    for (size_t i = pos; i < len; i++) {
        if (buf[i] == '\r') {
            if (i + 1 >= len || buf[i + 1] != '\n')
                return -400;
            *eol = i;
            return 0;
        }
        if (buf[i] == '\n' || buf[i] == '\0')
            return -400;
    }
    return -400;
}

/* next_line for the request line, whose parser refuses every LF and NUL in
 * it: only the CR is looked for, with memchr, and a bare LF or NUL before it
 * is left to that parser's 400. */
static int next_cr(const char *buf, size_t len, size_t pos, size_t *eol)
{
    const char *cr = memchr(buf + pos, '\r', len - pos);
    if (cr == NULL || (size_t)(cr - buf) + 1 >= len || cr[1] != '\n')
        return next_line(buf, len, pos, eol);  /* the same 400, or an earlier one */
    *eol = (size_t)(cr - buf);
    return 0;
}

static int parse_version(const char *v, size_t n, int *minor)
{
    if (n != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.')
        return -400;
    if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9')
        return -400;
    if (v[5] != '1')
        return -505;
    *minor = v[7] == '0' ? 0 : 1;   /* 1.2 to 1.9: as 1.1, the highest we speak */
    return 0;
}

static pl_http_method method_of(const char *p, size_t n)
{
    if (n == 3 && p[0] == 'G' && p[1] == 'E' && p[2] == 'T')
        return PL_HTTP_GET;             /* nearly every request */
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++)
        if (methods[k].len == n && memcmp(methods[k].name, p, n) == 0)
            return (pl_http_method)methods[k].m;
    return PL_HTTP_OTHER;
}

/* The index of the first 8-byte word of p[i..n) that may hold a byte below
 * lim (at most 0x80) or a DEL, or of the tail after the last whole word: the
 * exact "has a byte less than" and "has a zero byte" word tests, so every
 * word skipped holds neither. */
static size_t skip_words(const char *p, size_t n, size_t i, uint64_t lim)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, del;
        memcpy(&w, p + i, 8);
        del = w ^ (0x7f * ones);
        if ((((w - lim * ones) & ~w) | ((del - ones) & ~del)) & highs)
            break;
    }
    return i;
}

/* The end of a request-target starting at i: the first byte at or below SP,
 * or DEL. */
static size_t target_end(const char *p, size_t n, size_t i)
{
    i = skip_words(p, n, i, 0x21);
    while (i < n && (unsigned char)p[i] > 0x20 && p[i] != 0x7f)
        i++;
    return i;
}

static int parse_request_line(const char *p, size_t n, pl_http_req *r)
{
    size_t i = 0;
    while (i < n && http_is_tchar((unsigned char)p[i]))
        i++;
    if (i == 0 || i == n || p[i] != ' ')
        return -400;
    r->method_raw = (pl_str){ p, i };
    r->method = method_of(p, i);
    size_t t = ++i;
    i = target_end(p, n, i);
    if (i == t || i == n || p[i] != ' ')
        return -400;
    r->target = (pl_str){ p + t, i - t };
    return parse_version(p + i + 1, n - i - 1, &r->minor);
}

/* The field line at buf[pos..len), scanned once: field-name ":" OWS field-value
 * OWS, then its CRLF; *eol is its CR. No whitespace before the colon, and no
 * obs-fold (a line starting with SP or HT fails the token test). The value is
 * scanned eight bytes at a time up to the first control byte but HTAB, or DEL:
 * that must be the CR of the line's CRLF. Anything else — a bare CR or LF, a NUL,
 * no line end — is 400, as it is anywhere in a head. */
static int parse_field(const char *buf, size_t len, size_t pos, size_t *eol,
                       pl_http_header *h)
{
    size_t i = pos;
    while (i < len && http_is_tchar((unsigned char)buf[i]))
        i++;
    if (i == pos || i == len || buf[i] != ':')
        return -400;
    size_t j = skip_words(buf, len, i + 1, 0x20);
    while (j < len && ((unsigned char)buf[j] >= 0x20 ? buf[j] != 0x7f : buf[j] == '\t'))
        j++;
    if (j + 1 >= len || buf[j] != '\r' || buf[j + 1] != '\n')
        return -400;
    *eol = j;
    h->name = (pl_str){ buf + pos, i - pos };
    h->value = trim(buf + i + 1, j - i - 1);
    return 0;
}

/* Calls on_elem for each non-empty element of a comma-separated list. */
static void each_elem(pl_str v, fields *f, void (*on_elem)(fields *, pl_str))
{
    size_t start = 0;
    for (size_t i = 0; i <= v.len; i++) {
        if (i < v.len && v.p[i] != ',')
            continue;
        pl_str e = trim(v.p + start, i - start);
        if (e.len > 0)
            on_elem(f, e);
        start = i + 1;
    }
}

static void on_connection(fields *f, pl_str e)
{
    if (ieq(e.p, e.len, "close", 5))
        f->close = true;
    else if (ieq(e.p, e.len, "keep-alive", 10))
        f->keep = true;
}

/* transfer-coding = token *( OWS ";" OWS parameter ); chunked takes none. */
static void on_coding(fields *f, pl_str e)
{
    const char *semi = memchr(e.p, ';', e.len);
    pl_str name = trim(e.p, semi ? (size_t)(semi - e.p) : e.len);
    for (size_t i = 0; i < name.len; i++)
        if (!http_is_tchar((unsigned char)name.p[i]))
            f->te_bad = true;
    f->te_last_chunked = ieq(name.p, name.len, "chunked", 7);
    if (f->te_last_chunked) {
        f->te_chunked++;
        f->te_bad |= semi != NULL;
    } else {
        f->te_unknown = true;
    }
}

static bool host_ok(pl_str v)
{
    for (size_t i = 0; i < v.len; i++)
        if (!http_is_hostchar((unsigned char)v.p[i]))
            return false;
    return true;
}

static int parse_length(pl_str v, uint64_t *out)
{
    uint64_t n = 0;
    if (v.len == 0)
        return -400;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned)(unsigned char)v.p[i] - '0';
        if (d > 9 || n > (UINT64_MAX - d) / 10)
            return -400;
        n = n * 10 + d;
    }
    *out = n;
    return 0;
}

/* The entry of known[] for a field's name (any case), or NKNOWN. */
static size_t known_index(pl_str name)
{
    if (name.len >= sizeof by_len / sizeof by_len[0])
        return NKNOWN;
    const unsigned char *c = by_len[name.len];
    if (c[0] != 0 && ieq(name.p, name.len, known[c[0] - 1].name, known[c[0] - 1].len))
        return c[0] - 1u;
    if (c[1] != 0 && ieq(name.p, name.len, known[c[1] - 1].name, known[c[1] - 1].len))
        return c[1] - 1u;
    return NKNOWN;
}

static int apply_field(pl_http_req *r, fields *f, const pl_http_header *h)
{
    size_t k = known_index(h->name);
    switch (k < NKNOWN ? known[k].id : H_OTHER) {
    case H_HOST:
        if (r->has_host || !host_ok(h->value))
            return -400;
        r->has_host = true;
        r->host = h->value;
        return 0;
    case H_CL:
        if (r->has_length)
            return -400;
        r->has_length = true;
        return parse_length(h->value, &r->content_length);
    case H_TE: f->te = true; each_elem(h->value, f, on_coding); return 0;
    case H_CONN: each_elem(h->value, f, on_connection); return 0;
    case H_EXPECT: f->expect |= ieq(h->value.p, h->value.len, "100-continue", 12); return 0;
    case H_SLICE: {
        pl_str *slot = (pl_str *)((char *)r + known[k].off);
        if (slot->p == NULL)        /* the first of duplicates wins */
            *slot = h->value;
        return 0;
    }
    default: return 0;
    }
}

/* The checks that need every field: Host, framing (RFC 9112 section 6.3), and
 * the connection's fate. */
static int finish(pl_http_req *r, const fields *f)
{
    if (r->minor == 1 && !r->has_host)
        return -400;
    if (f->te) {
        if (r->minor == 0 || r->has_length || f->te_bad || f->te_chunked != 1
            || !f->te_last_chunked)
            return -400;
        if (f->te_unknown)
            return -501;
        r->chunked = true;
    }
    r->keep_alive = r->minor == 1 ? !f->close : f->keep && !f->close;
    r->expect_continue = r->minor == 1 && f->expect;
    return 0;
}

int pl_http_parse_head(const char *buf, size_t len, pl_http_req *r)
{
    HTTP_ASSERT(r != NULL && (buf != NULL || len == 0));
    memset(r, 0, offsetof(pl_http_req, headers));  /* headers[] past nheaders: unread */
    r->method = PL_HTTP_OTHER;
    fields f = { 0 };
    size_t pos = lead_len(buf, len), eol = 0;
    int rc = next_cr(buf, len, pos, &eol);
    if (rc != 0)
        return rc;
    if (eol - pos > PL_HTTP_REQLINE_MAX)
        return next_line(buf, len, pos, &eol) != 0 ? -400 : -414;
    rc = parse_request_line(buf + pos, eol - pos, r);
    for (pos = eol + 2; rc == 0; pos = eol + 2) {
        if (pos < len && buf[pos] == '\r') {        /* the empty line ends the head */
            if (pos + 1 == len || buf[pos + 1] != '\n')
                return -400;
            eol = pos;
            break;
        }
        if (r->nheaders == PL_HTTP_HEADERS_MAX)
            return next_line(buf, len, pos, &eol) != 0 ? -400 : -431;
        pl_http_header *h = &r->headers[r->nheaders];
        rc = parse_field(buf, len, pos, &eol, h);
        if (rc == 0)
            r->nheaders++, rc = apply_field(r, &f, h);
    }
    if (rc != 0)
        return rc;
    r->head_len = eol + 2;
    HTTP_ASSERT(r->head_len <= len && r->nheaders <= PL_HTTP_HEADERS_MAX);
    return finish(r, &f);
}

pl_str pl_http_header_get(const pl_http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (uint32_t i = 0; i < r->nheaders; i++)
        if (ieq(r->headers[i].name.p, r->headers[i].name.len, name, n))
            return r->headers[i].value;
    return (pl_str){ NULL, 0 };
}
