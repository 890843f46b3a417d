/* accesslog.c — access log lines, one per response (pure).
 *
 * combined, the format of Apache and nginx (time in UTC):
 *
 *   127.0.0.1 - - [10/Oct/2000:13:55:36 +0000] "GET /a.html HTTP/1.1" 200 2326 "-" "curl/8.0"
 *
 * json, one object per line:
 *
 *   {"time":"2000-10-10T13:55:36Z","addr":"127.0.0.1","method":"GET","target":"/a.html",
 *    "version":"HTTP/1.1","status":200,"bytes":2326,"referer":"","user_agent":"curl/8.0"}
 *
 * Every field a client sends is escaped, so a line is always one line and a
 * quote in a User-Agent cannot forge a field. Each field has an output
 * budget, so a line has a bound whatever the request held.
 */
#include "http/accesslog.h"
#include "http/out.h"

#include <string.h>


/* v in decimal, at least width digits (zero-padded). */
static void put_num(out *o, uint64_t v, int width)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v || (int)(sizeof d - i) < width);
    put(o, d + i, sizeof d - i);
}

/* The length of the valid UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0 when the byte starts none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

/* One unit of s at *i escaped for combined into e; returns its length. */
static size_t esc_combined(const unsigned char *s, size_t n, size_t *i, char *e)
{
    (void)n;
    unsigned char c = s[(*i)++];
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') {
        e[0] = (char)c;
        return 1;
    }
    e[0] = '\\';
    e[1] = 'x';
    e[2] = hex_upper[c >> 4];
    e[3] = hex_upper[c & 15];
    return 4;
}

/* One unit of s at *i escaped for a JSON string into e: a byte, a whole
 * UTF-8 sequence, or \ufffd for a byte that starts none. */
static size_t esc_json(const unsigned char *s, size_t n, size_t *i, char *e)
{
    unsigned char c = s[*i];
    if (c >= 0x80) {
        size_t len = utf8_len(s + *i, n - *i);
        if (len == 0) {
            (*i)++;
            memcpy(e, "\\ufffd", 6);
            return 6;
        }
        memcpy(e, s + *i, len);
        *i += len;
        return len;
    }
    (*i)++;
    const char *short_esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\n' ? "\\n"
                          : c == '\r' ? "\\r" : c == '\t' ? "\\t" : c == '\b' ? "\\b"
                          : c == '\f' ? "\\f" : NULL;
    if (short_esc != NULL) {
        memcpy(e, short_esc, 2);
        return 2;
    }
    if (c >= 0x20 && c < 0x7F) {
        e[0] = (char)c;
        return 1;
    }
    memcpy(e, "\\u00", 4);
    e[4] = hex_lower[c >> 4];
    e[5] = hex_lower[c & 15];
    return 6;
}

typedef size_t (*escaper)(const unsigned char *s, size_t n, size_t *i, char *e);

/* s escaped, at most max output bytes: cut before the unit that would pass. */
static void put_escaped(out *o, pl_str s, size_t max, escaper esc)
{
    const unsigned char *p = (const unsigned char *)s.p;
    size_t used = 0;
    for (size_t i = 0; i < s.len;) {
        char e[8];
        size_t n = esc(p, s.len, &i, e);
        if (used + n > max)
            break;
        put(o, e, n);
        used += n;
    }
}

/* A combined field: "-" when empty. */
static void put_field(out *o, pl_str s, size_t max)
{
    if (s.len == 0)
        put(o, "-", 1);
    else
        put_escaped(o, s, max, esc_combined);
}

typedef struct civil { int64_t year; int month, day, hour, min, sec; } civil;

/* Seconds since the epoch to a UTC calendar date (days-from-civil inverted). */
static civil civil_of(int64_t t)
{
    civil c;
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    c.day = (int)(doy - (153 * mp + 2) / 5 + 1);
    c.month = (int)(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2);
    c.hour = (int)(secs / 3600);
    c.min = (int)(secs / 60 % 60);
    c.sec = (int)(secs % 60);
    return c;
}

