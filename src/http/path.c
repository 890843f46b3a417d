/* path.c — request-target to a path under the served root (RFC 9112 §3.2, RFC 3986).
 *
 * This is the one place that decides which file a request may name, so every
 * traversal trick has to die here, whatever the server does with the result:
 *
 *   "/a/b%20c/../d.html?x=1#top"   -> "a/d.html", query "?x=1", dir_slash 0
 *   "http://host:8080/docs/"       -> "docs",     dir_slash 1
 *   "/"                            -> "",         dir_slash 1
 *   "/%2e%2e/etc/passwd"           -> -400 (a ".." at the root is refused, not clamped)
 *   "/a%2fb", "/a%5cb", "/a\\b"    -> -400 (an encoded '/' or any '\\')
 *   "/%252e%252e/x"                -> "%2e%2e/x" (decoded once: a name, not a dot segment)
 *   "/%c0%ae%c0%ae/x"              -> -400 (overlong UTF-8 for '.')
 *   "/.env", "/a/.git/config"      -> dotfile 1;  "/.well-known/x" -> dotfile 0
 *
 * Each segment is percent-decoded once, then judged: empty segments collapse,
 * "." is dropped, ".." pops the previous segment (or fails at the root); any
 * other segment must be valid UTF-8 and is appended. The query is kept raw for
 * redirects; a fragment is dropped. Control bytes are refused anywhere in the
 * target, query included, since the query may be echoed into a Location header.
 * out is also the scratch space: -414 when the path does not fit at any step,
 * even if a later ".." would have shortened it. Pure: no I/O, no allocation.
 */
#include "http/http.h"
#include "http/chars.h"

#include <string.h>

enum { BAD = -400, TOO_LONG = -414 };

static bool ctl_byte(unsigned char c) { return c < 0x20 || c == 0x7f; }

static bool prefix_ci(const char *s, size_t len, const char *pre)
{
    size_t n = strlen(pre);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != pre[i])
            return false;
    return true;
}

bool pl_http_utf8_valid(const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xbf;
        size_t k;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            k = 1;
        else if (c >= 0xe0 && c <= 0xef)
            k = 2, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        else if (c >= 0xf0 && c <= 0xf4)
            k = 3, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        else
            return false;
        if (n - i - 1 < k || s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t j = 2; j <= k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
        i += k + 1;
    }
    return true;
}

/* Percent-decode segment s[0..n) once. Writes the first `cap` decoded bytes to
 * dst and returns the decoded length (which may exceed cap), or BAD for a
 * malformed escape, a control byte, an encoded '/', or any '\\'. */
static long seg_decode(const char *s, size_t n, char *dst, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            if (n - i < 3 || http_hex(s[i + 1]) < 0 || http_hex(s[i + 2]) < 0)
                return BAD;
            c = (unsigned char)(http_hex(s[i + 1]) * 16 + http_hex(s[i + 2]));
            i += 2;
            if (c == '/')
                return BAD;
        }
        if (c == '\\' || ctl_byte(c))
            return BAD;
        if (o < cap)
            dst[o] = (char)c;
        o++;
    }
    return (long)o;
}

/* Resolve one raw segment onto out[0..*o). Sets *slash when the path, as far as
 * it goes, names a directory ("", ".", ".." end in a slash after resolution). */
