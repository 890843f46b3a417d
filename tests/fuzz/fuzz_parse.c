/* fuzz_parse.c — libFuzzer driver for request heads (src/http/parse.c).
 *
 * Beyond "no crash", the oracles: every slice lies within the input; the head
 * found whole is the head found byte by byte and in two pieces (every split
 * for inputs up to 64 bytes; otherwise the 4 just before the head's end and
 * 4 spread by the input's bytes, which keeps the driver fast), while ASan poisons
 * the bytes not yet "received" so a read past len is caught; parsing the head
 * alone and the whole input give the same status and fields.
 */
#include "http/http.h"

#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

static pl_http_req whole_req, head_req;

static bool inside(pl_str s, const char *buf, size_t len)
{
    if (s.p == NULL)
        return s.len == 0;
    return s.p >= buf && s.len <= len && (size_t)(s.p - buf) <= len - s.len;
}

static void check_slices(const pl_http_req *r, const char *buf, size_t len)
{
    const pl_str all[] = { r->method_raw, r->target, r->host, r->if_none_match, r->if_match,
                           r->if_modified_since, r->if_unmodified_since, r->range,
                           r->if_range, r->accept_encoding, r->origin };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        CHECK(inside(all[i], buf, len));
    CHECK(r->nheaders <= PL_HTTP_HEADERS_MAX);
    for (uint32_t i = 0; i < r->nheaders; i++)
        CHECK(inside(r->headers[i].name, buf, len) && inside(r->headers[i].value, buf, len));
}

/* Same slice, relative to each one's buffer. */
static bool same_str(pl_str a, const char *abuf, pl_str b, const char *bbuf)
{
    if (a.len != b.len || (a.p == NULL) != (b.p == NULL))
        return false;
    return a.p == NULL || a.p - abuf == b.p - bbuf;
}

static void check_same(const pl_http_req *a, const char *abuf, const pl_http_req *b,
                       const char *bbuf)
{
    CHECK(a->method == b->method && a->minor == b->minor && a->head_len == b->head_len);
    CHECK(a->keep_alive == b->keep_alive && a->has_host == b->has_host);
    CHECK(a->has_length == b->has_length && a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked && a->expect_continue == b->expect_continue);
    CHECK(a->nheaders == b->nheaders);
    CHECK(same_str(a->target, abuf, b->target, bbuf) && same_str(a->host, abuf, b->host, bbuf));
    CHECK(same_str(a->range, abuf, b->range, bbuf));
}

/* Head end when bytes arrive as buf[0..a), then the rest; bytes not yet
 * arrived are poisoned. */
static size_t end_in_two(char *buf, size_t len, size_t a)
{
    size_t scanned = 0;
    ASAN_POISON_MEMORY_REGION(buf + a, len - a);
    size_t h = pl_http_head_end(buf, a, &scanned);
    ASAN_UNPOISON_MEMORY_REGION(buf, len);
    return h ? h : pl_http_head_end(buf, len, &scanned);
}

static size_t end_byte_by_byte(char *buf, size_t len)
{
    size_t scanned = 0, h = 0;
    ASAN_POISON_MEMORY_REGION(buf, len);
    for (size_t n = 1; n <= len && h == 0; n++) {
        ASAN_UNPOISON_MEMORY_REGION(buf + n - 1, 1);
        h = pl_http_head_end(buf, n, &scanned);
        CHECK(h != 0 || scanned == n);
    }
    ASAN_UNPOISON_MEMORY_REGION(buf, len);
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    size_t scanned = 0, whole = pl_http_head_end(buf, size, &scanned);
    CHECK(whole <= size && scanned <= size);
    int rw = pl_http_parse_head(buf, size, &whole_req);
    CHECK(rw == 0 || rw == -400 || rw == -414 || rw == -431 || rw == -501 || rw == -505);
    check_slices(&whole_req, buf, size);
    if (rw == 0) {
        CHECK(whole_req.head_len == whole && whole > 0);
        CHECK(whole_req.minor == 0 || whole_req.minor == 1);
        CHECK(!(whole_req.chunked && whole_req.has_length));
        CHECK(whole_req.minor == 0 || whole_req.has_host);
    }
    if (whole > 0) {        /* the head alone, in a buffer of its own size */
        char *head = malloc(whole);
        memcpy(head, buf, whole);
        int rh = pl_http_parse_head(head, whole, &head_req);
        CHECK(rh == rw);
        check_slices(&head_req, head, whole);
        if (rh == 0)
            check_same(&whole_req, buf, &head_req, head);
        free(head);
    }
    CHECK(end_byte_by_byte(buf, size) == whole);
    if (size <= 64) {
        for (size_t a = 0; a <= size; a++)
            CHECK(end_in_two(buf, size, a) == whole);
    } else {                /* around the end, and spread by the input's bytes */
        for (size_t i = 0; i < 4; i++) {
            size_t pick = (size_t)data[i] << 16 | (size_t)data[size / 2 + i] << 8 |
                          data[size - 1 - i];
            CHECK(end_in_two(buf, size, (size * i / 4 + pick) % (size + 1)) == whole);
        }
        for (size_t back = 1; back <= 4; back++)
            CHECK(end_in_two(buf, size, whole >= back ? whole - back : size - back) == whole);
    }
    free(buf);
    return 0;
}
