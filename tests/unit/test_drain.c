/* test_drain.c — graceful stops, driven by hand: pl_first_graceful in the
 * core (a losing side is interrupted, not cancelled), then the static
 * server's drain on SIGTERM: idle connections close at once, a response
 * under way is written whole before its connection closes, the run exits
 * when the last CLOSE is done, at the drain deadline, or at a second signal.
 */
#include "scenario.h"

#include "apps/serve.h"

#include <signal.h>

/* ---- the core: pl_first_graceful --------------------------------------- */

/* Side a: a listener; each client gets a receiver that answers "ok" to the
 * first chunk (a SEND whose handler logs) and receives again. */
static pl_verdict on_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "sent %llu err %d", (unsigned long long)a->n, a->err);
    return PL_DONE;
}
static PL_HANDLER(h_sent, on_sent);

static const pl_handler h_rx;

static pl_verdict on_rx(pl_ctx *cx, void *mem, const pl_answer *a)
{
    int fd = *(int *)mem;
    if (a->err != 0) {
        pl_logf(cx, "rx %d err %d", fd, a->err);
        return PL_DONE;
    }
    pl_iov iov = { "ok", 2 };
    pl_cmd send = pl_cmd_writev(fd, &iov, 1);
    pl_send(cx, &send, &h_sent, NULL, 0);
    pl_cmd again = pl_cmd_recv(fd);
    pl_send(cx, &again, &h_rx, &fd, sizeof fd);
    return PL_DONE;
}
static PL_HANDLER(h_rx, on_rx);

static pl_verdict on_listen(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->err != 0) {
        pl_logf(cx, "listener err %d", a->err);
        pl_ret(cx, "L", 1);               /* does nothing once interrupted */
        return PL_DONE;
    }
    if (a->kind == PL_ANS_CLIENT) {
        pl_cmd rx = pl_cmd_recv(a->fd);
        pl_send(cx, &rx, &h_rx, &a->fd, sizeof a->fd);
    }
    return PL_KEEP;
}
static PL_HANDLER(h_listen, on_listen);

static pl_verdict on_won(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "first %d %.*s", a->index, (int)a->res[0].len, a->res[0].data);
    return PL_DONE;
}
static PL_HANDLER(h_won, on_won);

static pl_verdict on_stop_sig(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, "S", 1);
    return PL_DONE;
}
static PL_HANDLER(h_stop_sig, on_stop_sig);

static void graceful_start(pl_ctx *cx, const void *cfg)
{
    pl_start serve = { pl_cmd_listen("127.0.0.1", 80), &h_listen, NULL, 0 };
    pl_start stop = { pl_cmd_signal(SIGTERM), &h_stop_sig, NULL, 0 };
    pl_first_graceful(cx, &serve, &stop, &h_won, NULL, 0);
}

static const pl_program graceful_prog = { .name = "t", .start = graceful_start };

/* The i-th command from `from` that is a RECV on fd. */
static const pl_hcmd *recv_on(pl_harness *h, size_t from, int fd)
{
    for (size_t i = from; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == PL_CMD_RECV && c->cmd.fd == fd)
            return c;
    }
    return NULL;
}

/* The index of the first log line equal to text, or -1. */
static long log_at(pl_harness *h, const char *text)
{
    for (size_t i = 0; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == PL_CMD_LOG && strcmp(c->cmd.text, text) == 0)
            return (long)i;
    }
    return -1;
}

Test(graceful, the_loser_streams_are_told_and_its_sends_finish)
{
    pl_harness *h = pl_harness_start(&graceful_prog, NULL, 0);
    pl_task_id lis = find_cmd(h, 0, PL_CMD_LISTEN)->task;
    pl_task_id sig = find_cmd(h, 0, PL_CMD_SIGNAL)->task;
    answer(h, lis, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 80 });
    answer(h, lis, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 7 });
    answer(h, lis, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 8 });
    answer(h, recv_on(h, 0, 7)->task, data_ans("hi"));   /* fd 7: a send under way */
    const pl_hcmd *send = find_cmd(h, 0, PL_CMD_SEND);
    cr_assert_not_null(send);
    pl_task_id send_id = send->task, idle = recv_on(h, 0, 8)->task;
    answer(h, sig, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGTERM });
    long won = log_at(h, "first 1 S"), lis_told = log_at(h, "listener err -125");
    cr_assert(won >= 0 && lis_told > won, "the continuation runs first (%ld, %ld)", won,
              lis_told);
    cr_assert(was_cancelled(h, lis), "the listener's socket is let go of");
    cr_assert(was_cancelled(h, idle));
    cr_assert(log_at(h, "rx 8 err -125") > won, "an idle receiver is told");
    cr_assert(!was_cancelled(h, send_id), "a one-shot command is not cancelled");
    answer(h, send_id, (pl_answer){ .kind = PL_ANS_SENT, .n = 2 });
    cr_assert(log_at(h, "sent 2 err 0") >= 0, "its handler runs as usual");
    cr_assert(!pl_harness_pending(h, lis) && !pl_harness_pending(h, idle));
    pl_harness_destroy(h);
}

