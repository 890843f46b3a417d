/* accesslog.h — access log lines (pure): one line per response, in the
 * combined format of Apache and nginx or as one JSON object.
 */
#ifndef PLUTO_HTTP_ACCESSLOG_H
#define PLUTO_HTTP_ACCESSLOG_H

#include "http/http.h"

typedef enum pl_http_log_format { PL_HTTP_LOG_COMBINED = 0, PL_HTTP_LOG_JSON } pl_http_log_format;

/* What one line says. Empty slices are fields the request did not have (or a
 * head that could not be parsed: no method, target or version). */
typedef struct pl_http_log_entry {
    pl_str addr;                /* the client's address: "127.0.0.1", "::1" */
    int64_t time_s;             /* seconds since the epoch; printed in UTC */
    pl_str method, target;      /* as received */
    int minor;                  /* HTTP/1.minor; < 0: no version */
    int status;
    uint64_t bytes;             /* body bytes of the response */
    pl_str referer, user_agent;
} pl_http_log_entry;

/* Output bytes each text field may take; a longer one is cut (never inside an
 * escape or a UTF-8 sequence), so that a line always fits in
 * PL_HTTP_LOG_LINE_MAX bytes. */
enum {
    PL_HTTP_LOG_ADDR_MAX = 64, PL_HTTP_LOG_METHOD_MAX = 64, PL_HTTP_LOG_TARGET_MAX = 4096,
    PL_HTTP_LOG_HEADER_MAX = 1024, PL_HTTP_LOG_LINE_MAX = 8192,
};

/* Write the line for e, ending in '\n', into out[0..cap). Returns its
 * length, or 0 when cap is too small (PL_HTTP_LOG_LINE_MAX always suffices).
 *
 * Escaping: combined writes '"', '\\', control bytes and bytes above 0x7e
 * as \xHH (as nginx does), and "-" for an empty field; json escapes '"' and
 * '\\', writes control bytes as \n, \t ... or \u00hh, keeps valid UTF-8 and
 * writes each byte of invalid UTF-8 as \ufffd. */
size_t pl_http_log_line(char *out, size_t cap, pl_http_log_format f,
                        const pl_http_log_entry *e);

#endif