static void put_year(out *o, int64_t y)
{
    put_num(o, (uint64_t)(y < 0 ? 0 : y > 9999 ? 9999 : y), 4);
}

static void put_clock(out *o, const civil *c)
{
    put_num(o, (uint64_t)c->hour, 2);
    put(o, ":", 1);
    put_num(o, (uint64_t)c->min, 2);
    put(o, ":", 1);
    put_num(o, (uint64_t)c->sec, 2);
}

static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void combined(out *o, const pl_http_log_entry *e)
{
    civil c = civil_of(e->time_s);
    put_field(o, e->addr, PL_HTTP_LOG_ADDR_MAX);
    put(o, " - - [", 6);
    put_num(o, (uint64_t)c.day, 2);
    put(o, "/", 1);
    put(o, months[c.month - 1], 3);
    put(o, "/", 1);
    put_year(o, c.year);
    put(o, ":", 1);
    put_clock(o, &c);
    put(o, " +0000] \"", 9);
    if (e->method.len == 0) {
        put(o, "-", 1);
    } else {
        put_escaped(o, e->method, PL_HTTP_LOG_METHOD_MAX, esc_combined);
        put(o, " ", 1);
        put_escaped(o, e->target, PL_HTTP_LOG_TARGET_MAX, esc_combined);
        if (e->minor >= 0) {
            put(o, " HTTP/1.", 8);
            put_num(o, (uint64_t)e->minor % 10, 1);
        }
    }
    put(o, "\" ", 2);
    put_num(o, (uint64_t)(e->status > 0 ? e->status : 0), 1);
    put(o, " ", 1);
    put_num(o, e->bytes, 1);
    put(o, " \"", 2);
    put_field(o, e->referer, PL_HTTP_LOG_HEADER_MAX);
    put(o, "\" \"", 3);
    put_field(o, e->user_agent, PL_HTTP_LOG_HEADER_MAX);
    put(o, "\"\n", 2);
}

static void json_str(out *o, const char *key, pl_str s, size_t max)
{
    put(o, ",\"", 2);
    puts_(o, key);
    put(o, "\":\"", 3);
    put_escaped(o, s, max, esc_json);
    put(o, "\"", 1);
}

static void json(out *o, const pl_http_log_entry *e)
{
    civil c = civil_of(e->time_s);
    put(o, "{\"time\":\"", 9);
    put_year(o, c.year);
    put(o, "-", 1);
    put_num(o, (uint64_t)c.month, 2);
    put(o, "-", 1);
    put_num(o, (uint64_t)c.day, 2);
    put(o, "T", 1);
    put_clock(o, &c);
    put(o, "Z\"", 2);
    json_str(o, "addr", e->addr, PL_HTTP_LOG_ADDR_MAX);
    json_str(o, "method", e->method, PL_HTTP_LOG_METHOD_MAX);
    json_str(o, "target", e->target, PL_HTTP_LOG_TARGET_MAX);
    put(o, ",\"version\":\"", 12);
    if (e->minor >= 0 && e->method.len > 0) {
        put(o, "HTTP/1.", 7);
        put_num(o, (uint64_t)e->minor % 10, 1);
    }
    put(o, "\",\"status\":", 11);
    put_num(o, (uint64_t)(e->status > 0 ? e->status : 0), 1);
    put(o, ",\"bytes\":", 9);
    put_num(o, e->bytes, 1);
    json_str(o, "referer", e->referer, PL_HTTP_LOG_HEADER_MAX);
    json_str(o, "user_agent", e->user_agent, PL_HTTP_LOG_HEADER_MAX);
    put(o, "}\n", 2);
}

size_t pl_http_log_line(char *buf, size_t cap, pl_http_log_format f,
                        const pl_http_log_entry *e)
{
    out o = { buf, 0, cap, false };
    if (f == PL_HTTP_LOG_JSON)
        json(&o, e);
    else
        combined(&o, e);
    return o.full ? 0 : o.len;
}
