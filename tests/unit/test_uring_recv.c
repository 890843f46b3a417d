/* test_uring_recv.c — receiving on many descriptors at once, on each live
 * backend (live.h).
 *
 * io_uring receives into a provided buffer ring that holds only as many
 * buffers as receives have needed at once, so a crowd of clients whose
 * bytes are all waiting finds it dry (ENOBUFS) and must be re-armed; bytes
 * that come while a descriptor has no receiver wait in a side table; and a
 * descriptor closed with its receive armed may have its number reused
 * before that receive's last completion comes. Each is checked here for
 * lost, doubled or misdelivered bytes.
 */
#include "live.h"

#include <criterion/redirect.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static _Atomic int listen_port;

static uint8_t pattern(uint64_t i) { return (uint8_t)((i * 7 + i / 251) % 253); }

static int dial(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int wait_port(void)
{
    int port;
    while ((port = atomic_load(&listen_port)) == 0)
        usleep(1000);
    return port;
}

/* ---- a crowd of clients whose bytes all wait at once ------------------- */

enum { CROWD = 300, CROWD_LEN = 20000 };

static uint32_t fold(uint32_t sum, uint8_t b) { return sum * 31 + b; }

/* Client i sends CROWD_LEN bytes (pattern from i * CROWD_LEN), ends its
 * side, and waits for the server to close. */
static void *crowd(void *arg)
{
    (void)arg;
    int port = wait_port();
    static int fds[CROWD];
    static uint8_t buf[CROWD_LEN];
    intptr_t ok = 0;
    for (int i = 0; i < CROWD; i++) {
        fds[i] = dial(port);
        if (fds[i] < 0)
            continue;
        for (uint64_t j = 0; j < CROWD_LEN; j++)
            buf[j] = pattern((uint64_t)i * CROWD_LEN + j);
        if (write(fds[i], buf, sizeof buf) == (ssize_t)sizeof buf)
            shutdown(fds[i], SHUT_WR);
    }
    for (int i = 0; i < CROWD; i++) {
        char c;
        if (fds[i] >= 0 && read(fds[i], &c, 1) == 0)
            ok++;
        if (fds[i] >= 0)
            close(fds[i]);
    }
    return (void *)ok;
}

typedef struct crowd_tally { uint32_t done, sum; uint64_t bytes; } crowd_tally;
static pl_ref tally_ref;

/* Every other chunk, the receiver ends and a new one starts a millisecond
 * later. */
typedef struct cr_mem { int fd; uint32_t calls, sum; uint64_t got; } cr_mem;

static pl_verdict on_cr_data(pl_ctx *cx, void *mem, const pl_answer *a);
static PL_HANDLER(h_cr_data, on_cr_data);

/* A while with no receiver: what comes meanwhile waits for the next one. */
static pl_verdict on_cr_later(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_mem *m = mem;
    pl_cmd r = pl_cmd_recv(m->fd);
    pl_send(cx, &r, &h_cr_data, m, sizeof *m);
    return PL_DONE;
}
static PL_HANDLER(h_cr_later, on_cr_later);

static pl_verdict on_cr_data(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_mem *m = mem;
    if (a->err != 0 || a->len == 0) {
        crowd_tally *t = pl_ref_mut(cx, tally_ref, NULL);
        t->sum += m->sum;               /* order across clients does not matter */
        t->bytes += m->got;
        pl_cmd c = pl_cmd_close(m->fd);
        pl_send(cx, &c, NULL, NULL, 0);
        if (a->err != 0)
            pl_logf(cx, "fd %d: %s", m->fd, pl_strerror(a->err));
        if (++t->done == CROWD) {
            pl_logf(cx, "done %u bytes %llu sum %u", t->done, (unsigned long long)t->bytes,
                    t->sum);
            pl_exit(cx, 0);
        }
        return PL_DONE;
    }
    for (size_t i = 0; i < a->len; i++)
        m->sum = fold(m->sum, a->data[i]);
    m->got += a->len;
    if (++m->calls % 2 == 0)
        return PL_KEEP;
    pl_cmd t = pl_cmd_timer(1, 0);
    pl_send(cx, &t, &h_cr_later, m, sizeof *m);
    return PL_DONE;
}

static pl_verdict on_cr_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        atomic_store(&listen_port, a->port);
        return PL_KEEP;
    }
    cr_mem m = { .fd = a->fd };
    pl_cmd r = pl_cmd_recv(a->fd);
    pl_send(cx, &r, &h_cr_data, &m, sizeof m);
    return PL_KEEP;
}
static PL_HANDLER(h_cr_client, on_cr_client);

static void crowd_start(pl_ctx *cx, const void *cfg)
{
    tally_ref = pl_ref_new(cx, NULL, sizeof(crowd_tally));
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_cr_client, NULL, 0);
}

