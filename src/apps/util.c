/* util.c — argument parsing and the Date clock shared by the built-in
 * programs (pure). */
#include "apps/apps.h"
#include "http/http.h"

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

void pl_app_clock_set(pl_ctx *cx, pl_ref clock, int64_t wall_ns)
{
    pl_app_clock k = { .now_s = wall_ns / 1000000000 };
    pl_http_date(k.now_s, k.date);
    pl_ref_set(cx, clock, &k, sizeof k);
}

static pl_verdict on_clock_time(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const pl_ref *clock = mem;
    if (a->err == 0)
        pl_app_clock_set(cx, *clock, a->wall_ns);
    return PL_DONE;
}
PL_HANDLER(pl_app_h_clock_time, on_clock_time);

static pl_verdict on_clock_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_cmd t = pl_cmd_time();
    pl_send(cx, &t, &pl_app_h_clock_time, mem, sizeof(pl_ref));
    return PL_KEEP;
}
PL_HANDLER(pl_app_h_clock_tick, on_clock_tick);

void pl_app_clock_start(pl_ctx *cx, pl_ref clock)
{
    pl_cmd tick = pl_cmd_timer(1000, 1000);
    pl_send(cx, &tick, &pl_app_h_clock_tick, &clock, sizeof clock);
}
