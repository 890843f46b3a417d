/* machine_run.c — a machine's life: boot, start, the loop, the end.
 *
 *   boot    parse the arguments, refuse a directory that holds a machine,
 *           record the arguments (args) and the meta, then start it as below
 *           with an empty log
 *   start   check the program (meta) and parse its arguments (args); restore:
 *           the newest valid snapshot (or the program's start), then the log
 *           after it, replayed (machine_replay.c); then go live
 *           (machine_golive.c)
 *   loop    as pl__loop; the machine backend's poll ends each turn
 *   end     stopped (SIGINT, SIGTERM: machine_live.c) or out of work: commit;
 *           the program exited: its last turn is not journaled
 *           (so start resumes before it) and only its log lines go out; the
 *           journal failed: nothing more goes out.
 */
#include "runtime/machine.h"
#include "machine/format.h"
#include "machine/run_args.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int failed(int code, char *msg, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int failed(int code, char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, len, fmt, ap);
    va_end(ap);
    return code;
}

static pl__mach *mach_new(const pl_program *p, const pl__mach_opts *o)
{
    pl__mach *m = calloc(1, sizeof *m);
    PL_ASSERT(m != NULL);
    m->prog = p;
    m->err = o->err ? o->err : stderr;
    m->now_ms = o->now_ms ? o->now_ms : mono_ms;
    m->no_placeholders = o->no_placeholders;
    m->live = o->live;
    m->reserve_bytes = o->reserve_bytes ? o->reserve_bytes : PL__RESERVE_BYTES;
    m->name = o->dir ? o->dir : "(disk)";
    m->jo.buffer_bytes = 64 << 20;      /* input pauses long before it fills */
    m->jo.fsync_given = o->fsync_given;
    m->jo.fsync = o->fsync;
    return m;
}

static void mach_free(pl__mach *m)
{
    m->rmap = NULL;                     /* a failed start: the map died with start_common */
    if (m->rt != NULL)
        pl__rt_destroy(m->rt);          /* the live backend too (mb_destroy) */
    for (int i = 0; i < 2; i++)
        free(m->stop[i]);
    if (m->own_disk)
        pm_disk_destroy(m->disk);
    free(m->stale);
    free(m->relisten);
    free(m->buf.p);
    free(m);
}

static int open_disk(pl__mach *m, const pl__mach_opts *o, bool boot, char *msg, size_t len)
{
    if (o->disk != NULL) {
        m->disk = o->disk;
        return 0;
    }
    int e = pm_disk_posix_open(o->dir, PM_DISK_LOCK | (boot ? PM_DISK_CREATE : 0), &m->disk);
    if (e == -EBUSY)
        return failed(1, msg, len, "in use by another process");
    if (e < 0)
        return failed(1, msg, len, "%s", e == -ENOENT ? "no such directory" : pm_strerror(e));
    m->own_disk = true;
    return 0;
}

static pl_run_opts run_opts(const pl_program *p, const void *cfg, const pl__mach_opts *o)
{
    pl_run_opts ro = o->run;
    if (p->tune)
        p->tune(cfg, &ro);
    ro.workers = 1;                     /* one loop: one journal, one order */
    if (ro.backend == PL_BACKEND_SIM)
        ro.backend = PL_BACKEND_AUTO;
    return ro;
}

/* The state when the previous process stopped, in a runtime on the replay
 * backend: from the newest valid snapshot or the program's start, then the
 * log. *from: the first record replayed. */
static int restore(pl__mach *m, const void *cfg, const pl_run_opts *ro, pl__tmap *held,
                   uint64_t *from, char *msg, size_t len)
{
    pl_rt *rt = pl__rt_create(m->prog, &pl__backend_replay, m, ro);
    m->rt = rt;
    rt->mach = m;
    rt->traced = false;
    pm_snap s;
    int e = pm_snap_load(m->disk, m->meta.id, &s);
    for (uint32_t i = 0; i < s.skipped && i < PM_SNAP_SKIPPED_MAX; i++)
        pl__mach_say(m, "snapshot %s skipped: %s", s.skip[i].name, s.skip[i].bad);
    if (e < 0 && e != -ENOENT)
        return failed(1, msg, len, "cannot read the snapshots: %s", pm_strerror(e));
    *from = 1;
    m->rmap = held;
    m->replaying = true;
    if (e == 0) {
        char why[256];
        int le = pl__state_load(rt, s.data, s.len, held, why, sizeof why);
        char name[PM_NAME_MAX];
        pm_name_snap(name, s.seq);
        pm_snap_free(&s);
        if (le < 0)
            return failed(1, msg, len, "%s: %s", name, why);
        *from = s.seq + 1;
    } else {
        pl__start(rt, m->prog, cfg);
        if (rt->exiting)                /* nothing to resume: the program ends at once */
            return failed(rt->exit_code ? rt->exit_code : 1, msg, len,
                          "the program exited as it started (exit code %d)", rt->exit_code);
    }
    m->replaying = false;
    if (pl__mach_replay(m, held, *from, msg, len) < 0)
        return 1;
    return 0;
}