LIVE_TEST(a_crowd_receiving_at_once_loses_no_byte, 60)
{
    static const pl_program prog = { .name = "t", .start = crowd_start };
    pl_run_opts o = { .backend = k };
    atomic_store(&listen_port, 0);
    pthread_t th;
    pthread_create(&th, NULL, crowd, NULL);
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    void *ok;
    pthread_join(th, &ok);
    cr_assert_eq((intptr_t)ok, CROWD, "%ld clients saw the server close", (long)(intptr_t)ok);
    uint32_t want = 0;
    for (uint64_t i = 0; i < CROWD; i++) {
        uint32_t s = 0;
        for (uint64_t j = 0; j < CROWD_LEN; j++)
            s = fold(s, pattern(i * CROWD_LEN + j));
        want += s;
    }
    char line[128];
    snprintf(line, sizeof line, "done %u bytes %llu sum %u\n", CROWD,
             (unsigned long long)CROWD * CROWD_LEN, want);
    fflush(stdout);
    cr_assert_stdout_eq_str(line);
}

/* ---- a descriptor closed with its receive armed, its number reused ------ */

enum { ROUNDS = 200, ROUND_LEN = 100 };

/* One client at a time: send ROUND_LEN bytes tagged with the round, read
 * them back until the server closes. Returns the rounds echoed exactly. */
static void *rounds(void *arg)
{
    (void)arg;
    int port = wait_port();
    intptr_t ok = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int fd = dial(port);
        if (fd < 0)
            continue;
        uint8_t out[ROUND_LEN], in[ROUND_LEN + 1];
        for (int j = 0; j < ROUND_LEN; j++)
            out[j] = pattern((uint64_t)r * ROUND_LEN + (uint64_t)j);
        size_t got = 0;
        ssize_t n = write(fd, out, sizeof out);
        while (n == (ssize_t)sizeof out && got < sizeof in) {
            ssize_t k = read(fd, in + got, sizeof in - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        if (got == ROUND_LEN && memcmp(in, out, ROUND_LEN) == 0)
            ok++;
        close(fd);
    }
    return (void *)ok;
}

typedef struct ro_mem { int fd; uint32_t got; uint8_t buf[ROUND_LEN]; } ro_mem;
static pl_ref served_ref;

/* Closed, so the echo before it is out: the last one ends the run. */
static pl_verdict on_ro_closed(pl_ctx *cx, void *mem, const pl_answer *a)
{
    uint32_t *served = pl_ref_mut(cx, served_ref, NULL);
    if (++*served == ROUNDS) {
        pl_logf(cx, "served %u", *served);
        pl_exit(cx, 0);
    }
    return PL_DONE;
}
static PL_HANDLER(h_ro_closed, on_ro_closed);

/* The whole message: echo it and close, the receiver still listening (the
 * receive is armed when the descriptor closes). */
static pl_verdict on_ro_data(pl_ctx *cx, void *mem, const pl_answer *a)
{
    ro_mem *m = mem;
    if (a->err != 0 || a->len == 0 || m->got + a->len > ROUND_LEN) {
        pl_logf(cx, "unexpected: err %d len %zu after %u", a->err, a->len, m->got);
        pl_exit(cx, 1);
        return PL_DONE;
    }
    memcpy(m->buf + m->got, a->data, a->len);
    m->got += (uint32_t)a->len;
    if (m->got < ROUND_LEN)
        return PL_KEEP;
    pl_write(cx, m->fd, m->buf, ROUND_LEN);
    pl_cmd c = pl_cmd_close(m->fd);
    pl_send(cx, &c, &h_ro_closed, NULL, 0);
    m->got = 0;
    return PL_KEEP;
}
static PL_HANDLER(h_ro_data, on_ro_data);

static pl_verdict on_ro_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        atomic_store(&listen_port, a->port);
        return PL_KEEP;
    }
    ro_mem m = { .fd = a->fd };
    pl_cmd r = pl_cmd_recv(a->fd);
    pl_send(cx, &r, &h_ro_data, &m, sizeof m);
    return PL_KEEP;
}
static PL_HANDLER(h_ro_client, on_ro_client);

static void rounds_start(pl_ctx *cx, const void *cfg)
{
    served_ref = pl_ref_new(cx, NULL, sizeof(uint32_t));
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_ro_client, NULL, 0);
}

LIVE_TEST(a_reused_descriptor_gets_only_its_own_bytes, 60)
{
    static const pl_program prog = { .name = "t", .start = rounds_start };
    pl_run_opts o = { .backend = k };
    atomic_store(&listen_port, 0);
    pthread_t th;
    pthread_create(&th, NULL, rounds, NULL);
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    void *ok;
    pthread_join(th, &ok);
    cr_assert_eq((intptr_t)ok, ROUNDS, "%ld rounds echoed exactly", (long)(intptr_t)ok);
    fflush(stdout);
    cr_assert_stdout_eq_str("served 200\n");
}