Test(graceful, a_stream_started_after_the_interrupt_is_refused_at_once)
{
    pl_harness *h = pl_harness_start(&graceful_prog, NULL, 0);
    pl_task_id lis = find_cmd(h, 0, PL_CMD_LISTEN)->task;
    pl_task_id sig = find_cmd(h, 0, PL_CMD_SIGNAL)->task;
    answer(h, lis, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 7 });
    pl_task_id rx = recv_on(h, 0, 7)->task;
    answer(h, sig, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGTERM });
    cr_assert(log_at(h, "rx 7 err -125") >= 0);
    cr_assert(!pl_harness_pending(h, rx));
    size_t n = pl_harness_count(h);
    cr_assert_null(recv_on(h, n, 7));
    pl_harness_destroy(h);
}

/* The receiver issues a new RECV from a SEND's answer that comes after the
 * interrupt: the new stream gets -ECANCELED and never reaches the backend. */
static pl_verdict on_sent_then_recv(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_cmd rx = pl_cmd_recv(9);
    int fd = 9;
    pl_send(cx, &rx, &h_rx, &fd, sizeof fd);
    return PL_DONE;
}
static PL_HANDLER(h_sent_then_recv, on_sent_then_recv);

static pl_verdict on_first_write(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_iov iov = { "x", 1 };
    pl_cmd send = pl_cmd_writev(9, &iov, 1);
    pl_send(cx, &send, &h_sent_then_recv, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_first_write, on_first_write);

static void late_start(pl_ctx *cx, const void *cfg)
{
    pl_start serve = { pl_cmd_none(), &h_first_write, NULL, 0 };
    pl_start stop = { pl_cmd_signal(SIGTERM), &h_stop_sig, NULL, 0 };
    pl_first_graceful(cx, &serve, &stop, &h_won, NULL, 0);
}

static const pl_program late_prog = { .name = "t", .start = late_start };

Test(graceful, a_receiver_started_by_a_late_answer_is_refused)
{
    pl_harness *h = pl_harness_start(&late_prog, NULL, 0);
    pl_task_id sig = find_cmd(h, 0, PL_CMD_SIGNAL)->task;
    pl_task_id send = find_cmd(h, 0, PL_CMD_SEND)->task;
    answer(h, sig, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGTERM });
    answer(h, send, (pl_answer){ .kind = PL_ANS_SENT, .n = 1 });
    cr_assert(log_at(h, "rx 9 err -125") >= 0);
    cr_assert_null(recv_on(h, 0, 9), "the refused RECV never reached the backend");
    pl_harness_destroy(h);
}

Test(graceful, when_the_graceful_side_wins_the_other_is_cancelled)
{
    pl_harness *h = pl_harness_start(&late_prog, NULL, 0);
    pl_task_id sig = find_cmd(h, 0, PL_CMD_SIGNAL)->task;
    pl_task_id send = find_cmd(h, 0, PL_CMD_SEND)->task;
    answer(h, send, (pl_answer){ .kind = PL_ANS_SENT, .n = 1 });
    pl_task_id rx = recv_on(h, 0, 9)->task;
    answer(h, rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -EIO });
    cr_assert(pl_harness_pending(h, sig), "nobody returned: the First goes on");
    pl_harness_destroy(h);
}

/* ---- the static server's drain ------------------------------------------ */

