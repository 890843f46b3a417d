/* fuzz_range.c — pl_http_parse_range only returns ranges a server may send.
 *
 * Input: one byte choosing the size (small sizes, sizes around 4 GiB, or eight
 * more bytes of a raw 64-bit size), then the header value. Oracle: the result
 * is -416, 0, or 1..PL_HTTP_RANGES_MAX ranges within [0,size), sorted, neither
 * overlapping nor adjacent (they were merged); and printing those ranges back as
 * "bytes=a-b,..." and parsing again gives the same ranges (when their numbers
 * have at most 19 digits: longer ones are ignored by design).
 */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) ((c) ? (void)0 : fail(#c, __LINE__))

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_range: oracle failed at line %d: %s\n", line, what);
    abort();
}

static uint64_t pick_size(const uint8_t **data, size_t *size)
{
    uint8_t sel = **data;
    (*data)++, (*size)--;
    if (sel < 128)
        return sel % 64;
    if (sel < 192)
        return (1ull << 32) + (uint64_t)(sel - 160);
    uint64_t v = 0;
    for (int i = 0; i < 8 && *size > 0; i++, (*data)++, (*size)--)
        v = v << 8 | **data;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint64_t len = pick_size(&data, &size);
    char *value = malloc(size + 1);
    pl_http_range *r = malloc(PL_HTTP_RANGES_MAX * sizeof *r);
    pl_http_range *r2 = malloc(PL_HTTP_RANGES_MAX * sizeof *r2);
    memcpy(value, data, size);
    int n = pl_http_parse_range((pl_str){ value, size }, len, r);
    CHECK(n == -416 || (n >= 0 && n <= PL_HTTP_RANGES_MAX));
    for (int i = 0; i < n; i++) {
        CHECK(r[i].first <= r[i].last && r[i].last < len);
        CHECK(i == 0 || r[i - 1].last + 1 < r[i].first);
    }
    if (n > 0 && r[n - 1].last < 10000000000000000000ull) {   /* printable in 19 digits */
        char buf[16 + PL_HTTP_RANGES_MAX * 42];
        size_t b = (size_t)sprintf(buf, "bytes=");
        for (int i = 0; i < n; i++)
            b += (size_t)sprintf(buf + b, "%s%llu-%llu", i ? "," : "",
                                 (unsigned long long)r[i].first, (unsigned long long)r[i].last);
        CHECK(pl_http_parse_range((pl_str){ buf, b }, len, r2) == n);
        CHECK(memcmp(r, r2, (size_t)n * sizeof *r) == 0);
    }
    free(value);
    free(r);
    free(r2);
    return 0;
}
