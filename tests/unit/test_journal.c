/* test_journal.c — the log: round trips, segments, options, truncation at every
 * byte of the tail, and every flipped byte caught. */
#include "test_journal_util.h"

#include <stdlib.h>
#include <unistd.h>

enum { KEY = 42, PMAX = 300 };

/* Append n records (task = seq * 3, type = seq % 5), committing every `every`. */
static void append_n(pm_journal *j, uint64_t n, uint64_t every)
{
    uint8_t p[PMAX];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t seq = pm_journal_last_seq(j) + 1, got;
        size_t len = test_payload(KEY, seq, 0, p, PMAX);
        MUST(pm_journal_append(j, seq * 3, (uint32_t)(seq % 5), p, len, &got));
        cr_assert_eq(got, seq);
        if ((i + 1) % every == 0)
            MUST(pm_journal_commit(j, i));
    }
    MUST(pm_journal_commit(j, n));
}

/* Read every record from `from`: they must be from..last in order, intact. */
static uint64_t read_all(pm_disk *d, uint64_t id, uint64_t from)
{
    pm_log_reader *r;
    MUST(pm_log_open(d, id, from, &r));
    pm_record rec;
    uint64_t want = from;
    int e;
    while ((e = pm_log_next(r, &rec)) > 0) {
        cr_assert_eq(rec.seq, want);
        cr_assert_eq(rec.task, want * 3);
        cr_assert_eq(rec.type, want % 5);
        check_payload(&rec, KEY, 0, PMAX);
        want++;
    }
    cr_assert_eq(e, 0, "reader: %s", pm_strerror(e));
    cr_assert_eq(pm_log_damage(r)->kind, PM_DAMAGE_NONE);
    pm_log_close(r);
    return want - from;
}

Test(journal, round_trip_sim)
{
    pm_meta m = test_meta(7, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(1, &m);
    pm_journal *j;
    pm_journal_report rep;
    MUST(pm_journal_open(d, &m, NULL, 1, &j, &rep));
    cr_assert_eq(rep.last_seq, 0);
    append_n(j, 100, 7);
    cr_assert_eq(pm_journal_synced_seq(j), 100);
    MUST(pm_journal_close(j));
    cr_assert_eq(read_all(d, m.id, 1), 100);
    cr_assert_eq(read_all(d, m.id, 60), 41);
    MUST(pm_journal_open(d, &m, NULL, 1, &j, &rep));
    cr_assert_eq(rep.last_seq, 100);
    cr_assert_eq(rep.records, 100);
    cr_assert_eq(rep.damage.kind, PM_DAMAGE_NONE);
    append_n(j, 10, 3);
    MUST(pm_journal_close(j));
    cr_assert_eq(read_all(d, m.id, 1), 110);
    pm_disk_destroy(d);
}

Test(journal, segments_rotate_and_read_across)
{
    pm_meta m = test_meta(9, PM_FSYNC_NEVER);
    pm_disk *d = sim_machine(2, &m);
    pm_journal_opts o = { .segment_bytes = 1000 };
    pm_journal *j;
    MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
    append_n(j, 200, 4);
    cr_assert_eq(pm_journal_written_seq(j), 200);
    cr_assert_geq(pm_journal_synced_seq(j), 150, "never: synced only at rotations");
    MUST(pm_journal_close(j));
    pm_file *segs;
    size_t n;
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &n));
    cr_assert_gt(n, 5);
    cr_assert_eq(segs[0].seq, 1);
    free(segs);
    cr_assert_eq(read_all(d, m.id, 1), 200);
    cr_assert_eq(read_all(d, m.id, 150), 51);
    pm_disk_destroy(d);
}

Test(journal, meta_options_recorded_and_boot_refuses_existing)
{
    pm_meta m = test_meta(11, PM_FSYNC_INTERVAL), got;
    m.fsync_interval_ms = 250;
    m.snapshot_every = 5000;
    pm_disk *d = sim_machine(3, &m);
    cr_assert_eq(pm_meta_create(d, &m), -EEXIST);
    MUST(pm_meta_read(d, &got));
    cr_assert_str_eq(got.program, "counter");
    cr_assert_str_eq(got.version, "1.0");
    cr_assert_eq(got.id, 11);
    cr_assert_eq(got.fsync, PM_FSYNC_INTERVAL);
    cr_assert_eq(got.fsync_interval_ms, 250);
    cr_assert_eq(got.snapshot_every, 5000);
    got.fsync = PM_FSYNC_NEVER;
    MUST(pm_meta_write(d, &got));
    MUST(pm_meta_read(d, &got));
    cr_assert_eq(got.fsync, PM_FSYNC_NEVER);
    pm_fsync f;
    cr_assert_eq(pm_fsync_parse("interval", &f), 0);
    cr_assert_eq(f, PM_FSYNC_INTERVAL);
    cr_assert_eq(pm_fsync_parse("sometimes", &f), -EINVAL);
    pm_disk *empty = pm_disk_sim_create(4);
    cr_assert_eq(pm_meta_read(empty, &got), -ENOENT);
    pm_disk_sim_put(empty, "meta", "not a machine", 13);
    cr_assert_eq(pm_meta_read(empty, &got), PM_E_FORMAT);
    pm_disk_destroy(empty);
    pm_disk_destroy(d);
}

