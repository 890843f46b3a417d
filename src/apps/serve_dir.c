/* serve_dir.c — --list-dirs: the HTML index of a directory without index.html.
 *
 * A listing is gathered in a slot: a shared ref that is empty while free, since
 * its entries come from many tasks. There are SERVE_LISTS per worker; a
 * request that finds none free tries again every LIST_RETRY_MS, and gets 503
 * after LIST_TRIES. Then:
 *
 *   READDIR pages, each continuing from the last one's `next` cookie, until
 *   the end or the bound (LIST_MAX entries, LIST_NAMES bytes of names: the
 *   page then says there are more); then one STAT per entry, at most
 *   LIST_WINDOW at a time, for its size and time, links followed beneath the
 *   root; then the page, from listing.c.
 *
 * Left out: dotfiles unless --dotfiles allow, and whatever a STAT does not
 * show as a regular file or a directory (a broken link, a link out of the
 * root, a socket) — what the server would not serve. The page is written
 * twice, once to measure it for Content-Length and once to send it in
 * batches, so it is never held whole.
 */
#include "apps/serve.h"
#include "http/listing.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum { LIST_MAX = 4096, LIST_NAMES = 256 * 1024, LIST_WINDOW = 32, LIST_BATCH = 64 * 1024 };
enum { LIST_RETRY_MS = 10, LIST_TRIES = 100 };

typedef struct list_slot {
    serve_conn conn;
    pl_http_method method;
    bool keep_alive, dotfiles, truncated;
    int minor;
    uint32_t count, issued, done, names_len;
    char dir[PL_PATH_MAX];          /* beneath the root: "" or "a/b/" */
    pl_http_listing_entry e[LIST_MAX];
    char names[LIST_NAMES];
} list_slot;

typedef struct list_mem { pl_ref slot; uint32_t i; } list_mem;

static const char HTML[] = "text/html; charset=utf-8";

/* The page once: its length; with send, also its bytes to the client. */
static uint64_t page(pl_ctx *cx, const list_slot *s, bool send)
{
    char buf[LIST_BATCH], dir[PL_PATH_MAX + 2];
    snprintf(dir, sizeof dir, "/%s", s->dir);
    size_t n = pl_http_listing_top(buf, sizeof buf, dir);
    uint64_t total = 0;
    for (uint32_t i = 0; i <= s->count; i++) {
        size_t room = i < s->count ? pl_http_listing_row_max(s->e[i].name_len) : 256;
        if (sizeof buf - n < room) {
            if (send)
                serve_write(cx, &s->conn, buf, n);
            total += n;
            n = 0;
        }
        if (i < s->count)
            n += pl_http_listing_row(buf + n, sizeof buf - n, s->names, &s->e[i]);
        else
            n += pl_http_listing_end(buf + n, sizeof buf - n, s->truncated);
    }
    if (send && n > 0)
        serve_write(cx, &s->conn, buf, n);
    return total + n;
}

/* The listing is complete: answer, free the slot, go on with the connection. */
static void finish(pl_ctx *cx, pl_ref slot, const list_slot *s)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &s->conn.refs);
    serve_conn conn = s->conn;
    bool keep_alive = s->keep_alive;
    pl_http_resp h = { .status = 200, .date = serve_date(cx, &conn.refs), .content_type = HTML,
                       .has_length = true, .content_length = page(cx, s, false),
                       .cache_control = serve_cache_control(cfg, HTML), .extra = cfg->extra,
                       .close = !keep_alive, .keep_alive_10 = keep_alive && s->minor == 0 };
    char head[SERVE_HEAD_MAX];
    size_t n = pl_http_resp_head(head, sizeof head, &h);
    bool body = s->method != PL_HTTP_HEAD;
    serve_write(cx, &conn, head, n);
    if (body)
        page(cx, s, true);
    if (cfg->access_log[0])
        serve_log_response(cx, &conn, NULL, 200, body ? h.content_length : 0);
    pl_ref_set(cx, slot, NULL, 0);          /* free: s is gone */
    serve_next(cx, &conn, keep_alive);
}

/* STAT the next entries, keeping LIST_WINDOW in flight; finish after the last. */
static void pump(pl_ctx *cx, pl_ref slot, list_slot *s)
{
    while (s->issued < s->count && s->issued - s->done < LIST_WINDOW) {
        uint32_t i = s->issued++;
        pl_http_listing_entry *e = &s->e[i];
        char path[PL_PATH_MAX];
        int n = snprintf(path, sizeof path, "%s%.*s", s->dir, (int)e->name_len,
                         s->names + e->name);
        if (n < 0 || (size_t)n >= sizeof path) {
            e->hidden = true;
            s->done++;
            continue;
        }
        pl_cmd stat = pl_cmd_stat(s->conn.refs.root, path);
        list_mem m = { slot, i };
        pl_send(cx, &stat, &serve_h_list_stat, &m, sizeof m);
    }
    if (s->done == s->count)
        finish(cx, slot, s);
}

