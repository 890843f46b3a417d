/* mime.c — Content-Type by extension, and which precompressed sidecar to send.
 *
 * Browsers refuse module scripts, wasm streaming and fonts served with the wrong
 * type, and with nosniff they do not guess; so the table is modern and explicit:
 *
 *   "app.mjs"      -> "text/javascript; charset=utf-8"
 *   "a/b.WASM"     -> "application/wasm"         (extensions are case-insensitive)
 *   "x.tar.gz"     -> "application/gzip"         (the last extension counts)
 *   ".bashrc", "Makefile", "a.d/readme", "a." -> "application/octet-stream"
 *
 * Accept-Encoding (RFC 9110 §12.5.3), with br, zstd and gzip sidecars on disk:
 *
 *   "gzip, deflate, br, zstd"    -> br       (equal q: br, then zstd, then gzip)
 *   "gzip;q=1.0, br;q=0.5"       -> gzip
 *   "*;q=0.1, gzip;q=0"          -> br       ("*" stands for the codings not named)
 *   "br;q=0.5, identity"         -> identity (identity named with a higher q)
 *   "" (no header), "br;q=0"     -> identity
 *
 * Also the optional /etc/mime.types overlay declared in mime.h: parsed as slices
 * of the text, or packed into a flat table of the extensions the table above
 * lacks (the built-in types win):
 *
 *   "text/x-foo  foo FOO\napplication/javascript js\n"
 *       -> foo: "text/x-foo; charset=utf-8"   (js: the built-in type stays)
 */
#include "http/http.h"
#include "http/chars.h"
#include "http/mime.h"

#include <string.h>

typedef struct mime { const char *ext, *type; } mime;

static const mime TABLE[] = {                   /* sorted by ext, lower case */
    { "aac",         "audio/aac" },
    { "apng",        "image/apng" },
    { "atom",        "application/atom+xml; charset=utf-8" },
    { "avif",        "image/avif" },
    { "bmp",         "image/bmp" },
    { "br",          "application/x-brotli" },
    { "css",         "text/css; charset=utf-8" },
    { "csv",         "text/csv; charset=utf-8" },
    { "eot",         "application/vnd.ms-fontobject" },
    { "epub",        "application/epub+zip" },
    { "flac",        "audio/flac" },
    { "gif",         "image/gif" },
    { "gz",          "application/gzip" },
    { "heic",        "image/heic" },
    { "htm",         "text/html; charset=utf-8" },
    { "html",        "text/html; charset=utf-8" },
    { "ico",         "image/x-icon" },
    { "ics",         "text/calendar; charset=utf-8" },
    { "jpeg",        "image/jpeg" },
    { "jpg",         "image/jpeg" },
    { "js",          "text/javascript; charset=utf-8" },
    { "json",        "application/json; charset=utf-8" },
    { "jsonld",      "application/ld+json; charset=utf-8" },
    { "jxl",         "image/jxl" },
    { "m3u8",        "application/vnd.apple.mpegurl" },
    { "m4a",         "audio/mp4" },
    { "map",         "application/json; charset=utf-8" },
    { "md",          "text/markdown; charset=utf-8" },
    { "mjs",         "text/javascript; charset=utf-8" },
    { "mkv",         "video/x-matroska" },
    { "mov",         "video/quicktime" },
    { "mp3",         "audio/mpeg" },
    { "mp4",         "video/mp4" },
    { "mpd",         "application/dash+xml" },
    { "oga",         "audio/ogg" },
    { "ogg",         "audio/ogg" },
    { "ogv",         "video/ogg" },
    { "opus",        "audio/ogg" },
    { "otf",         "font/otf" },
    { "pdf",         "application/pdf" },
    { "png",         "image/png" },
    { "rss",         "application/rss+xml; charset=utf-8" },
    { "svg",         "image/svg+xml; charset=utf-8" },
    { "tar",         "application/x-tar" },
    { "tif",         "image/tiff" },
    { "tiff",        "image/tiff" },
    { "ttf",         "font/ttf" },
    { "txt",         "text/plain; charset=utf-8" },
    { "vtt",         "text/vtt; charset=utf-8" },
    { "wasm",        "application/wasm" },
    { "wav",         "audio/wav" },
    { "webm",        "video/webm" },
    { "webmanifest", "application/manifest+json; charset=utf-8" },
    { "webp",        "image/webp" },
    { "woff",        "font/woff" },
    { "woff2",       "font/woff2" },
    { "xhtml",       "application/xhtml+xml; charset=utf-8" },
    { "xml",         "application/xml; charset=utf-8" },
    { "yaml",        "application/yaml; charset=utf-8" },
    { "yml",         "application/yaml; charset=utf-8" },
    { "zip",         "application/zip" },
    { "zst",         "application/zstd" },
};

