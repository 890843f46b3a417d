/* kv.c — `pluto kv`: a key-value store over HTTP, with a page to edit it.
 *
 *   start        the shared state (kv_store.c), then TIME: the first Date
 *                header and the hash seed
 *   on_started   First( LISTEN: one connection task per client (kv_conn.c),
 *                       signals: SIGINT or SIGTERM ), and the Date clock
 *   on_stop      a signal won: the listener and every connection are
 *                cancelled with the First; log and exit 0
 *   on_journal   run as a durable machine, the journal's state: while the
 *                disk is full, PUT and DELETE answer 503 (the `full` flag)
 *
 * The whole store is in shared refs and task memory, nothing else: run as a
 * durable machine, the program needs no persistence code of its own.
 */
#include "apps/kv.h"

#include <errno.h>
#include <string.h>

typedef struct kv_listen { kv_cfg cfg; kv_refs refs; } kv_listen;

static pl_verdict on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const kv_listen *l = mem;
    if (a->kind == PL_ANS_LISTENING) {
        bool v6 = strchr(l->cfg.host, ':') != NULL;
        if (a->err != 0) {
            pl_errf(cx, "pluto kv: cannot listen on %s port %u: %s", l->cfg.host,
                    (unsigned)l->cfg.port, pl_strerror(a->err));
            pl_exit(cx, 1);
            return PL_DONE;
        }
        pl_logf(cx, "kv listening on http://%s%s%s:%u/", v6 ? "[" : "", l->cfg.host,
                v6 ? "]" : "", (unsigned)a->port);
        return PL_KEEP;
    }
    if (a->err != 0)
        return PL_KEEP;
    kv_conn c = { .refs = l->refs, .fd = a->fd, .phase = KV_PH_HEAD };
    pl_cmd recv = pl_cmd_recv(a->fd);
    recv.after_ms = KV_IDLE_MS;
    pl_send(cx, &recv, &kv_h_conn, &c, sizeof c);
    return PL_KEEP;
}
static PL_HANDLER(h_client, on_client);

static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "kv stopping on signal %d", pl_app_stop_signo(a));
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static pl_verdict on_started(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const kv_listen *l = mem;
    pl_app_clock_set(cx, l->refs.clock, a->wall_ns);
    kv_set_seed(cx, &l->refs, (uint64_t)a->wall_ns ^ (uint64_t)a->mono_ns << 17);
    pl_start serve = { pl_cmd_listen(l->cfg.host, l->cfg.port), &h_client, l, sizeof *l };
    pl_start stop = pl_app_stop_start();
    pl_first(cx, &serve, &stop, &h_stop, NULL, 0);
    pl_app_clock_start(cx, l->refs.clock);
    return PL_DONE;
}
static PL_HANDLER(h_started, on_started);

/* -ENOSPC: the machine's journal cannot be written, acknowledge no write; 0:
 * it can again. Any other error (-ENOTSUP: not a machine) ends the stream. */
static pl_verdict on_journal(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const kv_refs *r = mem;
    if (a->err != 0 && a->err != -ENOSPC)
        return PL_DONE;
    kv_set_full(cx, r, a->err == -ENOSPC);
    return PL_KEEP;
}
static PL_HANDLER(h_journal, on_journal);

void kv_run(pl_ctx *cx, const kv_cfg *cfg, const kv_refs *r)
{
    kv_listen l = { *cfg, *r };
    pl_cmd t = pl_cmd_time();
    pl_send(cx, &t, &h_started, &l, sizeof l);
    pl_cmd j = pl_cmd_machine();
    pl_send(cx, &j, &h_journal, r, sizeof *r);
}

static void kv_start(pl_ctx *cx, const void *cfg)
{
    kv_refs r = kv_state_new(cx, cfg);
    kv_run(cx, cfg, &r);
}

static int kv_parse(void *p, int argc, char **argv, char *err, size_t len)
{
    kv_cfg *cfg = p;
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 8080;
    cfg->keys_max = KV_KEYS_MAX;
    cfg->bytes_max = KV_BYTES_MAX;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--bind") == 0 || strcmp(a, "-b") == 0) {
            if (++i == argc || argv[i][0] == 0 || strlen(argv[i]) >= sizeof cfg->host)
                return pl_app_error(err, len, "%s needs an address", a);
            strcpy(cfg->host, argv[i]);
        } else if (strcmp(a, "--port") == 0 || strcmp(a, "-p") == 0) {
            if (++i == argc || pl_app_port(argv[i], &cfg->port) != 0)
                return pl_app_error(err, len, "%s needs a port (0..65535)", a);
        } else {
            return pl_app_error(err, len, "unexpected argument '%s'", a);
        }
    }
    return 0;
}

static const pl_handler *const kv_handlers[] = {
    &h_client, &h_stop, &h_started, &h_journal, &kv_h_conn, &pl_app_h_stop_signal,
    &pl_app_h_stop_signals, &pl_app_h_clock_tick, &pl_app_h_clock_time, NULL,
};

const pl_program pl_app_kv = {
    .name = "kv",
    .version = PL_VERSION,
    .summary = "a key-value store over HTTP, with a page to edit it (default 127.0.0.1:8080)",
    .usage = "[--port P] [--bind ADDR]",
    .handlers = kv_handlers,
    .cfg_size = sizeof(kv_cfg),
    .parse = kv_parse,
    .start = kv_start,
};
