/* fuzz_conn.c — libFuzzer driver for one whole connection of the static server.
 *
 * Bytes in, bytes out, through the real handlers: the scenario harness
 * (include/pluto/harness.h) runs `pluto serve` and this driver plays the
 * world — a clock, a small site in memory, one client. The input is what the
 * client sends, cut into chunks by its own last bytes:
 *
 *   <payload> <c1> ... <cn> <m>       n = m & 31
 *
 * Each chunk byte c sends the next c bytes of the payload, or, when c is 0,
 * lets a minute pass (every pending timer fires: header and idle timeouts,
 * the clock). Then the rest of the payload goes in one chunk, then EOF.
 * m & 32 sets --max-header-bytes 1024, m & 64 --dotfiles allow. The cache
 * has 8 slots (--cache-files 8), so files of the site push each other out.
 *
 * Oracles, beyond no crash (ASan, UBSan, the runtime's assertions):
 *   - the output is a sequence of whole HTTP/1.1 responses: a status line,
 *     header lines, Content-Length once (on every response but 304), then
 *     exactly that many body bytes (none for a 304, or for HEAD: an error's
 *     too once "HEAD " had arrived, as serve_conn.c decides);
 *   - response i answers request head i of the input (as the same pure parser
 *     finds it): a 408 only after time passed, a 414 or 431 only to a head
 *     too long, and both close; nothing follows Connection: close; unless
 *     time passed, every head that arrived before EOF is answered;
 *   - a 200 or single-range 206 of a file of the site carries its bytes;
 *   - at the end the connection and every file the server opened are closed.
 *
 * Speed: the server starts once per set of options, up to its LISTEN
 * answered, and the harness marks that state (pl_harness_mark); each
 * input's connection is the listener's next client, and after it the
 * harness rewinds to the mark (pl_harness_rewind), which checks that the
 * server came back by itself to the tasks it had there and puts back the
 * bytes of its refs. So every input starts from the state a fresh start
 * gives, without paying for the start-up (big zeroed refs: several times a
 * connection's cost); should the rewind refuse, the next input starts the
 * server anew.
 */
#include "apps/apps.h"
#include "http/http.h"
#include "pluto/harness.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c) ((c) ? (void)0 : __builtin_trap())

enum { ROOT_FD = 3, LISTEN_FD = 4, CONN_FD = 10, FILE_FD0 = 20, FILES_MAX = 64 };
enum { TODO_MAX = 4096, TIMERS_MAX = 64, STEPS_MAX = 200000, BUF_MAX = 64 * 1024 };

typedef struct site_file { const char *path; bool dir; uint32_t size; } site_file;

static const site_file SITE[] = {
    { ".", true, 0 },           { "index.html", false, 300 },  { "a.txt", false, 5000 },
    { "big.bin", false, 40000 }, { "empty.txt", false, 0 },     { "docs", true, 0 },
    { "docs/index.html", false, 120 }, { "docs/style.css", false, 2000 },
    { ".hidden", false, 10 },   { "nodir", true, 0 },          { "nodir/x.js", false, 64 },
};
enum { NSITE = sizeof SITE / sizeof SITE[0] };

static uint8_t site_byte(int f, uint64_t i)
{
    return (uint8_t)(i * 131 + (uint64_t)f * 37 + (i >> 9));
}

/* Each file's bytes, made once, in a block of its own size: a read past a
 * file's end is ASan's to report. */
static uint8_t *site_data[NSITE];

static void site_init(void)
{
    for (int f = 0; f < NSITE; f++) {
        if (SITE[f].dir || site_data[f] != NULL)
            continue;
        site_data[f] = malloc(SITE[f].size ? SITE[f].size : 1);
        CHECK(site_data[f] != NULL);
        for (uint32_t i = 0; i < SITE[f].size; i++)
            site_data[f][i] = site_byte(f, i);
    }
}

