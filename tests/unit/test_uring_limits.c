/* test_uring_limits.c — descriptor limits on both live backends (live.h):
 *   - an exact descriptor budget while 40 clients pile up on 7 slots
 *     (io_uring's multishot accept takes clients before the loop asks);
 *   - EMFILE from the kernel: accepting pauses instead of spinning the CPU;
 *   - `auto` where io_uring is blocked (a seccomp filter, as in many
 *     containers): the run goes on epoll and says why in one line.
 */
#include "live.h"

#include <criterion/redirect.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- clients of a listener beyond the descriptor budget ---------------- */

/* The listener holds one of the 8, and accepting leaves one (an eighth) for
 * what clients open: 6 at once. */
enum { NCLIENTS = 40, BUDGET = 8 };

static _Atomic int listen_port;

/* Clients: n sockets, made beforehand (EMFILE test) or by the thread. */
typedef struct cl { int n; int fds[64]; bool made; } cl;

/* Connect the clients once the listener is up; wait for each to be closed. */
static void *clients(void *arg)
{
    cl *c = arg;
    intptr_t closed = 0;
    while (atomic_load(&listen_port) == 0)
        usleep(1000);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(listen_port) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    for (int i = 0; i < c->n; i++) {
        if (!c->made)
            c->fds[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fds[i] < 0 || connect(c->fds[i], (struct sockaddr *)&sa, sizeof sa) != 0)
            return (void *)(intptr_t)-1;
    }
    for (int i = 0; i < c->n; i++) {
        char ch;
        while (read(c->fds[i], &ch, 1) > 0) {}
        closed++;
        close(c->fds[i]);
    }
    return (void *)closed;
}

typedef struct bud { uint32_t open, max, served; } bud;
static pl_ref bud_ref;

static pl_verdict on_hold_over(pl_ctx *cx, void *mem, const pl_answer *a)
{
    bud *b = pl_ref_mut(cx, bud_ref, NULL);
    pl_cmd c = pl_cmd_close(*(int *)mem);
    pl_send(cx, &c, NULL, NULL, 0);
    b->open--;
    if (++b->served == NCLIENTS) {
        pl_logf(cx, "served %u, at most %u at once", b->served, b->max);
        pl_exit(cx, 0);
    }
    return PL_DONE;
}
static PL_HANDLER(h_hold_over, on_hold_over);

static pl_verdict on_bud_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        atomic_store(&listen_port, a->port);
        return PL_KEEP;
    }
    bud *b = pl_ref_mut(cx, bud_ref, NULL);
    if (++b->open > b->max)
        b->max = b->open;
    pl_cmd t = pl_cmd_timer(20, 0);         /* hold it a while: the others pile up */
    pl_send(cx, &t, &h_hold_over, &a->fd, sizeof a->fd);
    return PL_KEEP;
}
static PL_HANDLER(h_bud_client, on_bud_client);

static void bud_start(pl_ctx *cx, const void *cfg)
{
    bud_ref = pl_ref_new(cx, NULL, sizeof(bud));
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_bud_client, NULL, 0);
}

LIVE_TEST(clients_beyond_the_budget_wait_for_a_slot, 30)
{
    static const pl_program prog = { .name = "t", .start = bud_start };
    pl_run_opts o = { .backend = k, .max_open = BUDGET };
    pthread_t th;
    cl c = { .n = NCLIENTS };
    pthread_create(&th, NULL, clients, &c);
    cr_redirect_stdout();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    void *closed;
    pthread_join(th, &closed);
    cr_assert_eq((intptr_t)closed, NCLIENTS);
    fflush(stdout);
    cr_assert_stdout_eq_str("served 40, at most 6 at once\n");
}

/* ---- EMFILE: accepting pauses, the CPU stays idle ---------------------- */

static pl_verdict on_emf_done(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const bud *b = pl_ref_get(cx, bud_ref, NULL);
    pl_logf(cx, "accepted %u", b->open);
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_emf_done, on_emf_done);

