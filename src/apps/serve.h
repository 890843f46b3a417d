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
    uint32_t workers;           /* 0: one per online CPU */
    uint32_t worker, nworkers;  /* this copy's worker index, and how many */
    uint32_t header_timeout_ms, idle_timeout_ms, send_timeout_ms;
    uint32_t max_conns, max_header_bytes;
    bool dotfiles_allow, list_dirs, cors, short_form;
    char cache_control[128];
    char spa[256];
    char extra[1024];          /* --header lines, "K: V\r\n" each */
} serve_cfg;

/* Shared state, in refs created at start. */
typedef struct serve_refs { pl_ref cfg, clock, conns, cache; int root; } serve_refs;

/* The clock ref: seconds and the Date header, updated every second. */
typedef struct serve_clock { int64_t now_s; char date[32]; } serve_clock;

enum { SERVE_CACHE_SLOTS = 1024, SERVE_CACHE_BODY = 16 * 1024 };

typedef struct serve_entry {
    uint64_t hash;              /* of path; 0: empty */
    int64_t until_s;            /* valid while the clock is before this */
    pl_stat st;
    uint32_t body_len;
    char path[240];
    uint8_t body[SERVE_CACHE_BODY];
} serve_entry;

typedef struct serve_cache { serve_entry e[SERVE_CACHE_SLOTS]; } serve_cache;

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

extern const pl_handler serve_h_conn, serve_h_opened, serve_h_file_sent, serve_h_read;

/* serve_conn.c */
void serve_next(pl_ctx *cx, const serve_conn *c, bool keep_alive);
void serve_close(pl_ctx *cx, const serve_conn *c);   /* and count it gone */
void serve_simple(pl_ctx *cx, const serve_conn *c, int status, bool head, bool close,
                  const char *location, const char *allow);
const serve_cfg *serve_cfg_of(pl_ctx *cx, const serve_refs *r);
const char *serve_date(pl_ctx *cx, const serve_refs *r);

/* serve_cache.c */
int64_t serve_now(pl_ctx *cx, const serve_refs *r);
const serve_entry *serve_cache_get(pl_ctx *cx, const serve_refs *r, const char *path);
const serve_entry *serve_cache_put(pl_ctx *cx, const serve_refs *r, const char *path,
                                   const pl_stat *st, const uint8_t *body, size_t len);
bool serve_cache_key(const char *path, bool dir_slash, char *key, size_t cap);

/* serve_file.c */
enum { SERVE_HEAD_MAX = 4096, SERVE_PARTS_MAX = 2048 };

/* What follows a file's head: nothing, one slice, or multipart parts. */
typedef struct serve_body {
    uint64_t off, len;          /* the slice; len 0 and nparts 0: no body */
    int nparts;                 /* several ranges: multipart/byteranges */
    pl_http_range parts[PL_HTTP_RANGES_MAX];
    char boundary[PL_HTTP_BOUNDARY_LEN + 1];
    const char *type;
    uint64_t size;
} serve_body;

/* The head for a regular file (status from the preconditions and Range),
 * written to out, and what body follows. Returns the head's length (0 if
 * it did not fit). */
size_t serve_file_head(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const char *path,
                       const pl_stat *st, char *out, size_t cap, serve_body *b);
/* Responses gathered while one read's pipelined requests are answered, so
 * that they leave in one send. */
typedef struct serve_out { size_t len; char buf[64 * 1024]; } serve_out;
void serve_flush(pl_ctx *cx, const serve_conn *c, serve_out *out);
/* Answer from a cache entry: into out when given, else with its own send. */
void serve_from_cache(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                      const serve_entry *e, serve_out *out);
pl_verdict serve_on_opened(pl_ctx *cx, void *mem, const pl_answer *a);
pl_verdict serve_on_file_sent(pl_ctx *cx, void *mem, const pl_answer *a);

/* serve_cli.c */
int serve_parse(void *cfg, int argc, char **argv, char *err, size_t len);

#endif
