/* test_http_range.c — Range headers against sizes from 0 bytes to past 4 GiB. */
#include "http/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

static pl_http_range r[PL_HTTP_RANGES_MAX];

static int rng(const char *v, uint64_t size)
{
    memset(r, 0xee, sizeof r);
    return pl_http_parse_range((pl_str){ v, strlen(v) }, size, r);
}

static void one(const char *v, uint64_t size, uint64_t first, uint64_t last)
{
    int n = rng(v, size);
    cr_assert_eq(n, 1, "%s: %d ranges", v, n);
    cr_assert(r[0].first == first && r[0].last == last, "%s: [%llu,%llu]", v,
              (unsigned long long)r[0].first, (unsigned long long)r[0].last);
}

Test(http_range, rfc9110_examples)
{
    one("bytes=0-499", 10000, 0, 499);
    one("bytes=500-999", 10000, 500, 999);
    one("bytes=-500", 10000, 9500, 9999);
    one("bytes=9500-", 10000, 9500, 9999);
    cr_assert_eq(rng("bytes=0-0,-1", 10000), 2);
    cr_assert(r[0].first == 0 && r[0].last == 0 && r[1].first == 9999 && r[1].last == 9999);
    cr_assert_eq(rng("bytes=0-999, 4500-5499, -1000", 10000), 3);
    cr_assert(r[1].first == 4500 && r[1].last == 5499 && r[2].first == 9000);
    one("bytes=500-600,601-999", 10000, 500, 999);
    one("bytes=500-700,601-999", 10000, 500, 999);
}

Test(http_range, clamped)
{
    one("bytes=0-99999", 100, 0, 99);
    one("bytes=-5000", 100, 0, 99);
    one("bytes=-100", 100, 0, 99);
    one("bytes=99-", 100, 99, 99);
    one("bytes=0-", 1, 0, 0);
    one("bytes=-1", 1, 0, 0);
    one("bytes=0-0", 1, 0, 0);
}

Test(http_range, unsatisfiable)
{
    cr_assert_eq(rng("bytes=100-", 100), -416);
    cr_assert_eq(rng("bytes=100-200,300-400", 100), -416);
    cr_assert_eq(rng("bytes=-0", 100), -416);
    cr_assert_eq(rng("bytes=-0,100-", 100), -416);
    cr_assert_eq(rng("bytes=1-", 1), -416);
    one("bytes=200-300,0-1", 100, 0, 1);
    one("bytes=-0,5-5", 100, 5, 5);
}

Test(http_range, size_zero)
{
    cr_assert_eq(rng("bytes=0-", 0), -416);
    cr_assert_eq(rng("bytes=0-0", 0), -416);
    cr_assert_eq(rng("bytes=-0", 0), -416);
    cr_assert_eq(rng("bytes=-1", 0), 0, "the whole of nothing: a 200");
    cr_assert_eq(rng("bytes=5-,-1", 0), 0);
    cr_assert_eq(rng("bytes=x", 0), 0);
}

Test(http_range, bad_syntax_is_ignored)
{
    const char *v[] = {
        "bytes=5-1", "bytes=abc", "bytes=", "bytes", "items=0-1", "bytes=0-1;x", "bytes=--1",
        "bytes=1-2-3", "bytes=0 -1", "bytes=0- 1", "bytes = 0-1", "bytes=+1-2", "bytes=0x1-2",
        "bytes=-", "bytes=0-1,5-3", "bytes=,", "bytes=0-1 2-3", "byte=0-1", "bytesx=0-1",
        "bytes=0-1,x", "bytes=-1-", "bytes=1--2", "", "bytes=0-1\n", "bytes=\xff-1",
        "bytes=00000000000000000001-2", "bytes=0-99999999999999999999",
        "bytes=-00000000000000000001",
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cr_assert_eq(rng(v[i], 1000), 0, "%s", v[i]);
}

Test(http_range, unit_case_and_whitespace)
{
    one("BYTES=0-1", 10, 0, 1);
    one("Bytes=0-1", 10, 0, 1);
    one("  bytes=0-1 \t", 10, 0, 1);
    cr_assert_eq(rng("bytes=0-1 , 3-4", 10), 2);
    cr_assert_eq(rng("bytes=0-1,,3-4", 10), 2);
    cr_assert_eq(rng("bytes=,0-1,\t3-4,", 10), 2);
    one("bytes= 0-1", 10, 0, 1);
}

Test(http_range, beyond_4gib)
{
    uint64_t five = 5ull << 30;
    one("bytes=4294967296-", five, 4294967296ull, five - 1);
    one("bytes=-1", five, five - 1, five - 1);
    one("bytes=5000000000-5000000099", five, 5000000000ull, 5000000099ull);
    one("bytes=4294967295-4294967296", five, 4294967295ull, 4294967296ull);
    one("bytes=0-", UINT64_MAX, 0, UINT64_MAX - 1);
    one("bytes=9999999999999999999-", UINT64_MAX, 9999999999999999999ull, UINT64_MAX - 1);
    one("bytes=-9999999999999999999", 10, 0, 9);
    one("bytes=-9999999999999999999", UINT64_MAX, UINT64_MAX - 9999999999999999999ull,
        UINT64_MAX - 1);
    cr_assert_eq(rng("bytes=6000000000-", five), -416);
    cr_assert_eq(rng("bytes=18446744073709551615-", UINT64_MAX), 0, "20 digits");
}

Test(http_range, sorted_and_merged)
{
    cr_assert_eq(rng("bytes=50-59,0-9,20-29", 100), 3);
    cr_assert(r[0].first == 0 && r[1].first == 20 && r[2].first == 50);
    one("bytes=0-4,5-9", 100, 0, 9);
    cr_assert_eq(rng("bytes=0-4,6-9", 100), 2);
    one("bytes=10-20,0-50,40-60", 100, 0, 60);
    one("bytes=-10,80-", 100, 80, 99);
    one("bytes=5-5,5-5,5-5", 100, 5, 5);
    one("bytes=0-,0-10", 100, 0, 99);
}

Test(http_range, limits)
{
    char v[1024];
    size_t n = (size_t)snprintf(v, sizeof v, "bytes=0-0");
    for (int i = 1; i < PL_HTTP_RANGES_MAX; i++)
        n += (size_t)snprintf(v + n, sizeof v - n, ",%d-%d", i * 10, i * 10);
    cr_assert_eq(rng(v, 1000), PL_HTTP_RANGES_MAX);
    for (int i = 1; i < PL_HTTP_RANGES_MAX; i++)
        cr_assert(r[i].first == (uint64_t)i * 10 && r[i - 1].last < r[i].first);
    snprintf(v + n, sizeof v - n, ",900-900");
    cr_assert_eq(rng(v, 1000), 0, "one range too many after merging: a 200");
    snprintf(v + n, sizeof v - n, ",0-999");
    cr_assert_eq(rng(v, 1000), 1, "merged into one");

    n = (size_t)snprintf(v, sizeof v, "bytes=0-0");
    for (int i = 1; i < 32; i++)
        n += (size_t)snprintf(v + n, sizeof v - n, ",0-%d", i);
    one(v, 1000, 0, 31);
    snprintf(v + n, sizeof v - n, ",0-1");
    cr_assert_eq(rng(v, 1000), 0, "more than 32 satisfiable specs: a 200");

    n = (size_t)snprintf(v, sizeof v, "bytes=0-0");
    for (int i = 1; i < 60; i++)
        n += (size_t)snprintf(v + n, sizeof v - n, ",2000-%d", 2000 + i);
    one(v, 1000, 0, 0);
}
