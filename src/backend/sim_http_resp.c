/* sim_http_resp.c — responses as a simulated HTTP client receives them.
 *
 * The parser is strict, and independent of the server's code:
 *
 *   HTTP/1.1 206 Partial Content\r\n     version 1.1, three digits, a reason
 *   Content-Length: 100\r\n              once, digits; on every response but 304
 *   Content-Range: bytes 0-99/5000\r\n   token ":" value, no control bytes
 *   \r\n
 *   <exactly Content-Length bytes; none for HEAD or 304; a 408 to a HEAD
 *    has them or not: the server knows the method once "HEAD " is in>
 *
 * Each whole response answers the oldest unanswered request and is checked
 * against it (sim_http_check.c). When the server closes, what was left
 * waiting is judged here: a close must follow Connection: close at once, may
 * end an idle connection only after the idle timeout, and must not leave a
 * request unanswered that the server had whole and in time.
 */
#include "backend/sim.h"

#include <stdio.h>
#include <string.h>

enum { CLOSE_MS = 1000 };           /* EOF follows Connection: close within this */

static bool eq_ci(const char *s, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != lit[i])
            return false;
    return true;
}

static bool token_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

void sim_http_keep(char *dst, size_t cap, const char *v, size_t n)
{
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, v, n);
    dst[n] = 0;
}

/* One header line s[0..n); false on a violation (reported). */
static bool header(sim_world *w, sim_hclient *c, sim_hresp *r, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t nl = colon ? (size_t)(colon - s) : 0;
    for (size_t i = 0; i < nl; i++)
        if (!token_char((unsigned char)s[i]))
            nl = 0;
    if (nl == 0) {
        sim_http_violation(w, c, "bad header line '%.*s'", (int)(n < 80 ? n : 80), s);
        return false;
    }
    const char *v = colon + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *p = v; p < end; p++)
        if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
            sim_http_violation(w, c, "a control byte in header %.*s", (int)nl, s);
            return false;
        }
    size_t vn = (size_t)(end - v);
    if (eq_ci(s, nl, "content-length")) {
        uint64_t len = 0;
        bool ok = vn > 0 && vn < 19 && !r->has_len;
        for (size_t i = 0; ok && i < vn; i++)
            ok = v[i] >= '0' && v[i] <= '9', len = len * 10 + (uint64_t)(v[i] - '0');
        if (!ok) {
            sim_http_violation(w, c, "bad or repeated Content-Length '%.*s'", (int)vn, v);
            return false;
        }
        r->has_len = true;
        r->len = len;
    } else if (eq_ci(s, nl, "connection")) {
        r->close = r->close || eq_ci(v, vn, "close");
        r->keep_alive = r->keep_alive || eq_ci(v, vn, "keep-alive");
    } else if (eq_ci(s, nl, "content-range")) {
        sim_http_keep(r->crange, sizeof r->crange, v, vn);
    } else if (eq_ci(s, nl, "content-type")) {
        sim_http_keep(r->ctype, sizeof r->ctype, v, vn);
    } else if (eq_ci(s, nl, "etag")) {
        sim_http_keep(r->etag, sizeof r->etag, v, vn);
    } else if (eq_ci(s, nl, "location")) {
        sim_http_keep(r->location, sizeof r->location, v, vn);
    }
    return true;
}

/* The head at the front of c->in: 1 when whole and valid, 0 when it has not
 * all arrived, -1 on a violation (reported). */
static int parse_head(sim_world *w, sim_hclient *c, sim_hresp *r)
{
    const char *s = (const char *)c->in;
    const char *end = memmem(s, c->in_len, "\r\n\r\n", 4);
    *r = (sim_hresp){ 0 };
    if (end == NULL) {
        if (c->in_len <= SIM_HTTP_HEAD_MAX)
            return 0;
        sim_http_violation(w, c, "no end of head in %zu bytes", c->in_len);
        return -1;
    }
    r->head_len = (size_t)(end - s) + 4;
    const char *eol = memmem(s, r->head_len, "\r\n", 2);
    bool ok = eol - s >= 13 && memcmp(s, "HTTP/1.1 ", 9) == 0 && s[12] == ' ';
    for (int i = 9; ok && i < 12; i++)
        ok = s[i] >= '0' && s[i] <= '9';
    if (!ok) {
        sim_http_violation(w, c, "bad status line '%.*s'", (int)(eol - s < 60 ? eol - s : 60), s);
        return -1;
    }
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    for (const char *line = eol + 2; line < end + 2;) {
        const char *next = memmem(line, (size_t)(end + 2 - line), "\r\n", 2);
        size_t len = (size_t)(next - line);
        if (memchr(line, '\n', len) || memchr(line, '\r', len)) {
            sim_http_violation(w, c, "a bare CR or LF in the head");
            return -1;
        }
        if (!header(w, c, r, line, len))
            return -1;
        line = next + 2;
    }
    return 1;
}

