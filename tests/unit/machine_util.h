/* machine_util.h — a durable machine driven by hand, for test_machine*.c.
 *
 * The machine runs on a simulated disk (src/machine/disk_sim.c) over a fake
 * live backend that performs nothing: it holds what it is given, lets the
 * test answer any task, and records every effect it is handed (log lines,
 * bytes sent, closes) in order. Each time it is handed an effect it checks
 * output commit: the answer that caused it (the last one journaled before
 * the handler call that made it) is durable.
 *
 * The program, `tmach`, uses most of the core: a shared ref, a repeating
 * timer, a listener whose connections read lines (pl_consume keeps a partial
 * line in the runtime's input buffer, pl_timeout gives each read a
 * deadline), a Join of two TIME commands at the start, a First every fifth
 * tick, and the machine's status stream. Its handlers are pure.
 */
#ifndef PLUTO_TESTS_MACHINE_UTIL_H
#define PLUTO_TESTS_MACHINE_UTIL_H

#include "runtime/machine.h"
#include "machine/disk.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the program --------------------------------------------------------- */

typedef struct tm_state { uint64_t ticks, bytes, lines, full, joins, firsts; } tm_state;
typedef struct tm_mem { pl_ref ref; uint64_t n; int fd; } tm_mem;

static inline tm_state *tm_get(pl_ctx *cx, pl_ref r) { return pl_ref_mut(cx, r, NULL); }

/* Memory with its padding zeroed: a task's memory is state, byte for byte. */
static inline tm_mem tm_mem_make(pl_ref ref, uint64_t n, int fd)
{
    tm_mem m;
    memset(&m, 0, sizeof m);
    m.ref = ref;
    m.n = n;
    m.fd = fd;
    return m;
}

static pl_verdict tm_on_first(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    tm_get(cx, m->ref)->firsts++;
    pl_logf(cx, "first %d", a->index);
    return PL_DONE;
}
static PL_HANDLER(tm_h_first, tm_on_first);

static pl_verdict tm_on_side(pl_ctx *cx, void *mem, const pl_answer *a)
{
    uint8_t side = *(uint8_t *)mem;
    pl_ret(cx, &side, 1);
    return PL_DONE;
}
static PL_HANDLER(tm_h_side, tm_on_side);

static pl_verdict tm_on_tick(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    if (a->err != 0)
        return PL_KEEP;
    m->n++;
    tm_get(cx, m->ref)->ticks++;
    pl_logf(cx, "tick %" PRIu64, m->n);
    if (m->n % 5 == 0) {
        uint8_t s0 = 0, s1 = 1;
        pl_start a0 = { pl_cmd_timer(1, 0), &tm_h_side, &s0, 1 };
        pl_start a1 = { pl_cmd_time(), &tm_h_side, &s1, 1 };
        pl_first(cx, &a0, &a1, &tm_h_first, m, sizeof *m);
    }
    return PL_KEEP;
}
static PL_HANDLER(tm_h_tick, tm_on_tick);

static pl_verdict tm_on_data(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    if (a->err != 0 || a->len == 0) {
        pl_cmd c = pl_cmd_close(m->fd);
        pl_send(cx, &c, NULL, NULL, 0);
        return PL_DONE;
    }
    size_t used = 0;
    for (size_t i = 0; i < a->len; i++) {
        if (a->data[i] != '\n')
            continue;
        const char *line = (const char *)a->data + used;
        size_t n = i - used;
        used = i + 1;
        tm_state *s = tm_get(cx, m->ref);
        s->lines++;
        s->bytes += n;
        if (n == 4 && memcmp(line, "quit", 4) == 0) {
            pl_cmd c = pl_cmd_close(m->fd);
            pl_send(cx, &c, NULL, NULL, 0);
            pl_consume(cx, used);
            return PL_DONE;
        }
        if (n == 4 && memcmp(line, "exit", 4) == 0)
            pl_exit(cx, 3);
        char out[300];
        int k = snprintf(out, sizeof out, "echo %.*s%s\n", (int)(n < 200 ? n : 200), line,
                         s->full ? " (full)" : "");
        pl_write(cx, m->fd, out, (size_t)k);
    }
    pl_consume(cx, used);
    pl_timeout(cx, 1000);
    return PL_KEEP;
}
static PL_HANDLER(tm_h_data, tm_on_data);

static pl_verdict tm_on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    if (a->kind != PL_ANS_CLIENT || a->err != 0)
        return PL_KEEP;
    tm_mem c = tm_mem_make(m->ref, 0, a->fd);
    pl_cmd r = pl_cmd_recv(a->fd);
    r.after_ms = 1000;
    pl_send(cx, &r, &tm_h_data, &c, sizeof c);
    return PL_KEEP;
}
static PL_HANDLER(tm_h_client, tm_on_client);

