/* test_live_files.c — each live backend (epoll, io_uring: live.h), over
 * loopback and real files.
 *
 * One program listens on an ephemeral port, connects to itself, and sends a
 * file through the accepted socket with SENDFILE; the connecting side
 * counts the bytes. Other tests check open-beneath, stat, time and timers.
 * What completions make delicate is in test_uring_live.c and
 * test_uring_limits.c, also on both backends. The io_uring runs are skipped,
 * saying so, where the kernel or a container does not allow io_uring.
 */
#include "live.h"

#include <criterion/redirect.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/pluto-test-live-%d", (int)getpid());
    mkdir(dir, 0700);
    char path[128];
    snprintf(path, sizeof path, "%s/data.bin", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 300000; i++)
        fputc(i % 251, f);
    fclose(f);
}

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* ---- sendfile through a connection to ourselves ------------------------ */

typedef struct rx_mem { int fd; uint64_t got; uint32_t sum; } rx_mem;
typedef struct srv_mem { int client; } srv_mem;

static pl_verdict on_rx(pl_ctx *cx, void *mem, const pl_answer *a)
{
    rx_mem *m = mem;
    for (size_t i = 0; i < a->len; i++)
        m->sum = m->sum * 31 + a->data[i];
    m->got += a->len;
    if (a->len == 0 || a->err) {
        pl_logf(cx, "received %llu sum %u", (unsigned long long)m->got, m->sum);
        pl_exit(cx, a->err ? 1 : 0);
        return PL_DONE;
    }
    return PL_KEEP;
}
static PL_HANDLER(h_rx, on_rx);

static pl_verdict on_connected(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "connect: %s", pl_strerror(a->err));
    rx_mem m = { a->fd, 0, 0 };
    pl_cmd r = pl_cmd_recv(a->fd);
    pl_send(cx, &r, &h_rx, &m, sizeof m);
    return PL_DONE;
}
static PL_HANDLER(h_connected, on_connected);

/* The file is closed once its bytes are sent: a CLOSE on it would not wait
 * for a SENDFILE, which is queued on the socket. */
static pl_verdict on_file_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "sendfile: %s", pl_strerror(a->err));
    pl_cmd c = pl_cmd_close(*(int *)mem);
    pl_send(cx, &c, NULL, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_file_sent, on_file_sent);

static pl_verdict on_file(pl_ctx *cx, void *mem, const pl_answer *a)
{
    srv_mem *m = mem;
    cr_assert_eq(a->err, 0, "open: %s", pl_strerror(a->err));
    cr_assert_eq(a->st.size, 300000);
    cr_assert_eq(a->st.type, PL_FT_FILE);
    pl_cmd s = pl_cmd_sendfile(m->client, a->fd, 1000, a->st.size - 1000);
    pl_send(cx, &s, &h_file_sent, &a->fd, sizeof a->fd);
    pl_cmd c1 = pl_cmd_close(m->client);
    pl_send(cx, &c1, NULL, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_file, on_file);

static pl_verdict on_listen(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        pl_cmd c = pl_cmd_connect("127.0.0.1", a->port);
        pl_send(cx, &c, &h_connected, NULL, 0);
        return PL_KEEP;
    }
    srv_mem m = { a->fd };
    pl_cmd o = pl_cmd_open(PL_DIR_CWD, mem, 0);
    pl_send(cx, &o, &h_file, &m, sizeof m);
    return PL_DONE;                 /* one client is all we serve */
}
static PL_HANDLER(h_listen, on_listen);

static void sendfile_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_listen, cfg, strlen(cfg) + 1);
}

static const pl_program sendfile_prog = { .name = "t", .start = sendfile_start };

LIVE_TEST(sendfile_to_a_connection_to_ourselves, 20)
{
    make_dir();
    char path[128];
    snprintf(path, sizeof path, "%s/data.bin", dir);
    pl_run_opts o = { .backend = k };
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&sendfile_prog, path, &o), 0);
    uint32_t sum = 0;
    for (int i = 1000; i < 300000; i++)
        sum = sum * 31 + (uint8_t)(i % 251);
    char want[64];
    snprintf(want, sizeof want, "received 299000 sum %u\n", sum);
    fflush(stdout);
    remove_dir();
    cr_assert_stdout_eq_str(want);
}

/* ---- paths beneath a directory, stat, time, timers --------------------- */

static pl_verdict on_probe(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "%s %d %llu", (const char *)mem, a->err,
            (unsigned long long)(a->kind == PL_ANS_STAT ? a->st.size : a->n));
    return PL_DONE;
}
static PL_HANDLER(h_probe, on_probe);

static pl_verdict on_root(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    struct { const char *tag; pl_cmd c; } probes[] = {
        { "stat", pl_cmd_stat(a->fd, "data.bin") },
        { "escape", pl_cmd_stat(a->fd, "../data.bin") },
        { "absolute", pl_cmd_open(a->fd, "/etc/passwd", 0) },
        { "missing", pl_cmd_open(a->fd, "nope", 0) },
        { "list", pl_cmd_readdir(a->fd, "") },
    };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++)
        pl_send(cx, &probes[i].c, &h_probe, probes[i].tag, strlen(probes[i].tag) + 1);
    return PL_DONE;
}
static PL_HANDLER(h_root, on_root);

static pl_verdict on_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->n == 3) {
        pl_logf(cx, "ticks 3");
        pl_exit(cx, 0);
    }
    return PL_KEEP;
}
static PL_HANDLER(h_tick, on_tick);

static pl_verdict on_time(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "time %d", a->wall_ns > 1600000000LL * 1000000000LL && a->mono_ns > 0);
    pl_cmd t = pl_cmd_timer(5, 5);
    pl_send(cx, &t, &h_tick, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_time, on_time);

static void files_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd o = pl_cmd_open(PL_DIR_CWD, cfg, PL_OPEN_DIR), t = pl_cmd_time();
    pl_send(cx, &o, &h_root, NULL, 0);
    pl_send(cx, &t, &h_time, NULL, 0);
}

static const pl_program files_prog = { .name = "t", .start = files_start };

LIVE_TEST(paths_stay_beneath_their_directory, 20)
{
    make_dir();
    pl_run_opts o = { .backend = k };
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&files_prog, dir, &o), 0);
    fflush(stdout);
    remove_dir();
    cr_assert_stdout_eq_str("time 1\n"
                            "stat 0 300000\n"
                            "escape -18 0\n"
                            "absolute -18 0\n"
                            "missing -2 0\n"
                            "list 0 1\n"
                            "ticks 3\n");
}