static pl_harness *serve_start_by_hand(pl_task_id *listener)
{
    static serve_cfg cfg;
    char *argv[] = { "site", "-b", "127.0.0.1", "-p", "8080", "--drain-timeout", "3" };
    char err[256];
    cr_assert_eq(pl_app_serve.parse(&cfg, 7, argv, err, sizeof err), 0, "%s", err);
    pl_harness *h = pl_harness_start(&pl_app_serve, &cfg, 0);
    /* Answer whatever comes before the listener: the clock, files, the root. */
    for (size_t i = 0; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (c->cancel || !pl_harness_pending(h, c->task))
            continue;
        pl_answer a = { .kind = PL_ANS_DONE };
        switch (c->cmd.kind) {
        case PL_CMD_TIME:
            a = (pl_answer){ .kind = PL_ANS_TIME, .wall_ns = 1700000000ll * 1000000000ll };
            break;
        case PL_CMD_READ_FILE:
            a = (pl_answer){ .kind = PL_ANS_DATA, .err = -ENOENT, .eof = 1 };
            break;
        case PL_CMD_OPEN:
            a = (pl_answer){ .kind = PL_ANS_OPENED, .fd = 5, .st.type = PL_FT_DIR };
            break;
        case PL_CMD_LISTEN:
            *listener = c->task;
            answer(h, c->task, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 8080 });
            return h;
        default:
            continue;
        }
        answer(h, c->task, a);
    }
    cr_assert_fail("the server never listened");
    return h;
}

static pl_task_id signal_task(pl_harness *h, size_t from, int signo)
{
    for (size_t i = from; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == PL_CMD_SIGNAL && c->cmd.signo == signo &&
            pl_harness_pending(h, c->task))
            return c->task;
    }
    cr_assert_fail("no pending SIGNAL %d", signo);
    return 0;
}

/* The i-th command from `from` of kind k on fd. */
static const pl_hcmd *cmd_on(pl_harness *h, size_t from, pl_cmd_kind k, int fd)
{
    for (size_t i = from; i < pl_harness_count(h); i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == k && c->cmd.fd == fd)
            return c;
    }
    return NULL;
}

static void stop(pl_harness *h, int signo)
{
    answer(h, signal_task(h, 0, signo), (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = signo });
}

/* A client on fd 10 asks for a 1 MiB file: its head is sent, its SENDFILE
 * waits behind it, and the next receiver is armed. Returns the head's SEND. */
static pl_task_id big_download(pl_harness *h, pl_task_id listener)
{
    answer(h, listener, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 10, .peer = "127.0.0.1" });
    answer(h, cmd_on(h, 0, PL_CMD_RECV, 10)->task,
           data_ans("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    const pl_hcmd *open = find_cmd(h, 0, PL_CMD_OPEN);
    for (size_t i = 0; open != NULL && strcmp(open->cmd.text, "big.bin") != 0; i++)
        open = find_cmd(h, (size_t)(open - pl_harness_cmd(h, 0)) + 1, PL_CMD_OPEN);
    cr_assert_not_null(open, "the file is opened");
    pl_stat st = { .size = 1 << 20, .ino = 3, .mtime_s = 1600000000, .type = PL_FT_FILE };
    answer(h, open->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 11, .st = st });
    const pl_hcmd *head = cmd_on(h, 0, PL_CMD_SEND, 10);
    cr_assert_not_null(head, "the head goes out");
    cr_assert_eq(head->cmd.after_ms, 60000, "with the send timeout as its stall limit");
    cr_assert_null(cmd_on(h, 0, PL_CMD_SENDFILE, 10), "the body waits behind the head");
    return head->task;
}

Test(drain, with_nobody_connected_the_server_exits_at_once)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    stop(h, SIGTERM);
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    cr_assert(log_at(h, "pluto stopping on signal 15") >= 0);
    pl_harness_destroy(h);
}

Test(drain, an_idle_connection_is_closed_and_then_the_server_exits)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    answer(h, lis, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 10, .peer = "127.0.0.1" });
    pl_task_id rx = cmd_on(h, 0, PL_CMD_RECV, 10)->task;
    stop(h, SIGTERM);
    cr_assert(was_cancelled(h, lis), "the listener is closed: new clients are refused");
    cr_assert(was_cancelled(h, rx));
    const pl_hcmd *close = cmd_on(h, 0, PL_CMD_CLOSE, 10);
    cr_assert_not_null(close, "the idle connection is closed at once");
    cr_assert(!pl_harness_exited(h, NULL), "not before its CLOSE is done");
    answer(h, close->task, (pl_answer){ .kind = PL_ANS_DONE });
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    pl_harness_destroy(h);
}

