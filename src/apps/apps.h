/* apps.h — the built-in programs and the small pure helpers they share. */
#ifndef PLUTO_APPS_APPS_H
#define PLUTO_APPS_APPS_H

#include "pluto/pluto.h"

extern const pl_program pl_app_echo;
extern const pl_program pl_app_hello;
extern const pl_program pl_app_walk;
extern const pl_program pl_app_serve;

/* A computation that returns the signal number when SIGINT or SIGTERM
 * arrives (stop.c); list both handlers in the program's registry. */
extern const pl_handler pl_app_h_stop_signal, pl_app_h_stop_signals;
pl_start pl_app_stop_start(void);
int pl_app_stop_signo(const pl_answer *a);   /* from the First that it won */

/* Write a message to err and return 2 (the usage-error exit code). */
int pl_app_error(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse a decimal number in [lo, hi]; 0 on success. */
int pl_app_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Parse a TCP port (0..65535); 0 on success. */
int pl_app_port(const char *s, uint16_t *port);

#endif
