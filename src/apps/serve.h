/* serve.h — the static web server's shared types (serve*.c).
 *
 * Tasks of the server:
 *   listener      LISTEN; one answer per client; memory: serve_listen
 *   connection    RECV on a client; parses heads from the runtime's input
 *                 buffer (pl_consume); memory: serve_conn (small: idle
 *                 connections hold no buffer)
 *   request       OPEN of the file a request names; memory: serve_req, a
 *                 flat copy of what the response needs
 *   sidecar       OPEN of FILE.br / .zst / .gz, for a client that accepts them
 *   keep          READ of FILE into the cache while its sidecar is sent
 *   send/close    SENDFILE then CLOSE of the file
 *   page          OPEN (and READ) of 404.html, for a 404
 *   listing       READDIR pages, then a STAT per entry (--list-dirs)
 *   mime          READ_FILE of /etc/mime.types, once at start
 *   clock         TIMER each second + TIME: the Date header in a shared ref
 * Configuration lives in a shared ref read by every handler.
 */
#ifndef PLUTO_APPS_SERVE_H
#define PLUTO_APPS_SERVE_H

#include "apps/apps.h"
#include "http/http.h"
#include "http/resp.h"

#include <string.h>

enum { SERVE_LISTS = 4 };      /* directory listings built at once, per worker */

typedef struct serve_cfg {
    char root[PL_PATH_MAX];
    char bind[64];
    uint16_t port;
    uint32_t workers;           /* 0: one per online CPU */
    uint32_t worker, nworkers;  /* this copy's worker index, and how many */
    uint32_t header_timeout_ms, idle_timeout_ms, send_timeout_ms;
    uint32_t max_conns, max_header_bytes;
    uint32_t cache_files;       /* --cache-files: slots of the in-memory cache */
    bool dotfiles_allow, list_dirs, cors, short_form;
    char cache_control[128];
    char spa[256];
    char extra[1024];          /* --header lines, "K: V\r\n" each */
    char access_log[PL_PATH_MAX];   /* --access-log: a path, "-" (stdout), "" (off) */
    uint8_t log_format;             /* --log-format: a pl_http_log_format */
    uint32_t drain_timeout_ms;      /* --drain-timeout */
    char user[64];                  /* --user: started as root, become this user */
    bool no_sandbox;                /* --no-sandbox: no Landlock, no seccomp */
    /* Set at start, not by options: the mime.types overlay (serve_mime.c) and
     * the listing slots, empty while free (serve_dir.c). */
    pl_ref mime, lists[SERVE_LISTS];
} serve_cfg;

/* Shared state, in refs created at start. */
typedef struct serve_refs { pl_ref cfg, clock, conns, cache; int root; } serve_refs;

/* The conns ref: the connections, and what the server is doing with them. */
typedef struct serve_state {
    uint32_t open;              /* accepted and not closed yet (until CLOSE's DONE) */
    bool draining;              /* a stop signal came: connections close when idle */
    bool exiting;               /* serve_exit was called */
    pl_ref log, log_slots;      /* the access log's refs (serve_log.c), if logging */
} serve_state;

/* The clock ref: seconds and the Date header, updated every second. */
typedef struct serve_clock { int64_t now_s; char date[32]; } serve_clock;

enum { SERVE_CACHE_SLOTS = 1024, SERVE_CACHE_BODY = 16 * 1024 };  /* default slots */
enum { SERVE_HEAD_KEPT = 640 }; /* room for a cached file's kept head (serve_resp.c) */

/* Which representation of a file a cache entry holds, and what was known of
 * the file's precompressed sidecars when it was checked (serve_cache.c). */
typedef struct serve_variant {
    uint8_t enc;                /* the bytes' coding bit (a sidecar's); 0: the file itself */
    uint8_t sidecars;           /* the file's: coding bits of the sidecars beside it */
    bool looked;                /* the file's: sidecars were looked for (else unknown) */
    pl_stat file;               /* a sidecar's: the file's stat when it was found fresh */
} serve_variant;

