/* lib_machine.c — durable machines from a program or the command line.
 *
 *   prog boot DIR [ARGS]      pluto boot DIR APP [ARGS]
 *   prog start DIR            pluto start DIR
 *
 * Both take, anywhere after the subcommand (before or after the program's
 * own arguments; after `--` everything is the program's):
 *   --fsync always|interval|never   --snapshot-every N   --backend B
 *   --user NAME   --no-sandbox   --sandbox
 * At boot they are recorded in the machine (fsync and snapshots in meta, the
 * sandbox's with the arguments); at start they apply to that run. A machine
 * is sandboxed unless told not to (machine_sandbox.c).
 * Exit codes: 2 for bad options or arguments (with a usage line), 1 when
 * the machine cannot be booted or started (with the reason), else the run's.
 */
#include "cli/lib_machine.h"
#include "runtime/machine.h"
#include "machine/machine.h"
#include "backend/ossandbox.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char MACHINE_HELP[] =
    "machine options (anywhere after the subcommand):\n"
    "  --fsync P            always (default: fdatasync once per loop turn), interval\n"
    "                       (at most once a second) or never\n"
    "  --snapshot-every N   a snapshot every N events (default 10000; 0: none)\n"
    "  --backend B          auto, epoll or uring\n"
    "  --user NAME          started as root: run as NAME once live (the directory\n"
    "                       is given to NAME)\n"
    "  --no-sandbox         no Landlock, no seccomp (by default: read and write the\n"
    "                       machine's directory only; see README \"Sandbox\")\n"
    "  --sandbox            start: sandboxed again after a boot with --no-sandbox\n";

static int run(pl__mach *m)
{
    while (pl__mach_turn(m))
        ;
    int code = pl__mach_end(m);
    pl__sandbox_end();
    return code;
}

static pl__mach_opts mach_opts(const char *dir, const pl_machine_opts *o)
{
    pl__mach_opts mo = { .dir = dir, .sandbox = true };
    if (o == NULL)
        return mo;
    mo.run.sandbox.mode = o->sandbox;
    mo.run.sandbox.user = o->user;
    mo.run.backend = o->backend == PL_BACKEND_SIM ? PL_BACKEND_AUTO : o->backend;
    mo.fsync_given = o->fsync != PL_FSYNC_DEFAULT;
    mo.fsync = o->fsync == PL_FSYNC_INTERVAL ? PM_FSYNC_INTERVAL
             : o->fsync == PL_FSYNC_NEVER ? PM_FSYNC_NEVER : PM_FSYNC_ALWAYS;
    mo.snapshot_given = o->snapshot_given;
    mo.snapshot_every = o->snapshot_every;
    return mo;
}

/* Log lines go out whole as they are written: a line the process printed
 * before it died is a line whose LOG was answered, and no other. And a stop
 * signal that comes while the machine is still starting waits (blocked) for
 * the live backend, which then stops it cleanly. */
static void prepare(void)
{
    static bool done;
    if (!done)
        setvbuf(stdout, NULL, _IOLBF, 0);
    done = true;
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
}

static int boot_as(const char *argv0, const pl_program *p, const char *dir, int argc,
                   char **argv, const pl_machine_opts *o)
{
    prepare();
    pl__mach_opts mo = mach_opts(dir, o);
    char msg[1024];
    if (o != NULL && pl__sandbox_user_check(o->user, msg, sizeof msg) != 0) {
        fprintf(stderr, "%s: %s\n", argv0, msg);     /* before the machine is made */
        return 1;
    }
    pl__mach *m;
    int code = pl__mach_boot(&m, p, argc, argv, &mo, msg, sizeof msg);
    if (code == 2)
        fprintf(stderr, "%s: %s\nusage: %s DIR %s%s %s\n", argv0, msg, argv0,
                strcmp(argv0, "pluto boot") == 0 ? "APP " : "", p->name, p->usage);
    else if (code != 0)
        fprintf(stderr, "%s: %s: %s\n", argv0, dir, msg);
    return code ? code : run(m);
}

static int start_as(const char *argv0, const pl_program *p, const char *dir,
                    const pl_machine_opts *o)
{
    prepare();
    pl__mach_opts mo = mach_opts(dir, o);
    char msg[1024];
    pl__mach *m;
    int code = pl__mach_start(&m, p, &mo, msg, sizeof msg);
    if (code != 0)
        fprintf(stderr, "%s: %s: %s\n", argv0, dir, msg);
    return code ? code : run(m);
}

int pl_machine_boot(const pl_program *p, const char *dir, int argc, char **argv,
                    const pl_machine_opts *o)
{
    char argv0[80];
    snprintf(argv0, sizeof argv0, "%s boot", p->name);
    return boot_as(argv0, p, dir, argc, argv, o);
}

int pl_machine_start(const pl_program *p, const char *dir, const pl_machine_opts *o)
{
    char argv0[80];
    snprintf(argv0, sizeof argv0, "%s start", p->name);
    return start_as(argv0, p, dir, o);
}

int pl_machine_program(const char *dir, char *name, size_t len)
{
    pm_disk *d;
    int e = pm_disk_posix_open(dir, 0, &d);
    pm_meta meta;
    if (e == 0) {
        e = pm_meta_read(d, &meta);
        pm_disk_destroy(d);
    }
    if (e < 0) {
        fprintf(stderr, "pluto start: %s: %s\n", dir,
                e == -ENOENT ? "not a machine (no meta file)" : pm_strerror(e));
        return -1;
    }
    snprintf(name, len, "%s", meta.program);
    return 0;
}