/* The program that may run this machine: the same name, or one that
 * declares the migration. The meta then names the program that runs it. */
static int check_program(pl__mach *m, char *msg, size_t len)
{
    const pl_program *p = m->prog;
    const char *version = p->version ? p->version : "";
    bool same = strcmp(m->meta.program, p->name) == 0;
    for (const char *const *f = p->migrates_from; !same && f != NULL && *f != NULL; f++)
        same = strcmp(*f, m->meta.program) == 0;
    if (!same)
        return failed(1, msg, len, "the machine belongs to program '%s' %s, not '%s' (a "
                      "program takes another's machines over by naming it in migrates_from)",
                      m->meta.program, m->meta.version, p->name);
    if (strcmp(m->meta.program, p->name) == 0 && strcmp(m->meta.version, version) == 0)
        return 0;
    pl__mach_say(m, "now run by %s %s (was %s %s)", p->name, version, m->meta.program,
                 m->meta.version);
    snprintf(m->meta.program, sizeof m->meta.program, "%s", p->name);
    snprintf(m->meta.version, sizeof m->meta.version, "%s", version);
    m->meta_dirty = true;               /* written once the start succeeds */
    return 0;
}

static int start_common(pl__mach *m, const pl__mach_opts *o, int argc, char **argv,
                        char *msg, size_t len)
{
    void *cfg = calloc(1, m->prog->cfg_size ? m->prog->cfg_size : 1);
    PL_ASSERT(cfg != NULL);
    char err[512] = "";
    if (m->prog->parse(cfg, argc, argv, err, sizeof err) != 0) {
        free(cfg);
        return failed(2, msg, len, "the recorded arguments do not parse: %s", err);
    }
    pl_run_opts ro = run_opts(m->prog, cfg, o);
    int code = pl__mach_sandbox_opts(m, o, &ro, msg, len);     /* machine_sandbox.c */
    m->snapshot_every = o->snapshot_given ? o->snapshot_every : m->meta.snapshot_every;
    pl__tmap held = { 0 };
    uint64_t from = 1;
    int e;
    if (code == 0)
        code = restore(m, cfg, &ro, &held, &from, msg, len);
    if (code == 0 && m->meta_dirty && (e = pm_meta_write(m->disk, &m->meta)) < 0)
        code = failed(1, msg, len, "cannot record the program in meta: %s", pm_strerror(e));
    m->since_snap = m->replayed;        /* answers since the snapshot, across restarts */
    if (code == 0)
        code = pl__mach_go_live(m, &held, &ro, from, msg, len);
    if (code == 0)
        code = pl__mach_sandbox_begin(m, &ro, msg, len);    /* its paths are in cfg */
    free(cfg);
    pl__tmap_free(&held);
    if (code == 0 && pm_journal_last_seq(m->j) > 1)
        pl__mach_say(m, "resumed at seq %llu (%s, then %llu answers replayed)",
                     (unsigned long long)pm_journal_last_seq(m->j),
                     from > 1 ? "from a snapshot" : "from the start",
                     (unsigned long long)m->replayed);
    return code;
}

int pl__mach_start(pl__mach **out, const pl_program *p, const pl__mach_opts *o, char *msg,
                   size_t len)
{
    *out = NULL;
    pl__mach *m = mach_new(p, o);
    int code = open_disk(m, o, false, msg, len);
    int e = code ? 0 : pm_meta_read(m->disk, &m->meta);
    if (code == 0 && e < 0)
        code = failed(1, msg, len, "%s", e == -ENOENT ? "not a machine (no meta file)"
                                                      : pm_strerror(e));
    if (code == 0)
        code = check_program(m, msg, len);
    int argc = 0;
    char **argv = NULL;
    if (code == 0 && (e = pm_args_read(m->disk, &argc, &argv)) < 0)
        code = failed(1, msg, len, "its arguments (the file args): %s", pm_strerror(e));
    if (code == 0)
        code = start_common(m, o, argc, argv, msg, len);
    free(argv);
    if (code != 0) {
        mach_free(m);
        return code;
    }
    *out = m;
    return 0;
}

