/* out.h — a bounded output buffer for the writers of src/http (heads,
 * listings, access-log lines). Writing past the end sets `full` and drops
 * the bytes: the caller checks once at the end and refuses the whole text.
 */
#ifndef PLUTO_HTTP_OUT_H
#define PLUTO_HTTP_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct out { char *p; size_t len, cap; bool full; } out;

static inline void put(out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->len) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static inline void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static inline void put_u64(out *o, uint64_t v)
{
    char d[24];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(o, d + i, sizeof d - i);
}

#endif
