/* serve_page.c — 404 responses, with the root's 404.html as their body.
 *
 * A site that ships 404.html wants its own page for every path that does not
 * resolve: the status stays 404, the body is the file (HEAD: the same head
 * without it). The page is looked for at each 404 — in the small-file cache
 * first, then with one OPEN beneath the root — so a page added, changed or
 * removed while the server runs is seen. Without one, the built-in page.
 */
#include "apps/serve.h"

#include <string.h>

static const char PAGE[] = "404.html";

typedef struct page_mem {
    serve_conn conn;
    pl_http_method method;
    bool keep_alive;
    int minor;
    int file;                   /* 404.html, once open */
    pl_stat st;
} page_mem;

static size_t page_head(pl_ctx *cx, const page_mem *m, uint64_t size, char *out, size_t cap)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &m->conn.refs);
    const char *type = serve_mime(cx, &m->conn.refs, PAGE);
    pl_http_resp h = { .status = 404, .date = serve_date(cx, &m->conn.refs),
                       .content_type = type, .has_length = true, .content_length = size,
                       .cache_control = serve_cache_control(cfg, type), .extra = cfg->extra,
                       .close = !m->keep_alive,
                       .keep_alive_10 = m->keep_alive && m->minor == 0 };
    return pl_http_resp_head(out, cap, &h);
}

static void builtin(pl_ctx *cx, const page_mem *m)
{
    serve_simple(cx, &m->conn, 404, m->method == PL_HTTP_HEAD, !m->keep_alive, NULL, NULL);
    serve_next(cx, &m->conn, m->keep_alive);
}

static void log_it(pl_ctx *cx, const page_mem *m, uint64_t size)
{
    if (serve_cfg_of(cx, &m->conn.refs)->access_log[0])
        serve_log_response(cx, &m->conn, NULL, 404, m->method == PL_HTTP_HEAD ? 0 : size);
}

/* The page from memory: head and body in one send. */
static void answer(pl_ctx *cx, const page_mem *m, const uint8_t *body, size_t len)
{
    char buf[SERVE_HEAD_MAX + SERVE_CACHE_BODY];
    size_t n = page_head(cx, m, len, buf, SERVE_HEAD_MAX);
    if (n == 0 || len > SERVE_CACHE_BODY) {
        builtin(cx, m);
        return;
    }
    if (m->method != PL_HTTP_HEAD) {
        memcpy(buf + n, body, len);
        n += len;
    }
    serve_write(cx, &m->conn, buf, n);
    log_it(cx, m, len);
    serve_next(cx, &m->conn, m->keep_alive);
}

static pl_verdict on_page_read(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const page_mem *m = mem;
    serve_close_file(cx, m->file);
    if (a->err != 0 || a->len != m->st.size) {    /* changed under us */
        builtin(cx, m);
        return PL_DONE;
    }
    serve_cache_put(cx, &m->conn.refs, PAGE, &m->st, a->data, a->len, NULL);
    answer(cx, m, a->data, a->len);
    return PL_DONE;
}
PL_HANDLER(serve_h_page_read, on_page_read);

static pl_verdict on_page_opened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    page_mem *m = mem;
    if (a->err != 0 || a->st.type != PL_FT_FILE) {
        if (a->err == 0)
            serve_close_file(cx, a->fd);
        builtin(cx, m);
        return PL_DONE;
    }
    m->file = a->fd;
    m->st = a->st;
    if (a->st.size <= SERVE_CACHE_BODY) {
        pl_cmd read = pl_cmd_read(a->fd, 0, a->st.size);
        pl_send(cx, &read, &serve_h_page_read, m, sizeof *m);
        return PL_DONE;
    }
    char buf[SERVE_HEAD_MAX];                 /* a large page: its head, then SENDFILE */
    size_t n = page_head(cx, m, a->st.size, buf, sizeof buf);
    serve_write(cx, &m->conn, buf, n);
    log_it(cx, m, a->st.size);
    if (m->method == PL_HTTP_HEAD) {
        serve_close_file(cx, a->fd);
    } else {
        pl_cmd send = pl_cmd_sendfile(m->conn.fd, a->fd, 0, a->st.size);
        send.after_ms = serve_cfg_of(cx, &m->conn.refs)->send_timeout_ms;
        pl_send(cx, &send, &serve_h_file_sent, &a->fd, sizeof a->fd);
    }
    serve_next(cx, &m->conn, m->keep_alive);
    return PL_DONE;
}
PL_HANDLER(serve_h_page_opened, on_page_opened);

void serve_not_found(pl_ctx *cx, const serve_conn *c, pl_http_method method, bool keep_alive,
                     int minor)
{
    page_mem m = { .conn = *c, .method = method, .keep_alive = keep_alive, .minor = minor,
                   .file = -1 };
    const serve_entry *e = serve_cache_get(cx, &c->refs, PAGE);
    if (e != NULL) {
        answer(cx, &m, e->body, e->body_len);
        return;
    }
    pl_cmd open = pl_cmd_open(c->refs.root, PAGE, 0);
    pl_send(cx, &open, &serve_h_page_opened, &m, sizeof m);
}