typedef struct world {
    pl_harness *h;
    size_t seen;                        /* log entries looked at */
    size_t todo[TODO_MAX];              /* log entries to answer, in order */
    size_t todo_head, todo_tail;
    pl_task_id recv;                    /* the connection's RECV */
    pl_task_id listen;                  /* the LISTEN, answered LISTENING once */
    size_t timers[TIMERS_MAX];          /* log entries of timers: fire when time passes */
    size_t ntimers;
    int file[FILES_MAX];                /* fd - FILE_FD0 -> site index, -1 free */
    bool conn_closed, time_passed;
    int64_t now_ms;
    uint8_t *out;                       /* what the server sent the client */
    size_t out_len, out_cap;
    uint8_t buf[BUF_MAX];               /* directory listings; no data on errors */
} world;

/* Keep a timer to fire when time passes; drop those already ended. */
static void add_timer(world *w, size_t entry)
{
    size_t n = 0;
    for (size_t i = 0; w->ntimers == TIMERS_MAX && i < w->ntimers; i++)
        if (pl_harness_pending(w->h, pl_harness_cmd(w->h, w->timers[i])->task))
            w->timers[n++] = w->timers[i];
    if (w->ntimers == TIMERS_MAX)
        w->ntimers = n;
    CHECK(w->ntimers < TIMERS_MAX);
    w->timers[w->ntimers++] = entry;
}

/* New commands: answer them in order, except the receiver and timers. */
static void collect(world *w)
{
    for (; w->seen < pl_harness_count(w->h); w->seen++) {
        const pl_hcmd *c = pl_harness_cmd(w->h, w->seen);
        if (c->cancel || c->cmd.kind == PL_CMD_SIGNAL)
            continue;
        if (c->cmd.kind == PL_CMD_RECV && c->cmd.fd == CONN_FD)
            w->recv = c->task;
        else if (c->cmd.kind == PL_CMD_TIMER)
            add_timer(w, w->seen);
        else if (w->todo_tail - w->todo_head < TODO_MAX)
            w->todo[w->todo_tail++ % TODO_MAX] = w->seen;
    }
}

static int site_find(const char *path, size_t len)
{
    for (int i = 0; i < NSITE; i++)
        if (strlen(SITE[i].path) == len && memcmp(SITE[i].path, path, len) == 0)
            return i;
    return -1;
}

static void fill_stat(int f, pl_stat *st)
{
    bool dir = SITE[f].dir;
    *st = (pl_stat){ .size = dir ? 4096 : SITE[f].size, .ino = (uint64_t)f + 100, .dev = 1,
                     .mtime_s = 1700000000 - f * 1000, .mode = dir ? 040755 : 0100644,
                     .type = dir ? PL_FT_DIR : PL_FT_FILE };
}

static int file_at(const world *w, int fd)
{
    return fd >= FILE_FD0 && fd < FILE_FD0 + FILES_MAX ? w->file[fd - FILE_FD0] : -1;
}

/* OPEN: the root from the working directory, else a path of the site. */
static void do_open(world *w, const pl_hcmd *c, pl_answer *a)
{
    a->kind = PL_ANS_OPENED;
    int f = c->cmd.dir == PL_DIR_CWD ? 0 : site_find(c->cmd.text, c->cmd.len);
    if (c->cmd.dir == PL_DIR_CWD && (c->cmd.flags & PL_OPEN_DIR)) {
        a->fd = ROOT_FD;
        fill_stat(0, &a->st);
        return;
    }
    if (f < 0 || (c->cmd.dir != ROOT_FD && c->cmd.dir != PL_DIR_CWD)) {
        a->err = -ENOENT;
        return;
    }
    for (int i = 0; i < FILES_MAX; i++) {
        if (w->file[i] >= 0)
            continue;
        w->file[i] = f;
        a->fd = FILE_FD0 + i;
        fill_stat(f, &a->st);
        return;
    }
    a->err = -EMFILE;
}

static void out_append(world *w, const uint8_t *d, size_t n)
{
    if (w->conn_closed || n == 0)
        return;
    if (w->out_len + n > w->out_cap) {
        w->out_cap = (w->out_len + n) * 2;
        w->out = realloc(w->out, w->out_cap);
        CHECK(w->out != NULL);
    }
    memcpy(w->out + w->out_len, d, n);
    w->out_len += n;
}

/* File f's bytes from off: at most n of them and BUF_MAX (*len), within
 * its size. */
