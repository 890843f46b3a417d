/* test_snapshot_prune.c — pruning keeps what a start needs (even when cut by
 * a power loss), and inspect reports a machine's state and damage. */
#include "test_journal_util.h"

enum { PMAX = 100 };

/* A machine with 60 records in small segments and snapshots at 20, 35, 50,
 * each written after the log was synced up to it. */
static pm_disk *machine_with_snapshots(uint64_t seed, pm_meta *m)
{
    *m = test_meta(21, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(seed, m);
    pm_journal_opts o = { .segment_bytes = 500 };
    pm_journal *j;
    MUST(pm_journal_open(d, m, &o, 1, &j, NULL));
    uint8_t p[PMAX];
    for (uint64_t seq = 1; seq <= 60; seq++) {
        MUST(pm_journal_append(j, seq, 0, p, test_payload(1, seq, 0, p, PMAX), NULL));
        MUST(pm_journal_commit(j, seq));
        if (seq == 20 || seq == 35 || seq == 50)
            MUST(pm_snap_write(d, m->id, seq, &seq, sizeof seq));
    }
    MUST(pm_journal_close(j));
    pm_disk_sim_put(d, "snap.0000000000000033.tmp", "left over", 9);
    return d;
}

/* A start from snapshot S: the log opens from S+1 without corruption. */
static void expect_starts_from(pm_disk *d, const pm_meta *m, uint64_t s)
{
    pm_journal *j;
    pm_journal_report rep;
    MUST(pm_journal_open(d, m, NULL, s + 1, &j, &rep));
    cr_assert_eq(rep.last_seq, 60);
    cr_assert_eq(rep.records, 60 - s);
    pm_journal_abandon(j);
}

Test(snapshot_prune, keeps_one_older_snapshot_and_its_log)
{
    pm_meta m;
    pm_disk *d = machine_with_snapshots(1, &m);
    pm_file *segs;
    size_t before, after;
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &before));
    free(segs);
    pm_prune_report rep;
    MUST(pm_snap_prune(d, m.id, &rep));
    cr_assert_eq(rep.snapshots, 1);             /* snap 20 */
    cr_assert_eq(rep.temps, 1);
    cr_assert_gt(rep.segments, 0);
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &after));
    cr_assert_eq(after, before - rep.segments);
    cr_assert_leq(segs[0].seq, 36, "the log from 36 on is kept for snapshot 35");
    free(segs);
    pm_snap s;
    MUST(pm_snap_load(d, m.id, &s));
    cr_assert_eq(s.seq, 50);
    pm_snap_free(&s);
    expect_starts_from(d, &m, 50);
    expect_starts_from(d, &m, 35);
    pm_journal *j;
    cr_assert_eq(pm_journal_open(d, &m, NULL, 21, &j, NULL), PM_E_CORRUPT,
                 "snapshot 20's log is gone: starting from it must refuse");
    MUST(pm_snap_prune(d, m.id, &rep));         /* nothing more to do */
    cr_assert_eq(rep.snapshots + rep.segments + rep.temps, 0);
    pm_disk_destroy(d);
}

Test(snapshot_prune, power_loss_during_prune_still_starts)
{
    for (uint64_t nth = 1; nth <= 30; nth++)
        for (uint64_t seed = 1; seed <= 10; seed++) {
            pm_meta m;
            pm_disk *d = machine_with_snapshots(seed * 64 + nth, &m);
            pm_disk_sim_crash_at(d, pm_disk_sim_calls(d) + nth);
            pm_snap_prune(d, m.id, NULL);
            if (pm_disk_sim_dead(d))
                pm_disk_sim_reboot(d);
            else
                pm_disk_sim_crash(d);
            pm_disk_sim_crash_at(d, 0);
            pm_snap s;
            MUST(pm_snap_load(d, m.id, &s));
            cr_assert_eq(s.seq, 50);
            pm_snap_free(&s);
            expect_starts_from(d, &m, 50);
            expect_starts_from(d, &m, 35);
            pm_disk_destroy(d);
        }
}

Test(snapshot_prune, inspect_reports_state_and_damage)
{
    pm_meta m;
    pm_disk *d = machine_with_snapshots(3, &m);
    char *text;
    cr_assert_eq(pm_inspect(d, &text), 0);
    cr_assert(strstr(text, "machine    counter 1.0") != NULL, "%s", text);
    cr_assert(strstr(text, "options    --fsync always --snapshot-every 1000") != NULL, "%s", text);
    cr_assert(strstr(text, "last seq   60\n") != NULL, "%s", text);
    cr_assert(strstr(text, "snapshots  3\n") != NULL, "%s", text);
    cr_assert(strstr(text, "replay     from seq 51: 10 records") != NULL, "%s", text);
    cr_assert(strstr(text, "damage     none") != NULL, "%s", text);
    free(text);
    /* A torn tail: recoverable. */
    pm_file *segs;
    size_t n, size;
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &n));
    const uint8_t *b = pm_disk_sim_peek(d, segs[n - 1].name, &size);
    uint8_t copy[4096];
    memcpy(copy, b, size);
    pm_disk_sim_put(d, segs[n - 1].name, copy, size - 5);
    cr_assert_eq(pm_inspect(d, &text), 1);
    cr_assert(strstr(text, "damage     torn tail in log.") != NULL, "%s", text);
    cr_assert(strstr(text, "start recovers to seq 59") != NULL, "%s", text);
    free(text);
    /* A flipped byte in the first segment after snapshot 50: refused. */
    pm_disk_sim_put(d, segs[n - 1].name, copy, size);
    size_t k = n;
    while (k > 0 && segs[k - 1].seq > 51)
        k--;
    b = pm_disk_sim_peek(d, segs[k - 1].name, &size);
    memcpy(copy, b, size);
    copy[PM_SEG_HDR + 20] ^= 1;
    pm_disk_sim_put(d, segs[k - 1].name, copy, size);
    cr_assert_eq(pm_inspect(d, &text), 2);
    cr_assert(strstr(text, "damage     corruption in log.") != NULL, "%s", text);
    cr_assert(strstr(text, "start refuses") != NULL, "%s", text);
    free(text);
    free(segs);
    pm_disk *empty = pm_disk_sim_create(9);
    cr_assert_eq(pm_inspect(empty, &text), -ENOENT);
    cr_assert_null(text);
    pm_disk_destroy(empty);
    pm_disk_destroy(d);
}