/* Whether responses with these bytes say Vary: Accept-Encoding. */
static inline bool serve_vary(const serve_variant *v) { return v->enc != 0 || v->sidecars != 0; }

/* A plain 200's head for a cached file, up to its Connection line
 * (serve_resp.c); len 0: none (too long for text[]). */
typedef struct serve_kept_head { uint16_t len; char text[SERVE_HEAD_KEPT]; } serve_kept_head;

typedef struct serve_entry {
    uint64_t hash;              /* of path; 0: empty */
    int64_t until_s;            /* valid while the clock is before this */
    pl_stat st;                 /* of the bytes: the file's, or its sidecar's */
    uint32_t body_len;
    serve_variant v;
    char path[240];             /* the file's (a sidecar's entry too) */
    serve_kept_head head;
    uint8_t body[SERVE_CACHE_BODY];
} serve_entry;

/* Open files above SERVE_CACHE_BODY, kept for the requests after the one
 * that opened them (serve_cache.c): no open, stat or close per request. */
enum { SERVE_FDS_SLOTS = 64, SERVE_FDS_MAX = 65536 };

typedef struct serve_fd_entry {
    uint64_t hash;              /* of path; 0: empty */
    int64_t until_s;            /* valid while the clock is before this */
    pl_stat st;
    int fd;
    serve_variant v;
    char path[240];
    serve_kept_head head;
} serve_fd_entry;

typedef struct serve_fds {
    serve_fd_entry e[SERVE_FDS_SLOTS];
    uint32_t sweep;             /* the next slot to check for expiry */
    uint32_t users[SERVE_FDS_MAX];   /* by descriptor: the cache's hold + sends in flight */
} serve_fds;

/* The cache ref: cfg->cache_files entries after the kept descriptors. Its
 * pages are touched only as entries fill. */
typedef struct serve_cache { serve_fds fds; uint32_t slots; serve_entry e[]; } serve_cache;

typedef struct serve_conn {
    serve_refs refs;
    int fd;
    size_t scanned;             /* pl_http_head_end resume point */
    uint32_t served;            /* requests answered on this connection */
    bool keep10;                /* this request: HTTP/1.0 with Connection: keep-alive */
    bool head;                  /* the head under way is a HEAD's (for a 408) */
} serve_conn;

enum { SERVE_STR = 256 };       /* longest conditional/range header kept */

typedef struct serve_req {
    serve_conn conn;
    pl_http_method method;
    bool keep_alive, dir_slash, index;
    bool spa;                   /* the --spa file, standing in for a missing path */
    int minor;
    char if_none_match[SERVE_STR], if_modified_since[64], if_match[SERVE_STR];
    char if_unmodified_since[64], range[SERVE_STR], if_range[SERVE_STR];
    char query[512];
    char accept_encoding[SERVE_STR];
    char path[PL_PATH_MAX];     /* last: tasks copy the request up to its end */
} serve_req;

/* serve_conn.c, serve_file.c; serve_h_file_sent (serve_resp.c) closes a file
 * once its SENDFILE is done (memory: the descriptor). */
extern const pl_handler serve_h_conn, serve_h_opened, serve_h_file_sent, serve_h_read;

/* serve.c: a connection's CLOSE is done: count it gone (and end a drain). */
extern const pl_handler serve_h_closed;
/* Exit with code once the access log is written out. */
void serve_exit(pl_ctx *cx, const serve_refs *r, int code);

/* serve_log.c: the access log (--access-log), one line per response, kept in
 * a buffer per worker and written in batches. Call only when logging. */
void serve_log_init(pl_ctx *cx, const serve_cfg *cfg, serve_state *st);
void serve_log_opened(pl_ctx *cx, const serve_refs *r, int fd);      /* at start */
void serve_log_peer(pl_ctx *cx, const serve_refs *r, int fd, const char *peer);
/* The request a later response on c answers (a miss, an error). */
void serve_log_request(pl_ctx *cx, const serve_conn *c, const pl_http_req *q);
/* One line: the request from q when it has a target, else the one kept. */
void serve_log_response(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, int status,
                        uint64_t body_bytes);
