/* listing.h — an HTML index of a directory, for `pluto serve --list-dirs` (pure).
 *
 * The server collects the entries (READDIR pages, then a STAT each); this
 * module sorts them and writes the page in pieces — the top, one row per
 * entry, the end — so that the caller can measure the body (Content-Length)
 * and then send it in batches without holding it whole:
 *
 *   <!doctype html>
 *   <html><head><meta charset="utf-8">...<title>Index of /docs/</title></head>
 *   <body><h1>Index of /docs/</h1>
 *   <table><tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>
 *   <tr><td><a href="../">../</a></td><td></td><td></td></tr>
 *   <tr><td><a href="a%20b.txt">a b.txt</a></td><td>1234</td><td>2024-05-01 12:00</td></tr>
 *   <tr><td><a href="img/">img/</a></td><td>-</td><td>2024-04-30 09:15</td></tr>
 *   </table>
 *   </body></html>
 *
 * Names are shown HTML-escaped and linked percent-encoded (every byte but
 * the unreserved ones), so no name can break out of its cell or become a
 * scheme such as "javascript:".
 */
#ifndef PLUTO_HTTP_LISTING_H
#define PLUTO_HTTP_LISTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One entry. The name is names[name .. name + name_len) of a buffer the
 * caller owns (offsets, not pointers: the table can live in a shared ref). */
typedef struct pl_http_listing_entry {
    uint32_t name, name_len;
    bool dir;
    bool hidden;                /* not shown (it could not be served) */
    uint64_t size;
    int64_t mtime_s;            /* seconds since the epoch */
} pl_http_listing_entry;

/* Sort by name, byte order (a shorter prefix first). In place, no
 * allocation, O(n log n). */
void pl_http_listing_sort(pl_http_listing_entry *e, size_t n, const char *names);

/* The page up to the first entry, for the decoded request path dir (as
 * "/docs/"; "/" has no parent link). Returns the bytes written, or 0 when
 * they do not fit in cap. */
size_t pl_http_listing_top(char *out, size_t cap, const char *dir);

/* The longest row for a name of len bytes. */
size_t pl_http_listing_row_max(size_t name_len);

/* One entry's row (nothing for a hidden one). Returns the bytes written,
 * or 0 when hidden or when they do not fit. */
size_t pl_http_listing_row(char *out, size_t cap, const char *names,
                           const pl_http_listing_entry *e);

/* The end of the page; truncated adds a line saying the directory holds
 * more entries than were listed. Returns the bytes written, or 0. */
size_t pl_http_listing_end(char *out, size_t cap, bool truncated);

#endif
