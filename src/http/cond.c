/* cond.c — validators, HTTP-dates and conditional requests (RFC 9110 §8.8, §13).
 *
 * A static server answers most repeat visits with 304, so the validators and
 * the precondition order have to be exactly the RFC's. The formats:
 *
 *   ETag (strong, hex of inode, size, mtime in ns; a suffix per encoding):
 *       "1a2b-3f-17ba3c50e1f2a400"      "1a2b-3f-17ba3c50e1f2a400-br"
 *   HTTP-date, sent as IMF-fixdate, read in all three forms (§5.6.7):
 *       Sun, 06 Nov 1994 08:49:37 GMT   (IMF-fixdate)
 *       Sunday, 06-Nov-94 08:49:37 GMT  (RFC 850; "94" -> 1994, "05" -> 2005)
 *       Sun Nov  6 08:49:37 1994        (asctime)
 *
 * Comparison (§8.8.3.2): If-Match and If-Range compare strongly (a W/ tag never
 * matches); If-None-Match compares weakly (W/"x" matches "x"). A malformed
 * entity-tag list matches nothing. Dates are pure arithmetic (days from civil,
 * H. Hinnant), never gmtime or the clock.
 */
#include "http/http.h"

#include <string.h>

static const char WDAY[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const WDAY_LONG[7] = { "Sunday", "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday" };
static const char MONTH[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const int64_t T_MIN = -62167219200;      /* 0000-01-01T00:00:00Z */
static const int64_t T_MAX = 253402300799;      /* 9999-12-31T23:59:59Z */

/* ---- ETag ---------------------------------------------------------------- */

static size_t put_hex(char *p, uint64_t v)
{
    char tmp[16];
    size_t n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        p[i] = tmp[n - 1 - i];
    return n;
}

static uint64_t mix(uint64_t h, uint64_t v)       /* splitmix64 finaliser */
{
    h ^= v + 0x9e3779b97f4a7c15u;
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
    return h ^ (h >> 31);
}

/* The tag is normally "ino-size-mtime". When a 64-bit inode and a large size
 * would not fit in etag[48], it becomes "x<hash of the three>": still strong,
 * still changing whenever any of them changes. */
void pl_http_etag(pl_http_validators *v, uint64_t ino, uint64_t size, int64_t mtime_s,
                  int64_t mtime_ns, const char *suffix)
{
    uint64_t mt = (uint64_t)mtime_s * 1000000000u + (uint64_t)mtime_ns;
    char sfx[17];
    size_t ns = 0, n = 0;
    for (; suffix && *suffix && ns < 16; suffix++) {
        char c = *suffix;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.')
            sfx[ns++] = c;
    }
    char *p = v->etag;
    p[n++] = '"';
    char body[52];
    size_t nb = put_hex(body, ino);
    body[nb++] = '-';
    nb += put_hex(body + nb, size);
    body[nb++] = '-';
    nb += put_hex(body + nb, mt);
    if (nb + (ns ? ns + 1 : 0) + 2 >= sizeof v->etag) {
        body[0] = 'x';
        nb = 1 + put_hex(body + 1, mix(mix(mix(0, ino), size), mt));
    }
    memcpy(p + n, body, nb);
    n += nb;
    if (ns) {
        p[n++] = '-';
        memcpy(p + n, sfx, ns);
        n += ns;
    }
    p[n++] = '"';
    p[n] = 0;
    v->etag_len = n;
    v->mtime_s = mtime_s;
}

/* ---- dates ----------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void put2(char *p, int v) { p[0] = (char)('0' + v / 10); p[1] = (char)('0' + v % 10); }

size_t pl_http_date(int64_t t, char *out)
{
    t = t < T_MIN ? T_MIN : t > T_MAX ? T_MAX : t;
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1), m = (int)(mp < 10 ? mp + 3 : mp - 9);
    int y = (int)(yoe + era * 400 + (m <= 2));
    int wd = (int)(((days % 7) + 11) % 7);      /* 1970-01-01 was a Thursday (4) */
    memcpy(out, WDAY[wd], 3);
    memcpy(out + 3, ", ", 2);
    put2(out + 5, d);
    out[7] = ' ';
    memcpy(out + 8, MONTH[m - 1], 3);
    out[11] = ' ';
    put2(out + 12, y / 100);
    put2(out + 14, y % 100);
    out[16] = ' ';
    put2(out + 17, (int)(secs / 3600));
    out[19] = ':';
    put2(out + 20, (int)(secs / 60 % 60));
    out[22] = ':';
    put2(out + 23, (int)(secs % 60));
    memcpy(out + 25, " GMT", 5);                /* with the NUL */
    return 29;
}

/* n digits at p, or -1. */
static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static int month(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, MONTH[i], 3) == 0)
            return i + 1;
    return 0;
}

static bool wday(const char *p, size_t n)
{
    for (int i = 0; i < 7; i++)
        if (n == 3 ? memcmp(p, WDAY[i], 3) == 0
                   : n == strlen(WDAY_LONG[i]) && memcmp(p, WDAY_LONG[i], n) == 0)
            return true;
    return false;
}