static int add_segment(const char *s, size_t n, char *out, size_t outlen, size_t *o,
                       bool *slash)
{
    char head[3];
    long d = seg_decode(s, n, head, sizeof head);
    if (d < 0)
        return (int)d;
    *slash = true;
    if (d == 0 || (d == 1 && head[0] == '.'))
        return 0;
    if (d == 2 && head[0] == '.' && head[1] == '.') {
#ifdef PLUTO_UNSAFE_NO_PATH_CHECK
        goto name;          /* test builds only (tests/blackbox/test_sandbox.sh) */
#endif
        if (*o == 0)
            return BAD;
        while (*o > 0 && out[*o - 1] != '/')
            (*o)--;
        if (*o > 0)
            (*o)--;                             /* the separator before it */
        return 0;
    }
#ifdef PLUTO_UNSAFE_NO_PATH_CHECK
name:;
#endif
    size_t at = *o + (*o > 0);
    if ((size_t)d >= outlen || at > outlen - 1 - (size_t)d)
        return TOO_LONG;                        /* keep a byte for the NUL */
    seg_decode(s, n, out + at, (size_t)d);
    if (!pl_http_utf8_valid(out + at, (size_t)d))
        return BAD;
    if (*o > 0)
        out[*o] = '/';
    *o = at + (size_t)d;
    *slash = false;
    return 0;
}

/* Where the path starts: 0 for origin form, after the authority for absolute
 * form ("http://host[:port]"); BAD for anything else ("*", authority form). */
static long path_start(const char *t, size_t len)
{
    size_t i;
    if (len > 0 && t[0] == '/')
        return 0;
    if (prefix_ci(t, len, "http://"))
        i = 7;
    else if (prefix_ci(t, len, "https://"))
        i = 8;
    else
        return BAD;
    size_t host = i;
    while (i < len && t[i] != '/' && t[i] != '?' && t[i] != '#')
        i++;
    return i == host ? BAD : (long)i;
}

/* A segment starting with '.' anywhere, except ".well-known" as the first one. */
static bool has_dotfile(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != '.' || (i > 0 && p[i - 1] != '/'))
            continue;
        if (i == 0 && n >= 11 && memcmp(p, ".well-known", 11) == 0 && (n == 11 || p[11] == '/'))
            continue;
        return true;
    }
    return false;
}


/* The common target, mapped in one pass: origin form, plain bytes only, no
 * empty segment but a last one, no segment starting with '.' (so no dot
 * segment and no dotfile). Its path is the target without the leading
 * slash and a trailing one: what the general walk below would make of it.
 * false: not such a target (or no room), and nothing is decided. */
static bool map_plain(const char *t, size_t len, char *out, size_t outlen, pl_http_path *info)
{
    if (len == 0 || t[0] != '/' || len > outlen)
        return false;
    for (size_t i = 1; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (!http_is_plain(c) || (t[i - 1] == '/' && (c == '.' || c == '/')))
            return false;
    }
    bool slash = t[len - 1] == '/';
    size_t n = len - 1 - (slash && len > 1);
    memcpy(out, t + 1, n);
    out[n] = 0;
    *info = (pl_http_path){ .len = n, .query = { t, 0 }, .dir_slash = slash };
    return true;
}

int pl_http_map_path(const char *target, size_t len, char *out, size_t outlen,
                     pl_http_path *info)
{
    if (map_plain(target, len, out, outlen, info))
        return 0;
    *info = (pl_http_path){ .query = { target, 0 }, .dir_slash = true };
    if (outlen > 0)
        out[0] = 0;
    for (size_t i = 0; i < len; i++)
        if (ctl_byte((unsigned char)target[i]))
            return BAD;
    long start = path_start(target, len);
    if (start < 0)
        return (int)start;
    size_t end = (size_t)start;
    while (end < len && target[end] != '?' && target[end] != '#')
        end++;
    if (end < len && target[end] == '?') {
        size_t q = end;
        while (q < len && target[q] != '#')
            q++;
        info->query = (pl_str){ target + end, q - end };
    }
    if (outlen == 0)
        return TOO_LONG;
    size_t o = 0;
    for (size_t i = (size_t)start; i < end;) {       /* target[i] == '/' */
        size_t j = i + 1;
        while (j < end && target[j] != '/')
            j++;
        int rc = add_segment(target + i + 1, j - i - 1, out, outlen, &o, &info->dir_slash);
        if (rc < 0) {
            out[0] = 0;
            return rc;
        }
        i = j;
    }
    out[o] = 0;
    info->len = o;
    info->dotfile = has_dotfile(out, o);
    return 0;
}
