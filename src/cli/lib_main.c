/* lib_main.c — the command line every Pluto program gets.
 *
 *   prog [--backend B] [ARGS]        run live (B: auto, epoll or uring)
 *   prog sim [SIM OPTIONS] [ARGS]    run against the simulated world
 *   prog boot DIR [ARGS]             a durable machine in DIR (lib_machine.c)
 *   prog start DIR                   resume it
 *
 * Arguments are parsed by the program's own pure parse(); a usage error is
 * reported on stderr with exit code 2.
 */
#include "pluto/pluto.h"
#include "cli/lib_machine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char SIM_HELP[] =
    "simulator options:\n"
    "  --seed N       seed of the simulated world (default 1)\n"
    "  --clients N    simulated TCP clients (default 20)\n"
    "  --bytes N      bytes each client sends at most (default 65536)\n"
    "  --files N      files in the simulated tree (default 200)\n"
    "  --no-faults    inject no faults (resets, EMFILE, EIO, short writes)\n"
    "  --http         the clients speak HTTP (the default for serve)\n"
    "  --break-check  test only: the HTTP checker expects wrong bytes (exits 3)\n"
    "  --max-open N   descriptors the program may hold (default 64)\n"
    "  --verbose      print one line per answer delivered\n";

static int number(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != 0)
        return -1;
    *out = v;
    return 0;
}

/* Take the simulator's options out of argv; the rest stays for the program. */
static int sim_options(pl_run_opts *o, int *argc, char **argv, const char *argv0)
{
    int out = 0;
    o->sim.faults = 1;
    o->sim.seed = 1;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        uint64_t v = 0;
        uint64_t *dst = NULL;
        if (strcmp(a, "--no-faults") == 0) { o->sim.faults = 0; continue; }
        if (strcmp(a, "--verbose") == 0) { o->sim.verbose = 1; continue; }
        if (strcmp(a, "--http") == 0) { o->sim.scenario = "http"; continue; }
        if (strcmp(a, "--break-check") == 0) { o->sim.break_check = 1; continue; }
        if (strcmp(a, "--seed") == 0) dst = &o->sim.seed;
        else if (strcmp(a, "--bytes") == 0) dst = &o->sim.bytes;
        else if (strcmp(a, "--clients") == 0 || strcmp(a, "--files") == 0 ||
                 strcmp(a, "--max-open") == 0) dst = &v;
        if (dst == NULL) {
            argv[out++] = argv[i];
            continue;
        }
        if (i + 1 == *argc || number(argv[i + 1], dst) != 0) {
            fprintf(stderr, "%s: %s needs a number\n%s", argv0, a, SIM_HELP);
            return 2;
        }
        i++;
        if (strcmp(a, "--clients") == 0) o->sim.clients = (uint32_t)v;
        if (strcmp(a, "--files") == 0) o->sim.files = (uint32_t)v;
        if (strcmp(a, "--max-open") == 0) o->max_open = (uint32_t)v;
    }
    *argc = out;
    return 0;
}

static const char LIVE_HELP[] =
    "live options:\n"
    "  --backend B    auto (default: io_uring where the kernel allows it, else\n"
    "                 epoll; PLUTO_BACKEND=B in the environment), epoll or uring\n";

/* Take --backend B out of argv; the rest stays for the program. */
static int live_options(pl_run_opts *o, int *argc, char **argv, const char *argv0)
{
    static const char *const names[] = { "auto", "epoll", "uring" };
    static const pl_backend_kind kinds[] = { PL_BACKEND_AUTO, PL_BACKEND_EPOLL,
                                             PL_BACKEND_URING };
    int out = 0;
    for (int i = 0; i < *argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--backend") == 0 && i + 1 < *argc)
            v = argv[++i];
        else if (strncmp(argv[i], "--backend=", 10) == 0)
            v = argv[i] + 10;
        else if (strcmp(argv[i], "--backend") != 0) {
            argv[out++] = argv[i];
            continue;
        }
        int k = 0;
        while (k < 3 && (v == NULL || strcmp(v, names[k]) != 0))
            k++;
        if (k == 3) {
            fprintf(stderr, "%s: --backend needs auto, epoll or uring\n%s", argv0, LIVE_HELP);
            return 2;
        }
        o->backend = kinds[k];
    }
    *argc = out;
    return 0;
}

int pl_cli_run(const pl_program *p, const char *argv0, int argc, char **argv, int sim)
{
    pl_run_opts o = { .backend = sim ? PL_BACKEND_SIM : PL_BACKEND_AUTO };
    o.sim.scenario = p->name;
    if (sim && sim_options(&o, &argc, argv, argv0) != 0)
        return 2;
    if (!sim && live_options(&o, &argc, argv, argv0) != 0)
        return 2;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s %s\n%s\n%s%s", argv0, p->usage, p->summary,
                   p->options ? p->options : "", sim ? SIM_HELP : LIVE_HELP);
            return 0;
        }
    }
    void *cfg = calloc(1, p->cfg_size ? p->cfg_size : 1);
    char err[512] = "";
    if (cfg == NULL)
        return 1;
    if (p->parse(cfg, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\nusage: %s %s\n", argv0, err, argv0, p->usage);
        free(cfg);
        return 2;
    }
    if (p->tune)
        p->tune(cfg, &o);
    int code = pl_run_workers(p, cfg, p->cfg_size ? p->cfg_size : 1, &o);
    free(cfg);
    return code;
}

int pl_main(const pl_program *p, int argc, char **argv)
{
    const char *argv0 = argc > 0 ? argv[0] : p->name;
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("%s %s (pluto %s)\n", p->name, p->version, PL_VERSION);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "sim") == 0)
        return pl_cli_run(p, argv0, argc - 2, argv + 2, 1);
    if (argc > 1 && (strcmp(argv[1], "boot") == 0 || strcmp(argv[1], "start") == 0)) {
        char name[128];
        snprintf(name, sizeof name, "%s %s", argv0, argv[1]);
        const pl_program *const progs[] = { p };
        return pl__machine_cli(progs, 1, name, argv[1][0] == 'b', argc - 2, argv + 2);
    }
    return pl_cli_run(p, argv0, argc - 1, argv + 1, 0);
}
