/* test_snapshot.c — snapshots: round trip, corrupt ones skipped, a write cut
 * at every step leaves the previous one loadable, pruning, and inspect. */
#include "test_journal_util.h"

enum { ID = 0x5eed };

static void blob(uint8_t *p, size_t n, uint8_t tag)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(tag + i * 7);
}

static void expect_snap(pm_disk *d, uint64_t seq, size_t n, uint8_t tag)
{
    pm_snap s;
    MUST(pm_snap_load(d, ID, &s));
    uint8_t want[4096];
    blob(want, n, tag);
    cr_assert_eq(s.seq, seq);
    cr_assert_eq(s.len, n);
    cr_assert(memcmp(s.data, want, n) == 0);
    pm_snap_free(&s);
}

Test(snapshot, round_trip_and_newest_wins)
{
    pm_disk *d = pm_disk_sim_create(1);
    pm_snap s;
    cr_assert_eq(pm_snap_load(d, ID, &s), -ENOENT);
    uint8_t a[1000], b[3000];
    blob(a, sizeof a, 1);
    blob(b, sizeof b, 2);
    MUST(pm_snap_write(d, ID, 10, a, sizeof a));
    MUST(pm_snap_write(d, ID, 20, b, sizeof b));
    MUST(pm_snap_write(d, ID, 30, NULL, 0));
    expect_snap(d, 30, 0, 0);
    pm_snap_info *v;
    size_t n;
    MUST(pm_snap_list(d, ID, &v, &n));
    cr_assert_eq(n, 3);
    cr_assert_eq(v[0].seq, 10);
    cr_assert_eq(v[1].size, PM_SNAP_HDR + sizeof b);
    cr_assert_null(v[2].bad);
    free(v);
    pm_disk_destroy(d);
}

Test(snapshot, corrupt_newest_is_skipped_and_named)
{
    pm_disk *d = pm_disk_sim_create(2);
    uint8_t a[500], b[700];
    blob(a, sizeof a, 3);
    blob(b, sizeof b, 4);
    MUST(pm_snap_write(d, ID, 10, a, sizeof a));
    MUST(pm_snap_write(d, ID, 20, b, sizeof b));
    size_t n;
    const uint8_t *img = pm_disk_sim_peek(d, "snap.0000000000000014", &n);
    cr_assert_not_null(img);
    uint8_t copy[1024];
    for (size_t pos = 0; pos < n; pos += 13) {   /* a byte anywhere: header or payload */
        memcpy(copy, img, n);
        copy[pos] ^= 0x20;
        pm_disk *t = pm_disk_sim_create(3);
        MUST(pm_snap_write(t, ID, 10, a, sizeof a));
        pm_disk_sim_put(t, "snap.0000000000000014", copy, n);
        pm_snap s;
        MUST(pm_snap_load(t, ID, &s));
        cr_assert_eq(s.seq, 10, "byte %zu", pos);
        cr_assert_eq(s.skipped, 1);
        cr_assert_str_eq(s.skip[0].name, "snap.0000000000000014");
        cr_assert_not_null(s.skip[0].bad);
        pm_snap_free(&s);
        pm_disk_destroy(t);
    }
    pm_disk_sim_put(d, "snap.0000000000000014", img, n - 1);   /* truncated */
    expect_snap(d, 10, sizeof a, 3);
    pm_disk_destroy(d);
}

/* Snapshot B cut by a power loss (or a failed call, then a power loss) at
 * every call it makes: A or B loads, whole, on every seed. */
Test(snapshot, write_interrupted_at_every_step_keeps_the_previous)
{
    uint8_t a[700], b[1500];
    blob(a, sizeof a, 5);
    blob(b, sizeof b, 6);
    pm_disk *d = pm_disk_sim_create(4);
    MUST(pm_snap_write(d, ID, 10, a, sizeof a));
    uint64_t base = pm_disk_sim_calls(d);
    MUST(pm_snap_write(d, ID, 20, b, sizeof b));
    uint64_t steps = pm_disk_sim_calls(d) - base;
    pm_disk_destroy(d);
    int got_b = 0, runs = 0;
    for (uint64_t seed = 1; seed <= 40; seed++)
        for (uint64_t nth = 1; nth <= steps + 1; nth++)
            for (int mode = 0; mode < 3; mode++) {
                d = pm_disk_sim_create(seed * 100 + nth);
                MUST(pm_snap_write(d, ID, 10, a, sizeof a));
                uint64_t at = pm_disk_sim_calls(d) + nth;
                if (mode == 0)
                    pm_disk_sim_crash_at(d, at);
                else
                    pm_disk_sim_fail(d, at, mode == 2, -EIO);
                int e = pm_snap_write(d, ID, 20, b, sizeof b);
                pm_disk_sim_fail(d, 0, false, 0);
                pm_disk_sim_crash_at(d, 0);
                pm_disk_sim_crash(d);
                pm_snap s;
                MUST(pm_snap_load(d, ID, &s));
                cr_assert(s.seq == 10 || s.seq == 20);
                cr_assert_eq(s.skipped, 0, "a torn snapshot was visible");
                if (e == 0)
                    cr_assert_eq(s.seq, 20, "a snapshot written durably was lost");
                if (s.seq == 20)
                    cr_assert(s.len == sizeof b && memcmp(s.data, b, sizeof b) == 0);
                else
                    cr_assert(s.len == sizeof a && memcmp(s.data, a, sizeof a) == 0);
                got_b += s.seq == 20;
                runs++;
                pm_snap_free(&s);
                pm_disk_destroy(d);
            }
    cr_assert_gt(got_b, 0);
    cr_assert_lt(got_b, runs);
}

Test(snapshot, failed_fsync_is_reported_and_leaves_no_temp)
{
    uint8_t a[100];
    blob(a, sizeof a, 7);
    pm_disk *d = pm_disk_sim_create(5);
    MUST(pm_snap_write(d, ID, 10, a, sizeof a));
    uint64_t c = pm_disk_sim_calls(d);      /* open, pwrite, pwrite, fsync */
    pm_disk_sim_fail(d, c + 4, false, -EIO);
    cr_assert_eq(pm_snap_write(d, ID, 20, a, sizeof a), PM_E_SYNC);
    size_t n;
    cr_assert_null(pm_disk_sim_peek(d, "snap.0000000000000014.tmp", &n));
    cr_assert_null(pm_disk_sim_peek(d, "snap.0000000000000014", &n));
    expect_snap(d, 10, sizeof a, 7);
    pm_disk_destroy(d);
}
