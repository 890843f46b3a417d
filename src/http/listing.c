/* listing.c — the HTML index of a directory (listing.h has the page's shape).
 *
 * Written in pieces into caller buffers, like resp.c: a piece that does not
 * fit is refused whole (0), never cut. Names come from the file system and
 * may hold any byte but '/' and NUL, so each is escaped twice over: for the
 * text (& < > " ' as entities, control bytes as U+FFFD) and for the link
 * (every byte outside A-Z a-z 0-9 - . _ ~ as %XX, so "a:b" cannot name a
 * scheme and "?" or "#" cannot end the path). Dates are pure arithmetic.
 */
#include "http/listing.h"
#include "http/out.h"

#include <string.h>


/* Text for HTML content and attribute values: at most 6 bytes per byte. */
static void put_text(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': puts_(o, "&amp;"); break;
        case '<': puts_(o, "&lt;"); break;
        case '>': puts_(o, "&gt;"); break;
        case '"': puts_(o, "&quot;"); break;
        case '\'': puts_(o, "&#39;"); break;
        default:
            if (c < 0x20 || c == 0x7f)
                puts_(o, "\xef\xbf\xbd");           /* U+FFFD: not a raw control byte */
            else
                put(o, s + i, 1);
        }
    }
}

/* A path segment for a relative link: 3 bytes per byte at most. */
static void put_link(out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            put(o, s + i, 1);
        } else {
            char e[3] = { '%', hex[c >> 4], hex[c & 15] };
            put(o, e, 3);
        }
    }
}

static void put_2(out *o, unsigned v)
{
    char d[2] = { (char)('0' + v / 10 % 10), (char)('0' + v % 10) };
    put(o, d, 2);
}

/* "YYYY-MM-DD HH:MM" in UTC (civil from days, H. Hinnant); years 0..9999. */
static void put_time(out *o, int64_t t)
{
    if (t < -62167219200 || t > 253402300799) {
        put(o, "-", 1);
        return;
    }
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    unsigned d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    unsigned m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    int64_t y = yoe + era * 400 + (m <= 2);
    put_2(o, (unsigned)(y / 100));
    put_2(o, (unsigned)(y % 100));
    put(o, "-", 1);
    put_2(o, m);
    put(o, "-", 1);
    put_2(o, d);
    put(o, " ", 1);
    put_2(o, (unsigned)(secs / 3600));
    put(o, ":", 1);
    put_2(o, (unsigned)(secs / 60 % 60));
}

/* ---- sorting ------------------------------------------------------------------ */

static int cmp(const char *names, const pl_http_listing_entry *a,
               const pl_http_listing_entry *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(names + a->name, names + b->name, n);
    if (c != 0)
        return c;
    return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static void sift(pl_http_listing_entry *e, size_t root, size_t n, const char *names)
{
    for (;;) {
        size_t child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && cmp(names, &e[child], &e[child + 1]) < 0)
            child++;
        if (cmp(names, &e[root], &e[child]) >= 0)
            return;
        pl_http_listing_entry t = e[root];
        e[root] = e[child];
        e[child] = t;
        root = child;
    }
}

void pl_http_listing_sort(pl_http_listing_entry *e, size_t n, const char *names)
{
    for (size_t i = n / 2; i-- > 0;)          /* heapsort: bounded stack and time */
        sift(e, i, n, names);
    for (size_t end = n; end > 1; end--) {
        pl_http_listing_entry t = e[0];
        e[0] = e[end - 1];
        e[end - 1] = t;
        sift(e, 0, end - 1, names);
    }
}

/* ---- the page ----------------------------------------------------------------- */

size_t pl_http_listing_top(char *buf, size_t cap, const char *dir)
{
    out o = { buf, 0, cap, false };
    size_t n = strlen(dir);
    puts_(&o, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width\">\n<title>Index of ");
    put_text(&o, dir, n);
    puts_(&o, "</title>\n<style>body{font-family:sans-serif;margin:2em}"
              "td,th{padding:.15em 1em .15em 0;text-align:left}"
              "td+td{font-family:monospace}</style></head>\n<body><h1>Index of ");
    put_text(&o, dir, n);
    puts_(&o, "</h1>\n<table>\n<tr><th>Name</th><th>Size</th><th>Modified (UTC)</th></tr>\n");
    if (!(n == 1 && dir[0] == '/'))
        puts_(&o, "<tr><td><a href=\"../\">../</a></td><td></td><td></td></tr>\n");
    return o.full ? 0 : o.len;
}

size_t pl_http_listing_row_max(size_t name_len) { return 160 + 9 * name_len; }

size_t pl_http_listing_row(char *buf, size_t cap, const char *names,
                           const pl_http_listing_entry *e)
{
    if (e->hidden)
        return 0;
    out o = { buf, 0, cap, false };
    const char *name = names + e->name;
    puts_(&o, "<tr><td><a href=\"");
    put_link(&o, name, e->name_len);
    puts_(&o, e->dir ? "/\">" : "\">");
    put_text(&o, name, e->name_len);
    puts_(&o, e->dir ? "/</a></td><td>-" : "</a></td><td>");
    if (!e->dir)
        put_u64(&o, e->size);
    puts_(&o, "</td><td>");
    put_time(&o, e->mtime_s);
    puts_(&o, "</td></tr>\n");
    return o.full ? 0 : o.len;
}

size_t pl_http_listing_end(char *buf, size_t cap, bool truncated)
{
    out o = { buf, 0, cap, false };
    puts_(&o, "</table>\n");
    if (truncated)
        puts_(&o, "<p>This directory holds more entries than a listing shows.</p>\n");
    puts_(&o, "</body></html>\n");
    return o.full ? 0 : o.len;
}