static pl_verdict on_list_stat(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const list_mem *m = mem;
    list_slot *s = pl_ref_mut(cx, m->slot, NULL);
    pl_http_listing_entry *e = &s->e[m->i];
    if (a->err != 0 || (a->st.type != PL_FT_FILE && a->st.type != PL_FT_DIR)) {
        e->hidden = true;
    } else {
        e->dir = a->st.type == PL_FT_DIR;
        e->size = a->st.size;
        e->mtime_s = a->st.mtime_s;
    }
    s->done++;
    pump(cx, m->slot, s);
    return PL_DONE;
}
PL_HANDLER(serve_h_list_stat, on_list_stat);

/* Keep a page's entries; false when the bound is reached. */
static bool gather(list_slot *s, const pl_answer *a)
{
    size_t pos = 0;
    pl_ftype type;
    const char *name;
    while ((name = pl_dirent_next(&pos, a, &type)) != NULL) {
        size_t n = strlen(name);
        if ((name[0] == '.' && !s->dotfiles) || type == PL_FT_OTHER)
            continue;
        if (s->count == LIST_MAX || n > LIST_NAMES - s->names_len)
            return false;
        s->e[s->count++] = (pl_http_listing_entry){ .name = s->names_len,
                                                    .name_len = (uint32_t)n };
        memcpy(s->names + s->names_len, name, n);
        s->names_len += (uint32_t)n;
    }
    return true;
}

static pl_verdict on_list_page(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const list_mem *m = mem;
    list_slot *s = pl_ref_mut(cx, m->slot, NULL);
    if (a->err != 0) {
        serve_conn conn = s->conn;
        pl_http_method method = s->method;
        bool keep_alive = s->keep_alive;
        int minor = s->minor;
        pl_ref_set(cx, m->slot, NULL, 0);
        if (a->err == -EACCES || a->err == -EPERM) {
            serve_simple(cx, &conn, 403, method == PL_HTTP_HEAD, !keep_alive, NULL, NULL);
            serve_next(cx, &conn, keep_alive);
        } else {
            serve_not_found(cx, &conn, method, keep_alive, minor);
        }
        return PL_DONE;
    }
    s->truncated = !gather(s, a);
    if (!s->truncated && a->next != 0) {
        pl_cmd more = pl_cmd_readdir_from(s->conn.refs.root, s->dir[0] ? s->dir : ".", a->next);
        pl_send(cx, &more, &serve_h_list_page, m, sizeof *m);
        return PL_DONE;
    }
    pl_http_listing_sort(s->e, s->count, s->names);
    pump(cx, m->slot, s);
    return PL_DONE;
}
PL_HANDLER(serve_h_list_page, on_list_page);

/* Take a free slot and read the first page; false when none is free. */
static bool start(pl_ctx *cx, const serve_req *r)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &r->conn.refs);
    size_t len = strlen(r->path) - strlen("index.html");    /* r->path: "a/b/index.html" */
    for (int i = 0; i < SERVE_LISTS; i++) {
        size_t used;
        pl_ref_get(cx, cfg->lists[i], &used);
        if (used != 0)
            continue;
        pl_ref_set(cx, cfg->lists[i], NULL, sizeof(list_slot));     /* zeroed */
        list_slot *s = pl_ref_mut(cx, cfg->lists[i], NULL);
        s->conn = r->conn;
        s->method = r->method;
        s->keep_alive = r->keep_alive;
        s->minor = r->minor;
        s->dotfiles = cfg->dotfiles_allow;
        memcpy(s->dir, r->path, len);
        list_mem m = { cfg->lists[i], 0 };
        pl_cmd page1 = pl_cmd_readdir(r->conn.refs.root, len ? s->dir : ".");
        pl_send(cx, &page1, &serve_h_list_page, &m, sizeof m);
        return true;
    }
    return false;
}

/* Every slot busy: try again shortly (a listing takes milliseconds), and
 * answer 503 only when none came free within about a second. */
typedef struct wait_mem { uint32_t tries; serve_req r; } wait_mem;

static void wait_or_refuse(pl_ctx *cx, const serve_req *r, uint32_t tries)
{
    if (tries >= LIST_TRIES) {
        serve_simple(cx, &r->conn, 503, r->method == PL_HTTP_HEAD, !r->keep_alive, NULL, NULL);
        serve_next(cx, &r->conn, r->keep_alive);
        return;
    }
    wait_mem w;
    w.tries = tries + 1;
    memcpy(&w.r, r, offsetof(serve_req, path) + strlen(r->path) + 1);
    pl_cmd later = pl_cmd_timer(LIST_RETRY_MS, 0);
    pl_send(cx, &later, &serve_h_list_wait, &w,
            offsetof(wait_mem, r) + offsetof(serve_req, path) + strlen(r->path) + 1);
}

static pl_verdict on_list_wait(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const wait_mem *w = mem;
    if (!start(cx, &w->r))
        wait_or_refuse(cx, &w->r, w->tries);
    return PL_DONE;
}
PL_HANDLER(serve_h_list_wait, on_list_wait);

void serve_list(pl_ctx *cx, const serve_req *r)
{
    if (!start(cx, r))
        wait_or_refuse(cx, r, 0);
}
