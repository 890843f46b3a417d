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
 * Also the optional /etc/mime.types overlay declared in mime.h.
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

int pl_http_mime_overlay(const char *text, size_t len, pl_http_mime_entry *tab, size_t cap)
{
    size_t n = 0, i = 0;
    while (i < len) {
        size_t eol = i, t = i;
        while (eol < len && text[eol] != '\n' && text[eol] != '#')
            eol++;
        while (t < eol && !http_is_ows(text[t]) && text[t] != '\r')
            t++;
        pl_str type = { text + i, t - i };
        for (size_t e = t; type.len > 0 && e < eol;) {
            while (e < eol && (http_is_ows(text[e]) || text[e] == '\r'))
                e++;
            size_t s = e;
            while (e < eol && !http_is_ows(text[e]) && text[e] != '\r')
                e++;
            if (e == s)
                break;
            size_t k = n;                       /* insertion sort, first line wins */
            while (k > 0 && cmp_ci(text + s, e - s, tab[k - 1].ext.p, tab[k - 1].ext.len) < 0)
                k--;
            if (k > 0 && cmp_ci(text + s, e - s, tab[k - 1].ext.p, tab[k - 1].ext.len) == 0)
                continue;
            if (n == cap)
                return -1;
            memmove(tab + k + 1, tab + k, (n - k) * sizeof *tab);
            tab[k] = (pl_http_mime_entry){ { text + s, e - s }, type };
            n++;
        }
        while (eol < len && text[eol] != '\n')
            eol++;
        i = eol + 1;
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
