/* sim_http_req.c — what a simulated HTTP client asks, and what it must get.
 *
 * A script is drawn when the client is made. Each request names a file of
 * the simulated tree (half the time one of a few popular files, so that the
 * server's cache answers), a directory with or without its slash, a missing
 * name, or uses a method the server refuses; some ask for a byte range or
 * several, some carry the ETag an earlier response gave. The expected answer
 * follows from the tree and RFC 9110, not from the server's code:
 *
 *   a file                    200 and its bytes (HEAD: the same length, no body)
 *   "bytes=a-b", "a-", "-n"   206 and that slice, clamped to the size; 416 when
 *                             a >= size or n == 0; "-n" of an empty file: 200
 *   2 or 3 disjoint ranges    206 multipart/byteranges, one part per range
 *   a directory, no slash     301 to the slashed path
 *   a directory/              its index.html, else 404
 *   a missing name            404
 *   DELETE                    405
 *   If-None-Match: its ETag   304 (sent only once an earlier response gave one)
 *
 * With faults on, a file may also get 500 (EIO opening it) or 503 (EMFILE
 * opening it), but only a file on which that fault was injected.
 */
#include "backend/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Files follow the directories in the tree; popular ones are the first few. */
static int pick_file(sim_world *w)
{
    uint32_t first = 0;
    while (first < w->nnodes && w->nodes[first].type != PL_FT_FILE)
        first++;
    uint32_t nfiles = w->nnodes - first;
    if (nfiles == 0)
        return -1;
    uint32_t pool = sim_below(w, 2) && nfiles > 8 ? 8 : nfiles;
    return (int)(first + sim_below(w, pool));
}

static int pick_dir(sim_world *w)
{
    uint32_t ndirs = 0;
    while (ndirs < w->nnodes && w->nodes[ndirs].type == PL_FT_DIR)
        ndirs++;
    return (int)sim_below(w, ndirs);
}

static int index_of(const sim_world *w, int dir)
{
    for (int c = w->nodes[dir].child; c >= 0; c = w->nodes[c].next)
        if (strcmp(w->nodes[c].name, "index.html") == 0 && w->nodes[c].type == PL_FT_FILE)
            return c;
    return -1;
}

static void want_slice(sim_hreq *q, uint64_t first, uint64_t last)
{
    q->want = 206;
    q->nparts = 1;
    q->part[0] = (sim_hrange){ first, last };
}

/* One range-spec, as "a-b", "a-" or "-n", some of them unsatisfiable. */
static void pick_range(sim_world *w, sim_hreq *q, uint64_t size)
{
    uint64_t a, b, n;
    switch (sim_below(w, 3)) {
    case 0:
        a = sim_below(w, size + size / 8 + 2);
        b = a + sim_below(w, size + 1);
        snprintf(q->range, sizeof q->range, "bytes=%llu-%llu", (unsigned long long)a,
                 (unsigned long long)b);
        break;
    case 1:
        a = sim_below(w, size + 2);
        b = SIM_NEVER;
        snprintf(q->range, sizeof q->range, "bytes=%llu-", (unsigned long long)a);
        break;
    default:
        n = sim_below(w, size + 10);
        snprintf(q->range, sizeof q->range, "bytes=-%llu", (unsigned long long)n);
        if (n == 0)
            q->want = 416;
        else if (size == 0)
            q->want = 200;
        else
            want_slice(q, n >= size ? 0 : size - n, size - 1);
        return;
    }
    if (a >= size)
        q->want = 416;
    else
        want_slice(q, a, b < size - 1 ? b : size - 1);
}

/* 2 or 3 ranges, each within its own share of the file with gaps between,
 * so none merge; sent in order or reversed. */
static void pick_ranges(sim_world *w, sim_hreq *q, uint64_t size)
{
    int k = 2 + (int)sim_below(w, 2);
    uint64_t share = size / (uint64_t)k;
    bool reversed = sim_below(w, 3) == 0;
    size_t len = (size_t)snprintf(q->range, sizeof q->range, "bytes=");
    q->want = 206;
    q->nparts = k;
    for (int i = 0; i < k; i++) {
        uint64_t first = (uint64_t)i * share + sim_below(w, share / 2);
        uint64_t last = first + sim_below(w, share / 2 - 1);
        q->part[i] = (sim_hrange){ first, last };
    }
    for (int j = 0; j < k; j++) {
        const sim_hrange *r = &q->part[reversed ? k - 1 - j : j];
        len += (size_t)snprintf(q->range + len, sizeof q->range - len, "%s%llu-%llu",
                                j == 0 ? "" : sim_below(w, 2) ? "," : ", ",
                                (unsigned long long)r->first, (unsigned long long)r->last);
    }
}

/* What a request for the file at node asks and must get. */
static void file_request(sim_world *w, sim_hreq *q, sim_hkind kind)
{
    uint64_t size = w->nodes[q->node].size;
    q->want = 200;
    q->file = q->node;
    if (kind == SIM_HK_MULTI && size < 32)
        kind = SIM_HK_RANGE;
    q->kind = (uint8_t)kind;
    if (kind == SIM_HK_RANGE)
        pick_range(w, q, size);
    else if (kind == SIM_HK_MULTI)
        pick_ranges(w, q, size);
}

