/* sim_http_check.c — is this response right for its request?
 *
 * The answer follows from the request, the simulated tree and the clock
 * (sim_http_req.c says what each request wants):
 *
 *   status    the wanted one; or 500 / 503 for a file on which an EIO / EMFILE
 *             was injected; 408 only for a head that could not have arrived
 *             whole within the header timeout, and nothing but 408 for one
 *             that took longer than that
 *   body      the file's bytes: whole for 200, the slice for 206 (and its
 *             Content-Range), part by part for multipart/byteranges
 *   headers   Content-Range "bytes *\/N" on 416, Location on 301, the ETag on
 *             304; Connection: close exactly when asked or after a 408
 */
#include "backend/sim.h"

#include <stdio.h>
#include <string.h>

/* Is b[0..n) byte for byte the file's [off, off + n)? */
static bool same_bytes(sim_world *w, int file, uint64_t off, const uint8_t *b, uint64_t n)
{
    for (uint64_t done = 0; done < n;) {
        size_t k = n - done < SIM_CHUNK ? (size_t)(n - done) : SIM_CHUNK;
        sim_file_content(w, file, off + done, w->scratch, k);
        if (w->o.break_check && done == 0)
            w->scratch[0] ^= 1;         /* test only: a checker that expects wrong bytes */
        if (memcmp(b + done, w->scratch, k) != 0)
            return false;
        done += k;
    }
    w->st.body_bytes += n;
    return true;
}

static bool range_is(const char *crange, uint64_t first, uint64_t last, uint64_t size)
{
    char want[96];
    snprintf(want, sizeof want, "bytes %llu-%llu/%llu", (unsigned long long)first,
             (unsigned long long)last, (unsigned long long)size);
    return strcmp(crange, want) == 0;
}

/* The value of a header in a part head s[0..n), found by its line's start. */
static void part_header(const uint8_t *s, size_t n, const char *name, char *out, size_t cap)
{
    size_t k = strlen(name);
    const char *p = memmem(s, n, name, k);
    const char *e = p ? memmem(p + k, n - (size_t)(p + k - (const char *)s), "\r\n", 2) : NULL;
    out[0] = 0;
    if (e != NULL)
        sim_http_keep(out, cap, p + k, (size_t)(e - p - k));
}

/* A multipart/byteranges body: every expected part, in order, then the end. */
static void check_parts(sim_world *w, sim_hclient *c, const sim_hreq *q,
                        const sim_hresp *r, const uint8_t *body)
{
    static const char pre[] = "multipart/byteranges; boundary=";
    if (strncmp(r->ctype, pre, sizeof pre - 1) != 0) {
        sim_http_violation(w, c, "206 for %d ranges with Content-Type '%s'", q->nparts, r->ctype);
        return;
    }
    const char *bd = r->ctype + sizeof pre - 1;
    uint64_t size = w->nodes[q->file].size, at = 0;
    char delim[160];
    for (int i = 0; i < q->nparts; i++) {
        const sim_hrange *p = &q->part[i];
        int n = snprintf(delim, sizeof delim, "\r\n--%s\r\n", bd);
        const uint8_t *h = body + at;
        const uint8_t *hend = at + (uint64_t)n <= r->len
                              ? memmem(h, (size_t)(r->len - at), "\r\n\r\n", 4) : NULL;
        if (hend == NULL || memcmp(h, delim, (size_t)n) != 0) {
            sim_http_violation(w, c, "part %d: no delimiter or head", i + 1);
            return;
        }
        char crange[96];
        part_header(h, (size_t)(hend + 2 - h), "\r\nContent-Range: ", crange, sizeof crange);
        at = (uint64_t)(hend + 4 - body);
        uint64_t len = p->last - p->first + 1;
        if (!range_is(crange, p->first, p->last, size) || at + len > r->len ||
            !same_bytes(w, q->file, p->first, body + at, len)) {
            sim_http_violation(w, c, "part %d: Content-Range '%s' or its bytes are wrong "
                               "(wanted %llu-%llu/%llu)", i + 1, crange,
                               (unsigned long long)p->first, (unsigned long long)p->last,
                               (unsigned long long)size);
            return;
        }
        at += len;
    }
    int n = snprintf(delim, sizeof delim, "\r\n--%s--\r\n", bd);
    if (r->len - at != (uint64_t)n || memcmp(body + at, delim, (size_t)n) != 0)
        sim_http_violation(w, c, "the multipart body does not end with its closing delimiter");
}

/* The body and the headers a file response must have. */
static void check_file(sim_world *w, sim_hclient *c, const sim_hreq *q,
                       const sim_hresp *r, const uint8_t *body)
{
    uint64_t size = w->nodes[q->file].size;
    if (r->status == 416) {
        char want[48];
        snprintf(want, sizeof want, "bytes */%llu", (unsigned long long)size);
        if (strcmp(r->crange, want) != 0)
            sim_http_violation(w, c, "416 with Content-Range '%s', wanted '%s'", r->crange, want);
        return;
    }
    if (r->status == 206 && q->nparts > 1) {
        if (!q->head)
            check_parts(w, c, q, r, body);
        return;
    }
    uint64_t off = r->status == 206 ? q->part[0].first : 0;
    uint64_t len = r->status == 206 ? q->part[0].last - off + 1 : size;
    if (r->status == 206 && !range_is(r->crange, off, off + len - 1, size))
        sim_http_violation(w, c, "Content-Range '%s', wanted bytes %llu-%llu/%llu", r->crange,
                           (unsigned long long)off, (unsigned long long)(off + len - 1),
                           (unsigned long long)size);
    else if (r->len != len)
        sim_http_violation(w, c, "%d with Content-Length %llu, wanted %llu", r->status,
                           (unsigned long long)r->len, (unsigned long long)len);
    else if (!q->head && !same_bytes(w, q->file, off, body, len))
        sim_http_violation(w, c, "%d: the body differs from the file's bytes %llu..%llu",
                           r->status, (unsigned long long)off, (unsigned long long)(off + len));
}

