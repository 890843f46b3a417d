/* test_journal_faults.c — failing I/O calls and a full disk.
 *
 * Fail the Nth I/O call (once, and forever) for every N through a whole
 * workload (recovery of a torn tail, appends, commits, segment rotations): the
 * machine always recovers without corruption and keeps every record that a
 * commit made durable; a failed fsync stops the journal for good and is never
 * retried. A full disk stops commits without losing or tearing anything, and
 * they succeed again once there is space.
 */
#include "test_journal_util.h"

enum { KEY = 5, PMAX = 150 };

static size_t payload(uint64_t seq, uint8_t *p) { return test_payload(KEY, seq, 0, p, PMAX); }

/* A machine with 10 committed records and a torn record after them. */
static pm_disk *torn_machine(uint64_t seed, const pm_meta *m, const pm_journal_opts *o)
{
    pm_disk *d = sim_machine(seed, m);
    pm_journal *j;
    MUST(pm_journal_open(d, m, o, 1, &j, NULL));
    uint8_t p[PMAX];
    for (uint64_t seq = 1; seq <= 10; seq++) {
        MUST(pm_journal_append(j, seq, 1, p, payload(seq, p), NULL));
        MUST(pm_journal_commit(j, seq));
    }
    MUST(pm_journal_close(j));
    pm_file *segs;
    size_t n;
    uint64_t size;
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &n));
    int h = pm_disk_open(d, segs[n - 1].name, PM_O_WRITE);
    free(segs);
    cr_assert_geq(h, 0);
    MUST(pm_disk_size(d, h, &size));
    cr_assert_eq(pm_disk_pwrite(d, h, "half a record", 13, size), 13);
    pm_disk_close(d, h);
    return d;
}

/* Recover after a power loss: records 1..L intact, L >= durable. */
static uint64_t recover_and_check(pm_disk *d, const pm_meta *m, uint64_t durable)
{
    pm_disk_sim_fail(d, 0, false, 0);
    pm_disk_sim_crash(d);
    pm_journal *j;
    pm_journal_report rep;
    MUST(pm_journal_open(d, m, NULL, 1, &j, &rep));
    pm_journal_abandon(j);
    pm_log_reader *r;
    MUST(pm_log_open(d, m->id, 1, &r));
    pm_record rec;
    uint64_t want = 1;
    int e;
    while ((e = pm_log_next(r, &rec)) > 0) {
        cr_assert_eq(rec.seq, want++);
        check_payload(&rec, KEY, 0, PMAX);
    }
    cr_assert_eq(e, 0);
    pm_log_close(r);
    cr_assert_geq(want - 1, durable, "lost durable records");
    return want - 1;
}

/* After PM_E_SYNC nothing is retried: every call fails at once, without I/O. */
static void expect_stopped(pm_disk *d, pm_journal *j)
{
    uint64_t calls = pm_disk_sim_calls(d);
    cr_assert_eq(pm_journal_error(j), PM_E_SYNC);
    cr_assert_eq(pm_journal_append(j, 0, 0, "x", 1, NULL), PM_E_SYNC);
    cr_assert_eq(pm_journal_commit(j, 0), PM_E_SYNC);
    cr_assert_eq(pm_journal_sync(j), PM_E_SYNC);
    cr_assert_eq(pm_disk_sim_calls(d), calls, "an fsync was retried");
}

/* Open, then 30 commits with rotations; errors handled as the runtime would.
 * Returns the highest seq known durable. */
static uint64_t workload(pm_disk *d, const pm_meta *m, const pm_journal_opts *o)
{
    pm_journal *j;
    int e = pm_journal_open(d, m, o, 1, &j, NULL);
    cr_assert_neq(e, PM_E_CORRUPT);
    if (e < 0)
        return 0;
    uint64_t durable = pm_journal_synced_seq(j);
    uint8_t p[PMAX];
    for (int c = 0; c < 30 && e == 0; c++) {
        for (int k = 0; k < 1 + c % 3 && e == 0; k++) {
            uint64_t seq = pm_journal_last_seq(j) + 1;
            e = pm_journal_append(j, seq, 1, p, payload(seq, p), NULL);
        }
        for (int tries = 0; e == 0 && tries < 3; tries++) {   /* write errors: try again */
            if ((e = pm_journal_commit(j, (uint64_t)c)) == 0)
                break;
            if (e == PM_E_SYNC)
                break;
            if (tries < 2)
                e = 0;
        }
        if (e == 0)
            durable = pm_journal_synced_seq(j);
    }
    if (e == PM_E_SYNC)
        expect_stopped(d, j);
    pm_journal_abandon(j);
    return durable;
}