static void pick_request(sim_world *w, sim_hclient *c, uint32_t i)
{
    sim_hreq *q = &c->req[i];
    uint64_t r = sim_below(w, 20);
    *q = (sim_hreq){ .node = -1, .file = -1, .cond_of = -1, .start_at = SIM_NEVER,
                     .sent_at = SIM_NEVER, .done_at = SIM_NEVER };
    q->head = sim_below(w, 6) == 0;
    q->encode = sim_below(w, 8) == 0;
    if (r < 11 || r == 19) {
        q->node = pick_file(w);
        file_request(w, q, SIM_HK_FILE);
        for (uint32_t j = 0; r == 19 && c->window == 1 && j < i; j++)
            if (c->req[j].node == q->node && c->req[j].kind == SIM_HK_FILE) {
                q->kind = SIM_HK_COND;      /* its ETag is known when this is built */
                q->cond_of = (int)j;
            }
    } else if (r < 15) {
        q->node = pick_file(w);
        file_request(w, q, r == 14 ? SIM_HK_MULTI : SIM_HK_RANGE);
    } else if (r == 15 || r == 16) {
        q->node = pick_dir(w);
        q->kind = r == 15 && q->node > 0 ? SIM_HK_DIR : SIM_HK_DIR_SLASH;
        q->want = q->kind == SIM_HK_DIR ? 301 : 404;
        q->file = q->kind == SIM_HK_DIR_SLASH ? index_of(w, q->node) : -1;
        if (q->file >= 0)
            q->want = 200;
    } else {
        q->kind = r == 17 ? SIM_HK_MISSING : SIM_HK_METHOD;
        q->want = r == 17 ? 404 : 405;
        q->node = pick_dir(w);          /* a missing name inside it */
        q->head = false;
    }
    uint64_t t = sim_below(w, 40);
    q->think_ms = (uint32_t)(t == 0 ? SIM_HTTP_IDLE_MS + 2000 + sim_below(w, 20000)
                             : t < 4 ? 1000 + sim_below(w, 15000) : sim_below(w, 50));
}

void sim_http_script(sim_world *w, sim_hclient *c)
{
    c->nreq = c->slow ? 1 + (uint32_t)sim_below(w, 2)
                      : 1 + (uint32_t)sim_below(w, SIM_HTTP_REQS_MAX);
    for (uint32_t i = 0; i < c->nreq; i++) {
        pick_request(w, c, i);
        sim_hreq *q = &c->req[i];
        q->http10 = sim_below(w, 12) == 0;
        q->ka10 = q->http10 && sim_below(w, 3) != 0;
        if (q->http10 && !q->ka10)
            c->nreq = i + 1;            /* the server closes after it */
    }
    for (uint32_t i = 0; i < c->nreq; i++)
        if (i == 0 || c->window > 1)
            c->req[i].think_ms = 0;     /* pauses only between one-at-a-time requests */
    c->req[c->nreq - 1].close = !c->req[c->nreq - 1].http10 && sim_below(w, 3) == 0;
}

static void out_append(sim_hclient *c, const char *s, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap * 2 : 2048;
        while (cap < c->out_len + n)
            cap *= 2;
        c->out = realloc(c->out, cap);
        PL_ASSERT(c->out != NULL);
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

/* The request target: the node's path, a missing name in a directory, and
 * perhaps one byte percent-encoded (the server decodes it once). */
static size_t target(sim_world *w, const sim_hclient *c, const sim_hreq *q, uint32_t i,
                     char *buf, size_t cap)
{
    size_t n = sim_node_path(w, q->node, buf, cap);
    if (q->kind == SIM_HK_MISSING || q->kind == SIM_HK_METHOD)
        n += (size_t)snprintf(buf + n, cap - n, "%smissing%u-%u.txt", n > 1 ? "/" : "",
                              c->id, i);
    else if (q->kind == SIM_HK_DIR_SLASH && n > 1)
        n += (size_t)snprintf(buf + n, cap - n, "/");
    if (q->encode && n > 1) {
        size_t at = 1 + (size_t)(q->at % (n - 1));
        if (buf[at] != '/' && n + 2 < cap) {
            char hex[4];
            snprintf(hex, sizeof hex, "%%%02X", (unsigned)(unsigned char)buf[at]);
            memmove(buf + at + 3, buf + at + 1, n - at);
            memcpy(buf + at, hex, 3);
            n += 2;
        }
    }
    return n;
}

void sim_http_build(sim_world *w, sim_hclient *c, uint32_t i)
{
    sim_hreq *q = &c->req[i];
    char path[1024], buf[2048];
    q->at = c->out_len;
    if (q->kind == SIM_HK_COND && c->req[q->cond_of].etag[0] == 0)
        q->kind = SIM_HK_FILE;          /* no ETag came back: a plain request */
    if (q->kind == SIM_HK_COND)
        q->want = 304;
    target(w, c, q, i, path, sizeof path);
    const char *method = q->kind == SIM_HK_METHOD ? "DELETE" : q->head ? "HEAD" : "GET";
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s %s HTTP/1.%d\r\nHost: sim\r\n", method,
                                path, q->http10 ? 0 : 1);
    if (q->range[0])
        n += (size_t)snprintf(buf + n, sizeof buf - n, "Range: %s\r\n", q->range);
    if (q->kind == SIM_HK_COND)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "If-None-Match: %s\r\n",
                              c->req[q->cond_of].etag);
    if (q->ka10 || q->close)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "Connection: %s\r\n",
                              q->close ? "close" : "keep-alive");
    if (c->slow)
        n += (size_t)snprintf(buf + n, sizeof buf - n,
                              "User-Agent: a slow simulated client, a byte at a time\r\n");
    n += (size_t)snprintf(buf + n, sizeof buf - n, "\r\n");
    PL_ASSERT(n < sizeof buf);
    out_append(c, buf, n);
    q->len = n;
}
