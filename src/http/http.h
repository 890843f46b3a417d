/* http.h — HTTP/1.1 as pure functions over bytes (RFC 9110, RFC 9112).
 *
 * Nothing in src/http does I/O, reads the clock or allocates: every function
 * takes bytes (and, where time matters, the time as an argument) and returns
 * a decision. The static server and the kv app call them from handlers; the
 * fuzz drivers call them directly.
 *
 * Error convention: functions that can fail return a negative HTTP status
 * (-400, -414, -431, -501, -505, -416) or 0/positive on success, as each
 * function says.
 */
#ifndef PLUTO_HTTP_HTTP_H
#define PLUTO_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A slice of the input: never NUL-terminated, valid while the input is. */
typedef struct pl_str { const char *p; size_t len; } pl_str;

/* ---- request heads (parse.c) ------------------------------------------- */

enum { PL_HTTP_HEADERS_MAX = 100 };         /* more headers: 431 */
enum { PL_HTTP_REQLINE_MAX = 8192 };        /* longer request line: 414 */
enum { PL_HTTP_LEAD_MAX = 8 };  /* bytes of empty lines skipped before it: four; more: 400 */

typedef enum pl_http_method {
    PL_HTTP_GET = 0, PL_HTTP_HEAD, PL_HTTP_POST, PL_HTTP_PUT, PL_HTTP_DELETE,
    PL_HTTP_OPTIONS, PL_HTTP_PATCH, PL_HTTP_TRACE, PL_HTTP_CONNECT, PL_HTTP_OTHER,
} pl_http_method;

typedef struct pl_http_header { pl_str name, value; } pl_http_header;

typedef struct pl_http_req {
    pl_http_method method;
    pl_str method_raw;
    pl_str target;              /* request-target as sent (origin or absolute form) */
    int minor;                  /* HTTP/1.minor: 0 or 1 */
    size_t head_len;            /* bytes of request line + headers + blank line */
    bool keep_alive;            /* from the version and Connection */
    bool has_host;
    pl_str host;
    bool has_length;            /* Content-Length present (valid, single value) */
    uint64_t content_length;
    bool chunked;               /* Transfer-Encoding: chunked (final coding) */
    bool expect_continue;
    /* Headers the static server reads; empty when absent. */
    pl_str if_none_match, if_match, if_modified_since, if_unmodified_since;
    pl_str range, if_range, accept_encoding, origin;
    uint32_t nheaders;
    pl_http_header headers[PL_HTTP_HEADERS_MAX];
} pl_http_req;

/* Find the end of a request head in buf[0..len), resuming the scan from
 * *scanned (0 at first; updated). Returns the head length including the
 * blank line, or 0 if not there yet. Bounded: looks at each byte once. */
size_t pl_http_head_end(const char *buf, size_t len, size_t *scanned);

/* Parse a complete head buf[0..len) (len from pl_http_head_end) into r.
 * Returns 0, or a negative status:
 *   -400 malformed: bad tokens, bare CR, NUL, obs-fold, missing Host in 1.1,
 *        duplicate Host, Content-Length with Transfer-Encoding, duplicate or
 *        malformed Content-Length, a Transfer-Encoding other than chunked last
 *   -414 request line longer than PL_HTTP_REQLINE_MAX
 *   -431 more than PL_HTTP_HEADERS_MAX headers
 *   -501 a Transfer-Encoding the server does not implement
 *   -505 a version other than HTTP/1.0 or HTTP/1.1
 * Slices in r point into buf. */
int pl_http_parse_head(const char *buf, size_t len, pl_http_req *r);

/* The first header named name (case-insensitive), or an empty slice. */
pl_str pl_http_header_get(const pl_http_req *r, const char *name);

/* ---- chunked bodies (chunked.c) ---------------------------------------- */

typedef struct pl_http_chunked {
    int state;                  /* resumable: starts at 0 */
    uint64_t left;              /* bytes left in the current chunk */
    uint64_t total;             /* body bytes so far */
    uint32_t line;              /* bytes of the current size/trailer line */
} pl_http_chunked;

/* Decode chunked data in place: consumes in[0..len), moves body bytes to the
 * front of in, sets *body_len. Returns bytes consumed (>= 0), 1 in *done at
 * the end of the body, or -400 on a malformed size or framing, -413 when the
 * body passes max_body. Resumable across any split of the input. */
