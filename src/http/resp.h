/* resp.h — response heads as bytes (pure). */
#ifndef PLUTO_HTTP_RESP_H
#define PLUTO_HTTP_RESP_H

#include "http/http.h"

/* What a response head says. Empty strings are left out. */
typedef struct pl_http_resp {
    int status;
    const char *date;           /* IMF-fixdate, 29 bytes */
    const char *content_type;
    bool has_length;
    uint64_t content_length;
    const char *etag;
    const char *last_modified;  /* IMF-fixdate */
    const char *content_range;  /* "bytes 0-9/100" or "bytes *\/100" */
    const char *content_encoding;
    const char *location;
    const char *allow;
    const char *vary;
    const char *cache_control;
    const char *extra;          /* preformatted "K: V\r\n" lines */
    bool accept_ranges;
    bool close;                 /* Connection: close */
    bool keep_alive_10;         /* Connection: keep-alive, for an HTTP/1.0 client */
} pl_http_resp;

/* The reason phrase of a status ("Not Found"), "" when unknown. */
const char *pl_http_reason(int status);

/* Write the head (status line, headers, blank line) into out[0..cap).
 * Returns its length, or 0 if it does not fit. Every head carries
 * Server: pluto and X-Content-Type-Options: nosniff. */
size_t pl_http_resp_head(char *out, size_t cap, const pl_http_resp *r);

/* A complete small response for an error or redirect status: head and a
 * short HTML body (none for HEAD). */
typedef struct pl_http_simple {
    int status;
    const char *date, *location, *allow, *extra;
    bool head, close;
    bool keep_alive_10;         /* an HTTP/1.0 client kept alive: say so */
} pl_http_simple;

/* Returns the response's length, or 0 if it does not fit in cap. */
size_t pl_http_resp_simple(char *out, size_t cap, const pl_http_simple *s);

/* Percent-encode a path for a Location header: unreserved characters,
 * sub-delims, ':', '@' and '/' stay; every other byte becomes %XX. Returns
 * the length written (NUL-terminated), or 0 if it does not fit. */
size_t pl_http_encode_path(const char *path, char *out, size_t cap);

/* multipart/byteranges (RFC 9110 section 14.6): a response to several
 * ranges is a sequence of parts, each with its own head:
 *
 *   \r\n--<boundary>\r\n
 *   Content-Type: text/plain; charset=utf-8\r\n
 *   Content-Range: bytes 0-9/100\r\n
 *   \r\n
 *   <bytes 0..9>
 *   ...
 *   \r\n--<boundary>--\r\n
 */
enum { PL_HTTP_BOUNDARY_LEN = 22 };

/* A boundary derived from the ETag: "pluto-" and 16 hex digits. */
void pl_http_boundary(const char *etag, char out[PL_HTTP_BOUNDARY_LEN + 1]);

/* The head of one part into out; returns its length (0 if it does not fit). */
size_t pl_http_part_head(char *out, size_t cap, const char *boundary, const char *type,
                         const pl_http_range *r, uint64_t size);

/* The closing delimiter into out; returns its length. */
size_t pl_http_parts_end(char *out, size_t cap, const char *boundary);

/* Content-Length of the whole multipart body. */
uint64_t pl_http_parts_length(const char *boundary, const char *type,
                              const pl_http_range *r, int n, uint64_t size);

#endif