/* Check the fields and turn them into seconds; "HH:MM:SS" at hms. */
static int civil(int y, int m, int d, const char *hms, int64_t *t)
{
    static const int MDAYS[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int hh = digits(hms, 2), mm = digits(hms + 3, 2), ss = digits(hms + 6, 2);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 0 || m == 0 || d < 1 || d > MDAYS[m - 1] || (m == 2 && d == 29 && !leap))
        return -1;
    if (hms[2] != ':' || hms[5] != ':' || hh < 0 || hh > 23 || mm < 0 || mm > 59 ||
        ss < 0 || ss > 60)                      /* 60: a leap second */
        return -1;
    *t = days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 + ss;
    return 0;
}

int pl_http_parse_date(pl_str s, int64_t *t)
{
    const char *p = s.p;
    size_t n = s.len;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (n > 0 && (p[0] == ' ' || p[0] == '\t'))
        p++, n--;
    if (n == 29 && p[3] == ',' && wday(p, 3) && p[4] == ' ' && p[7] == ' ' && p[11] == ' ' &&
        p[16] == ' ' && memcmp(p + 25, " GMT", 4) == 0)
        return civil(digits(p + 12, 4), month(p + 8), digits(p + 5, 2), p + 17, t);
    if (n == 24 && wday(p, 3) && p[3] == ' ' && p[7] == ' ' && p[10] == ' ' && p[19] == ' ') {
        int d = p[8] == ' ' ? digits(p + 9, 1) : digits(p + 8, 2);
        return civil(digits(p + 20, 4), month(p + 4), d, p + 11, t);
    }
    for (size_t w = 6; w <= 9; w++) {            /* RFC 850: "Sunday, 06-Nov-94 ..." */
        const char *q = p + w;
        if (n != w + 24 || !wday(p, w) || q[0] != ',' || q[1] != ' ' || q[4] != '-' ||
            q[8] != '-' || q[11] != ' ' || memcmp(q + 20, " GMT", 4) != 0)
            continue;
        int yy = digits(q + 9, 2);               /* no clock here: 70-99 are 19xx */
        return civil(yy < 0 ? -1 : yy + (yy < 70 ? 2000 : 1900), month(q + 5),
                     digits(q + 2, 2), q + 12, t);
    }
    return -1;
}

/* ---- preconditions --------------------------------------------------------- */

static bool etagc(unsigned char c) { return c == 0x21 || (c >= 0x23 && c != 0x7f); }

/* Does the entity-tag list s match v's tag? "*" matches (the file exists);
 * weak selects the weak comparison. A malformed list matches nothing. */
static bool tag_list_match(pl_str s, const pl_http_validators *v, bool weak)
{
    const char *p = s.p;
    size_t n = s.len, i = 0;
    bool hit = false;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (n - i == 1 && p[i] == '*')
        return true;
    while (i < n) {
        while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == ','))
            i++;
        if (i == n)
            break;
        bool w = n - i >= 2 && p[i] == 'W' && p[i + 1] == '/';
        size_t a = i + (w ? 2 : 0), b = a + 1;
        if (a >= n || p[a] != '"')
            return false;
        while (b < n && etagc((unsigned char)p[b]))
            b++;
        if (b >= n || p[b] != '"')
            return false;
        b++;
        if ((weak || !w) && b - a == v->etag_len && memcmp(p + a, v->etag, b - a) == 0)
            hit = true;
        for (i = b; i < n && (p[i] == ' ' || p[i] == '\t'); i++) {}
        if (i < n && p[i] != ',')
            return false;
    }
    return hit;
}

int pl_http_preconditions(const pl_http_req *r, const pl_http_validators *v, bool is_get)
{
    int64_t t;
    if (r->if_match.len > 0) {
        if (!tag_list_match(r->if_match, v, false))
            return 412;
    } else if (r->if_unmodified_since.len > 0 &&
               pl_http_parse_date(r->if_unmodified_since, &t) == 0 && v->mtime_s > t) {
        return 412;
    }
    if (r->if_none_match.len > 0) {
        if (tag_list_match(r->if_none_match, v, true))
            return is_get ? 304 : 412;
    } else if (is_get && r->if_modified_since.len > 0 &&
               pl_http_parse_date(r->if_modified_since, &t) == 0 && v->mtime_s <= t) {
        return 304;
    }
    return 200;
}

bool pl_http_if_range(const pl_http_req *r, const pl_http_validators *v)
{
    pl_str s = r->if_range;
    int64_t t;
    if (s.len == 0)
        return true;
    while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t'))
        s.p++, s.len--;
    if (s.len >= 2 && s.p[0] == 'W' && s.p[1] == '/')
        return false;                           /* a weak tag never matches (§13.1.5) */
    if (s.len > 0 && s.p[0] == '"') {
        for (size_t i = 1; i < s.len; i++)
            if (s.p[i] == ',')
                return false;                   /* exactly one entity-tag */
        return tag_list_match(s, v, false);
    }
    return pl_http_parse_date(s, &t) == 0 && t == v->mtime_s;
}
