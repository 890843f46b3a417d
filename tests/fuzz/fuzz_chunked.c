/* fuzz_chunked.c — libFuzzer driver for chunked bodies (src/http/chunked.c).
 *
 * The oracle: decoding the input whole, byte by byte, and in two pieces at
 * every split (inputs up to 64 bytes; 16 splits beyond, which keeps the
 * driver fast: byte by byte already stops at every boundary) gives the same
 * body bytes, the same result and the same bytes consumed. Bytes not yet fed
 * are poisoned, so the decoder reading or writing past its piece is caught.
 * The input's length picks the body limit: odd lengths get 64 bytes, to reach
 * the 413 paths; even lengths get no limit.
 */
#include "http/http.h"

#include <sanitizer/asan_interface.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

typedef struct run { long rc; int done; size_t consumed, blen; char *body; } run;

/* Feeds data in pieces ending at cuts[0..ncuts) then size. */
static void decode(const uint8_t *data, size_t size, const size_t *cuts, size_t ncuts,
                   uint64_t max_body, run *out)
{
    char *buf = malloc(size ? size : 1);
    memcpy(buf, data, size);
    pl_http_chunked c = { 0 };
    size_t at = 0;
    out->rc = 0, out->done = 0, out->consumed = 0, out->blen = 0;
    ASAN_POISON_MEMORY_REGION(buf, size);
    for (size_t i = 0; i <= ncuts && !out->done; i++) {
        size_t end = i < ncuts ? cuts[i] : size, blen = 0;
        ASAN_UNPOISON_MEMORY_REGION(buf + at, end - at);
        long rc = pl_http_chunked_feed(&c, buf + at, end - at, &blen, max_body, &out->done);
        CHECK(blen <= end - at && out->blen + blen <= size);
        memcpy(out->body + out->blen, buf + at, blen);
        out->blen += blen;
        if (rc < 0) {
            CHECK(rc == -400 || rc == -413);
            out->rc = rc;
            break;
        }
        CHECK((size_t)rc <= end - at && (out->done || (size_t)rc == end - at));
        out->consumed += (size_t)rc;
        at += (size_t)rc;
    }
    ASAN_UNPOISON_MEMORY_REGION(buf, size);
    CHECK(out->blen <= max_body && out->blen <= size);
    if (out->done)
        CHECK(out->consumed >= 5 && memcmp(data + out->consumed - 2, "\r\n", 2) == 0);
    free(buf);
}

static void check_same(const run *a, const run *b)
{
    CHECK(a->rc == b->rc && a->done == b->done && a->blen == b->blen);
    CHECK(a->rc != 0 || a->consumed == b->consumed);
    CHECK(memcmp(a->body, b->body, a->blen) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t max_body = size % 2 ? 64 : UINT64_MAX;
    run whole = { .body = malloc(size + 1) }, part = { .body = malloc(size + 1) };
    size_t *cuts = malloc((size + 1) * sizeof *cuts);
    decode(data, size, NULL, 0, max_body, &whole);
    for (size_t i = 0; i < size; i++)
        cuts[i] = i + 1;
    decode(data, size, cuts, size, max_body, &part);
    check_same(&whole, &part);
    if (size <= 64) {
        for (size_t k = 0; k <= size; k++) {
            decode(data, size, &k, 1, max_body, &part);
            check_same(&whole, &part);
        }
    } else {                /* 16 splits: spread out, shifted by the input's bytes */
        for (size_t i = 0; i < 16; i++) {
            size_t k = (size * i / 16 + data[i] + (size_t)data[size - 1 - i] * 7) % (size + 1);
            decode(data, size, &k, 1, max_body, &part);
            check_same(&whole, &part);
        }
    }
    free(cuts);
    free(whole.body);
    free(part.body);
    return 0;
}
