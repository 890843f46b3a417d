/* multipart.c — multipart/byteranges bodies (RFC 9110 section 14.6).
 *
 *   \r\n--pluto-1f3a9c0b5e7d2a64\r\n
 *   Content-Type: text/css; charset=utf-8\r\n
 *   Content-Range: bytes 0-9/334\r\n
 *   \r\n
 *   body { fon
 *   \r\n--pluto-1f3a9c0b5e7d2a64\r\n
 *   ...
 *   \r\n--pluto-1f3a9c0b5e7d2a64--\r\n
 *
 * The boundary is derived from the ETag, so the same representation always
 * gets the same body; it cannot occur in the part heads, and a collision
 * with file content does not matter since parts are delimited by length.
 */
#include "http/resp.h"

#include <stdio.h>
#include <string.h>

void pl_http_boundary(const char *etag, char out[PL_HTTP_BOUNDARY_LEN + 1])
{
    uint64_t h = 1469598103934665603ull;            /* FNV-1a */
    for (const char *p = etag; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    snprintf(out, PL_HTTP_BOUNDARY_LEN + 1, "pluto-%016llx", (unsigned long long)h);
}

size_t pl_http_part_head(char *out, size_t cap, const char *boundary, const char *type,
                         const pl_http_range *r, uint64_t size)
{
    int n = snprintf(out, cap, "\r\n--%s\r\nContent-Type: %s\r\n"
                     "Content-Range: bytes %llu-%llu/%llu\r\n\r\n", boundary, type,
                     (unsigned long long)r->first, (unsigned long long)r->last,
                     (unsigned long long)size);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

size_t pl_http_parts_end(char *out, size_t cap, const char *boundary)
{
    int n = snprintf(out, cap, "\r\n--%s--\r\n", boundary);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

uint64_t pl_http_parts_length(const char *boundary, const char *type,
                              const pl_http_range *r, int n, uint64_t size)
{
    char buf[512];
    uint64_t total = pl_http_parts_end(buf, sizeof buf, boundary);
    for (int i = 0; i < n; i++)
        total += pl_http_part_head(buf, sizeof buf, boundary, type, &r[i], size) +
                 (r[i].last - r[i].first + 1);
    return total;
}
