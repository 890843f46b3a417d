/* kv.h — the key-value web app's shared types (kv*.c).
 *
 * Tasks of the app:
 *   listener      LISTEN; one connection task per client
 *   connection    RECV on a client: heads are parsed from the runtime's input
 *                 buffer (pl_consume), a PUT body is copied straight into the
 *                 value's shared ref as it arrives; memory: kv_conn (small)
 *   clock         TIMER each second + TIME: the Date header in a shared ref
 *
 * The store is in shared refs and each connection's progress in its task's
 * memory, nothing elsewhere, so that a machine snapshot of the refs and the
 * tasks is the whole state:
 *   index         kv_index: header + open-addressing table of key -> value ref
 *   value cells   one ref per value: kv_cell, the key, the bytes; freed cells
 *                 are chained from the index and reused (refs are never freed)
 *   spare         empty except while the index is rebuilt
 *   clock         pl_app_clock (util.c)
 */
#ifndef PLUTO_APPS_KV_H
#define PLUTO_APPS_KV_H

#include "apps/apps.h"
#include "http/http.h"
#include "http/resp.h"

enum {
    KV_KEY_MAX = 256,               /* key bytes, after percent-decoding */
    KV_BODY_MAX = 1 << 20,          /* one value: 413 above */
    KV_CHUNK_SLACK = 64 * 1024,     /* room past it: chunk framing is decoded in place */
    KV_KEYS_MAX = 100000,           /* keys stored, by default: 507 above */
    KV_HEAD_MAX = 32 * 1024,        /* request head: 431 above (414: the line alone) */
    KV_IDLE_MS = 60000,             /* keep-alive connection idle */
    KV_HEAD_MS = 10000,             /* to send a whole head once it began */
    KV_BODY_MS = 30000,             /* between two reads of a body */
    KV_DRAIN_MS = 2000,             /* reading what follows a refused body, then close */
};
#define KV_BYTES_MAX ((uint64_t)256 << 20)  /* keys + values stored, by default */

typedef struct kv_cfg {
    char host[64];
    uint16_t port;
    uint32_t keys_max;              /* KV_KEYS_MAX (smaller in tests) */
    uint64_t bytes_max;             /* KV_BYTES_MAX */
} kv_cfg;

typedef struct kv_refs { pl_ref index, spare, clock; } kv_refs;

/* A value cell: this header, key_len bytes of key, then the value; the ref's
 * length ends the value. A free cell is the header alone, with key_len
 * KV_FREE and next the following free cell's ref + 1 (0: the last). */
typedef struct kv_cell { uint32_t key_len, next; } kv_cell;
#define KV_FREE UINT32_MAX

enum { KV_EMPTY = 0, KV_LIVE = 1, KV_TOMB = 2 };
typedef struct kv_slot { uint64_t hash; uint32_t ref, tag; } kv_slot;

typedef struct kv_index {
    uint64_t seed;                  /* of the key hash (from the start time) */
    uint64_t bytes, bytes_max;      /* keys + values stored, and the limit */
    uint32_t keys, keys_max;
    uint32_t cap;                   /* slots, a power of two */
    uint32_t tombs;
    uint32_t free_head;             /* first free cell's ref + 1; 0: none */
    uint32_t full;                  /* PUT and DELETE refused with 503 */
    kv_slot slot[];
} kv_index;

typedef enum kv_phase {
    KV_PH_HEAD = 0,                 /* between requests or inside a head */
    KV_PH_BODY,                     /* a Content-Length body into stage */
    KV_PH_CHUNKED,                  /* a chunked body into stage */
    KV_PH_SKIP,                     /* a body already answered: discard skip bytes */
    KV_PH_DRAIN,                    /* answered with a close: discard, then close */
} kv_phase;

typedef struct kv_conn {
    kv_refs refs;
    int fd;
    uint8_t phase;                  /* kv_phase */
    bool keep_alive, http10;        /* of the request whose body is read or skipped */
    size_t scanned;                 /* pl_http_head_end resume point */
    pl_ref stage;                   /* the cell a PUT body goes into */
    uint64_t want, got;             /* body bytes: expected (BODY), received */
    uint64_t skip;                  /* SKIP: bytes left */
    pl_http_chunked chunked;
} kv_conn;

extern const pl_handler kv_h_conn;

/* ---- the store (kv_store.c) -------------------------------------------- */