int pl__mach_boot(pl__mach **out, const pl_program *p, int argc, char **argv,
                  const pl__mach_opts *o, char *msg, size_t len)
{
    *out = NULL;
    void *cfg = calloc(1, p->cfg_size ? p->cfg_size : 1);
    PL_ASSERT(cfg != NULL);
    char err[512] = "";
    int bad = p->parse(cfg, argc, argv, err, sizeof err);
    free(cfg);
    if (bad)
        return failed(2, msg, len, "%s", err);
    pl__mach *m = mach_new(p, o);
    int code = open_disk(m, o, true, msg, len);
    pm_meta old;
    int e = code ? 0 : pm_meta_read(m->disk, &old);
    if (code == 0 && e != -ENOENT)
        code = failed(1, msg, len, "already holds a machine (start resumes it)");
    m->meta = (pm_meta){ .fsync = o->fsync_given ? o->fsync : PM_FSYNC_ALWAYS,
                         .snapshot_every = o->snapshot_given ? o->snapshot_every
                                                             : PL_SNAPSHOT_EVERY_DEFAULT };
    snprintf(m->meta.program, sizeof m->meta.program, "%s", p->name);
    snprintf(m->meta.version, sizeof m->meta.version, "%s", p->version ? p->version : "");
    while (m->meta.id == 0 && getrandom(&m->meta.id, sizeof m->meta.id, 0) != sizeof m->meta.id)
        m->meta.id = (uint64_t)mono_ms() * 0x9e3779b97f4a7c15ull;
    if (code == 0 && (e = pl__mach_args_write(m->disk, argc, argv, o)) == 0)
        e = pm_meta_create(m->disk, &m->meta);
    if (code == 0 && e < 0)
        code = failed(1, msg, len, "%s", e == -EEXIST ? "already holds a machine"
                                                      : pm_strerror(e));
    pl__mach_opts fresh = *o;
    fresh.snapshot_given = false;       /* now in the meta */
    if (code == 0)
        code = start_common(m, &fresh, argc, argv, msg, len);
    if (code != 0) {
        mach_free(m);
        return code;
    }
    *out = m;
    return 0;
}

bool pl__mach_turn(pl__mach *m)
{
    pl_rt *rt = m->rt;
    if (rt->exiting)
        return false;
    pl__run_ready(rt);
    pl__reap(rt);
    if (rt->exiting || rt->live == 0)
        return false;
    int n = pl__poll(rt, pl__core_idle(rt));
    pl__reap(rt);
    return n >= 0 && !rt->exiting;
}

int pl__mach_end(pl__mach *m)
{
    pl_rt *rt = m->rt;
    int code = rt->exiting ? rt->exit_code : 0;
    pl__task *t;
    if (m->fatal) {
        pm_journal_abandon(m->j);
        code = 1;
    } else if (rt->exiting && !m->stopped) {
        /* The program exited: the turn that did it never happened, but its
         * log lines (why it exited) are printed. */
        pl__mlist l = m->held;
        m->held = (pl__mlist){ 0 };
        while ((t = pl__mlist_pop(&l)) != NULL) {
            if (t->cmd.kind == PL_CMD_LOG)
                pl__mach_release(m, t);
            else
                pl__mlist_push(&m->held, PL__ML_HELD, t);
        }
        pm_journal_abandon(m->j);
    } else {
        /* Stopped (what is still held is pending in the journal: the next
         * start issues it), or out of work. */
        uint64_t last = pm_journal_last_seq(m->j);
        int e = pm_journal_sync(m->j);
        if (e == 0 && m->stopping)
            pl__mach_say(m, "stopped at seq %llu", (unsigned long long)last);
        if (e == 0 && !m->stopping) {
            while ((t = pl__mlist_pop(&m->held)) != NULL)
                pl__mach_release(m, t);
        } else if (e < 0) {
            pl__mach_say(m, "the last turn could not be written: %s", pm_strerror(e));
            code = 1;
        }
        pm_journal_close(m->j);
    }
    m->j = NULL;
    rt->be->finish(rt->b, code);
    mach_free(m);
    return code;
}

void pl__mach_crash(pl__mach *m)
{
    pm_journal_abandon(m->j);
    m->j = NULL;
    mach_free(m);
}

pl_rt *pl__mach_rt(pl__mach *m) { return m->rt; }
pm_journal *pl__mach_journal(pl__mach *m) { return m->j; }
