/* test_machine_replay.c — replay gives back the live state, exactly: after
 * random workloads cut by crashes and power losses, and from a snapshot as
 * from the first event. States are compared by their canonical bytes
 * (pl__state_hash). */
#include "machine_util.h"

typedef struct trng { uint64_t s; } trng;
static uint64_t rnd(trng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Turns until one journals nothing: the state is then all durable. */
static void quiesce(pl__mach *m)
{
    pm_journal *j = pl__mach_journal(m);
    for (int i = 0; i < 20; i++) {
        uint64_t before = pm_journal_last_seq(j);
        tm_turn(m);
        if (pm_journal_last_seq(j) == before && pm_journal_synced_seq(j) == before &&
            g_fk.nq == 0)
            return;
    }
    cr_assert_fail("the machine never settled");
}

static int open_fd(pl__mach *m, trng *r)
{
    pl_rt *rt = pl__mach_rt(m);
    int fds[32], n = 0;
    for (int fd = 10; fd < 30; fd++)
        if (pl__fdq_is_open(rt, fd) && tm_task(PL_CMD_RECV, fd, 0) != 0)
            fds[n++] = fd;
    return n ? fds[rnd(r) % n] : -1;
}

static int free_fd(pl__mach *m, trng *r)
{
    pl_rt *rt = pl__mach_rt(m);
    for (int tries = 0; tries < 40; tries++) {
        int fd = 10 + (int)(rnd(r) % 20);
        if (!pl__fdq_is_open(rt, fd))
            return fd;
    }
    return -1;
}

static const char *const PIECES[] = { "a", "bc\n", "hello\n", "x\ny\nz", "\n", "quit\n",
                                      "line one\nline two\n", "partial" };

/* Queue one random answer (or none); true if a turn should follow now. */
static bool step(pl__mach *m, trng *r)
{
    switch (rnd(r) % 8) {
    case 0: case 1: {
        pl_task_id t = tm_task(PL_CMD_TIMER, -1, 10);
        if (t)
            tm_answer(t, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
        return rnd(r) % 2;
    }
    case 2: {
        int fd = free_fd(m, r);
        pl_task_id l = tm_task(PL_CMD_LISTEN, -1, 0);
        if (fd >= 0 && l)
            tm_answer(l, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = fd, .peer = "::1" });
        return true;                    /* one accept per turn: its fd is taken */
    }
    case 3: case 4: case 5: {
        int fd = open_fd(m, r);
        if (fd >= 0) {
            const char *p = PIECES[rnd(r) % (sizeof PIECES / sizeof *PIECES)];
            tm_answer(tm_task(PL_CMD_RECV, fd, 0),
                      (pl_answer){ .kind = PL_ANS_DATA, .data = (const uint8_t *)p,
                                   .len = strlen(p) });
        }
        return true;
    }
    case 6: {
        int fd = open_fd(m, r);
        if (fd >= 0)
            tm_answer(tm_task(PL_CMD_RECV, fd, 0), (pl_answer){ .kind = PL_ANS_DATA });
        return true;
    }
    default: {
        pl_task_id t = tm_task(PL_CMD_TIMER, -1, 0);   /* a deadline, or a First's timer */
        if (t)
            tm_answer(t, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
        return true;
    }
    }
}

static void run_random(pl__mach *m, trng *r, int steps)
{
    for (int i = 0; i < steps && !pl__exiting(pl__mach_rt(m)); i++)
        if (step(m, r))
            tm_turn(m);
}

Test(machine_replay, live_equals_replay_over_random_workloads_and_crashes)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        trng r = { seed };
        pm_disk *d = pm_disk_sim_create(seed);
        pl__mach *m = tm_boot(d, seed % 3 == 0 ? 5 + seed % 7 : 0);
        for (int round = 0; round < 4; round++) {
            run_random(m, &r, 30 + (int)(rnd(&r) % 40));
            quiesce(m);
            uint64_t h = tm_hash(m);
            run_random(m, &r, (int)(rnd(&r) % 2));   /* journaled, maybe not committed */
            bool power = rnd(&r) % 2;
            pl__mach_crash(m);
            if (power)
                pm_disk_sim_crash(d);   /* fsync always: nothing durable is lost */
            m = tm_start(d);
            cr_assert_eq(tm_hash(m), h, "seed %llu round %d (%s)", (unsigned long long)seed,
                         round, power ? "power loss" : "process killed");
            quiesce(m);
        }
        cr_assert_eq(pl__mach_end(m), 0);
        pm_disk_destroy(d);
    }
}