/* The refs, created in the program's start: an empty store with cfg's
 * limits. */
kv_refs kv_state_new(pl_ctx *cx, const kv_cfg *cfg);
void kv_set_seed(pl_ctx *cx, const kv_refs *r, uint64_t seed);

/* The `full` flag: while set, PUT and DELETE answer 503 and change nothing.
 * A handler that learns the journal is full (or has room again) sets it. */
void kv_set_full(pl_ctx *cx, const kv_refs *r, bool full);
bool kv_full(pl_ctx *cx, const kv_refs *r);

/* The value of key (valid during this call), or NULL. */
const uint8_t *kv_get(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen,
                      size_t *len);
/* Remove key: 0, or -404 when absent. */
int kv_delete(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen);
/* Would a value of len bytes under key fit the limits (keys_max keys,
 * bytes_max bytes of keys and values)? 0 or -507. */
int kv_fits(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen, uint64_t len);

/* A cell holding key with room for cap value bytes (zeroed); the caller
 * fills kv_cell_value() and then commits or frees it. */
pl_ref kv_cell_new(pl_ctx *cx, const kv_refs *r, const char *key, size_t klen, size_t cap);
uint8_t *kv_cell_value(pl_ctx *cx, pl_ref cell);
void kv_cell_free(pl_ctx *cx, const kv_refs *r, pl_ref cell);
/* Store the first len value bytes of cell under its key, replacing (and
 * freeing) the old value. Returns 0, or -503 (full) / -507 (limits), and
 * then the cell is freed and nothing changed. */
int kv_commit(pl_ctx *cx, const kv_refs *r, pl_ref cell, uint64_t len);

/* Keys in table order: start with *pos 0; NULL after the last. */
const char *kv_next_key(pl_ctx *cx, const kv_refs *r, uint32_t *pos, size_t *klen);

/* ---- responses (kv_resp.c) ---------------------------------------------- */

/* Responses of one read, gathered so that they leave in one send. */
typedef struct kv_out { size_t len; char buf[32 * 1024]; } kv_out;

/* How a response goes: HEAD (no body), Connection: close, or keep-alive
 * said to an HTTP/1.0 client. */
typedef struct kv_reply { bool head, close, keep_alive_10; } kv_reply;

void kv_flush(pl_ctx *cx, const kv_conn *c, kv_out *out);
/* Append bytes to out; when they do not fit, flush it and send them apart. */
void kv_emit(pl_ctx *cx, const kv_conn *c, kv_out *out, const void *head, size_t hlen,
             const void *body, size_t blen);
/* A response with r's head (date, close and keep-alive filled in here) and
 * body (left out for HEAD, its length kept). */
void kv_respond(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp, pl_http_resp *r,
                const void *body, size_t blen);
/* A status with a one-line text body (none for 204), and Allow or extra
 * header lines when given. */
void kv_simple(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp, int status,
               const char *allow, const char *extra);
/* Close the connection (after what was sent), freeing a body's cell. */
void kv_close(pl_ctx *cx, kv_conn *c);

/* ---- requests (kv_req.c) ------------------------------------------------ */

/* What the connection does next. */
typedef enum kv_step { KV_MORE, KV_WAIT, KV_CLOSED } kv_step;

/* Answer a parsed head, or start reading its body (c->phase). */
kv_step kv_request(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out);
/* A PUT's body is complete in c->stage: store it and answer. */
kv_step kv_put_done(pl_ctx *cx, kv_conn *c, kv_out *out);
/* Answer status, then skip or drain the request's unread body. */
kv_step kv_refuse(pl_ctx *cx, kv_conn *c, const pl_http_req *q, kv_out *out, int status,
                  const char *allow, const char *extra);
/* A body that could not be stored (bad chunking, too large): answer with a
 * close, free the cell, drain. */
kv_step kv_body_failed(pl_ctx *cx, kv_conn *c, kv_out *out, int status);

/* ---- the listing and the page (kv_list.c, kv_page.c) -------------------- */

void kv_list(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp);
void kv_page(pl_ctx *cx, const kv_conn *c, kv_out *out, kv_reply rp);

/* ---- the program (kv.c) ------------------------------------------------- */

/* The kv program with its shared state in r: for programs that wrap kv
 * (tests, and a machine that sets `full`). */
void kv_run(pl_ctx *cx, const kv_cfg *cfg, const kv_refs *r);

#endif