Test(journal, interval_syncs_when_due)
{
    pm_meta m = test_meta(12, PM_FSYNC_INTERVAL);
    m.fsync_interval_ms = 100;
    pm_disk *d = sim_machine(5, &m);
    pm_journal *j;
    MUST(pm_journal_open(d, &m, NULL, 1, &j, NULL));
    MUST(pm_journal_append(j, 1, 0, "a", 1, NULL));
    MUST(pm_journal_commit(j, 1000));
    cr_assert_eq(pm_journal_synced_seq(j), 1, "the first sync is due at once");
    MUST(pm_journal_append(j, 1, 0, "b", 1, NULL));
    MUST(pm_journal_commit(j, 1050));
    cr_assert_eq(pm_journal_written_seq(j), 2);
    cr_assert_eq(pm_journal_synced_seq(j), 1);
    MUST(pm_journal_commit(j, 1100));                   /* an idle turn */
    cr_assert_eq(pm_journal_synced_seq(j), 2);
    MUST(pm_journal_close(j));
    pm_disk_destroy(d);
}

Test(journal, posix_round_trip_and_copied_directory_continues)
{
    char dir[] = "/tmp/pluto-journal-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[128], copy[160], cmd[400];
    snprintf(path, sizeof path, "%s/m", dir);
    snprintf(copy, sizeof copy, "%s/copy", dir);
    pm_disk *d;
    MUST(pm_disk_posix_open(path, PM_DISK_CREATE | PM_DISK_LOCK, &d));
    pm_disk *again;
    cr_assert_eq(pm_disk_posix_open(path, PM_DISK_LOCK, &again), -EBUSY);
    pm_meta m = test_meta(13, PM_FSYNC_ALWAYS);
    MUST(pm_meta_create(d, &m));
    cr_assert_eq(pm_meta_create(d, &m), -EEXIST);
    pm_journal *j;
    pm_journal_opts o = { .segment_bytes = 4096 };
    MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
    append_n(j, 150, 10);
    MUST(pm_journal_close(j));
    pm_disk_destroy(d);
    snprintf(cmd, sizeof cmd, "cp -a %s %s", path, copy);
    cr_assert_eq(system(cmd), 0);
    MUST(pm_disk_posix_open(copy, PM_DISK_LOCK, &d));
    pm_meta got;
    MUST(pm_meta_read(d, &got));
    pm_journal_report rep;
    MUST(pm_journal_open(d, &got, &o, 1, &j, &rep));
    cr_assert_eq(rep.last_seq, 150);
    append_n(j, 50, 10);
    MUST(pm_journal_close(j));
    cr_assert_eq(read_all(d, got.id, 1), 200);
    pm_disk_destroy(d);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

Test(journal, oversized_payload_and_full_buffer)
{
    pm_meta m = test_meta(14, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(6, &m);
    pm_journal_opts o = { .buffer_bytes = 256 };
    pm_journal *j;
    MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
    static uint8_t big[PM_REC_PAYLOAD_MAX + 1];
    cr_assert_eq(pm_journal_append(j, 0, 0, big, sizeof big, NULL), -EMSGSIZE);
    MUST(pm_journal_append(j, 0, 0, big, 1000, NULL));  /* alone it may exceed the buffer */
    cr_assert_eq(pm_journal_append(j, 0, 0, big, 10, NULL), -ENOBUFS);
    MUST(pm_journal_commit(j, 0));
    MUST(pm_journal_append(j, 0, 0, big, 10, NULL));
    MUST(pm_journal_close(j));
    pm_disk_destroy(d);
}

Test(journal, snapshot_ahead_of_the_log_resumes_after_it)
{
    pm_meta m = test_meta(15, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(7, &m);
    pm_journal *j;
    pm_journal_report rep;
    MUST(pm_journal_open(d, &m, NULL, 1, &j, NULL));
    append_n(j, 5, 1);
    MUST(pm_journal_close(j));
    MUST(pm_journal_open(d, &m, NULL, 11, &j, &rep));   /* a snapshot at 10 */
    cr_assert_eq(rep.last_seq, 10);
    cr_assert_eq(rep.records, 0);
    append_n(j, 3, 1);
    cr_assert_eq(pm_journal_last_seq(j), 13);
    MUST(pm_journal_close(j));
    size_t n;
    cr_assert_not_null(pm_disk_sim_peek(d, "log.000000000000000b", &n));
    cr_assert_eq(read_all(d, m.id, 11), 3);
    cr_assert_eq(pm_journal_open(d, &m, NULL, 1, &j, &rep), PM_E_CORRUPT,
                 "records 6..10 are only in the snapshot");
    cr_assert_str_eq(rep.damage.file, "log.000000000000000b");
    pm_disk_destroy(d);
}

Test(journal, options_for_one_run_override_the_machines)
{
    pm_meta m = test_meta(16, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(8, &m);
    pm_journal_opts o = { .fsync_given = true, .fsync = PM_FSYNC_NEVER };
    pm_journal *j;
    MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
    append_n(j, 3, 1);
    cr_assert_eq(pm_journal_written_seq(j), 3);
    cr_assert_eq(pm_journal_synced_seq(j), 0);
    MUST(pm_journal_sync(j));
    cr_assert_eq(pm_journal_synced_seq(j), 3);
    MUST(pm_journal_close(j));
    pm_meta got;
    MUST(pm_meta_read(d, &got));
    cr_assert_eq(got.fsync, PM_FSYNC_ALWAYS, "the machine's own option is unchanged");
    pm_disk_destroy(d);
}
