/* util.c — argument parsing shared by the built-in programs (pure). */
#include "apps/apps.h"

#include <stdarg.h>
#include <stdio.h>

int pl_app_error(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return 2;
}

int pl_app_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == 0)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int pl_app_port(const char *s, uint16_t *port)
{
    uint64_t v;
    if (pl_app_number(s, 0, 65535, &v) != 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}
