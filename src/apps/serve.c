/* serve.c — `pluto serve DIR` / `pluto PORT DIR`: the static web server.
 *
 *   start        TIME, for the first Date; READ_FILE /etc/mime.types (the
 *                overlay, serve_mime.c); then OPEN the root directory
 *   on_root      OPEN the access log, when it is a file (--access-log)
 *   listening    First_graceful( LISTEN: one connection task per client,
 *                                signals: SIGINT or SIGTERM ), and SIGHUP
 *                (reopen the log) when logging to a file; once it is
 *                answered, the runtime takes the sandbox's last steps
 *                (--user, seccomp: PL_SANDBOX_LISTENING in serve_tune)
 *   clock        every second TIME -> the Date header in a shared ref, and
 *                kept files past their time closed (serve_fds_expire)
 *   on_stop      a signal won: drain. The First interrupts the listener (its
 *                socket closes: new connections are refused) and every
 *                waiting receiver: idle connections close at once, and one
 *                whose response is under way closes when it is written (its
 *                next receiver is refused). The run exits 0 when the last
 *                connection's CLOSE is done (a lingering one, after an error
 *                answered to a client still sending, reads for at most
 *                PL_CLOSE_LINGER_MS), at --drain-timeout, or at a second
 *                signal — always after the access log is written.
 */
#include "apps/serve.h"

#include <errno.h>
#include <signal.h>
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

/* Every second: the Date header, and kept files past their time let go. */
static pl_verdict on_clock_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    pl_cmd t = pl_cmd_time();
    pl_send(cx, &t, &h_clock_time, &r->clock, sizeof r->clock);
    serve_fds_expire(cx, r);
    return PL_KEEP;
}
static PL_HANDLER(h_clock_tick, on_clock_tick);

static serve_state *state_of(pl_ctx *cx, const serve_refs *r)
{
    return pl_ref_mut(cx, r->conns, NULL);
}

/* Over --max-conns: say so and hang up (the connection is not counted). Its
 * request has usually arrived (the listener hands over a client once it has
 * spoken) and is never read: a lingering close, or the kernel would reset
 * the connection under the 503. */
static void refuse_client(pl_ctx *cx, const serve_refs *r, const pl_answer *a)
{
    char buf[512];
    pl_http_simple s = { .status = 503, .date = serve_date(cx, r), .close = true };
    size_t n = pl_http_resp_simple(buf, sizeof buf, &s);
    pl_write(cx, a->fd, buf, n);
    pl_cmd close = pl_cmd_close_linger(a->fd);
    pl_send(cx, &close, NULL, NULL, 0);
    if (serve_cfg_of(cx, r)->access_log[0]) {
        const char *body = memmem(buf, n, "\r\n\r\n", 4);
        serve_conn c = { .refs = *r, .fd = a->fd };
        serve_log_response(cx, &c, NULL, 503, body ? n - (size_t)(body + 4 - buf) : 0);
    }
}

static pl_verdict on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const listen_mem *l = mem;
    const serve_cfg *cfg = serve_cfg_of(cx, &l->refs);
    if (a->err == -ECANCELED)
        return PL_DONE;                   /* draining: the listener is closed */
    if (a->kind == PL_ANS_LISTENING) {
        if (a->err != 0) {
            pl_errf(cx, "pluto: cannot listen on %s port %u: %s", cfg->bind,
                    (unsigned)cfg->port, pl_strerror(a->err));
            pl_exit(cx, 1);
            return PL_DONE;
        }
        bool v6 = strchr(cfg->bind, ':') != NULL;
        if (cfg->worker == 0) {           /* worker 0 speaks for all */
            pl_logf(cx, "Pluto starting on %s, port %u, on %s.", cfg->root,
                    (unsigned)a->port, serve_date(cx, &l->refs));
            pl_logf(cx, "serving http://%s%s%s:%u/", v6 ? "[" : "", cfg->bind, v6 ? "]" : "",
                    (unsigned)a->port);
        }
        return PL_KEEP;
    }
    if (a->err != 0)
        return PL_KEEP;
    serve_conn c = { .refs = l->refs, .fd = a->fd };
    serve_state *st = state_of(cx, &l->refs);
    if (cfg->access_log[0])
        serve_log_peer(cx, &l->refs, a->fd, a->peer);
    if (cfg->max_conns && st->open >= cfg->max_conns) {
        refuse_client(cx, &l->refs, a);
        return PL_KEEP;
    }
    st->open++;
    pl_cmd recv = pl_cmd_recv(a->fd);
    recv.after_ms = cfg->idle_timeout_ms;
    pl_send(cx, &recv, &serve_h_conn, &c, sizeof c);
    return PL_KEEP;
}
static PL_HANDLER(h_client, on_client);

