/* machine_sandbox.c — a durable machine's sandbox (README "Sandbox").
 *
 * A machine of the command line (lib_machine.c) is sandboxed unless told
 * not to. Its own options, --no-sandbox and --user NAME, given to boot, are
 * recorded with the program's arguments (run_args.h) and hold at every
 * start; a start may override them for its run (--sandbox, --no-sandbox,
 * --user NAME). The rules are those of any sandboxed run (pl_sandbox): what
 * the program's tune asks for (serve's root and log, walk's directory; a
 * --no-sandbox of its own), and the machine's directory, read and written;
 * the allowlist gains the journal's calls (fsync, rename, ...).
 *
 * Landlock goes on once the machine is live: the journal open, a
 * placeholder (/dev/null, outside the directory) on each descriptor the old
 * process left open, the live backend made (its io_uring ring restricted),
 * what was pending re-issued. The rest — the user, seccomp, the line — once
 * the runtime sees the set-up over (setup.c): every listener re-issued at
 * go-live, and every LISTEN since, answered. Replay reads only the
 * directory, and issues nothing.
 */
#include "runtime/machine.h"
#include "machine/run_args.h"
#include "backend/ossandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pl__mach_args_write(pm_disk *d, int argc, char **argv, const pl__mach_opts *o)
{
    char *words[3];
    int n = 0;
    if (o->sandbox && o->run.sandbox.mode == PL_SANDBOX_OFF)
        words[n++] = "--no-sandbox";
    if (o->sandbox && o->run.sandbox.user != NULL) {
        words[n++] = "--user";
        words[n++] = (char *)o->run.sandbox.user;
    }
    return pm_args_write(d, argc, argv, n, words);
}

/* The user boot recorded (one machine per process). */
static char recorded_user[256];

int pl__mach_sandbox_opts(pl__mach *m, const pl__mach_opts *o, pl_run_opts *ro, char *msg,
                          size_t len)
{
    pl_sandbox *s = &ro->sandbox;
    if (!o->sandbox || o->dir == NULL) {
        *s = (pl_sandbox){ 0 };         /* a machine driven by tests: none */
        return 0;
    }
    int n;
    char **w;
    int e = pm_args_read_opts(m->disk, &n, &w);
    if (e < 0) {
        snprintf(msg, len, "its recorded options (the file args): %s", pm_strerror(e));
        return 1;
    }
    bool off = false;
    const char *user = NULL;
    for (int i = 0; i < n; i++) {
        if (strcmp(w[i], "--no-sandbox") == 0)
            off = true;
        else if (strcmp(w[i], "--user") == 0 && i + 1 < n)
            user = strncpy(recorded_user, w[++i], sizeof recorded_user - 1);
    }
    free(w);
    pl_sandbox_mode given = o->run.sandbox.mode;
    bool own_off = s->mode == PL_SANDBOX_OFF;   /* the program's own --no-sandbox */
    s->mode = given == PL_SANDBOX_OFF || (given == PL_SANDBOX_NONE && (off || own_off))
            ? PL_SANDBOX_OFF : PL_SANDBOX_ON;
    s->user = o->run.sandbox.user ? o->run.sandbox.user : user ? user : s->user;
    s->dir = o->dir;
    char why[256];
    if (pl__sandbox_user_check(s->user, why, sizeof why) != 0) {
        snprintf(msg, len, "%s", why);
        return 1;
    }
    return 0;
}

int pl__mach_sandbox_begin(pl__mach *m, const pl_run_opts *ro, char *msg, size_t len)
{
    if (ro->sandbox.mode == PL_SANDBOX_NONE)
        return 0;
    char why[256];
    if (pl__sandbox_begin(&ro->sandbox, 1, why, sizeof why) != 0) {
        pm_journal_abandon(m->j);       /* nothing of this start was committed */
        m->j = NULL;
        snprintf(msg, len, "%s", why);
        return 1;
    }
    pl__setup_begin(m->rt, ro);         /* counting what go-live re-issued */
    return 0;
}