/* When could the server first have seen this head, and when all of it? */
static uint64_t head_start(const sim_hclient *c, const sim_hreq *q)
{
    uint64_t acc = c->conn->accepted_at;
    return acc != SIM_NEVER && acc > q->start_at ? acc : q->start_at;
}

/* A head the server had whole within its header timeout. That holds even
 * when the server paused receiving (its send queue was full) with half a
 * head in its input buffer: the runtime re-arms a receive's deadline while
 * sends are in flight (pl__deadline_extend), so the server's own
 * back-pressure never counts against the client. */
bool sim_http_head_in_time(const sim_hclient *c, const sim_hreq *q)
{
    return q->sent_at != SIM_NEVER &&
           q->sent_at + SIM_HTTP_SLACK_MS < head_start(c, q) + SIM_HTTP_HEADER_MS;
}

static bool head_too_slow(const sim_hclient *c, const sim_hreq *q)
{
    return q->sent_at != SIM_NEVER &&
           q->sent_at > head_start(c, q) + SIM_HTTP_HEADER_MS + SIM_HTTP_SLACK_MS;
}

/* The status fits the request (or a fault injected on its file). */
static bool check_status(sim_world *w, sim_hclient *c, const sim_hreq *q,
                         const sim_hresp *r)
{
    bool first = c->answered == 0;
    if (r->status == 503 && first && r->close)
        return false;                   /* over --max-conns: nothing more to check */
    if (q->start_at == SIM_NEVER) {
        sim_http_violation(w, c, "a %d before the request was sent", r->status);
        return false;
    }
    if (r->status == 408) {
        if (sim_http_head_in_time(c, q))
            sim_http_violation(w, c, "408 for a head sent whole in %llu ms",
                               (unsigned long long)(q->sent_at - head_start(c, q)));
        else if (!r->close)
            sim_http_violation(w, c, "408 without Connection: close");
        w->st.timeouts408++;
        return false;
    }
    if (head_too_slow(c, q)) {
        sim_http_violation(w, c, "%d, not 408, for a head that took %llu ms", r->status,
                           (unsigned long long)(q->sent_at - head_start(c, q)));
        return false;
    }
    bool fault = q->file >= 0 && ((r->status == 500 && w->nodes[q->file].faulted) ||
                                  (r->status == 503 && w->nodes[q->file].emfiled));
    if (r->status != q->want && !fault)
        sim_http_violation(w, c, "status %d, wanted %d", r->status, q->want);
    return r->status == q->want;
}

/* Connection: close exactly when asked (or after an error that closes); an
 * HTTP/1.0 keep-alive request that is kept alive is told so (Connection:
 * keep-alive), whatever its status. */
static void check_connection(sim_world *w, sim_hclient *c, const sim_hreq *q,
                             const sim_hresp *r)
{
    bool asked = q->close || (q->http10 && !q->ka10);
    bool closes = r->status == 408 || (r->status == 503 && c->answered == 0);
    if (asked && !r->close)
        sim_http_violation(w, c, "asked to close; the %d keeps the connection", r->status);
    else if (!asked && r->close && !closes)
        sim_http_violation(w, c, "a %d with Connection: close on a keep-alive request",
                           r->status);
    else if (q->ka10 && !r->close && !r->keep_alive)
        sim_http_violation(w, c, "HTTP/1.0 keep-alive, a %d without Connection: keep-alive",
                           r->status);
}

void sim_http_check(sim_world *w, sim_hclient *c, sim_hreq *q, const sim_hresp *r,
                    const uint8_t *body)
{
    check_connection(w, c, q, r);
    if (!check_status(w, c, q, r) || c->bad)
        return;
    if (q->file >= 0 && (r->status == 200 || r->status == 206 || r->status == 416)) {
        check_file(w, c, q, r, body);
        if (q->kind == SIM_HK_FILE)
            sim_http_keep(q->etag, sizeof q->etag, r->etag, strlen(r->etag));
    } else if (r->status == 301) {
        char want[1100];
        size_t n = sim_node_path(w, q->node, want, sizeof want - 1);
        memcpy(want + n, "/", 2);
        if (strcmp(r->location, want) != 0)
            sim_http_violation(w, c, "301 to '%s', wanted '%s'", r->location, want);
    } else if (r->status == 304 && strcmp(r->etag, c->req[q->cond_of].etag) != 0) {
        sim_http_violation(w, c, "304 with ETag '%s', wanted '%s'", r->etag,
                           c->req[q->cond_of].etag);
    }
}

