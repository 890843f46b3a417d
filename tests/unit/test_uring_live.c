/* test_uring_live.c — what both live backends must do alike, on each of
 * them: Test(epoll, x) and Test(uring, x) run the same body (live.h).
 *
 * These are the behaviours that completions make delicate (io_uring takes
 * bytes and clients before the loop asks for them, and holds a send's bytes
 * while the task may be cancelled), so they are checked against epoll too:
 *   - receivers that end after every chunk, while bytes are on their way and
 *     leftovers wait in the runtime's input buffer: nothing lost or reordered;
 *   - a send cancelled while the kernel holds it: no answer ever after.
 * Descriptor limits are in test_uring_limits.c. The io_uring runs are
 * skipped, saying so, where io_uring is unavailable.
 */
#include "live.h"

#include <criterion/redirect.h>

#include <stdio.h>
#include <string.h>

static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 7 + i / 251) % 253); }

/* ---- receivers that end after every chunk ------------------------------ */

enum { CHUNK = 64 * 1024, CHUNKS = 16 };

typedef struct rd_mem { int fd; uint32_t calls; uint64_t got; uint32_t sum; } rd_mem;

static pl_verdict on_rd(pl_ctx *cx, void *mem, const pl_answer *a);
static PL_HANDLER(h_rd, on_rd);

/* A while with no receiver at all: bytes arriving now wait for the next. */
static pl_verdict on_rd_later(pl_ctx *cx, void *mem, const pl_answer *a)
{
    rd_mem *m = mem;
    pl_cmd r = pl_cmd_recv(m->fd);
    pl_send(cx, &r, &h_rd, m, sizeof *m);
    return PL_DONE;
}
static PL_HANDLER(h_rd_later, on_rd_later);

/* Use all but a few bytes (they wait in the input buffer for the next
 * receiver), fold them in order, and hand over to a new receiver: at once,
 * or every fourth time after a millisecond. */
static pl_verdict on_rd(pl_ctx *cx, void *mem, const pl_answer *a)
{
    rd_mem m = *(rd_mem *)mem;
    if (a->err != 0 || a->len == 0) {
        pl_logf(cx, "got %llu sum %u err %d", (unsigned long long)m.got, m.sum, a->err);
        pl_exit(cx, 0);
        return PL_DONE;
    }
    size_t use = a->len > 7 ? a->len - a->len % 7 : a->len;
    for (size_t i = 0; i < use; i++)
        m.sum = m.sum * 31 + a->data[i];
    m.got += use;
    pl_consume(cx, use);
    pl_cmd r = ++m.calls % 4 ? pl_cmd_recv(m.fd) : pl_cmd_timer(1, 0);
    pl_send(cx, &r, m.calls % 4 ? &h_rd : &h_rd_later, &m, sizeof m);
    return PL_DONE;
}

static pl_verdict on_writer(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0, "connect: %s", pl_strerror(a->err));
    uint8_t buf[CHUNK];
    for (uint64_t c = 0; c < CHUNKS; c++) {
        for (uint64_t i = 0; i < CHUNK; i++)
            buf[i] = pattern(c * CHUNK + i);
        pl_write(cx, a->fd, buf, sizeof buf);
    }
    pl_cmd close = pl_cmd_close(a->fd);
    pl_send(cx, &close, NULL, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_writer, on_writer);

static pl_verdict on_rd_listen(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        pl_cmd c = pl_cmd_connect("127.0.0.1", a->port);
        pl_send(cx, &c, &h_writer, NULL, 0);
        return PL_KEEP;
    }
    rd_mem m = { .fd = a->fd };
    pl_cmd r = pl_cmd_recv(a->fd);
    pl_send(cx, &r, &h_rd, &m, sizeof m);
    return PL_DONE;
}
static PL_HANDLER(h_rd_listen, on_rd_listen);

static void rd_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_rd_listen, NULL, 0);
}

LIVE_TEST(receivers_ending_after_every_chunk_lose_no_byte, 30)
{
    static const pl_program prog = { .name = "t", .start = rd_start };
    pl_run_opts o = { .backend = k };
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    fflush(stdout);
    char out[128] = "";
    FILE *f = cr_get_redirected_stdout();
    cr_assert_not_null(fgets(out, sizeof out, f));
    unsigned long long got;
    unsigned sum;
    int err;
    cr_assert_eq(sscanf(out, "got %llu sum %u err %d", &got, &sum, &err), 3, "%s", out);
    /* At the end of the stream, fewer than 7 bytes may stay unused by choice. */
    cr_assert(got + 7 > (uint64_t)CHUNK * CHUNKS && got <= (uint64_t)CHUNK * CHUNKS,
              "got %llu bytes", got);
    uint32_t want = 0;
    for (uint64_t i = 0; i < got; i++)
        want = want * 31 + pattern(i);
    cr_assert_eq(sum, want, "the bytes came in another order");
    cr_assert_eq(err, 0);
}

/* ---- a send cancelled while the kernel holds it ------------------------ */

/* More than loopback's socket buffers take: it cannot finish unread. */
static const uint8_t big[32 << 20];

typedef struct cs_mem { int fd; } cs_mem;

static pl_verdict on_big_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "big sent %d %llu", a->err, (unsigned long long)a->n);
    return PL_DONE;
}
static PL_HANDLER(h_big_sent, on_big_sent);

static pl_verdict on_small_sent(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cs_mem *m = mem;
    pl_logf(cx, "sent %d %llu", a->err, (unsigned long long)a->n);
    pl_iov v = { big, sizeof big };
    pl_cmd s = pl_cmd_writev(m->fd, &v, 1);
    pl_send(cx, &s, &h_big_sent, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_small_sent, on_small_sent);

static pl_verdict on_stop(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_stop, on_stop);

static pl_verdict on_end(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "end");
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_end, on_end);

/* The timer won: the send was cancelled. Nothing of it may answer now. */
static pl_verdict on_cancelled(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "cancelled, side %d", a->index);
    pl_cmd t = pl_cmd_timer(300, 0);
    pl_send(cx, &t, &h_end, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_cancelled, on_cancelled);

static pl_verdict on_cs_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->kind == PL_ANS_LISTENING) {
        pl_cmd c = pl_cmd_connect("127.0.0.1", a->port);
        pl_send(cx, &c, NULL, NULL, 0);     /* the peer never reads */
        return PL_KEEP;
    }
    cs_mem m = { a->fd };
    pl_iov v = { "hello", 5 };
    pl_start send = { pl_cmd_writev(a->fd, &v, 1), &h_small_sent, &m, sizeof m };
    pl_start stop = { pl_cmd_timer(200, 0), &h_stop, NULL, 0 };
    pl_first(cx, &send, &stop, &h_cancelled, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_cs_client, on_cs_client);

static void cs_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_cs_client, NULL, 0);
}

LIVE_TEST(a_cancelled_send_never_answers, 20)
{
    static const pl_program prog = { .name = "t", .start = cs_start };
    pl_run_opts o = { .backend = k };
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    fflush(stdout);
    cr_assert_stdout_eq_str("sent 0 5\ncancelled, side 1\nend\n");
}
