/* serve_log.c — the access log: one line per response (--access-log).
 *
 * Lines are formatted by src/http/accesslog.c into a buffer per worker (a
 * shared ref) and leave in batches: when the buffer passes LOG_FLUSH bytes,
 * once a second (a TIMER of its own), and before the server exits. A batch
 * is one SEND of whole lines to a file opened with PL_OPEN_APPEND, so the
 * workers (or other processes) that share the file never split a line; "-"
 * sends each batch to stdout as one LOG command instead.
 *
 * What a line needs from its request outlives the call that parsed it when
 * the response waits for a file: a table by descriptor (a second ref, grown
 * with the descriptors) keeps each connection's client address and the
 * request being answered. A cache hit is logged from the parsed head itself.
 *
 * SIGHUP (logrotate: rename, then HUP): the buffer goes to the old file, the
 * old file is closed and the path opened again. Lines that come meanwhile
 * wait in the buffer; if the open fails it is tried again every second.
 */
#include "apps/serve.h"
#include "http/accesslog.h"

#include <string.h>

enum { LOG_BUF = 64 * 1024, LOG_FLUSH = 16 * 1024, LOG_SLOTS_FIRST = 64 };
enum { LOG_SLOTS_BYTES_MAX = 256 << 20 };   /* the table by descriptor stops growing here */

typedef struct log_state {
    int fd;                     /* the file; -1 while it is (re)opened; stdout: unused */
    bool to_stdout, reopening;
    uint32_t len;               /* bytes of buf waiting to be written */
    uint32_t nslots;            /* entries in the table by descriptor */
    uint64_t dropped;           /* lines lost: the buffer full and no file to write */
    char buf[LOG_BUF];
} log_state;

/* Per descriptor: its client, and the request a pending response answers
 * (about 1.6 KiB: what a response that waits for a file logs is cut to it). */
typedef struct log_slot {
    char peer[48];
    bool have;                  /* a request is kept */
    int8_t minor;
    uint16_t method_len, target_len, referer_len, agent_len;
    char method[16], target[1024], referer[256], agent[256];
} log_slot;

static serve_state *state_of(pl_ctx *cx, const serve_refs *r)
{
    return pl_ref_mut(cx, r->conns, NULL);
}

static log_state *log_of(pl_ctx *cx, const serve_refs *r)
{
    return pl_ref_mut(cx, state_of(cx, r)->log, NULL);
}

void serve_log_init(pl_ctx *cx, const serve_cfg *cfg, serve_state *st)
{
    st->log = pl_ref_new(cx, NULL, sizeof(log_state));
    st->log_slots = pl_ref_new(cx, NULL, LOG_SLOTS_FIRST * sizeof(log_slot));
    log_state *lg = pl_ref_mut(cx, st->log, NULL);
    lg->to_stdout = strcmp(cfg->access_log, "-") == 0;
    lg->fd = -1;
    lg->nslots = LOG_SLOTS_FIRST;
}

void serve_log_opened(pl_ctx *cx, const serve_refs *r, int fd)
{
    log_of(cx, r)->fd = fd;
}

/* The entry for fd, the table grown to hold it. */
static log_slot *slot_of(pl_ctx *cx, const serve_refs *r, int fd)
{
    if (fd < 0)
        return NULL;
    log_state *lg = log_of(cx, r);
    pl_ref slots = state_of(cx, r)->log_slots;
    if ((uint32_t)fd >= lg->nslots) {
        uint32_t n = lg->nslots;
        while (n <= (uint32_t)fd)
            n *= 2;
        if ((uint64_t)n * sizeof(log_slot) > LOG_SLOTS_BYTES_MAX)
            return NULL;                  /* bounded: such a line has no address */
        lg->nslots = n;
        return (log_slot *)pl_ref_resize(cx, slots, n * sizeof(log_slot)) + fd;
    }
    return (log_slot *)pl_ref_mut(cx, slots, NULL) + fd;
}

void serve_log_peer(pl_ctx *cx, const serve_refs *r, int fd, const char *peer)
{
    log_slot *s = slot_of(cx, r, fd);
    if (s == NULL)
        return;
    strncpy(s->peer, peer, sizeof s->peer - 1);
    s->peer[sizeof s->peer - 1] = 0;
    s->have = false;
}

/* Keep v in dst (cap bytes, cut when longer); returns the length kept. */
static uint16_t keep(char *dst, size_t cap, pl_str v)
{
    size_t n = v.len < cap ? v.len : cap;
    if (n > 0)
        memcpy(dst, v.p, n);
    return (uint16_t)n;
}

void serve_log_request(pl_ctx *cx, const serve_conn *c, const pl_http_req *q)
{
    log_slot *s = slot_of(cx, &c->refs, c->fd);
    if (s == NULL)
        return;
    s->have = true;
    s->minor = (int8_t)q->minor;
    s->method_len = keep(s->method, sizeof s->method, q->method_raw);
    s->target_len = keep(s->target, sizeof s->target, q->target);
    s->referer_len = keep(s->referer, sizeof s->referer, pl_http_header_get(q, "referer"));
    s->agent_len = keep(s->agent, sizeof s->agent, pl_http_header_get(q, "user-agent"));
}

/* Write what the buffer holds: one SEND of whole lines (or one LOG). */
static void flush(pl_ctx *cx, log_state *lg)
{
    if (lg->len == 0 || (!lg->to_stdout && lg->fd < 0))
        return;                           /* nothing, or no file yet: keep it */
    if (lg->to_stdout) {
        pl_cmd line = pl_cmd_log(lg->buf);
        line.len = lg->len - 1;           /* LOG adds the last newline back */
        pl_send(cx, &line, NULL, NULL, 0);
    } else {
        pl_write(cx, lg->fd, lg->buf, lg->len);
    }
    lg->len = 0;
}