static pl_verdict tm_on_status(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    tm_get(cx, m->ref)->full = a->err == -ENOSPC;
    pl_logf(cx, "status %d", a->err);
    return a->err == 0 || a->err == -ENOSPC ? PL_KEEP : PL_DONE;
}
static PL_HANDLER(tm_h_status, tm_on_status);

static pl_verdict tm_on_joined(pl_ctx *cx, void *mem, const pl_answer *a)
{
    tm_mem *m = mem;
    tm_get(cx, m->ref)->joins++;
    pl_logf(cx, "joined %u %u", a->res[0].data[0], a->res[1].data[0]);
    return PL_DONE;
}
static PL_HANDLER(tm_h_joined, tm_on_joined);

static inline void tm_prog_start(pl_ctx *cx, const void *cfg)
{
    (void)cfg;
    tm_mem m = tm_mem_make(pl_ref_new(cx, NULL, sizeof(tm_state)), 0, -1);
    pl_cmd t = pl_cmd_timer(10, 10);
    pl_send(cx, &t, &tm_h_tick, &m, sizeof m);
    pl_cmd l = pl_cmd_listen("127.0.0.1", 9);
    pl_send(cx, &l, &tm_h_client, &m, sizeof m);
    pl_cmd s = pl_cmd_machine();
    pl_send(cx, &s, &tm_h_status, &m, sizeof m);
    uint8_t s0 = 0, s1 = 1;
    pl_start a0 = { pl_cmd_time(), &tm_h_side, &s0, 1 };
    pl_start a1 = { pl_cmd_time(), &tm_h_side, &s1, 1 };
    pl_join(cx, &a0, &a1, &tm_h_joined, &m, sizeof m);
}

static inline int tm_parse(void *cfg, int argc, char **argv, char *err, size_t n)
{
    (void)cfg;
    if (argc > 0 && strcmp(argv[0], "--bad") == 0) {
        snprintf(err, n, "bad argument");
        return 2;
    }
    return 0;
}

static const pl_handler *const tm_handlers[] = {
    &tm_h_first, &tm_h_side, &tm_h_tick, &tm_h_data, &tm_h_client, &tm_h_status,
    &tm_h_joined, NULL,
};

static const pl_program tm_prog = {
    .name = "tmach", .version = "1", .summary = "test", .usage = "", .handlers = tm_handlers,
    .cfg_size = 8, .parse = tm_parse, .start = tm_prog_start,
};

/* ---- the fake live backend ----------------------------------------------- */

enum { FK_MAX = 4096, FK_QUEUE = 4096 };

typedef struct fk_ans { pl_task_id id; pl_answer a; uint8_t data[512]; } fk_ans;

typedef struct fk {
    pl_rt *rt;
    pm_journal *j;              /* for the output commit check; NULL: none yet */
    pl__task *held[FK_MAX];
    size_t nheld;
    fk_ans q[FK_QUEUE];
    size_t nq;
    char out[1 << 16];          /* effects, in order: "L text\n", "S fd bytes\n", "C fd\n" */
    size_t outlen;
    uint64_t effects, clock;
    uint64_t *cause;            /* by handler call: the last seq journaled before it */
    uint64_t ncause, mapped;    /* calls 1..mapped have a cause */
} fk;

static fk g_fk;

