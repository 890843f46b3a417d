/* machine_prog.c — a program of its own on libpluto, for test_machine.sh:
 * `tally boot DIR [--every MS]` and `tally start DIR` come with pl_main.
 * It logs `tally N` every interval; N lives in the timer task's memory. */
#include <pluto/pluto.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cfg { uint64_t every; } cfg;
typedef struct mem { uint64_t n; } mem;

static pl_verdict on_tick(pl_ctx *cx, void *p, const pl_answer *a)
{
    mem *m = p;
    if (a->err == 0)
        pl_logf(cx, "tally %" PRIu64, ++m->n);
    return PL_KEEP;
}
static PL_HANDLER(h_tick, on_tick);

static void start(pl_ctx *cx, const void *p)
{
    const cfg *c = p;
    mem m = { 0 };
    pl_cmd t = pl_cmd_timer(c->every, c->every);
    pl_send(cx, &t, &h_tick, &m, sizeof m);
}

static int parse(void *p, int argc, char **argv, char *err, size_t n)
{
    cfg *c = p;
    c->every = 20;
    if (argc == 2 && strcmp(argv[0], "--every") == 0 && atoi(argv[1]) > 0) {
        c->every = (uint64_t)atoi(argv[1]);
        return 0;
    }
    if (argc == 0)
        return 0;
    snprintf(err, n, "unexpected argument '%s'", argv[0]);
    return 2;
}

static const pl_handler *const handlers[] = { &h_tick, NULL };
static const pl_program prog = {
    .name = "tally", .version = "1.0", .summary = "a tally that goes up", .usage = "[--every MS]",
    .handlers = handlers, .cfg_size = sizeof(cfg), .parse = parse, .start = start,
};

int main(int argc, char **argv) { return pl_main(&prog, argc, argv); }