/* A whole response with body bytes of content: check it against q, drop it. */
static void answered(sim_world *w, sim_hclient *c, sim_hreq *q, const sim_hresp *r,
                     uint64_t body)
{
    sim_http_check(w, c, q, r, c->in + r->head_len);
    size_t used = r->head_len + (size_t)body;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    q->status = r->status;
    q->done_at = w->now;
    c->closing = r->close;
    c->answered++;
    w->st.responses++;
}

void sim_http_take(sim_world *w, sim_hclient *c)
{
    while (!c->bad && c->in_len > 0) {
        if (c->closing || c->answered >= c->nreq) {
            sim_http_violation(w, c, "%zu bytes after the %s response: '%.*s'", c->in_len,
                               c->closing ? "Connection: close" : "last",
                               (int)(c->in_len < 60 ? c->in_len : 60), (const char *)c->in);
            return;
        }
        sim_hresp r;
        if (parse_head(w, c, &r) <= 0)
            return;
        sim_hreq *q = &c->req[c->answered];
        if (!r.has_len && r.status != 304) {
            sim_http_violation(w, c, "a %d without Content-Length", r.status);
            return;
        }
        /* A 408 cuts a head short: whether the server knew it was a HEAD
         * (and sent no page) depends on the bytes it had; the client cannot
         * tell, so that 408 may also end bare at the close (sim_http_eof). */
        uint64_t body = (q->head && r.status != 408) || r.status == 304 ? 0 : r.len;
        if (body > (1ull << 32)) {
            sim_http_violation(w, c, "Content-Length %llu", (unsigned long long)body);
            return;
        }
        if (c->in_len < r.head_len + body)
            return;                     /* the rest is on its way */
        answered(w, c, q, &r, body);
    }
}

/* At the close: a 408 to a HEAD with no page after its head is whole. */
static void bare_408(sim_world *w, sim_hclient *c)
{
    sim_hresp r;
    if (c->bad || c->answered >= c->nreq || !c->req[c->answered].head ||
        parse_head(w, c, &r) <= 0 || r.status != 408 || c->in_len != r.head_len)
        return;
    answered(w, c, &c->req[c->answered], &r, 0);
}

/* The server closed: at once after Connection: close, or after an idle wait;
 * else it must not have left a request unanswered that it had whole in time. */
void sim_http_eof(sim_world *w, sim_hclient *c)
{
    bare_408(w, c);
    uint64_t last = c->answered > 0 ? c->req[c->answered - 1].done_at : 0;
    if (!c->bad && c->closing && w->now > last + CLOSE_MS)
        sim_http_violation(w, c, "EOF %llu ms after Connection: close",
                           (unsigned long long)(w->now - last));
    if (c->bad || c->closing)
        return;
    if (c->in_len > 0) {
        sim_http_violation(w, c, "the server closed %zu bytes into a response", c->in_len);
        return;
    }
    const sim_hreq *q = c->answered < c->built ? &c->req[c->answered] : NULL;
    const sim_hreq *prev = c->answered > 0 ? &c->req[c->answered - 1] : NULL;
    uint64_t armed = prev != NULL ? prev->sent_at : c->conn->accepted_at;
    if (q == NULL || q->start_at == SIM_NEVER) {
        if (armed != SIM_NEVER && w->now < armed + SIM_HTTP_IDLE_MS)
            sim_http_violation(w, c, "an idle connection closed after %llu ms (idle timeout "
                               "%u ms)", (unsigned long long)(w->now - armed), SIM_HTTP_IDLE_MS);
        else if (c->answered < c->nreq && c->req[c->answered].think_ms > SIM_HTTP_IDLE_MS)
            w->st.idle_closes++;
        return;
    }
    if (armed == SIM_NEVER ||
        q->start_at + SIM_HTTP_SLACK_MS >= armed + SIM_HTTP_IDLE_MS)
        return;                         /* it may have come after the idle timeout */
    if (sim_http_head_in_time(c, q))
        sim_http_violation(w, c, "the server closed with the request unanswered");
    else
        sim_http_violation(w, c, "the server closed a started head without a 408");
}