/* ---- the end: drain, then exit ------------------------------------------ */

void serve_exit(pl_ctx *cx, const serve_refs *r, int code)
{
    serve_state *st = state_of(cx, r);
    if (st->exiting)
        return;
    st->exiting = true;
    if (serve_cfg_of(cx, r)->access_log[0])
        serve_log_exit(cx, r, code);      /* exits once the lines are written */
    else
        pl_exit(cx, code);
}

/* A connection's CLOSE is done: its bytes are all out. The last one to go
 * during a drain ends the run. */
static pl_verdict on_closed(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    serve_state *st = state_of(cx, r);
    if (st->open > 0)
        st->open--;
    if (st->open == 0)
        serve_fds_idle(cx, r);            /* nobody connected: no file kept open */
    if (st->draining && st->open == 0)
        serve_exit(cx, r, 0);
    return PL_DONE;
}
PL_HANDLER(serve_h_closed, on_closed);

static pl_verdict on_drain_over(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    pl_logf(cx, "pluto drain timeout: closing %u connections", (unsigned)state_of(cx, r)->open);
    serve_exit(cx, r, 0);
    return PL_DONE;
}
static PL_HANDLER(h_drain_over, on_drain_over);

static pl_verdict on_stop_now(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "pluto stopping now on signal %d", a->signo);
    serve_exit(cx, mem, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop_now, on_stop_now);

/* The stop side won, and the server side was interrupted (its receivers get
 * -ECANCELED next and close their connections). Wait for them, within
 * --drain-timeout, or for a second signal. */
static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const serve_refs *r = mem;
    serve_state *st = state_of(cx, r);
    pl_logf(cx, "pluto stopping on signal %d", pl_app_stop_signo(a));
    st->draining = true;
    if (st->open == 0) {
        serve_exit(cx, r, 0);
        return PL_DONE;
    }
    pl_app_stop_again(cx, &h_stop_now, r, sizeof *r);
    pl_cmd deadline = pl_cmd_timer(serve_cfg_of(cx, r)->drain_timeout_ms, 0);
    pl_send(cx, &deadline, &h_drain_over, r, sizeof *r);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static pl_verdict on_hup(pl_ctx *cx, void *mem, const pl_answer *a)
{
    serve_log_reopen(cx, mem);
    return PL_KEEP;
}
static PL_HANDLER(h_hup, on_hup);

/* Listen until a stop signal; SIGHUP reopens a log file. */
static void listen_and_serve(pl_ctx *cx, const listen_mem *l)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &l->refs);
    pl_cmd listen = pl_cmd_listen(cfg->bind, cfg->port);
    listen.flags = PL_LISTEN_CLIENT_FIRST;          /* a request comes first */
    if (cfg->nworkers > 1)
        listen.flags |= PL_LISTEN_REUSEPORT;
    pl_start serve = { listen, &h_client, l, sizeof *l };
    pl_start stop = pl_app_stop_start();
    pl_first_graceful(cx, &serve, &stop, &h_stop, &l->refs, sizeof l->refs);
    pl_cmd tick = pl_cmd_timer(1000, 1000);
    pl_send(cx, &tick, &h_clock_tick, &l->refs, sizeof l->refs);
    if (cfg->access_log[0])
        serve_log_start_tick(cx, &l->refs);
    if (cfg->access_log[0] && strcmp(cfg->access_log, "-") != 0) {
        pl_cmd hup = pl_cmd_signal(SIGHUP);
        pl_send(cx, &hup, &h_hup, &l->refs, sizeof l->refs);
    }
}