Test(drain, a_response_under_way_is_written_whole_before_its_connection_closes)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    pl_task_id head = big_download(h, lis);
    stop(h, SIGTERM);
    cr_assert(was_cancelled(h, lis));
    cr_assert_null(cmd_on(h, 0, PL_CMD_CLOSE, 10), "the close waits behind the body");
    answer(h, head, (pl_answer){ .kind = PL_ANS_SENT, .n = 200 });
    const pl_hcmd *body = cmd_on(h, 0, PL_CMD_SENDFILE, 10);
    cr_assert_not_null(body);
    cr_assert_eq(body->cmd.count, 1 << 20);
    cr_assert(!pl_harness_exited(h, NULL));
    answer(h, body->task, (pl_answer){ .kind = PL_ANS_SENT, .n = 1 << 20 });
    cr_assert_not_null(cmd_on(h, 0, PL_CMD_CLOSE, 11), "the file is closed");
    const pl_hcmd *close = cmd_on(h, 0, PL_CMD_CLOSE, 10);
    cr_assert_not_null(close, "then the connection, not kept alive");
    cr_assert(!pl_harness_exited(h, NULL));
    answer(h, close->task, (pl_answer){ .kind = PL_ANS_DONE });
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    pl_harness_destroy(h);
}

Test(drain, a_file_opened_after_the_signal_is_still_answered_then_closed)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    answer(h, lis, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 10, .peer = "127.0.0.1" });
    answer(h, cmd_on(h, 0, PL_CMD_RECV, 10)->task,
           data_ans("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n"));
    const pl_hcmd *open = find_cmd(h, 0, PL_CMD_OPEN);
    while (open != NULL && strcmp(open->cmd.text, "big.bin") != 0)
        open = find_cmd(h, (size_t)(open - pl_harness_cmd(h, 0)) + 1, PL_CMD_OPEN);
    cr_assert_not_null(open);
    stop(h, SIGTERM);                     /* the OPEN is under way */
    size_t mark = pl_harness_count(h);
    pl_stat st = { .size = 1 << 20, .ino = 3, .mtime_s = 1600000000, .type = PL_FT_FILE };
    answer(h, open->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 11, .st = st });
    const pl_hcmd *head = cmd_on(h, mark, PL_CMD_SEND, 10);
    cr_assert_not_null(head, "the response is written");
    cr_assert_null(cmd_on(h, mark, PL_CMD_RECV, 10), "no receiver for another request");
    answer(h, head->task, (pl_answer){ .kind = PL_ANS_SENT, .n = 200 });
    answer(h, cmd_on(h, mark, PL_CMD_SENDFILE, 10)->task,
           (pl_answer){ .kind = PL_ANS_SENT, .n = 1 << 20 });
    const pl_hcmd *close = cmd_on(h, mark, PL_CMD_CLOSE, 10);
    cr_assert_not_null(close);
    answer(h, close->task, (pl_answer){ .kind = PL_ANS_DONE });
    cr_assert(pl_harness_exited(h, NULL));
    pl_harness_destroy(h);
}

Test(drain, the_deadline_cuts_a_client_that_never_finishes)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    big_download(h, lis);
    size_t mark = pl_harness_count(h);
    stop(h, SIGTERM);
    const pl_hcmd *deadline = NULL;
    for (size_t i = mark; i < pl_harness_count(h) && deadline == NULL; i++) {
        const pl_hcmd *c = pl_harness_cmd(h, i);
        if (!c->cancel && c->cmd.kind == PL_CMD_TIMER && c->cmd.every_ms == 0)
            deadline = c;
    }
    cr_assert_not_null(deadline, "a drain deadline is armed");
    cr_assert_eq(deadline->cmd.after_ms, 3000, "--drain-timeout 3");
    answer(h, deadline->task, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    pl_harness_destroy(h);
}

Test(drain, a_second_signal_exits_at_once)
{
    pl_task_id lis;
    pl_harness *h = serve_start_by_hand(&lis);
    big_download(h, lis);
    stop(h, SIGTERM);
    cr_assert(!pl_harness_exited(h, NULL));
    stop(h, SIGINT);
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    cr_assert(log_at(h, "pluto stopping now on signal 2") >= 0);
    pl_harness_destroy(h);
}