static inline void fk_effect(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void fk_effect(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = sizeof g_fk.out - g_fk.outlen;
    int k = vsnprintf(g_fk.out + g_fk.outlen, room, fmt, ap);
    va_end(ap);
    if (k > 0 && (size_t)k < room)
        g_fk.outlen += (size_t)k;
    g_fk.effects++;
}

static inline void fk_queue(pl_task_id id, const pl_answer *a)
{
    cr_assert_lt(g_fk.nq, FK_QUEUE);
    fk_ans *q = &g_fk.q[g_fk.nq++];
    q->id = id;
    q->a = *a;
    if (a->len > 0) {
        cr_assert_leq(a->len, sizeof q->data);
        memcpy(q->data, a->data, a->len);
    }
}

static inline void *fk_create(pl_rt *rt, const pl_run_opts *o)
{
    (void)o;
    g_fk.rt = rt;
    return &g_fk;
}
static inline void fk_destroy(void *b) { (void)b; }
static inline void fk_kick(void *b) { (void)b; }
static inline void fk_finish(void *b, int code) { (void)b; (void)code; }

/* The calls made since the last mapping were caused by answers journaled up
 * to now (an upper bound: the check is only stricter for it). */
static inline void fk_map(void)
{
    uint64_t calls = g_fk.rt->call_seq;
    if (g_fk.j == NULL || calls <= g_fk.mapped)
        return;
    if (calls >= g_fk.ncause) {
        g_fk.ncause = calls * 2 + 64;
        g_fk.cause = realloc(g_fk.cause, g_fk.ncause * sizeof *g_fk.cause);
        cr_assert_not_null(g_fk.cause);
    }
    for (uint64_t c = g_fk.mapped + 1; c <= calls; c++)
        g_fk.cause[c] = pm_journal_last_seq(g_fk.j);
    g_fk.mapped = calls;
}

static inline void fk_hold(pl__task *t)
{
    cr_assert_lt(g_fk.nheld, FK_MAX);
    g_fk.held[g_fk.nheld++] = t;
}

static inline void fk_submit(void *b, pl__task *t)
{
    (void)b;
    int kind = t->cmd.kind;
    fk_hold(t);
    if (kind == PL_CMD_LOG || kind == PL_CMD_SEND || kind == PL_CMD_SENDFILE ||
        kind == PL_CMD_CLOSE) {
        /* Output commit: the call that made it was caused by durable answers
         * (a call under way in this very poll is caused by the answer just
         * journaled, which is not durable yet). */
        cr_assert_not_null(g_fk.j, "an effect before the journal exists");
        fk_map();
        cr_assert_geq(pm_journal_synced_seq(g_fk.j), g_fk.cause[t->born],
                      "an effect released before its cause was durable");
        pl_answer a = { .kind = pl__ans_kind_of(kind) };
        if (kind == PL_CMD_LOG)
            fk_effect("L %.*s\n", (int)t->cmd.len, t->cmd.text);
        else if (kind == PL_CMD_SEND)
            fk_effect("S %d %.*s", t->cmd.fd, (int)t->data_len, (const char *)t->data);
        else
            fk_effect("C %d\n", t->cmd.fd);
        a.n = t->data_len;
        fk_queue(t->id, &a);
    } else if (kind == PL_CMD_TIME) {
        pl_answer a = { .kind = PL_ANS_TIME, .wall_ns = (int64_t)++g_fk.clock * 1000,
                        .mono_ns = (int64_t)g_fk.clock };
        fk_queue(t->id, &a);
    }
}

static inline void fk_cancel(void *b, pl__task *t)
{
    (void)b;
    for (size_t i = 0; i < g_fk.nheld; i++)
        if (g_fk.held[i] == t) {
            memmove(&g_fk.held[i], &g_fk.held[i + 1], (g_fk.nheld - i - 1) * sizeof t);
            g_fk.nheld--;
            break;
        }
}

static inline pl__task *fk_find(pl_task_id id)
{
    for (size_t i = 0; i < g_fk.nheld; i++)
        if (g_fk.held[i]->id == id)
            return g_fk.held[i];
    return NULL;
}

/* Deliver what was queued, in order; answers to tasks no longer held (a
 * cancelled task) are dropped, as a backend would. */
static inline int fk_poll(void *b, bool block)
{
    (void)b;
    (void)block;
    size_t n = g_fk.nq;
    fk_ans *q = malloc((n ? n : 1) * sizeof *q);
    cr_assert_not_null(q);
    memcpy(q, g_fk.q, n * sizeof *q);
    g_fk.nq = 0;
    int delivered = 0;
    fk_map();
    for (size_t i = 0; i < n && !pl__exiting(g_fk.rt); i++) {
        pl__task *t = fk_find(q[i].id);
        if (t == NULL)
            continue;
        pl_answer a = q[i].a;
        a.data = q[i].data;
        if (pl__is_final(t, &a))
            fk_cancel(NULL, t);         /* the backend lets go before a last answer */
        if (a.kind == PL_ANS_CLIENT && a.err == 0)
            pl__fd_opened(g_fk.rt, a.fd);
        pl__deliver(g_fk.rt, t, &a);
        fk_map();
        delivered++;
    }
    free(q);
    return delivered;
}

static const pl__backend fk_backend = {
    .name = "fake", .create = fk_create, .destroy = fk_destroy, .submit = fk_submit,
    .cancel = fk_cancel, .kick = fk_kick, .poll = fk_poll, .finish = fk_finish,
    .untraced = true,
};

/* ---- driving a machine ------------------------------------------------------ */

enum { TM_RESERVE = 64 * 1024 };     /* a small reserve file: quick to write */
static uint64_t g_now = 1000;
static inline uint64_t tm_now(void) { return g_now; }
static char *g_errbuf;
static size_t g_errlen;
static FILE *g_err;

/* Messages the machine printed since the last call (NUL-terminated). */
static inline const char *tm_said(void)
{
    if (g_err == NULL)
        return "";
    fflush(g_err);
    return g_errbuf ? g_errbuf : "";
}

static inline pl__mach_opts tm_opts(pm_disk *d)
{
    if (g_err == NULL)
        g_err = open_memstream(&g_errbuf, &g_errlen);
    return (pl__mach_opts){ .disk = d, .live = &fk_backend, .no_placeholders = true,
                            .reserve_bytes = TM_RESERVE, .now_ms = tm_now, .err = g_err };
}

static inline void fk_reset(void)
{
    free(g_fk.cause);
    memset(&g_fk, 0, sizeof g_fk);
}

static inline pl__mach *tm_boot_with(pm_disk *d, const pl_program *p, uint64_t snapshot_every)
{
    fk_reset();
    pl__mach_opts o = tm_opts(d);
    o.snapshot_given = true;
    o.snapshot_every = snapshot_every;
    char msg[1024] = "";
    pl__mach *m;
    int code = pl__mach_boot(&m, p, 0, NULL, &o, msg, sizeof msg);
    cr_assert_eq(code, 0, "boot: %s", msg);
    g_fk.j = pl__mach_journal(m);
    return m;
}

static inline pl__mach *tm_boot(pm_disk *d, uint64_t snapshot_every)
{
    return tm_boot_with(d, &tm_prog, snapshot_every);
}

/* Start; 0 and *out, or the exit code with the message in msg. */
static inline int tm_try_start(pm_disk *d, const pl_program *p, pl__mach **out, char *msg,
                               size_t len)
{
    fk_reset();
    pl__mach_opts o = tm_opts(d);
    int code = pl__mach_start(out, p, &o, msg, len);
    if (code == 0)
        g_fk.j = pl__mach_journal(*out);
    return code;
}

static inline pl__mach *tm_start(pm_disk *d)
{
    char msg[1024] = "";
    pl__mach *m = NULL;
    int code = tm_try_start(d, &tm_prog, &m, msg, sizeof msg);
    cr_assert_eq(code, 0, "start: %s", msg);
    return m;
}

static inline bool tm_turn(pl__mach *m) { return pl__mach_turn(m); }

/* Turns with nothing new: the last answers are committed, their effects
 * performed and answered, and those answers committed too. */
static inline void tm_settle(pl__mach *m)
{
    for (int i = 0; i < 4; i++)
        tm_turn(m);
}

/* The newest task the fake holds of this kind (on fd when fd >= 0), or 0. */
static inline pl_task_id tm_task(int kind, int fd, uint64_t every)
{
    pl_task_id best = 0;
    for (size_t i = 0; i < g_fk.nheld; i++) {
        const pl__task *t = g_fk.held[i];
        if (t->cmd.kind == kind && (fd < 0 || t->cmd.fd == fd) && t->id > best &&
            (kind != PL_CMD_TIMER || t->cmd.every_ms == every))
            best = t->id;
    }
    return best;
}

static inline void tm_answer(pl_task_id id, pl_answer a) { fk_queue(id, &a); }

static inline void tm_tick(pl__mach *m)
{
    pl_task_id id = tm_task(PL_CMD_TIMER, -1, 10);
    cr_assert_neq(id, 0, "the repeating timer is pending");
    tm_answer(id, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    tm_turn(m);
}

static inline void tm_connect(pl__mach *m, int fd)
{
    pl_task_id id = tm_task(PL_CMD_LISTEN, -1, 0);
    cr_assert_neq(id, 0, "the listener is pending");
    tm_answer(id, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = fd, .port = 1234,
                               .peer = "127.0.0.1" });
    tm_turn(m);
}

static inline void tm_feed(pl__mach *m, int fd, const char *s)
{
    pl_task_id id = tm_task(PL_CMD_RECV, fd, 0);
    cr_assert_neq(id, 0, "a receive on %d is pending", fd);
    tm_answer(id, (pl_answer){ .kind = PL_ANS_DATA, .data = (const uint8_t *)s,
                               .len = strlen(s) });
    tm_turn(m);
}

static inline uint64_t tm_hash(pl__mach *m) { return pl__state_hash(pl__mach_rt(m)); }

static inline const tm_state *tm_program_state(pl__mach *m)
{
    pl_rt *rt = pl__mach_rt(m);
    cr_assert_geq(rt->nrefs, 1);
    return (const tm_state *)rt->refs[0].p;
}

#endif
