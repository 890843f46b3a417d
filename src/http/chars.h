/* chars.h — the byte classes of RFC 9110 shared by the src/http modules.
 *
 * Pure, header-only. HTTP_ASSERT traps rather than calling the runtime's
 * PL_ASSERT, because the fuzz drivers link src/http alone.
 */
#ifndef PLUTO_HTTP_CHARS_H
#define PLUTO_HTTP_CHARS_H

#include <stdbool.h>
#include <string.h>

#define HTTP_ASSERT(c) ((c) ? (void)0 : __builtin_trap())

/* The value of a hex digit, or -1. */
static inline int http_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Byte classes, one bit each: a load and a test, for every byte of every
 * method, field name, Host value and path. Bytes from 0x80 are in none. */
enum { HTTP_TCHAR = 1, HTTP_HOSTCHAR = 2, HTTP_PATHCHAR = 4 };

static inline unsigned http_class(unsigned char c)
{
    static const unsigned char cls[256] = {
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 7, 4, 1, 7, 3, 7, 7, 6, 6, 7, 7, 6, 7, 7, 4,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 4, 6, 4, 0,
        4, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 0, 6, 5, 7,
        5, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
        7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 4, 5, 4, 7, 0,
    };
    return cls[c];
}

/* tchar of a token (RFC 9110 section 5.6.2): ALPHA DIGIT !#$%&'*+-.^_`|~ */
static inline bool http_is_tchar(unsigned char c) { return http_class(c) & HTTP_TCHAR; }

/* A byte of Host's value: uri-host and port (RFC 3986 section 3.2.2: reg-name,
 * IP-literal brackets, pct-encoded), ALPHA DIGIT -._~!$&'()*+,;=%:[] */
static inline bool http_is_hostchar(unsigned char c) { return http_class(c) & HTTP_HOSTCHAR; }

/* A path byte that maps to itself and ends nothing: printable ASCII but for
 * '%' (an escape), '?' and '#' (the query, a fragment), '\\' (refused). */
static inline bool http_is_plain(unsigned char c) { return http_class(c) & HTTP_PATHCHAR; }

/* Optional whitespace: SP or HTAB. */
static inline bool http_is_ows(char c) { return c == ' ' || c == '\t'; }

static inline char http_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c; }

#endif