static const uint8_t *file_bytes(int f, uint64_t off, uint64_t n, size_t *len)
{
    uint64_t size = SITE[f].size;
    n = off >= size ? 0 : n < size - off ? n : size - off;
    *len = (size_t)(n < BUF_MAX ? n : BUF_MAX);
    return site_data[f] + (off < size ? off : size);
}

static void do_readdir(world *w, const pl_hcmd *c, pl_answer *a)
{
    a->kind = PL_ANS_DIR;
    int d = c->cmd.dir == ROOT_FD ? site_find(c->cmd.text, c->cmd.len) : -1;
    const char *dir = d >= 0 && SITE[d].dir ? SITE[d].path : NULL;
    size_t dl = dir && strcmp(dir, ".") ? strlen(dir) + 1 : 0;
    for (int i = 1; dir != NULL && i < NSITE; i++) {
        const char *p = SITE[i].path;
        if ((dl && strncmp(p, dir, dl - 1) != 0) || (dl && p[dl - 1] != '/') ||
            strchr(p + dl, '/') != NULL || a->len + strlen(p) + 2 > sizeof w->buf)
            continue;
        w->buf[a->len] = SITE[i].dir ? PL_FT_DIR : PL_FT_FILE;
        memcpy(w->buf + a->len + 1, p + dl, strlen(p + dl) + 1);
        a->len += strlen(p + dl) + 2;
        a->n++;
    }
    a->data = w->buf;
    a->err = dir ? 0 : -ENOTDIR;
}

/* The answer the world gives one command. */
static void answer(world *w, const pl_hcmd *c)
{
    pl_answer a = { .fd = -1 };
    pl_task_id task = c->task;          /* c moves when the log grows */
    int f = file_at(w, c->cmd.fd);
    switch (c->cmd.kind) {
    case PL_CMD_LOG: a.kind = PL_ANS_DONE; break;
    case PL_CMD_TIME:
        a.kind = PL_ANS_TIME;
        a.mono_ns = w->now_ms * 1000000;
        a.wall_ns = 1700000000ll * 1000000000ll + a.mono_ns;
        break;
    case PL_CMD_LISTEN:                 /* its client comes with each input */
        a = (pl_answer){ .kind = PL_ANS_LISTENING, .fd = LISTEN_FD, .port = 8000 };
        w->listen = task;
        break;
    case PL_CMD_OPEN: do_open(w, c, &a); break;
    case PL_CMD_STAT:
        a.kind = PL_ANS_STAT;
        f = c->cmd.dir == ROOT_FD ? site_find(c->cmd.text, c->cmd.len) : -1;
        a.err = f < 0 ? -ENOENT : 0;
        if (f >= 0)
            fill_stat(f, &a.st);
        break;
    case PL_CMD_READDIR: do_readdir(w, c, &a); break;
    case PL_CMD_READ_FILE:              /* a whole small file, or ENOENT (/etc/mime.types) */
        a.kind = PL_ANS_DATA;
        a.eof = 1;
        f = c->cmd.dir == ROOT_FD ? site_find(c->cmd.text, c->cmd.len) : -1;
        a.err = f < 0 ? -ENOENT : SITE[f].dir ? -EISDIR : 0;
        a.data = a.err ? w->buf : file_bytes(f, 0, SITE[f].size, &a.len);
        break;
    case PL_CMD_READ:
        a.kind = PL_ANS_DATA;
        a.err = f < 0 ? -EBADF : 0;
        a.data = f < 0 ? w->buf : file_bytes(f, c->cmd.offset, c->cmd.count, &a.len);
        break;
    case PL_CMD_SEND:
        a.kind = PL_ANS_SENT;
        a.n = c->len;
        if (c->cmd.fd == CONN_FD)
            out_append(w, c->data, c->len);
        break;
    case PL_CMD_SENDFILE: {
        a.kind = PL_ANS_SENT;
        f = file_at(w, c->cmd.file_fd);
        CHECK(f >= 0 && c->cmd.offset + c->cmd.count <= SITE[f].size);
        size_t k;
        const uint8_t *d = file_bytes(f, c->cmd.offset, c->cmd.count, &k);
        out_append(w, d, k);
        a.n = c->cmd.count;
        break;
    }
    case PL_CMD_CLOSE:
        a.kind = PL_ANS_DONE;
        if (c->cmd.fd == CONN_FD)
            w->conn_closed = true;
        else if (f >= 0)
            w->file[c->cmd.fd - FILE_FD0] = -1;
        break;
    default:
        return;                         /* a command this world does not know: no answer */
    }
    pl_harness_answer(w->h, task, &a);
}

