/* pluto.c — the `pluto` command: the library plus the built-in programs.
 *
 *   pluto PORT DIR              pluto serve [DIR] [options]
 *   pluto echo [PORT]           pluto hello
 *   pluto walk DIR [--jobs N]   pluto sim APP [--seed N] [options] [ARGS]
 *   pluto counter [--interval-ms N]
 *   pluto kv [--port P] [--bind ADDR]
 *   pluto inspect DIR           a machine's state and damage (src/machine)
 *   pluto boot DIR APP [ARGS]   a durable machine (lib_machine.c)
 *   pluto start DIR             resume it
 */
#include "apps/apps.h"
#include "cli/lib_machine.h"
#include "machine/machine.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const pl_program *const APPS[] = { &pl_app_serve, &pl_app_echo, &pl_app_hello,
                                          &pl_app_walk, &pl_app_counter, &pl_app_kv };
enum { NAPPS = sizeof APPS / sizeof APPS[0] };

/* One command of the list: its words, then what it does, on the next line
 * when the words are too long to share one. */
static void command_line(FILE *f, const char *head, const char *what)
{
    if (strlen(head) > 26)
        fprintf(f, "  %s\n  %-26s %s\n", head, "", what);
    else
        fprintf(f, "  %-26s %s\n", head, what);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: pluto COMMAND [ARGS]\n       pluto PORT DIR [serve options]\n\n"
               "Pure-handler network programs, run live (io_uring or epoll), in a\n"
               "deterministic simulator, or as durable machines.\n\ncommands:\n");
    for (int i = 0; i < NAPPS; i++) {
        char head[96];
        snprintf(head, sizeof head, "%s %s", APPS[i]->name, APPS[i]->usage);
        command_line(f, head, APPS[i]->summary);
    }
    command_line(f, "sim APP [--seed N] [ARGS]",
                 "run APP against the simulated world; prints `trace <hash>` last");
    command_line(f, "boot DIR APP [ARGS]", "run APP as a durable machine in DIR (a new directory)");
    command_line(f, "start DIR", "resume the machine in DIR where it stopped");
    command_line(f, "inspect DIR", "a machine: program, options, arguments, last sequence,"
                                   " snapshots, log, damage");
    fprintf(f, "\noptions:\n  -h, --help     this text (pluto COMMAND --help: the command's)\n"
               "  --version      print the version\n");
}

static bool is_port(const char *s)
{
    uint16_t port;
    return s[0] >= '0' && s[0] <= '9' && pl_app_port(s, &port) == 0;
}

static const pl_program *find(const char *name)
{
    for (int i = 0; i < NAPPS; i++)
        if (strcmp(APPS[i]->name, name) == 0)
            return APPS[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (argc >= 3 && is_port(cmd)) {        /* the short form: pluto PORT DIR [options] */
        char *args[argc + 1];
        args[0] = argv[2];
        args[1] = "--port";
        args[2] = argv[1];
        for (int i = 3; i < argc; i++)
            args[i] = argv[i];
        return pl_cli_run(&pl_app_serve, "pluto", argc, args, 0);
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("pluto %s\n", PL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "inspect") == 0)
        return pm_inspect_main("pluto inspect", argc - 2, argv + 2);
    if (strcmp(cmd, "boot") == 0 || strcmp(cmd, "start") == 0)
        return pl__machine_cli(APPS, NAPPS, cmd[0] == 'b' ? "pluto boot" : "pluto start",
                               cmd[0] == 'b', argc - 2, argv + 2);
    int sim = strcmp(cmd, "sim") == 0;
    if (sim) {
        if (argc < 3) {
            fprintf(stderr, "pluto sim: missing APP\n");
            usage(stderr);
            return 2;
        }
        cmd = argv[2];
        if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
            printf("usage: pluto sim APP [--seed N] [simulator options] [ARGS]\n"
                   "Run APP (");
            for (int i = 0; i < NAPPS; i++)
                printf("%s%s", i ? ", " : "", APPS[i]->name);
            printf(") against the simulated world,\nfrom its seed; prints `trace <hash>` "
                   "last. pluto sim APP --help: the simulator's options.\n");
            return 0;
        }
    }
    const pl_program *p = find(cmd);
    if (p == NULL) {
        fprintf(stderr, "pluto: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    char argv0[64];
    snprintf(argv0, sizeof argv0, "pluto %s%s", sim ? "sim " : "", p->name);
    int skip = sim ? 3 : 2;
    return pl_cli_run(p, argv0, argc - skip, argv + skip, sim);
}
