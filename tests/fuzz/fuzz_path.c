/* fuzz_path.c — pl_http_map_path never lets a path out of the root.
 *
 * Oracle: the result is -400, -414, or a NUL-terminated path of exactly
 * info.len bytes with no NUL inside, no leading '/', no "//", no "." or ".."
 * segment, no control byte or '\\', valid UTF-8; the query lies inside the
 * input; and mapping is idempotent: percent-encoding every byte of the output
 * outside the unreserved set (keeping the '/' separators) and mapping again
 * gives the same path. The output buffer is exactly outlen bytes on the heap,
 * so ASan sees any write past it.
 */
#include "http/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) ((c) ? (void)0 : fail(#c, __LINE__))

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_path: oracle failed at line %d: %s\n", line, what);
    abort();
}

/* Bytes of the UTF-8 character at s (decoded and range-checked), or 0. */
static int utf8_len(const unsigned char *s, size_t n)
{
    static const unsigned long MIN[4] = { 0, 0x80, 0x800, 0x10000 };
    unsigned c = s[0];
    int k = c < 0x80 ? 0 : c >= 0xc0 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2
          : c >= 0xf0 && c < 0xf8 ? 3 : -1;
    if (k == 0)
        return 1;
    if (k < 0 || (size_t)k >= n)
        return 0;
    unsigned long cp = c & (0x3fu >> k);
    for (int i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < MIN[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return k + 1;
}

static void check_path(const char *p, size_t n)
{
    CHECK(p[n] == 0 && strlen(p) == n);
    CHECK(n == 0 || (p[0] != '/' && p[n - 1] != '/'));
    CHECK(strstr(p, "//") == NULL);
    for (size_t i = 0; i < n;) {
        size_t seg = strcspn(p + i, "/");
        CHECK(!(seg == 1 && p[i] == '.'));
        CHECK(!(seg == 2 && p[i] == '.' && p[i + 1] == '.'));
        i += seg + 1;
    }
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)p[i];
        CHECK(c >= 0x20 && c != 0x7f && c != '\\');
        int k = utf8_len((const unsigned char *)p + i, n - i);
        CHECK(k > 0);
        i += (size_t)k;
    }
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t outlen = size > 0 && data[0] == '/' ? 256 : 1 + size % 64;
    char *out = malloc(outlen), *enc = malloc(3 * outlen + 2), *again = malloc(outlen);
    pl_http_path info, info2;
    int rc = pl_http_map_path((const char *)data, size, out, outlen, &info);
    CHECK(rc == 0 || rc == -400 || rc == -414);
    if (rc == 0) {
        check_path(out, info.len);
        const char *q = info.query.p, *d = (const char *)data;
        CHECK(info.query.len == 0 || (q >= d && q + info.query.len <= d + size && q[0] == '?'));
        size_t e = 0;
        enc[e++] = '/';
        for (size_t i = 0; i < info.len; i++) {
            unsigned char c = (unsigned char)out[i];
            if (unreserved(c))
                enc[e++] = (char)c;
            else
                e += (size_t)sprintf(enc + e, "%%%02X", c);
        }
        CHECK(pl_http_map_path(enc, e, again, outlen, &info2) == 0);
        CHECK(info2.len == info.len && memcmp(again, out, info.len + 1) == 0);
        CHECK(info2.dotfile == info.dotfile);
    }
    free(out);
    free(enc);
    free(again);
    return 0;
}