/* A minute passes: every pending timer fires (deadlines, the clock). */
static void pass_time(world *w)
{
    w->now_ms += 61000;
    w->time_passed = true;
    size_t n = w->ntimers;
    w->ntimers = 0;
    for (size_t i = 0; i < n; i++) {
        const pl_hcmd *c = pl_harness_cmd(w->h, w->timers[i]);
        pl_task_id task = c->task;      /* c moves when the log grows */
        bool every = c->cmd.every_ms > 0;
        pl_answer a = { .kind = PL_ANS_TICK, .n = 1, .fd = -1 };
        pl_harness_answer(w->h, task, &a);              /* -ENOENT when cancelled */
        if (every && pl_harness_pending(w->h, task))
            w->timers[w->ntimers++] = w->timers[i];
    }
}

static void deliver(world *w, const uint8_t *d, size_t n)
{
    pl_answer a = { .kind = PL_ANS_DATA, .data = d, .len = n, .fd = -1 };
    pl_harness_answer(w->h, w->recv, &a);
}

/* Run the connection over the payload, cut as the chunk bytes say. */
static void drive(world *w, const uint8_t *p, size_t n, const uint8_t *cuts, size_t ncuts)
{
    size_t at = 0, cut = 0;
    bool eof = false;
    for (int step = 0; step < STEPS_MAX; step++) {
        collect(w);
        if (w->todo_head < w->todo_tail) {
            const pl_hcmd *c = pl_harness_cmd(w->h, w->todo[w->todo_head++ % TODO_MAX]);
            if (pl_harness_pending(w->h, c->task))
                answer(w, c);
            continue;
        }
        if (w->recv == 0 || !pl_harness_pending(w->h, w->recv) || eof)
            return;
        if (cut < ncuts && cuts[cut] == 0) {
            cut++;
            pass_time(w);
        } else if (at < n) {
            size_t k = cut < ncuts ? cuts[cut++] : n - at;
            k = k < n - at ? k : n - at;
            deliver(w, p + at, k);
            at += k;
        } else {
            deliver(w, NULL, 0);
            eof = true;
        }
    }
    CHECK(!"the connection never settled");
}

/* ---- the output: whole responses, one per request head, in order ------ */

typedef struct resp {
    int status;
    size_t head_len;
    bool has_len, close, encoded;
    uint64_t len;
    char crange[96];
} resp;

static bool eq_ci(const uint8_t *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != lit[i])
            return false;
    return true;
}

/* One header line s[0..n) of a response. */
static void resp_header(resp *r, const uint8_t *s, size_t n)
{
    const uint8_t *colon = memchr(s, ':', n);
    CHECK(colon != NULL && colon > s);
    for (const uint8_t *c = s; c < colon; c++)
        CHECK(*c > ' ' && *c < 0x7f && !strchr("()<>@,;:\\\"/[]?={}", *c));
    size_t nl = (size_t)(colon - s), vn = n - nl - 1;
    const uint8_t *v = colon + 1;
    while (vn > 0 && *v == ' ')
        v++, vn--;
    if (eq_ci(s, nl, "content-length")) {
        CHECK(!r->has_len && vn > 0 && vn < 19);
        r->has_len = true;
        for (size_t i = 0; i < vn; i++) {
            CHECK(v[i] >= '0' && v[i] <= '9');
            r->len = r->len * 10 + (uint64_t)(v[i] - '0');
        }
    } else if (eq_ci(s, nl, "connection")) {
        r->close = r->close || eq_ci(v, vn, "close");
    } else if (eq_ci(s, nl, "content-range") && vn < sizeof r->crange) {
        memcpy(r->crange, v, vn);
        r->crange[vn] = 0;
    } else if (eq_ci(s, nl, "content-encoding")) {
        r->encoded = true;
    }
}

