/* range.c — the Range header (RFC 9110 §14.1–14.2), against a known size.
 *
 * Ranges decide which bytes leave the server, so they are parsed strictly and
 * clamped here, once; the server only copies what this returns. For size 1000:
 *
 *   "bytes=0-499"            -> 1: [0,499]
 *   "bytes=500-"             -> 1: [500,999]
 *   "bytes=-200"             -> 1: [800,999]      ("-5000" -> [0,999], the whole)
 *   "bytes=0-99, 50-149 ,150-199, 900-5000" -> 2: [0,199] [900,999]  (sorted, merged)
 *   "BYTES=0-0"              -> 1: [0,0]          (the unit is case-insensitive)
 *   "bytes=1000-", "bytes=-0" -> -416             (nothing satisfiable)
 *   "bytes=5-1", "bytes=0-x", "items=0-1", 20-digit numbers  -> 0 (ignore: send 200)
 *
 * Decisions beyond the RFC text: a syntax error anywhere ignores the whole
 * header; more than RANGE_SPECS satisfiable specs, or more than
 * PL_HTTP_RANGES_MAX ranges left after merging, ignores it too (a 200 is always
 * a correct answer to a Range request, and it caps the work a client can ask).
 * Adjacent ranges merge ("0-4,5-9" -> [0,9]).
 *
 * Size 0: no int-range is satisfiable (first-pos must be below the size) and
 * neither is "-0" (RFC 9110 §14.1.1: a suffix-range needs a non-zero length),
 * so those give -416. A suffix-range "-N" with N > 0 is satisfiable by the RFC
 * and means "the whole representation", which no byte range can express when
 * there are no bytes: that gives 0, a 200 with the (empty) whole.
 */
#include "http/http.h"
#include "http/chars.h"

enum { RANGE_SPECS = 32, DIGITS_MAX = 19 };      /* 19 digits never overflow 64 bits */

/* Digits at s[*i..n): 1 to 19 of them. Returns false otherwise. */
static bool number(const char *s, size_t n, size_t *i, uint64_t *v)
{
    size_t start = *i;
    *v = 0;
    while (*i < n && s[*i] >= '0' && s[*i] <= '9') {
        if (*i - start == DIGITS_MAX)
            return false;
        *v = *v * 10 + (uint64_t)(s[*i] - '0');
        (*i)++;
    }
    return *i > start;
}

/* One range-spec s[0..n) (no spaces). Returns 1 with *r set when satisfiable,
 * 0 when valid but unsatisfiable, -1 on bad syntax, 2 for "-N" on size 0. */
static int spec(const char *s, size_t n, uint64_t size, pl_http_range *r)
{
    size_t i = 0;
    uint64_t a, b;
    if (n > 0 && s[0] == '-') {
        i = 1;
        if (!number(s, n, &i, &b) || i != n)
            return -1;
        if (b == 0)
            return 0;
        if (size == 0)
            return 2;
        *r = (pl_http_range){ b >= size ? 0 : size - b, size - 1 };
        return 1;
    }
    if (!number(s, n, &i, &a) || i == n || s[i++] != '-')
        return -1;
    b = UINT64_MAX;
    if (i < n && (!number(s, n, &i, &b) || a > b))
        return -1;
    if (i != n)
        return -1;
    if (a >= size)
        return 0;
    *r = (pl_http_range){ a, b < size - 1 ? b : size - 1 };
    return 1;
}

/* Sort by first (insertion sort: n is at most RANGE_SPECS) and merge overlapping
 * or adjacent ranges in place. Returns the count left. */
static int merge(pl_http_range *r, int n)
{
    for (int i = 1; i < n; i++) {
        pl_http_range x = r[i];
        int j = i;
        for (; j > 0 && r[j - 1].first > x.first; j--)
            r[j] = r[j - 1];
        r[j] = x;
    }
    int m = 0;
    for (int i = 0; i < n; i++) {
        if (m > 0 && r[i].first <= r[m - 1].last + 1) {
            if (r[i].last > r[m - 1].last)
                r[m - 1].last = r[i].last;
        } else {
            r[m++] = r[i];
        }
    }
    return m;
}

static bool unit_bytes(const char *s, size_t n)
{
    static const char u[] = "bytes=";
    if (n < 6)
        return false;
    for (size_t i = 0; i < 6; i++)
        if ((i < 5 ? s[i] | 0x20 : s[i]) != u[i])
            return false;
    return true;
}

int pl_http_parse_range(pl_str value, uint64_t size, pl_http_range *out)
{
    const char *s = value.p;
    size_t n = value.len, i = 6;
    pl_http_range got[RANGE_SPECS];
    int count = 0, whole = 0, specs = 0;
    while (n > 0 && http_is_ows(s[n - 1]))
        n--;
    while (n > 0 && http_is_ows(s[0]))
        s++, n--;
    if (!unit_bytes(s, n))
        return 0;
    while (i < n) {                             /* 1#range-spec, empty elements allowed */
        while (i < n && (http_is_ows(s[i]) || s[i] == ','))
            i++;
        size_t j = i;
        while (j < n && s[j] != ',' && !http_is_ows(s[j]))
            j++;
        if (j == i)
            break;
        size_t k = j;
        while (k < n && http_is_ows(s[k]))
            k++;
        if (k < n && s[k] != ',')
            return 0;                           /* a space inside a spec */
        pl_http_range r;
        int rc = spec(s + i, j - i, size, &r);
        if (rc < 0)
            return 0;
        specs++;
        whole |= rc == 2;
        if (rc == 1 && count == RANGE_SPECS)
            return 0;
        if (rc == 1)
            got[count++] = r;
        i = k;
    }
    if (specs == 0)
        return 0;
    if (whole)
        return 0;
    if (count == 0)
        return -416;
    count = merge(got, count);
    if (count > PL_HTTP_RANGES_MAX)
        return 0;
    for (int m = 0; m < count; m++)
        out[m] = got[m];
    return count;
}
