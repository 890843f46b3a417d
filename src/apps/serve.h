/* serve.h — the static web server's shared types (serve*.c).
 *
 * Tasks of the server:
 *   listener      LISTEN; one answer per client; memory: serve_listen
 *   connection    RECV on a client; parses heads from the runtime's input
 *                 buffer (pl_consume); memory: serve_conn (small: idle
 *                 connections hold no buffer)
 *   request       OPEN of the file a request names; memory: serve_req, a
 *                 flat copy of what the response needs
 *   send/close    SENDFILE then CLOSE of the file
 *   clock         TIMER each second + TIME: the Date header in a shared ref
 * Configuration lives in a shared ref read by every handler.
 */
#ifndef PLUTO_APPS_SERVE_H
#define PLUTO_APPS_SERVE_H

#include "apps/apps.h"
#include "http/http.h"
#include "http/resp.h"

typedef struct serve_cfg {
    char root[PL_PATH_MAX];
    char bind[64];
    uint16_t port;
    uint32_t workers;
    uint32_t header_timeout_ms, idle_timeout_ms, send_timeout_ms;
    uint32_t max_conns, max_header_bytes;
    bool dotfiles_allow, list_dirs, cors, short_form;
    char cache_control[128];
    char spa[256];
    char extra[1024];          /* --header lines, "K: V\r\n" each */
} serve_cfg;

/* Shared state, in refs created at start. */
typedef struct serve_refs { pl_ref cfg, date, conns; int root; } serve_refs;

typedef struct serve_conn {
    serve_refs refs;
    int fd;
    size_t scanned;             /* pl_http_head_end resume point */
    uint32_t served;            /* requests answered on this connection */
} serve_conn;

enum { SERVE_STR = 256 };       /* longest conditional/range header kept */

typedef struct serve_req {
    serve_conn conn;
    pl_http_method method;
    bool keep_alive, dir_slash, index;
    int minor;
    char if_none_match[SERVE_STR], if_modified_since[64], if_match[SERVE_STR];
    char if_unmodified_since[64], range[SERVE_STR], if_range[SERVE_STR];
    char query[512];
    char path[PL_PATH_MAX];
} serve_req;

extern const pl_handler serve_h_conn, serve_h_opened, serve_h_file_sent;

/* serve_conn.c */
void serve_next(pl_ctx *cx, const serve_conn *c, bool keep_alive);
void serve_close(pl_ctx *cx, const serve_conn *c);   /* and count it gone */
void serve_simple(pl_ctx *cx, const serve_conn *c, int status, bool head, bool close,
                  const char *location, const char *allow);
const serve_cfg *serve_cfg_of(pl_ctx *cx, const serve_refs *r);
const char *serve_date(pl_ctx *cx, const serve_refs *r);

/* serve_file.c */
pl_verdict serve_on_opened(pl_ctx *cx, void *mem, const pl_answer *a);
pl_verdict serve_on_file_sent(pl_ctx *cx, void *mem, const pl_answer *a);

/* serve_cli.c */
int serve_parse(void *cfg, int argc, char **argv, char *err, size_t len);

#endif