static pl_verdict on_emf_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    cr_assert_eq(a->err, 0);
    if (a->kind == PL_ANS_LISTENING) {
        atomic_store(&listen_port, a->port);
        pl_cmd t = pl_cmd_timer(1500, 0);
        pl_send(cx, &t, &h_emf_done, NULL, 0);
        return PL_KEEP;
    }
    bud *b = pl_ref_mut(cx, bud_ref, NULL);
    b->open++;                              /* kept open: the table stays full */
    return PL_KEEP;
}
static PL_HANDLER(h_emf_client, on_emf_client);

static void emf_start(pl_ctx *cx, const void *cfg)
{
    bud_ref = pl_ref_new(cx, NULL, sizeof(bud));
    pl_cmd l = pl_cmd_listen("127.0.0.1", 0);
    pl_send(cx, &l, &h_emf_client, NULL, 0);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The runtime's budget comes from RLIMIT_NOFILE, so descriptors the process
 * holds outside the runtime (here: 110 of 128, with 30 client sockets) make
 * the kernel say EMFILE first. Of 30 waiting clients about 15 fit; for 1.5 s
 * the others wait. */
LIVE_TEST(emfile_pauses_accepting_without_spinning, 30)
{
    static const pl_program prog = { .name = "t", .start = emf_start };
    struct rlimit rl = { 128, 128 };
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    static cl c = { .n = 30, .made = true };
    for (int i = 0; i < c.n; i++)
        c.fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    while (fcntl(110, F_GETFD) < 0)
        if (open("/dev/null", O_RDONLY) < 0)
            break;                          /* fill the table up to 111 */
    pthread_t th;
    pthread_create(&th, NULL, clients, &c);
    pl_run_opts o = { .backend = k };
    cr_redirect_stdout();
    double before = cpu_seconds();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    double used = cpu_seconds() - before;
    fflush(stdout);
    char out[64] = "";
    cr_assert_not_null(fgets(out, sizeof out, cr_get_redirected_stdout()));
    unsigned accepted = 0;
    cr_assert_eq(sscanf(out, "accepted %u", &accepted), 1, "%s", out);
    cr_assert(accepted > 0 && accepted < 30, "accepted %u of 30: EMFILE never came", accepted);
    cr_log_info("accepted %u of 30, %.3f s of CPU", accepted, used);
    cr_assert_lt(used, 0.3, "%.2f s of CPU in a 1.5 s pause: the loop spins", used);
    pthread_detach(th);                     /* its clients are never closed */
}

/* ---- auto where io_uring is blocked: epoll, and one line saying why ---- */

/* What many containers do: io_uring_setup fails with EPERM. */
static void block_io_uring(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof f / sizeof f[0], .filter = f };
    cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
    cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0);
}

static pl_verdict on_hi(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_logf(cx, "ran");
    return PL_DONE;
}
static PL_HANDLER(h_hi, on_hi);

static void hi_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd t = pl_cmd_timer(1, 0);
    pl_send(cx, &t, &h_hi, NULL, 0);
}

Test(uring, auto_falls_back_to_epoll_when_io_uring_is_blocked, .timeout = 10)
{
    static const pl_program prog = { .name = "t", .start = hi_start };
    unsetenv("PLUTO_BACKEND");
    block_io_uring();
    pl_run_opts o = { .backend = PL_BACKEND_AUTO };
    cr_redirect_stdout();
    cr_redirect_stderr();
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);
    cr_assert_eq(pl_run(&prog, NULL, &o), 0);     /* said once per process */
    o.backend = PL_BACKEND_URING;
    cr_assert_eq(pl_run(&prog, NULL, &o), 1);     /* by name: an error */
    fflush(stdout);
    fflush(stderr);
    cr_assert_stdout_eq_str("ran\nran\n");
    cr_assert_stderr_eq_str(
        "pluto: io_uring unavailable (io_uring_setup: Operation not permitted); using epoll\n"
        "pluto: io_uring cannot run here: io_uring_setup: Operation not permitted\n");
}