void serve_log_start_tick(pl_ctx *cx, const serve_refs *r);          /* writes each second */
void serve_log_reopen(pl_ctx *cx, const serve_refs *r);              /* SIGHUP */
void serve_log_exit(pl_ctx *cx, const serve_refs *r, int code);
extern const pl_handler serve_h_log_reopened, serve_h_log_tick, serve_h_log_exit;

/* serve_conn.c */
void serve_next(pl_ctx *cx, const serve_conn *c, bool keep_alive);
void serve_close(pl_ctx *cx, const serve_conn *c);   /* and count it gone */
/* Send bytes to the client, cut after --send-timeout without progress. */
void serve_write(pl_ctx *cx, const serve_conn *c, const void *buf, size_t len);
void serve_simple(pl_ctx *cx, const serve_conn *c, int status, bool head, bool close,
                  const char *location, const char *allow);
const serve_cfg *serve_cfg_of(pl_ctx *cx, const serve_refs *r);
const char *serve_date(pl_ctx *cx, const serve_refs *r);

/* serve_cli.c */
extern const char serve_options[];

/* serve_cache.c */
int64_t serve_now(pl_ctx *cx, const serve_refs *r);
/* What the caches hold for a request: bytes in memory or a kept descriptor
 * (exactly one is set). */
typedef struct serve_hit { const serve_entry *mem; const serve_fd_entry *fd; } serve_hit;
/* The representation of the file at key (a path beneath the root) that a
 * request with this Accept-Encoding gets — the file itself or the sidecar it
 * takes — when the caches hold it fresh. false: look on disk. */
bool serve_cache_find(pl_ctx *cx, const serve_refs *r, const char *key, pl_str accept_encoding,
                      serve_hit *h);
/* The file itself at path (not a sidecar), from memory, or NULL. */
const serve_entry *serve_cache_get(pl_ctx *cx, const serve_refs *r, const char *path);
/* Keep bytes of the file at path (v says which representation; NULL: the
 * file itself, its sidecars not looked for). NULL when they cannot be kept. */
const serve_entry *serve_cache_put(pl_ctx *cx, const serve_refs *r, const char *path,
                                   const pl_stat *st, const uint8_t *body, size_t len,
                                   const serve_variant *v);
bool serve_cache_key(const char *path, bool dir_slash, char *key, size_t cap);
/* The open-file cache. put: keep fd (a regular file's bytes, the
 * representation v says) for later requests; true: the cache owns it and the
 * caller holds one use of it. use/release: a send begins or ends with it;
 * the last release after the entry was replaced closes it. */
bool serve_fds_put(pl_ctx *cx, const serve_refs *r, const char *path, const pl_stat *st,
                   int fd, const serve_variant *v);
void serve_fds_use(pl_ctx *cx, const serve_refs *r, int fd);
void serve_fds_release(pl_ctx *cx, const serve_refs *r, int fd);
/* No connection is left: every kept file goes (no send can be using one). */
void serve_fds_expire(pl_ctx *cx, const serve_refs *r);   /* every second */
void serve_fds_idle(pl_ctx *cx, const serve_refs *r);
/* Issue send (a SENDFILE from kept file fd) with a handler that ends its use. */
void serve_kept_send(pl_ctx *cx, const serve_refs *r, const pl_cmd *send, int fd);
extern const pl_handler serve_h_kept_sent;

/* serve_resp.c: writing a file's response (what to send is decided before). */
enum { SERVE_HEAD_MAX = 4096 };     /* room for a response head */

/* Which bytes a response sends: path names the type; st is of the file
 * sent (the sidecar's, when enc is one of pl_http_pick_encoding's bits). */
typedef struct serve_rep {
    const char *path;
    const pl_stat *st;
    unsigned enc;
    bool vary;
} serve_rep;

