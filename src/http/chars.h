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

/* tchar of a token (RFC 9110 section 5.6.2). A switch, not strchr: this runs
 * for every byte of every method and field name. */
static inline bool http_is_tchar(unsigned char c)
{
    switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
        return true;
    default:
        return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || (c >= '0' && c <= '9');
    }
}

/* Optional whitespace: SP or HTAB. */
static inline bool http_is_ows(char c) { return c == ' ' || c == '\t'; }

static inline char http_lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c | 0x20) : c; }

#endif