Test(machine_replay, start_gives_the_durable_state_exactly)
{
    for (uint64_t seed = 100; seed < 140; seed++) {
        trng r = { seed };
        pm_disk *d = pm_disk_sim_create(seed);
        pl__mach *m = tm_boot(d, 0);
        run_random(m, &r, 80);
        quiesce(m);
        uint64_t h = tm_hash(m);
        pl__mach_crash(m);
        pm_disk_sim_crash(d);
        m = tm_start(d);
        cr_assert_eq(tm_hash(m), h, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(pl__mach_end(m), 0);
        pm_disk_destroy(d);
    }
}

Test(machine_replay, snapshot_and_replay_equal_replay_from_the_first_event)
{
    for (uint64_t seed = 200; seed < 300; seed++) {
        trng r = { seed };
        pm_disk *d = pm_disk_sim_create(seed);
        pl__mach *m = tm_boot(d, 3 + seed % 11);
        for (int round = 0; round < 3; round++) {
            run_random(m, &r, 60);
            quiesce(m);
            pl__mach_crash(m);
            m = tm_start(d);
        }
        run_random(m, &r, 60);
        quiesce(m);
        uint64_t h = tm_hash(m);
        pl__mach_crash(m);
        fflush(g_err);
        size_t said = g_errlen;
        m = tm_start(d);
        cr_assert_eq(tm_hash(m), h, "seed %llu: snapshot + replay", (unsigned long long)seed);
        cr_assert(strstr(tm_said() + said, "from a snapshot") != NULL, "%s", tm_said() + said);
        pl__mach_crash(m);
        /* Without its snapshots the machine replays its whole log. */
        pm_file *snaps;
        size_t n;
        cr_assert_eq(pm_list_files(d, PM_SNAP_PREFIX, &snaps, &n), 0);
        cr_assert_gt(n, 0);
        for (size_t i = 0; i < n; i++)
            cr_assert_eq(pm_disk_unlink(d, snaps[i].name), 0);
        free(snaps);
        fflush(g_err);
        said = g_errlen;
        m = tm_start(d);
        cr_assert_eq(tm_hash(m), h, "seed %llu: replay from the first event",
                     (unsigned long long)seed);
        cr_assert(strstr(tm_said() + said, "from the start") != NULL, "%s", tm_said() + said);
        cr_assert_eq(pl__mach_end(m), 0);
        pm_disk_destroy(d);
    }
}

Test(machine_replay, the_state_survives_a_save_and_a_load)
{
    trng r = { 7 };
    pm_disk *d = pm_disk_sim_create(7);
    pl__mach *m = tm_boot(d, 0);
    run_random(m, &r, 150);
    quiesce(m);
    pl__wbuf a = { 0 }, b = { 0 };
    pl__state_save(pl__mach_rt(m), &a);
    pl_rt *rt = pl__rt_create(&tm_prog, &pl__backend_replay, m, &(pl_run_opts){ 0 });
    pl__tmap held = { 0 };
    char why[256];
    cr_assert_eq(pl__state_load(rt, a.p, a.len, &held, why, sizeof why), 0, "%s", why);
    pl__state_save(rt, &b);
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.p, b.p, a.len) == 0);
    /* Every cut of the bytes is refused, none crashes. */
    for (size_t cut = 0; cut < a.len; cut += 1 + cut / 16) {
        pl_rt *r2 = pl__rt_create(&tm_prog, &pl__backend_replay, m, &(pl_run_opts){ 0 });
        pl__tmap h2 = { 0 };
        cr_assert_eq(pl__state_load(r2, a.p, cut, &h2, why, sizeof why), -1, "cut %zu", cut);
        pl__rt_destroy(r2);
    }
    pl__tmap_free(&held);
    m->rmap = NULL;
    pl__rt_destroy(rt);
    free(a.p);
    free(b.p);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}