/* The response head at o[0..n): a status line, header lines, a blank line. */
static void parse_resp(const uint8_t *o, size_t n, resp *r)
{
    const uint8_t *end = memmem(o, n, "\r\n\r\n", 4);
    *r = (resp){ 0 };
    CHECK(end != NULL);
    r->head_len = (size_t)(end - o) + 4;
    CHECK(r->head_len >= 17 && memcmp(o, "HTTP/1.1 ", 9) == 0 && o[12] == ' ');
    for (int i = 9; i < 12; i++)
        CHECK(o[i] >= '0' && o[i] <= '9');
    r->status = (o[9] - '0') * 100 + (o[10] - '0') * 10 + (o[11] - '0');
    CHECK(r->status >= 200 && r->status <= 599);
    const uint8_t *line = memmem(o, r->head_len, "\r\n", 2) + 2;
    while (line < end + 2) {
        const uint8_t *next = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        CHECK(memchr(line, '\r', (size_t)(next - line)) == NULL);
        CHECK(memchr(line, '\n', (size_t)(next - line)) == NULL);
        resp_header(r, line, (size_t)(next - line));
        line = next + 2;
    }
}

/* A 200 or single-range 206 for a file of the site carries its bytes. */
static void check_body(const pl_http_req *q, const resp *r, const uint8_t *body, uint64_t len)
{
    char path[1024];
    pl_http_path info;
    if (r->encoded || pl_http_map_path(q->target.p, q->target.len, path, 1000, &info) != 0)
        return;
    if (info.dir_slash || path[0] == 0)
        strcat(path, path[0] ? "/index.html" : "index.html");
    int f = site_find(path, strlen(path));
    if (f < 0 || SITE[f].dir)
        return;
    uint64_t size = SITE[f].size, first = 0, last = 0, total = 0;
    if (r->status == 200) {
        CHECK(r->len == size);
    } else if (r->status == 206 && sscanf(r->crange, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64,
                                          &first, &last, &total) == 3) {
        CHECK(total == size && first <= last && last < size && r->len == last - first + 1);
    } else {
        return;
    }
    size_t k;
    const uint8_t *want = file_bytes(f, first, len, &k);
    CHECK(len == 0 || (k == len && memcmp(body, want, k) == 0));
}

/* The server's rule for an error's body (serve_conn.c): a request is known
 * to be a HEAD, complete or not, once "HEAD " follows the empty lines the
 * parser skips. The bytes the server had are a prefix of p[0..n). */
static bool says_head(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < PL_HTTP_LEAD_MAX && i + 1 < n && p[i] == '\r' && p[i + 1] == '\n')
        i += 2;
    return n - i >= 5 && memcmp(p + i, "HEAD ", 5) == 0;
}

static void check_output(world *w, const uint8_t *p, size_t n, size_t max_head)
{
    static pl_http_req q;
    size_t in = 0, o = 0;
    bool closed = false;
    while (o < w->out_len) {
        CHECK(!closed);                 /* nothing after Connection: close */
        size_t scanned = 0;
        size_t end = in < n ? pl_http_head_end((const char *)p + in, n - in, &scanned) : 0;
        bool whole = end > 0 && end <= max_head;
        int rc = whole ? pl_http_parse_head((const char *)p + in, end, &q) : -1;
        resp r;
        parse_resp(w->out + o, w->out_len - o, &r);
        bool says = in < n && says_head(p + in, n - in);
        bool head = whole && rc == 0 ? q.method == PL_HTTP_HEAD : says;
        CHECK(r.has_len || r.status == 304);
        uint64_t body = head || r.status == 304 ? 0 : r.len;
        if (r.status == 408) {
            /* Time passed mid-head: "HEAD " may not have arrived by then, so
             * the server may not have known. The 408 is the last answer. */
            size_t left = w->out_len - o - r.head_len;
            CHECK(left == r.len || (says && left == 0));
            body = left;
        }
        CHECK(body <= w->out_len - o - r.head_len);
        if (r.status == 408)            /* a head cut off by time passing */
            CHECK(w->time_passed && r.close && n > in);
        else if (!whole)                /* a head too long */
            CHECK(n > in && r.close && (r.status == 414 || r.status == 431));
        else if (rc < 0)
            CHECK(r.status == -rc && r.close);
        else
            check_body(&q, &r, w->out + o + r.head_len, body);
        closed = r.close;
        in += whole ? end : 0;
        o += r.head_len + (size_t)body;
    }
    if (!closed && !w->time_passed) {   /* every head that arrived was answered */
        size_t scanned = 0;
        CHECK(in == n || pl_http_head_end((const char *)p + in, n - in, &scanned) == 0);
        CHECK(n - in < max_head);
    }
}

