/* apps.h — the built-in programs and the small pure helpers they share. */
#ifndef PLUTO_APPS_APPS_H
#define PLUTO_APPS_APPS_H

#include "pluto/pluto.h"

extern const pl_program pl_app_echo;
extern const pl_program pl_app_hello;
extern const pl_program pl_app_walk;
extern const pl_program pl_app_serve;
extern const pl_program pl_app_counter;
extern const pl_program pl_app_kv;

/* A computation that returns the signal number when SIGINT or SIGTERM
 * arrives (stop.c); list both handlers in the program's registry. */
extern const pl_handler pl_app_h_stop_signal, pl_app_h_stop_signals;
pl_start pl_app_stop_start(void);
int pl_app_stop_signo(const pl_answer *a);   /* from the First that it won */
/* SIGINT and SIGTERM again, each to h with a copy of mem (a second signal). */
void pl_app_stop_again(pl_ctx *cx, const pl_handler *h, const void *mem, size_t len);

/* A clock for Date headers (util.c): a shared ref holding a pl_app_clock,
 * set from a TIME answer and refreshed every second by a TIMER task; list
 * both handlers in the program's registry. */
typedef struct pl_app_clock { int64_t now_s; char date[32]; } pl_app_clock;
extern const pl_handler pl_app_h_clock_tick, pl_app_h_clock_time;
void pl_app_clock_set(pl_ctx *cx, pl_ref clock, int64_t wall_ns);
void pl_app_clock_start(pl_ctx *cx, pl_ref clock);    /* the TIMER task */

/* Write a message to err and return 2 (the usage-error exit code). */
int pl_app_error(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse a decimal number in [lo, hi]; 0 on success. */
int pl_app_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Parse a TCP port (0..65535); 0 on success. */
int pl_app_port(const char *s, uint16_t *port);

#endif