/* Compare a[0..n) (any case) with b (as is): <0, 0, >0 like strcmp. */
static int cmp_ci(const char *a, size_t n, const char *b, size_t m)
{
    for (size_t i = 0; i < n && i < m; i++) {
        unsigned char x = (unsigned char)http_lower(a[i]), y = (unsigned char)http_lower(b[i]);
        if (x != y)
            return x < y ? -1 : 1;
    }
    return n < m ? -1 : n > m;
}

/* The extension of the last segment: after its last '.', which must not be the
 * segment's first byte (".bashrc" has none). False when there is none. */
static bool extension(const char *path, size_t len, pl_str *ext)
{
    size_t i = len;
    while (i > 0 && path[i - 1] != '/' && path[i - 1] != '.')
        i--;
    if (i <= 1 || path[i - 1] != '.' || path[i - 2] == '/' || i == len)
        return false;
    *ext = (pl_str){ path + i, len - i };
    return true;
}

bool pl_http_has_extension(const char *path, size_t len)
{
    pl_str e;
    return extension(path, len, &e);
}

const char *pl_http_mime(const char *path, size_t len)
{
    pl_str e;
    size_t lo = 0, hi = sizeof TABLE / sizeof TABLE[0];
    if (!extension(path, len, &e))
        return "application/octet-stream";
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_ci(e.p, e.len, TABLE[mid].ext, strlen(TABLE[mid].ext));
        if (c == 0)
            return TABLE[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return "application/octet-stream";
}

/* ---- Accept-Encoding --------------------------------------------------------- */

static bool tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as 0..1000; or -1. */
static int qvalue(const char *p, size_t n)
{
    int v;
    if (n == 0 || (p[0] != '0' && p[0] != '1') || (n > 1 && (p[1] != '.' || n > 5)))
        return -1;
    v = (p[0] - '0') * 1000;
    for (size_t i = 2, scale = 100; i < n; i++, scale /= 10) {
        if (p[i] < '0' || p[i] > '9' || (v == 1000 && p[i] != '0'))
            return -1;
        v += (p[i] - '0') * (int)scale;
    }
    return v;
}

/* Parameters after a coding: *( OWS ";" OWS name "=" value ). Sets *q (1000 when
 * absent). Returns the index past them, or 0 on bad syntax. */
static size_t params(const char *p, size_t n, size_t i, int *q)
{
    *q = 1000;
    for (;;) {
        while (i < n && http_is_ows(p[i]))
            i++;
        if (i == n || p[i] != ';')
            return i;
        for (i++; i < n && http_is_ows(p[i]); i++) {}
        size_t name = i, val;
        while (i < n && tchar(p[i]))
            i++;
        if (i == name || i == n || p[i] != '=')
            return 0;
        bool is_q = i - name == 1 && http_lower(p[name]) == 'q';
        for (val = ++i; i < n && tchar(p[i]); i++) {}
        if (is_q && (*q = qvalue(p + val, i - val)) < 0)
            return 0;
    }
}

/* Index into q[]: 0 br, 1 zstd, 2 gzip, 3 identity, 4 "*", -1 others. */
static int coding(const char *p, size_t n)
{
    static const char *const NAMES[] = { "br", "zstd", "gzip", "identity", "*", "x-gzip" };
    for (int i = 0; i < 6; i++)
        if (cmp_ci(p, n, NAMES[i], strlen(NAMES[i])) == 0)
            return i == 5 ? 2 : i;
    return -1;
}

unsigned pl_http_pick_encoding(pl_str accept_encoding, unsigned available)
{
    const char *p = accept_encoding.p;
    size_t n = accept_encoding.len, i = 0;
    int q[5] = { -1, -1, -1, -1, -1 }, best = -1, best_q = 0;
    while (i < n) {
        while (i < n && (http_is_ows(p[i]) || p[i] == ','))
            i++;
        size_t tok = i;
        while (i < n && tchar(p[i]))
            i++;
        int c = coding(p + tok, i - tok), qv;
        size_t end = i > tok ? params(p, n, i, &qv) : 0;
        if (end == 0 || (end < n && p[end] != ',')) {
            while (i < n && p[i] != ',')        /* skip a malformed element */
                i++;
            continue;
        }
        if (c >= 0 && q[c] < 0)
            q[c] = qv;                          /* the first mention counts */
        i = end;
    }
    for (int c = 0; c < 3; c++) {
        int qc = q[c] >= 0 ? q[c] : q[4] >= 0 ? q[4] : 0;
        if ((available & (1u << c)) && qc > best_q)
            best = c, best_q = qc;
    }
    int qi = q[3] >= 0 ? q[3] : q[4];
    return best >= 0 && qi <= best_q ? 1u << best : 0;
}

/* ---- /etc/mime.types overlay (mime.h) ----------------------------------------- */

/* The (extension, type) pairs of mime.types text in order: "type ext ext ..." per
 * line, '#' to the end of a line is a comment, a line starting with a space has
 * no type. */
typedef struct pairs { const char *t; size_t len, next, e, eol; pl_str type; } pairs;

static bool space(char c) { return http_is_ows(c) || c == '\r'; }

static bool next_pair(pairs *it, pl_str *ext, pl_str *type)
{
    const char *t = it->t;
    for (;;) {
        while (it->e < it->eol && space(t[it->e]))
            it->e++;
        if (it->e < it->eol) {
            size_t s = it->e;
            while (it->e < it->eol && !space(t[it->e]))
                it->e++;
            *ext = (pl_str){ t + s, it->e - s };
            *type = it->type;
            return true;
        }
        if (it->next >= it->len)
            return false;
        size_t i = it->next, eol = i, nl, end = i;
        while (eol < it->len && t[eol] != '\n' && t[eol] != '#')
            eol++;
        for (nl = eol; nl < it->len && t[nl] != '\n'; nl++) {}
        while (end < eol && !space(t[end]))
            end++;
        it->next = nl + 1;
        it->type = (pl_str){ t + i, end - i };
        it->e = end;
        it->eol = end > i ? eol : end;          /* no type: nothing on this line */
    }
}

int pl_http_mime_overlay(const char *text, size_t len, pl_http_mime_entry *tab, size_t cap)
{
    pairs it = { .t = text, .len = len };
    pl_str ext, type;
    size_t n = 0;
    while (next_pair(&it, &ext, &type)) {
        size_t k = n;                           /* insertion sort, first line wins */
        while (k > 0 && cmp_ci(ext.p, ext.len, tab[k - 1].ext.p, tab[k - 1].ext.len) < 0)
            k--;
        if (k > 0 && cmp_ci(ext.p, ext.len, tab[k - 1].ext.p, tab[k - 1].ext.len) == 0)
            continue;
        if (n == cap)
            return -1;
        memmove(tab + k + 1, tab + k, (n - k) * sizeof *tab);
        tab[k] = (pl_http_mime_entry){ ext, type };
        n++;
    }
    return (int)n;
}

pl_str pl_http_mime_find(const pl_http_mime_entry *tab, size_t n, const char *path, size_t len)
{
    pl_str e;
    size_t lo = 0, hi = n;
    if (!extension(path, len, &e))
        return (pl_str){ "", 0 };
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = cmp_ci(e.p, e.len, tab[mid].ext.p, tab[mid].ext.len);
        if (c == 0)
            return tab[mid].type;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return (pl_str){ "", 0 };
}

/* ---- the packed overlay (mime.h) ------------------------------------------------ */

enum { EXT_MAX = 32, TYPE_MAX = 127, TEXT_MAX = 1 << 26 };   /* offsets fit 32 bits */
static const char CHARSET[] = "; charset=utf-8";

static bool is_token(pl_str s)
{
    for (size_t i = 0; i < s.len; i++)
        if (!tchar(s.p[i]))
            return false;
    return s.len > 0;
}

/* A pair worth keeping: a plain extension the built-in table does not know, and
 * a type/subtype of tokens (nothing a header could be broken with). */
static bool wanted(pl_str ext, pl_str type)
{
    const char *slash = memchr(type.p, '/', type.len);
    char probe[EXT_MAX + 3] = "x.";
    if (ext.len > EXT_MAX || memchr(ext.p, '.', ext.len) || !is_token(ext) ||
        type.len > TYPE_MAX || slash == NULL ||
        !is_token((pl_str){ type.p, (size_t)(slash - type.p) }) ||
        !is_token((pl_str){ slash + 1, type.len - (size_t)(slash - type.p) - 1 }))
        return false;
    memcpy(probe + 2, ext.p, ext.len);
    return strcmp(pl_http_mime(probe, ext.len + 2), "application/octet-stream") == 0;
}

static bool is_text(pl_str type) { return type.len > 5 && cmp_ci(type.p, 5, "text/", 5) == 0; }

/* Records are two uint32_t offsets; read and written bytewise (no alignment). */
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint8_t *rec(uint8_t *b, size_t i) { return b + 4 + 8 * i; }

static int rec_cmp(uint8_t *b, size_t i, size_t j)
{
    int c = strcmp((const char *)b + rd32(rec(b, i)), (const char *)b + rd32(rec(b, j)));
    return c != 0 ? c : rd32(rec(b, i)) < rd32(rec(b, j)) ? -1 : 1;   /* then text order */
}

static void rec_swap(uint8_t *b, size_t i, size_t j)
{
    uint8_t t[8];
    memcpy(t, rec(b, i), 8);
    memcpy(rec(b, i), rec(b, j), 8);
    memcpy(rec(b, j), t, 8);
}

static void rec_sort(uint8_t *b, size_t n)                  /* heapsort */
{
    for (size_t start = n / 2, end = n; end > 1;) {
        size_t root;
        if (start > 0) {
            root = --start;
        } else {
            rec_swap(b, 0, --end);
            root = 0;
        }
        for (size_t child; (child = 2 * root + 1) < end; root = child) {
            if (child + 1 < end && rec_cmp(b, child, child + 1) < 0)
                child++;
            if (rec_cmp(b, root, child) > 0)
                break;
            rec_swap(b, root, child);
        }
    }
}

/* Lay the records and strings out in text order; returns the size needed. */
static size_t lay_out(const char *text, size_t len, uint8_t *b, size_t cap, size_t *count)
{
    pairs it = { .t = text, .len = len };
    pl_str ext, type, last = { NULL, 0 };
    size_t n = 0, strings = 0, nrec = 0, type_off = 0;
    while (next_pair(&it, &ext, &type))      /* first: how many records */
        nrec += wanted(ext, type);
    it = (pairs){ .t = text, .len = len };
    size_t at = 4 + 8 * nrec;
    while (next_pair(&it, &ext, &type)) {
        if (!wanted(ext, type))
            continue;
        bool text_type = is_text(type), new_type = type.p != last.p;
        size_t type_size = new_type ? type.len + (text_type ? sizeof CHARSET : 1) : 0;
        bool fits = at + strings + type_size + ext.len + 1 <= cap;
        if (new_type) {                         /* one copy of a line's type */
            type_off = at + strings;
            if (fits && text_type)
                memcpy(b + type_off + type.len, CHARSET, sizeof CHARSET);
            else if (fits)
                b[type_off + type.len] = 0;
            if (fits)
                memcpy(b + type_off, type.p, type.len);
            strings += type_size;
            last = type;
        }
        if (fits) {
            for (size_t i = 0; i < ext.len; i++)
                b[at + strings + i] = (uint8_t)http_lower(ext.p[i]);
            b[at + strings + ext.len] = 0;
            wr32(rec(b, n), (uint32_t)(at + strings));
            wr32(rec(b, n) + 4, (uint32_t)type_off);
        }
        strings += ext.len + 1;
        n++;
    }
    *count = n;
    return at + strings;
}

size_t pl_http_mime_pack(const char *text, size_t len, void *out, size_t cap)
{
    uint8_t *b = out;
    size_t n;
    if (len > TEXT_MAX)
        return 0;
    size_t need = lay_out(text, len, b, cap, &n);
    if (need > cap)
        return need;
    rec_sort(b, n);
    size_t kept = 0;                            /* the first line of an extension wins */
    for (size_t i = 0; i < n; i++) {
        if (kept > 0 && strcmp((const char *)b + rd32(rec(b, i)),
                               (const char *)b + rd32(rec(b, kept - 1))) == 0)
            continue;
        memmove(rec(b, kept++), rec(b, i), 8);
    }
    wr32(b, (uint32_t)kept);
    return need;
}

const char *pl_http_mime_packed(const void *packed, size_t size, const char *path, size_t len)
{
    const uint8_t *b = packed;
    pl_str e;
    if (size < 4 || !extension(path, len, &e))
        return NULL;
    size_t lo = 0, hi = rd32(b);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *ext = (const char *)b + rd32(b + 4 + 8 * mid);
        int c = cmp_ci(e.p, e.len, ext, strlen(ext));
        if (c == 0)
            return (const char *)b + rd32(b + 4 + 8 * mid + 4);
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}
