/* serve.c — `pluto serve DIR` / `pluto PORT DIR`: the static web server.
 *
 *   start        TIME, for the first Date; then OPEN the root directory
 *   on_root      First( LISTEN: one connection task per client,
 *                       signals: SIGINT or SIGTERM )
 *   clock        every second TIME -> the Date header in a shared ref
 *   on_stop      a signal won: the listener and every connection are
 *                cancelled with the First; log and exit 0
 */
#include "apps/serve.h"

#include <string.h>

typedef struct listen_mem { serve_refs refs; } listen_mem;

static void set_date(pl_ctx *cx, pl_ref clock, int64_t wall_ns)
{
    serve_clock k = { .now_s = wall_ns / 1000000000 };
    pl_http_date(k.now_s, k.date);
    pl_ref_set(cx, clock, &k, sizeof k);
}

static pl_verdict on_clock_time(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const pl_ref *date = mem;
    set_date(cx, *date, a->wall_ns);
    return PL_DONE;
}
static PL_HANDLER(h_clock_time, on_clock_time);

static pl_verdict on_clock_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_cmd t = pl_cmd_time();
    pl_send(cx, &t, &h_clock_time, mem, sizeof(pl_ref));
    return PL_KEEP;
}
static PL_HANDLER(h_clock_tick, on_clock_tick);

static pl_verdict on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const listen_mem *l = mem;
    const serve_cfg *cfg = serve_cfg_of(cx, &l->refs);
    if (a->kind == PL_ANS_LISTENING) {
        if (a->err != 0) {
            pl_errf(cx, "pluto: cannot listen on %s port %u: %s", cfg->bind,
                    (unsigned)cfg->port, pl_strerror(a->err));
            pl_exit(cx, 1);
            return PL_DONE;
        }
        bool v6 = strchr(cfg->bind, ':') != NULL;
        if (cfg->worker != 0)
            return PL_KEEP;               /* worker 0 speaks for all */
        pl_logf(cx, "Pluto starting on %s, port %u, on %s.", cfg->root, (unsigned)a->port,
                serve_date(cx, &l->refs));
        pl_logf(cx, "serving http://%s%s%s:%u/", v6 ? "[" : "", cfg->bind, v6 ? "]" : "",
                (unsigned)a->port);
        return PL_KEEP;
    }
    if (a->err != 0)
        return PL_KEEP;
    serve_conn c = { .refs = l->refs, .fd = a->fd };
    uint32_t open;
    memcpy(&open, pl_ref_get(cx, l->refs.conns, NULL), sizeof open);
    if (cfg->max_conns && open >= cfg->max_conns) {
        char buf[512];                  /* over the limit: say so and hang up */
        pl_http_simple s = { .status = 503, .date = serve_date(cx, &l->refs), .close = true };
        size_t n = pl_http_resp_simple(buf, sizeof buf, &s);
        pl_write(cx, a->fd, buf, n);
        pl_cmd close = pl_cmd_close(a->fd);
        pl_send(cx, &close, NULL, NULL, 0);
        return PL_KEEP;
    }
    open++;
    pl_ref_set(cx, l->refs.conns, &open, sizeof open);
    pl_cmd recv = pl_cmd_recv(a->fd);
    recv.after_ms = cfg->idle_timeout_ms;
    pl_send(cx, &recv, &serve_h_conn, &c, sizeof c);
    return PL_KEEP;
}
static PL_HANDLER(h_client, on_client);

static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    int signo = pl_app_stop_signo(a);
    pl_logf(cx, "pluto stopping on signal %d", signo);
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static pl_verdict on_root(pl_ctx *cx, void *mem, const pl_answer *a)
{
    listen_mem l = *(const listen_mem *)mem;
    const serve_cfg *cfg = serve_cfg_of(cx, &l.refs);
    if (a->err != 0) {
        pl_errf(cx, "pluto: %s: %s", cfg->root, pl_strerror(a->err));
        pl_exit(cx, 1);
        return PL_DONE;
    }
    l.refs.root = a->fd;
    pl_cmd listen = pl_cmd_listen(cfg->bind, cfg->port);
    if (cfg->nworkers > 1)
        listen.flags = PL_LISTEN_REUSEPORT;
    pl_start serve = { listen, &h_client, &l, sizeof l };
    pl_start stop = pl_app_stop_start();
    pl_first(cx, &serve, &stop, &h_stop, NULL, 0);
    pl_cmd tick = pl_cmd_timer(1000, 1000);
    pl_send(cx, &tick, &h_clock_tick, &l.refs.clock, sizeof l.refs.clock);
    return PL_DONE;
}
static PL_HANDLER(h_root, on_root);

static pl_verdict on_start_time(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const listen_mem *l = mem;
    set_date(cx, l->refs.clock, a->wall_ns);
    const serve_cfg *cfg = serve_cfg_of(cx, &l->refs);
    pl_cmd open = pl_cmd_open(PL_DIR_CWD, cfg->root, PL_OPEN_DIR);
    pl_send(cx, &open, &h_root, l, sizeof *l);
    return PL_DONE;
}
static PL_HANDLER(h_start_time, on_start_time);

static void serve_start(pl_ctx *cx, const void *p)
{
    uint32_t zero = 0;
    listen_mem l = { { .cfg = pl_ref_new(cx, p, sizeof(serve_cfg)),
                       .clock = pl_ref_new(cx, NULL, sizeof(serve_clock)),
                       .conns = pl_ref_new(cx, &zero, sizeof zero),
                       .cache = pl_ref_new(cx, NULL, sizeof(serve_cache)), .root = -1 } };
    pl_cmd t = pl_cmd_time();
    pl_send(cx, &t, &h_start_time, &l, sizeof l);
}

static void serve_for_worker(void *p, uint32_t index, uint32_t count)
{
    ((serve_cfg *)p)->worker = index;
    ((serve_cfg *)p)->nworkers = count;
}

static void serve_tune(const void *p, pl_run_opts *o)
{
    const serve_cfg *cfg = p;
    /* Port 0: each worker would get a port of its own, so there is one. */
    o->workers = cfg->port == 0 ? 1 : cfg->workers ? cfg->workers : PL_WORKERS_AUTO;
    if (cfg->max_conns)
        o->max_open = cfg->max_conns + 256;   /* clients, files being sent, and the
                                               * few over the limit told 503 */
}

static const pl_handler *const serve_handlers[] = {
    &h_clock_time, &h_clock_tick, &h_client, &pl_app_h_stop_signal,
    &pl_app_h_stop_signals, &h_stop, &h_root,
    &h_start_time, &serve_h_conn, &serve_h_opened, &serve_h_file_sent, &serve_h_read, NULL,
};

const pl_program pl_app_serve = {
    .name = "serve",
    .version = PL_VERSION,
    .summary = "serve DIR over HTTP/1.1 (default port 8000; `pluto PORT DIR` also works)",
    .usage = "[DIR] [-p PORT] [-b ADDR] [options]",
    .handlers = serve_handlers,
    .cfg_size = sizeof(serve_cfg),
    .parse = serve_parse,
    .start = serve_start,
    .tune = serve_tune,
    .for_worker = serve_for_worker,
};