Test(journal_faults, fail_the_nth_call_once_and_forever)
{
    pm_meta m = test_meta(31, PM_FSYNC_ALWAYS);
    pm_journal_opts o = { .segment_bytes = 600 };
    pm_disk *d = torn_machine(1, &m, &o);
    uint64_t base = pm_disk_sim_calls(d);
    uint64_t durable = workload(d, &m, &o);
    uint64_t total = pm_disk_sim_calls(d) - base;
    cr_assert_geq(durable, 40);
    cr_assert_gt(total, 60);
    recover_and_check(d, &m, durable);
    pm_disk_destroy(d);
    static const int errs[] = { -EIO, -ENOSPC };
    for (uint64_t nth = 1; nth <= total; nth++)
        for (int forever = 0; forever <= 1; forever++) {
            d = torn_machine(nth, &m, &o);
            pm_disk_sim_short_writes(d, nth % 3 == 0 ? 4 : 0);
            pm_disk_sim_fail(d, pm_disk_sim_calls(d) + nth, forever, errs[nth % 2]);
            durable = workload(d, &m, &o);
            recover_and_check(d, &m, durable);
            pm_disk_destroy(d);
        }
    cr_log_info("fail the Nth call: N = 1..%llu, once and forever", (unsigned long long)total);
}

Test(journal_faults, failed_fsync_stops_the_journal_for_good)
{
    pm_meta m = test_meta(32, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(2, &m);
    pm_journal *j;
    MUST(pm_journal_open(d, &m, NULL, 1, &j, NULL));
    MUST(pm_journal_append(j, 1, 1, "one", 3, NULL));
    MUST(pm_journal_commit(j, 0));
    MUST(pm_journal_append(j, 1, 1, "two", 3, NULL));
    uint64_t c = pm_disk_sim_calls(d);          /* the commit: pwrite c+1, fdatasync c+2 */
    pm_disk_sim_fail(d, c + 2, false, -EIO);
    cr_assert_eq(pm_journal_commit(j, 1), PM_E_SYNC);
    cr_assert_eq(pm_disk_sim_calls(d), c + 2);
    cr_assert_eq(pm_journal_synced_seq(j), 1);
    expect_stopped(d, j);
    cr_assert_eq(pm_journal_close(j), PM_E_SYNC);
    cr_assert_eq(pm_disk_sim_calls(d), c + 2);
    pm_disk_destroy(d);
}

static void fill_until_full(pm_journal *j, int *commits_ok)
{
    uint8_t p[PMAX];
    int e = 0;
    for (int i = 0; i < 200 && e == 0; i++) {
        uint64_t seq = pm_journal_last_seq(j) + 1;
        MUST(pm_journal_append(j, seq, 1, p, payload(seq, p), NULL));
        if ((e = pm_journal_commit(j, (uint64_t)i)) == 0)
            ++*commits_ok;
    }
    cr_assert_eq(e, -ENOSPC);
}

Test(journal_faults, disk_full_stops_then_continues)
{
    for (uint32_t short_writes = 0; short_writes <= 3; short_writes += 3) {
        pm_meta m = test_meta(33, PM_FSYNC_ALWAYS);
        pm_disk *d = sim_machine(3 + short_writes, &m);
        pm_disk_sim_short_writes(d, short_writes);
        pm_disk_sim_set_capacity(d, pm_disk_sim_used(d) + 3000);
        pm_journal_opts o = { .buffer_bytes = 2048 };
        pm_journal *j;
        MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
        int ok = 0;
        fill_until_full(j, &ok);
        cr_assert_gt(ok, 3);
        cr_assert_eq(pm_journal_error(j), 0);
        uint64_t durable = pm_journal_synced_seq(j);
        cr_assert_eq(pm_journal_written_seq(j), durable, "nothing half-written counted");
        /* What is on disk is whole records only: a reader finds no damage. */
        pm_log_reader *r;
        MUST(pm_log_open(d, m.id, 1, &r));
        pm_record rec;
        while (pm_log_next(r, &rec) > 0)
            ;
        cr_assert_eq(pm_log_damage(r)->kind, PM_DAMAGE_NONE);
        cr_assert_eq(pm_log_last_seq(r), durable);
        pm_log_close(r);
        /* Still full: appends are held, commits keep failing, nothing is lost. */
        uint8_t p[PMAX];
        for (int i = 0; i < 3; i++) {
            uint64_t seq = pm_journal_last_seq(j) + 1;
            MUST(pm_journal_append(j, seq, 1, p, payload(seq, p), NULL));
        }
        cr_assert_eq(pm_journal_commit(j, 500), -ENOSPC);
        pm_disk_sim_set_capacity(d, 0);             /* space freed */
        MUST(pm_journal_commit(j, 501));
        cr_assert_eq(pm_journal_synced_seq(j), pm_journal_last_seq(j));
        uint64_t last = pm_journal_last_seq(j);
        pm_journal_abandon(j);
        cr_assert_eq(recover_and_check(d, &m, last), last);
        pm_disk_destroy(d);
    }
}