/* Responses gathered while one read's pipelined requests are answered, so
 * that they leave in one send: heads (and whatever is built) in buf, cached
 * bodies by reference, in order in iov. A body is copied once, by the SEND
 * itself: the cache's memory does not change during the handler call that
 * gathers and flushes (entries are put by other handlers). */
enum { SERVE_OUT_IOV = 64 };
typedef struct serve_out {
    size_t len;                         /* bytes of buf used */
    int niov;
    pl_iov iov[SERVE_OUT_IOV];
    char buf[64 * 1024];
} serve_out;

void serve_flush(pl_ctx *cx, const serve_conn *c, serve_out *out);
/* Build the kept head of p's representation: the head of a 200 to a GET
 * or HEAD without preconditions or Range, up to its Connection line (when a
 * cache entry is put, in memory or kept open). */
void serve_head_keep(pl_ctx *cx, const serve_refs *r, const serve_rep *p, serve_kept_head *k);
/* Answer from a cache entry: into out when given, else with its own send. */
void serve_from_entry(pl_ctx *cx, const serve_conn *c, const pl_http_req *q,
                      const serve_entry *e, serve_out *out);
/* Answer from what serve_cache_find found: bytes in memory as above; a kept
 * file after what out holds, with a head and SENDFILE. */
void serve_from_hit(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, const serve_hit *h,
                    serve_out *out);
/* The head, then SENDFILE from fd: closed after the last send, or, kept by
 * the open-file cache, its use released (serve_fds_release). */
void serve_send_open(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, int fd,
                     const serve_rep *p, bool kept, const serve_kept_head *head);
void serve_close_file(pl_ctx *cx, int fd);
/* The request's headers as the pure evaluators read them. */
pl_http_req serve_conditions(const serve_req *r);
/* Cache-Control for a type: --cache-control, else no-cache on HTML. */
const char *serve_cache_control(const serve_cfg *cfg, const char *type);
/* The file extension of a coding bit ("br", "zst", "gz"), or NULL. */
const char *serve_coding_ext(unsigned bit);
static inline pl_str serve_str(const char *s) { return (pl_str){ s, strlen(s) }; }

/* serve_file.c: a request's file, from its OPEN (serve_h_opened, memory: a
 * serve_req): a directory's redirect or index.html, --spa, 404s; then the
 * response. */
/* The bytes of a task memory holding r (a serve_req ends with its path). */
size_t serve_req_size(const serve_req *r);
/* Answer r from the open fd (the representation v of r's file, of stat
 * st), kept in the caches when it can be; then the next request. */
void serve_send_file(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st,
                     const serve_variant *v);

/* serve_side.c: r's file is open (fd, st) and r accepts encodings: look for
 * its sidecars, then send the one r takes, or the file (serve_send_file). */
void serve_sidecars(pl_ctx *cx, const serve_req *r, int fd, const pl_stat *st);
extern const pl_handler serve_h_sidecar, serve_h_keep_read;

/* serve_page.c: a 404, with the body of the root's 404.html when there is one;
 * then the next request (serve_next). */
void serve_not_found(pl_ctx *cx, const serve_conn *c, pl_http_method method, bool keep_alive,
                     int minor);
extern const pl_handler serve_h_page_opened, serve_h_page_read;

/* serve_dir.c: the --list-dirs index of r's directory (r->path is its
 * index.html, which is missing); then the next request. */
void serve_list(pl_ctx *cx, const serve_req *r);
extern const pl_handler serve_h_list_page, serve_h_list_stat, serve_h_list_wait;

/* serve_mime.c: read /etc/mime.types into the overlay, then serve_open_root;
 * the Content-Type of a path (the built-in table, then the overlay). */
void serve_mime_load(pl_ctx *cx, const serve_refs *refs);
const char *serve_mime(pl_ctx *cx, const serve_refs *refs, const char *path);
extern const pl_handler serve_h_mime;

/* serve.c: open the root directory, then listen. */
void serve_open_root(pl_ctx *cx, const serve_refs *refs);

/* serve_cli.c */
int serve_parse(void *cfg, int argc, char **argv, char *err, size_t len);

#endif