static void append(pl_ctx *cx, const serve_refs *r, const pl_http_log_entry *e)
{
    log_state *lg = log_of(cx, r);
    if (LOG_BUF - lg->len < PL_HTTP_LOG_LINE_MAX)
        flush(cx, lg);
    if (LOG_BUF - lg->len < PL_HTTP_LOG_LINE_MAX) {
        lg->dropped++;                    /* a file that will not open: bounded memory */
        return;
    }
    const serve_cfg *cfg = serve_cfg_of(cx, r);
    lg->len += (uint32_t)pl_http_log_line(lg->buf + lg->len, LOG_BUF - lg->len,
                                          (pl_http_log_format)cfg->log_format, e);
    if (lg->len >= LOG_FLUSH)
        flush(cx, lg);
}

static pl_str str_of(const char *p, size_t n) { return (pl_str){ p, n }; }

void serve_log_response(pl_ctx *cx, const serve_conn *c, const pl_http_req *q, int status,
                        uint64_t body_bytes)
{
    log_slot *s = slot_of(cx, &c->refs, c->fd);
    pl_http_log_entry e = { .time_s = serve_now(cx, &c->refs), .minor = -1,
                            .status = status, .bytes = body_bytes };
    if (s != NULL)
        e.addr = str_of(s->peer, strlen(s->peer));
    if (q != NULL && q->target.len > 0) {
        e.method = q->method_raw;
        e.target = q->target;
        e.minor = q->minor;
        e.referer = pl_http_header_get(q, "referer");
        e.user_agent = pl_http_header_get(q, "user-agent");
    } else if (s != NULL && s->have) {
        e.method = str_of(s->method, s->method_len);
        e.target = str_of(s->target, s->target_len);
        e.minor = s->minor;
        e.referer = str_of(s->referer, s->referer_len);
        e.user_agent = str_of(s->agent, s->agent_len);
    }
    append(cx, &c->refs, &e);
    if (s != NULL)
        s->have = false;                  /* answered: the next response is another's */
}

/* ---- reopening on SIGHUP, the tick, the last write ----------------------- */

static void open_again(pl_ctx *cx, const serve_refs *r, log_state *lg)
{
    lg->reopening = true;
    pl_cmd open = pl_cmd_open(PL_DIR_CWD, serve_cfg_of(cx, r)->access_log, PL_OPEN_APPEND);
    pl_send(cx, &open, &serve_h_log_reopened, r, sizeof *r);
}

void serve_log_reopen(pl_ctx *cx, const serve_refs *r)
{
    log_state *lg = log_of(cx, r);
    if (lg->to_stdout || lg->reopening)
        return;
    if (lg->fd >= 0) {
        flush(cx, lg);                    /* what came before the signal: the old file */
        pl_cmd close = pl_cmd_close(lg->fd);
        pl_send(cx, &close, NULL, NULL, 0);
        lg->fd = -1;
    }
    open_again(cx, r, lg);
}

static pl_verdict on_reopened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    log_state *lg = log_of(cx, r);
    lg->reopening = false;
    if (a->err != 0) {
        pl_errf(cx, "pluto: cannot reopen the access log %s: %s (trying again)",
                serve_cfg_of(cx, r)->access_log, pl_strerror(a->err));
        return PL_DONE;                   /* the tick tries again */
    }
    lg->fd = a->fd;
    if (lg->dropped > 0) {
        pl_errf(cx, "pluto: %llu access log lines were lost while the log could not be "
                "opened", (unsigned long long)lg->dropped);
        lg->dropped = 0;
    }
    flush(cx, lg);
    return PL_DONE;
}
PL_HANDLER(serve_h_log_reopened, on_reopened);

/* Every second: write what is buffered, or try again to open the file. */
static pl_verdict on_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    log_state *lg = log_of(cx, r);
    if (!lg->to_stdout && lg->fd < 0 && !lg->reopening && !state_of(cx, r)->exiting)
        open_again(cx, r, lg);
    flush(cx, lg);
    return PL_KEEP;
}
PL_HANDLER(serve_h_log_tick, on_tick);

void serve_log_start_tick(pl_ctx *cx, const serve_refs *r)
{
    pl_cmd tick = pl_cmd_timer(1000, 1000);
    pl_send(cx, &tick, &serve_h_log_tick, r, sizeof *r);
}

static pl_verdict on_exit_written(pl_ctx *cx, void *mem, const pl_answer *a)
{
    int code;
    memcpy(&code, mem, sizeof code);
    pl_exit(cx, code);
    return PL_DONE;
}
PL_HANDLER(serve_h_log_exit, on_exit_written);

/* The buffer written, then exit: a SEND is not performed once the run has
 * ended (a LOG is), so the exit waits for the SEND's answer. */
void serve_log_exit(pl_ctx *cx, const serve_refs *r, int code)
{
    log_state *lg = log_of(cx, r);
    if (lg->to_stdout || lg->fd < 0 || lg->len == 0) {
        flush(cx, lg);
        pl_exit(cx, code);
        return;
    }
    pl_iov iov = { lg->buf, lg->len };
    pl_cmd send = pl_cmd_writev(lg->fd, &iov, 1);
    pl_send(cx, &send, &serve_h_log_exit, &code, sizeof code);
    lg->len = 0;
}