static pl_verdict on_log_opened(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const listen_mem *l = mem;
    if (a->err != 0) {
        pl_errf(cx, "pluto: cannot open the access log %s: %s",
                serve_cfg_of(cx, &l->refs)->access_log, pl_strerror(a->err));
        pl_exit(cx, 1);
        return PL_DONE;
    }
    serve_log_opened(cx, &l->refs, a->fd);
    listen_and_serve(cx, l);
    return PL_DONE;
}
static PL_HANDLER(h_log_opened, on_log_opened);

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
    if (cfg->access_log[0] && strcmp(cfg->access_log, "-") != 0) {
        pl_cmd open = pl_cmd_open(PL_DIR_CWD, cfg->access_log, PL_OPEN_APPEND);
        pl_send(cx, &open, &h_log_opened, &l, sizeof l);
        return PL_DONE;
    }
    listen_and_serve(cx, &l);
    return PL_DONE;
}
static PL_HANDLER(h_root, on_root);

static pl_verdict on_start_time(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const listen_mem *l = mem;
    set_date(cx, l->refs.clock, a->wall_ns);
    serve_mime_load(cx, &l->refs);          /* then serve_open_root */
    return PL_DONE;
}
static PL_HANDLER(h_start_time, on_start_time);

void serve_open_root(pl_ctx *cx, const serve_refs *refs)
{
    listen_mem l = { *refs };
    const serve_cfg *cfg = serve_cfg_of(cx, refs);
    pl_cmd open = pl_cmd_open(PL_DIR_CWD, cfg->root, PL_OPEN_DIR);
    pl_send(cx, &open, &h_root, &l, sizeof l);
}

static void serve_start(pl_ctx *cx, const void *p)
{
    serve_cfg cfg = *(const serve_cfg *)p;  /* with the refs its features share */
    cfg.mime = pl_ref_new(cx, NULL, 0);
    for (int i = 0; i < SERVE_LISTS; i++)
        cfg.lists[i] = pl_ref_new(cx, NULL, 0);
    serve_state st = { 0 };
    if (cfg.access_log[0])
        serve_log_init(cx, &cfg, &st);
    listen_mem l = { { .cfg = pl_ref_new(cx, &cfg, sizeof cfg),
                       .clock = pl_ref_new(cx, NULL, sizeof(serve_clock)),
                       .conns = pl_ref_new(cx, &st, sizeof st),
                       .cache = pl_ref_new(cx, NULL, sizeof(serve_cache) +
                                           cfg.cache_files * sizeof(serve_entry)),
                       .root = -1 } };
    ((serve_cache *)pl_ref_mut(cx, l.refs.cache, NULL))->slots = cfg.cache_files;
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
    /* Least privilege: read beneath the root (and the mime.types overlay),
     * write the log; the rest once listening: the root and the log are
     * opened before the LISTEN, so the set-up is over once it is answered. */
    o->sandbox.mode = cfg->no_sandbox ? PL_SANDBOX_OFF : PL_SANDBOX_ON;
    o->sandbox.when = PL_SANDBOX_LISTENING;
    o->sandbox.read[0] = cfg->root;
    o->sandbox.read[1] = "/etc/mime.types";
    if (cfg->access_log[0] && strcmp(cfg->access_log, "-") != 0)
        o->sandbox.log = cfg->access_log;
    o->sandbox.user = cfg->user[0] ? cfg->user : NULL;
}

static const pl_handler *const serve_handlers[] = {
    &h_clock_time, &h_clock_tick, &h_client, &pl_app_h_stop_signal,
    &pl_app_h_stop_signals, &h_stop, &h_root,
    &h_start_time, &serve_h_conn, &serve_h_opened, &serve_h_file_sent, &serve_h_read,
    &serve_h_sidecar, &serve_h_page_opened, &serve_h_page_read, &serve_h_list_page,
    &serve_h_list_stat, &serve_h_list_wait, &serve_h_mime, &serve_h_closed, &h_drain_over,
    &h_stop_now, &h_hup, &h_log_opened, &serve_h_log_reopened, &serve_h_log_tick,
    &serve_h_log_exit, &serve_h_kept_sent, &serve_h_keep_read, NULL,
};

const pl_program pl_app_serve = {
    .name = "serve",
    .version = PL_VERSION,
    .summary = "serve DIR over HTTP/1.1 (default port 8000; `pluto PORT DIR` also works)",
    .usage = "[DIR] [-p PORT] [-b ADDR] [options]",
    .options = serve_options,
    .handlers = serve_handlers,
    .cfg_size = sizeof(serve_cfg),
    .parse = serve_parse,
    .start = serve_start,
    .tune = serve_tune,
    .for_worker = serve_for_worker,
};