/* ---- one server per set of options, rewound after each input ----------- */

typedef struct booted {
    pl_harness *h;                      /* marked with its LISTEN answered */
    pl_task_id listen;
    size_t seen;
    size_t timers[TIMERS_MAX];
    size_t ntimers;
} booted;

static world W;
static booted boots[4];                 /* by m >> 5 & 3: the options below */

/* A connection's world, as the server's start-up left it. */
static void world_reset(world *w, const booted *b)
{
    w->h = b->h;
    w->seen = b->seen;
    w->todo_head = w->todo_tail = 0;
    w->recv = 0;
    w->listen = b->listen;
    w->ntimers = b->ntimers;
    memcpy(w->timers, b->timers, b->ntimers * sizeof *w->timers);
    for (int i = 0; i < FILES_MAX; i++)
        w->file[i] = -1;
    w->conn_closed = w->time_passed = false;
    w->now_ms = 0;
    w->out_len = 0;
}

/* Start the server with options m, answer its start-up up to the LISTEN
 * (answered; its client not yet), and mark that state. */
static void boot(booted *b, uint8_t m)
{
    char *argv[8] = { ".", "--cache-files", "8" };  /* small: evicts often */
    int argc = 3;
    if (m & 32)
        argv[argc++] = "--max-header-bytes", argv[argc++] = "1024";
    if (m & 64)
        argv[argc++] = "--dotfiles", argv[argc++] = "allow";
    void *cfg = calloc(1, pl_app_serve.cfg_size);
    char err[256];
    CHECK(cfg != NULL && pl_app_serve.parse(cfg, argc, argv, err, sizeof err) == 0);
    world *w = &W;
    *b = (booted){ .h = pl_harness_start(&pl_app_serve, cfg, 64) };
    free(cfg);
    CHECK(b->h != NULL);
    pl_harness_trace_off(b->h);         /* no oracle reads it */
    world_reset(w, b);
    drive(w, NULL, 0, NULL, 0);         /* no receiver yet: returns once all is answered */
    CHECK(w->listen != 0 && w->out_len == 0 && !w->time_passed);
    for (int i = 0; i < FILES_MAX; i++)
        CHECK(w->file[i] < 0);
    pl_harness_mark(b->h);
    b->listen = w->listen;
    b->seen = w->seen;
    b->ntimers = w->ntimers;
    memcpy(b->timers, w->timers, w->ntimers * sizeof *w->timers);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    site_init();
    W.out_cap = 1 << 20;                /* grown by realloc: allocates no more than it frees */
    W.out = malloc(W.out_cap);
    CHECK(W.out != NULL);
    for (int i = 0; i < 4; i++)
        boot(&boots[i], (uint8_t)(i << 5));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t m = data[size - 1];
    size_t ncuts = m & 31u;
    ncuts = ncuts < size - 1 ? ncuts : size - 1;
    size_t n = size - 1 - ncuts;
    booted *b = &boots[m >> 5 & 3];
    if (b->h == NULL)
        boot(b, m);
    world *w = &W;
    world_reset(w, b);
    pl_answer client = { .kind = PL_ANS_CLIENT, .fd = CONN_FD, .port = 40000 };
    strcpy(client.peer, "127.0.0.1");
    CHECK(pl_harness_answer(w->h, w->listen, &client) == 0);
    drive(w, data, n, data + n, ncuts);
    CHECK(w->conn_closed);              /* the server let go of the client */
    for (int i = 0; i < FILES_MAX; i++)
        CHECK(w->file[i] < 0);          /* and of every file it opened */
    check_output(w, data, n, m & 32 ? 1024 : 32768);
    if (pl_harness_rewind(b->h) != 0) { /* elsewhere: start afresh next time */
        pl_harness_destroy(b->h);
        b->h = NULL;
    }
    return 0;
}
