/* test_send_limits.c — writing, live on each backend: a SEND with a stall
 * limit to a peer that never reads ends with -ETIMEDOUT and shuts the socket
 * down; OPEN with PL_OPEN_APPEND creates a file that SENDs append to, whole.
 */
#include "scenario.h"

#include <criterion/redirect.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

enum { BIG = 32 << 20, STALL_MS = 300 };

/* ---- a stall limit -------------------------------------------------------- */

typedef struct stall_mem { int fd; } stall_mem;

/* After the timeout the server's receiver sees the end of the stream. */
static pl_verdict on_after(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "receiver: len %zu err %d", a->len, a->err == 0 ? 0 : 1);
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_after, on_after);

static pl_verdict on_stalled(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const stall_mem *m = mem;
    pl_logf(cx, "send: %s, %s", pl_strerror(a->err),
            a->n > 0 && a->n < BIG ? "part written" : "all or nothing");
    pl_cmd rx = pl_cmd_recv(m->fd);
    pl_send(cx, &rx, &h_after, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stalled, on_stalled);

static pl_verdict on_client_connected(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "connect: %s", pl_strerror(a->err));
    return PL_DONE;                       /* and never read */
}
static PL_HANDLER(h_client_connected, on_client_connected);

static pl_verdict on_stall_listen(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        pl_cmd c = pl_cmd_connect("127.0.0.1", a->port);
        pl_send(cx, &c, &h_client_connected, NULL, 0);
        return PL_KEEP;
    }
    static char big[BIG];                 /* copied by pl_send */
    pl_iov iov = { big, sizeof big };
    pl_cmd send = pl_cmd_writev(a->fd, &iov, 1);
    send.after_ms = STALL_MS;
    stall_mem m = { a->fd };
    pl_send(cx, &send, &h_stalled, &m, sizeof m);
    return PL_DONE;
}
static PL_HANDLER(h_stall_listen, on_stall_listen);

static void stall_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_stall_listen, NULL, 0);
}

static const pl_program stall_prog = { .name = "t", .start = stall_start };

static void run_on(const pl_program *p, const void *cfg, pl_backend_kind k)
{
    pl_run_opts o = { .backend = k };
    cr_assert_eq(pl_run(p, cfg, &o), 0);
    fflush(stdout);
}

Test(stall, epoll_cuts_a_peer_that_never_reads, .init = cr_redirect_stdout, .timeout = 10)
{
    run_on(&stall_prog, NULL, PL_BACKEND_EPOLL);
    cr_assert_stdout_eq_str("send: Connection timed out, part written\n"
                            "receiver: len 0 err 0\n");
}

Test(stall, uring_cuts_a_peer_that_never_reads, .init = cr_redirect_stdout, .timeout = 10)
{
    setenv("PLUTO_BACKEND", "auto", 1);
    run_on(&stall_prog, NULL, PL_BACKEND_AUTO);   /* io_uring where the kernel allows */
    cr_assert_stdout_eq_str("send: Connection timed out, part written\n"
                            "receiver: len 0 err 0\n");
}

/* ---- appending to a file --------------------------------------------------- */

static char path[128];

static pl_verdict on_appended(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "send: %s", pl_strerror(a->err));
    cr_assert_eq(a->n, 6);
    pl_cmd close = pl_cmd_close(*(int *)mem);
    pl_send(cx, &close, NULL, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_appended, on_appended);

static pl_verdict on_log_open(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "open: %s", pl_strerror(a->err));
    cr_assert_eq(a->st.type, PL_FT_FILE);
    pl_write(cx, a->fd, "one\n", 4);      /* queued in order on the descriptor */
    pl_iov iov = { "two\nx\n", 6 };
    pl_cmd send = pl_cmd_writev(a->fd, &iov, 1);
    pl_send(cx, &send, &h_appended, &a->fd, sizeof a->fd);
    return PL_DONE;
}
static PL_HANDLER(h_log_open, on_log_open);

static void append_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd open = pl_cmd_open(PL_DIR_CWD, path, PL_OPEN_APPEND);
    pl_send(cx, &open, &h_log_open, NULL, 0);
}

static const pl_program append_prog = { .name = "t", .start = append_start };

static void append_twice(pl_backend_kind k)
{
    snprintf(path, sizeof path, "/tmp/pluto-append-%d-%d.log", (int)getpid(), (int)k);
    unlink(path);
    pl_run_opts o = { .backend = k };
    cr_assert_eq(pl_run(&append_prog, NULL, &o), 0);
    cr_assert_eq(pl_run(&append_prog, NULL, &o), 0, "a second run appends");
    char buf[64] = { 0 };
    int fd = open(path, O_RDONLY);
    cr_assert(fd >= 0);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    struct stat st;
    fstat(fd, &st);
    close(fd);
    unlink(path);
    cr_assert_eq(n, 20);
    cr_assert_str_eq(buf, "one\ntwo\nx\none\ntwo\nx\n");
    cr_assert_eq(st.st_mode & 0777, 0644 & ~0022 & 0777, "created 0644 (umask 022)");
}

Test(append, epoll_creates_and_appends, .init = cr_redirect_stdout)
{
    umask(022);
    append_twice(PL_BACKEND_EPOLL);
}

Test(append, uring_creates_and_appends, .init = cr_redirect_stdout)
{
    umask(022);
    setenv("PLUTO_BACKEND", "auto", 1);
    append_twice(PL_BACKEND_AUTO);
}
