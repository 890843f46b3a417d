/* echo.c — the echo server: every byte a client sends comes back, in order.
 *
 * The worked example of the model (docs/ARCHITECTURE.md walks through it):
 *
 *   start      First( listen: one task, one answer per client,
 *                     signals: SIGINT or SIGTERM return )
 *   on_client  for each client, a receiver task with memory { fd }
 *   on_data    each chunk is sent back; at the end the socket is closed
 *   on_stop    a signal won the First: the listener and every connection
 *              were cancelled with it; log and exit
 *
 * Memory stays bounded without a line of code here: the runtime stops
 * receiving on a socket while too many bytes wait to be written to it.
 */
#include "apps/apps.h"

#include <stdlib.h>
#include <string.h>

typedef struct echo_cfg {
    char host[64];
    uint16_t port;
} echo_cfg;

typedef struct conn { int fd; } conn;

static pl_verdict on_data(pl_ctx *cx, void *mem, const pl_answer *a)
{
    conn *c = mem;
    if (a->err == 0 && a->len > 0) {
        pl_write(cx, c->fd, a->data, a->len);
        return PL_KEEP;
    }
    pl_cmd close = pl_cmd_close(c->fd);
    pl_send(cx, &close, NULL, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_data, on_data);

static pl_verdict on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const echo_cfg *cfg = mem;
    if (a->kind == PL_ANS_LISTENING) {
        if (a->err != 0) {
            pl_errf(cx, "pluto echo: cannot listen on %s port %u: %s", cfg->host,
                    (unsigned)cfg->port, pl_strerror(a->err));
            pl_exit(cx, 1);
            return PL_DONE;
        }
        pl_logf(cx, "echo listening on %s%s%s:%u", strchr(cfg->host, ':') ? "[" : "",
                cfg->host, strchr(cfg->host, ':') ? "]" : "", (unsigned)a->port);
        return PL_KEEP;
    }
    if (a->err != 0)
        return PL_KEEP;
    conn c = { a->fd };
    pl_cmd recv = pl_cmd_recv(a->fd);
    pl_send(cx, &recv, &h_data, &c, sizeof c);
    return PL_KEEP;
}
static PL_HANDLER(h_client, on_client);

static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    int signo = pl_app_stop_signo(a);
    pl_logf(cx, "echo stopping on signal %d", signo);
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static void echo_start(pl_ctx *cx, const void *p)
{
    const echo_cfg *cfg = p;
    pl_start serve = { pl_cmd_listen(cfg->host, cfg->port), &h_client, cfg, sizeof *cfg };
    pl_start stop = pl_app_stop_start();
    pl_first(cx, &serve, &stop, &h_stop, NULL, 0);
}

static int echo_parse(void *p, int argc, char **argv, char *err, size_t len)
{
    echo_cfg *cfg = p;
    strcpy(cfg->host, "127.0.0.1");
    cfg->port = 8888;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--bind") == 0 || strcmp(argv[i], "-b") == 0) {
            if (++i == argc || strlen(argv[i]) >= sizeof cfg->host)
                return pl_app_error(err, len, "--bind needs an address");
            strcpy(cfg->host, argv[i]);
        } else if (pl_app_port(argv[i], &cfg->port) != 0) {
            return pl_app_error(err, len, "bad port '%s' (expected 0..65535)", argv[i]);
        }
    }
    return 0;
}

static const pl_handler *const echo_handlers[] = {
    &h_data, &h_client, &pl_app_h_stop_signal, &pl_app_h_stop_signals, &h_stop, NULL,
};

const pl_program pl_app_echo = {
    .name = "echo",
    .version = PL_VERSION,
    .summary = "echo every byte back to its sender (default 127.0.0.1:8888)",
    .usage = "[PORT] [--bind ADDR]",
    .handlers = echo_handlers,
    .cfg_size = sizeof(echo_cfg),
    .parse = echo_parse,
    .start = echo_start,
};