/* Take the machine options out of argv; the rest stays, in order. */
static int options(pl_machine_opts *o, int *argc, char **argv, const char *argv0)
{
    static const char *const backends[] = { "auto", "epoll", "uring" };
    static const pl_backend_kind kinds[] = { PL_BACKEND_AUTO, PL_BACKEND_EPOLL,
                                             PL_BACKEND_URING };
    int out = 0;
    bool rest = false;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *names[] = { "--fsync", "--snapshot-every", "--backend" };
        int which = -1;
        const char *v = NULL;
        for (int k = 0; k < 3 && !rest && which < 0; k++) {
            size_t n = strlen(names[k]);
            if (strcmp(a, names[k]) == 0)
                which = k, v = i + 1 < *argc ? argv[++i] : NULL;
            else if (strncmp(a, names[k], n) == 0 && a[n] == '=')
                which = k, v = a + n + 1;
        }
        if (!rest && strcmp(a, "--") == 0) {
            rest = true;
            continue;
        }
        if (!rest && (strcmp(a, "--no-sandbox") == 0 || strcmp(a, "--sandbox") == 0)) {
            o->sandbox = a[2] == 'n' ? PL_SANDBOX_OFF : PL_SANDBOX_ON;
            continue;
        }
        if (!rest && (strcmp(a, "--user") == 0 || strncmp(a, "--user=", 7) == 0)) {
            o->user = a[6] == '=' ? a + 7 : i + 1 < *argc ? argv[++i] : NULL;
            if (o->user == NULL || o->user[0] == 0) {
                fprintf(stderr, "%s: --user needs a user name\n", argv0);
                return 2;
            }
            continue;
        }
        if (which < 0) {
            argv[out++] = argv[i];
            continue;
        }
        bool ok = v != NULL;
        if (ok && which == 0) {
            pm_fsync f = PM_FSYNC_ALWAYS;
            ok = pm_fsync_parse(v, &f) == 0;
            o->fsync = f == PM_FSYNC_INTERVAL ? PL_FSYNC_INTERVAL
                     : f == PM_FSYNC_NEVER ? PL_FSYNC_NEVER : PL_FSYNC_ALWAYS;
        } else if (ok && which == 1) {
            char *end;
            ok = v[0] >= '0' && v[0] <= '9';
            o->snapshot_every = strtoull(v, &end, 10);
            ok = ok && *end == 0;
            o->snapshot_given = true;
        } else if (ok) {
            int k = 0;
            while (k < 3 && strcmp(v, backends[k]) != 0)
                k++;
            ok = k < 3;
            o->backend = ok ? kinds[k] : PL_BACKEND_AUTO;
        }
        if (!ok) {
            fprintf(stderr, "%s: %s needs %s\n", argv0, names[which],
                    which == 0 ? "always, interval or never"
                    : which == 1 ? "a number of events" : "auto, epoll or uring");
            return 2;
        }
    }
    *argc = out;
    return 0;
}

static void usage(FILE *f, const char *argv0, bool boot, bool app)
{
    if (boot)
        fprintf(f, "usage: %s DIR %s[ARGS] [machine options]\n", argv0, app ? "APP " : "");
    else
        fprintf(f, "usage: %s DIR [machine options]\n", argv0);
    fputs(MACHINE_HELP, f);
}

int pl__machine_cli(const pl_program *const *progs, size_t nprogs, const char *argv0,
                    bool boot, int argc, char **argv)
{
    bool app = nprogs > 1;
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout, argv0, boot, app);
            return 0;
        }
    pl_machine_opts o = { 0 };
    char **args = malloc(((size_t)argc + 1) * sizeof *args);
    if (args == NULL)
        return 1;
    memcpy(args, argv, (size_t)argc * sizeof *args);
    int n = argc, code = options(&o, &n, args, argv0);
    const pl_program *p = nprogs == 1 ? progs[0] : NULL;
    int need = boot && app ? 2 : 1;
    if (code == 0 && (n < need || (!boot && n > 1))) {
        fprintf(stderr, "%s: %s\n", argv0, n < need ? (n == 0 ? "missing DIR" : "missing APP")
                                                    : "start takes only DIR");
        code = 2;
    }
    char name[PM_PROG_MAX];
    if (code == 0 && app && !boot && pl_machine_program(args[0], name, sizeof name) < 0)
        code = 1;
    for (size_t i = 0; code == 0 && app && i < nprogs && p == NULL; i++)
        if (strcmp(progs[i]->name, boot ? args[1] : name) == 0)
            p = progs[i];
    if (code == 0 && p == NULL) {
        if (boot)
            fprintf(stderr, "%s: unknown APP '%s'\n", argv0, args[1]);
        else
            fprintf(stderr, "%s: %s: the machine runs program '%s', which is not built in\n",
                    argv0, args[0], name);
        code = boot ? 2 : 1;
    }
    if (code == 2)
        usage(stderr, argv0, boot, app);
    if (code == 0)
        code = boot ? boot_as(argv0, p, args[0], n - need, args + need, &o)
                    : start_as(argv0, p, args[0], &o);
    free(args);
    return code;
}