long pl_http_chunked_feed(pl_http_chunked *c, char *in, size_t len, size_t *body_len,
                          uint64_t max_body, int *done);

/* ---- request targets to paths (path.c) --------------------------------- */

typedef struct pl_http_path {
    size_t len;                 /* bytes of the mapped path written to out */
    pl_str query;               /* "?..." as sent (empty when none), for redirects */
    bool dir_slash;             /* the decoded path ended with '/' */
    bool dotfile;               /* a segment starts with '.' (".well-known" first allowed) */
} pl_http_path;

/* Map a request-target (origin form "/a/b?q", or absolute form
 * "http://host/a/b") to a path relative to the served root: percent-decoded
 * once, dot segments resolved, no leading '/', "" for the root itself.
 * Returns 0, or -400 for: NUL or control bytes (raw or encoded), an encoded
 * '/' or '\\', a raw '\\', invalid or overlong UTF-8, a ".." that would leave
 * the root, a path not starting with '/', a malformed %-escape; -414 when the
 * path does not fit in out (outlen bytes, NUL-terminated). */
int pl_http_map_path(const char *target, size_t len, char *out, size_t outlen,
                     pl_http_path *info);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
bool pl_http_utf8_valid(const void *s, size_t n);

/* ---- byte ranges (range.c) --------------------------------------------- */

enum { PL_HTTP_RANGES_MAX = 8 };            /* more (after merging): serve 200 */

typedef struct pl_http_range { uint64_t first, last; } pl_http_range;  /* inclusive */

/* Parse a Range header value against a representation of `size` bytes:
 * single, suffix ("-N"), open ("N-"), lists; clamped, sorted and merged.
 * Returns the number of ranges (1..PL_HTTP_RANGES_MAX), 0 to ignore the
 * header and serve the whole (bad syntax, not "bytes", too many ranges), or
 * -416 when none is satisfiable. On a 0-byte representation every range is
 * unsatisfiable except a suffix "-N" (N > 0), which means the whole: 0. */
int pl_http_parse_range(pl_str value, uint64_t size, pl_http_range *out);

/* ---- validators and dates (cond.c) ------------------------------------- */

typedef struct pl_http_validators {
    char etag[48];              /* strong: "\"<ino>-<size>-<mtime ns>\"" in hex */
    size_t etag_len;
    int64_t mtime_s;            /* Last-Modified, seconds since the epoch */
} pl_http_validators;

/* Strong ETag from inode, size and modification time; suffix (e.g. "br")
 * makes a per-encoding tag. */
void pl_http_etag(pl_http_validators *v, uint64_t ino, uint64_t size, int64_t mtime_s,
                  int64_t mtime_ns, const char *suffix);

/* Format t (seconds since the epoch) as an IMF-fixdate into out (>= 30
 * bytes); returns 29. */
size_t pl_http_date(int64_t t, char *out);

/* Parse an HTTP-date (IMF-fixdate, RFC 850, asctime). Returns 0 and sets
 * *t, or -1. */
int pl_http_parse_date(pl_str s, int64_t *t);

/* Evaluate the preconditions of RFC 9110 section 13.2.2 for a GET or HEAD:
 * If-Match, If-Unmodified-Since, If-None-Match (lists, "*", weak compare;
 * takes precedence over If-Modified-Since), If-Modified-Since.
 * Returns 200 (proceed), 304 or 412. */
int pl_http_preconditions(const pl_http_req *r, const pl_http_validators *v, bool is_get);

/* If-Range: true when a Range header may be honoured (If-Range absent, or
 * it matches the strong ETag or equals Last-Modified exactly). */
bool pl_http_if_range(const pl_http_req *r, const pl_http_validators *v);

/* ---- content types and encodings (mime.c) ------------------------------ */

/* The Content-Type for a path, by extension (case-insensitive): a modern
 * table (html, css, js, mjs, json, wasm, svg, avif, webp, woff2,
 * webmanifest, ...), "; charset=utf-8" on text types, and
 * "application/octet-stream" when unknown. */
const char *pl_http_mime(const char *path, size_t len);

/* Which precompressed sidecar to serve for an Accept-Encoding value, among
 * those available (bit 0: br, bit 1: zstd, bit 2: gzip): the highest q
 * value wins, ties in the order br, zstd, gzip; q=0 refuses. Returns the bit,
 * or 0 for the identity. */
unsigned pl_http_pick_encoding(pl_str accept_encoding, unsigned available);

#endif
