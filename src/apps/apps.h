/* apps.h — the built-in programs and the small pure helpers they share. */
#ifndef PLUTO_APPS_APPS_H
#define PLUTO_APPS_APPS_H

#include "pluto/pluto.h"

extern const pl_program pl_app_echo;
extern const pl_program pl_app_hello;
extern const pl_program pl_app_walk;
extern const pl_program pl_app_serve;

/* Write a message to err and return 2 (the usage-error exit code). */
int pl_app_error(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse a decimal number in [lo, hi]; 0 on success. */
int pl_app_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* Parse a TCP port (0..65535); 0 on success. */
int pl_app_port(const char *s, uint16_t *port);

#endif
