/* test_disk.c — the disk table: the simulated disk keeps only what was synced
 * (and loses the rest in every allowed way), injects faults, fills up; the
 * POSIX disk does the same operations on a real directory. */
#include "test_journal_util.h"

#include <unistd.h>

static int writes(pm_disk *d, int h, const char *s, uint64_t off)
{
    return pm_disk_write_all(d, h, s, strlen(s), off);
}

static bool has(pm_disk *d, const char *name, const char *want)
{
    size_t n;
    const uint8_t *p = pm_disk_sim_peek(d, name, &n);
    return p != NULL && n == strlen(want) && memcmp(p, want, n) == 0;
}

Test(disk_sim, synced_data_and_names_survive_every_power_loss)
{
    for (uint64_t seed = 1; seed <= 300; seed++) {
        pm_disk *d = pm_disk_sim_create(seed);
        int h = pm_disk_open(d, "a", PM_O_WRITE | PM_O_CREATE);
        cr_assert_geq(h, 0);
        MUST(writes(d, h, "durable", 0));
        MUST(pm_disk_fsync(d, h));
        MUST(pm_disk_sync_dir(d));
        pm_disk_sim_crash(d);
        cr_assert(has(d, "a", "durable"));
        cr_assert_eq(pm_disk_pread(d, h, (char[8]){ 0 }, 1, 0), -EBADF, "stale handle");
        pm_disk_destroy(d);
    }
}

Test(disk_sim, unsynced_changes_are_dropped_torn_or_kept)
{
    int kept = 0, dropped = 0, torn = 0, vanished = 0;
    char big[2048];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    for (uint64_t seed = 1; seed <= 400; seed++) {
        pm_disk *d = pm_disk_sim_create(seed);
        int h = pm_disk_open(d, "a", PM_O_WRITE | PM_O_CREATE);
        MUST(writes(d, h, "base", 0));
        MUST(pm_disk_fsync(d, h));
        MUST(pm_disk_sync_dir(d));
        MUST(writes(d, h, big, 4));                 /* unsynced */
        int g = pm_disk_open(d, "b", PM_O_WRITE | PM_O_CREATE);
        MUST(writes(d, g, "synced, name not", 0));
        MUST(pm_disk_fsync(d, g));
        pm_disk_sim_crash(d);
        size_t n;
        const uint8_t *p = pm_disk_sim_peek(d, "a", &n);
        cr_assert(p != NULL && n >= 4 && memcmp(p, "base", 4) == 0, "the synced prefix");
        bool all = n == 4 + strlen(big);
        for (size_t i = 4; all && i < n; i++)
            all = p[i] == 'x';
        kept += all;
        dropped += n == 4;
        torn += !all && n != 4;
        vanished += pm_disk_sim_peek(d, "b", &n) == NULL;
        pm_disk_destroy(d);
    }
    cr_assert(kept > 0 && dropped > 0 && torn > 0, "%d %d %d", kept, dropped, torn);
    cr_assert(vanished > 0 && vanished < 400, "a synced file whose name was not synced");
}

Test(disk_sim, same_seed_same_outcome)
{
    uint8_t first[4096];
    size_t first_n = 0;
    for (int run = 0; run < 2; run++) {
        pm_disk *d = pm_disk_sim_create(12345);
        int h = pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE);
        MUST(pm_disk_sync_dir(d));
        for (int i = 0; i < 20; i++)
            MUST(writes(d, h, "0123456789abcdefghijklmnopqrstuvwxyz", (uint64_t)i * 30));
        pm_disk_sim_crash(d);
        size_t n;
        const uint8_t *p = pm_disk_sim_peek(d, "f", &n);
        cr_assert_not_null(p);
        if (run == 0)
            memcpy(first, p, first_n = n);
        else
            cr_assert(n == first_n && memcmp(first, p, n) == 0);
        pm_disk_destroy(d);
    }
}

Test(disk_sim, rename_of_a_synced_file_is_all_or_nothing)
{
    for (uint64_t seed = 1; seed <= 200; seed++) {
        pm_disk *d = pm_disk_sim_create(seed);
        pm_disk_sim_put(d, "cur", "old", 3);
        int h = pm_disk_open(d, "cur.tmp", PM_O_WRITE | PM_O_CREATE | PM_O_TRUNC);
        MUST(writes(d, h, "new contents", 0));
        MUST(pm_disk_fsync(d, h));
        MUST(pm_disk_rename(d, "cur.tmp", "cur"));
        pm_disk_sim_crash(d);
        cr_assert(has(d, "cur", "old") || has(d, "cur", "new contents"));
        pm_disk_destroy(d);
    }
}

Test(disk_sim, fail_nth_once_and_forever)
{
    pm_disk *d = pm_disk_sim_create(1);
    int h = pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE);
    uint64_t c = pm_disk_sim_calls(d);
    pm_disk_sim_fail(d, c + 2, false, -EIO);
    cr_assert_eq(pm_disk_pwrite(d, h, "a", 1, 0), 1);
    cr_assert_eq(pm_disk_pwrite(d, h, "b", 1, 1), -EIO);
    cr_assert_eq(pm_disk_pwrite(d, h, "c", 1, 1), 1);
    cr_assert(has(d, "f", "ac"), "a failed call has no effect");
    pm_disk_sim_fail(d, pm_disk_sim_calls(d) + 1, true, -ENOSPC);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(pm_disk_fsync(d, h), -ENOSPC);
    pm_disk_sim_fail(d, 0, false, 0);
    MUST(pm_disk_fsync(d, h));
    pm_disk_destroy(d);
}

Test(disk_sim, failed_fsync_loses_data_a_later_fsync_does_not_restore)
{
    int lost = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        pm_disk *d = pm_disk_sim_create(seed);
        int h = pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE);
        MUST(pm_disk_sync_dir(d));
        MUST(writes(d, h, "precious", 0));
        pm_disk_sim_fail(d, pm_disk_sim_calls(d) + 1, false, -EIO);
        cr_assert_eq(pm_disk_fsync(d, h), -EIO);
        MUST(pm_disk_fsync(d, h));                  /* "succeeds" */
        cr_assert(has(d, "f", "precious"), "the page cache still shows it");
        pm_disk_sim_crash(d);
        lost += !has(d, "f", "precious");
        pm_disk_destroy(d);
    }
    cr_assert_gt(lost, 0);
}

Test(disk_sim, capacity_gives_short_writes_then_enospc)
{
    pm_disk *d = pm_disk_sim_create(1);
    pm_disk_sim_set_capacity(d, 100);
    int h = pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE);
    char buf[150] = { 0 };
    cr_assert_eq(pm_disk_pwrite(d, h, buf, sizeof buf, 0), 100);
    cr_assert_eq(pm_disk_pwrite(d, h, buf, 10, 100), -ENOSPC);
    cr_assert_eq(pm_disk_write_all(d, h, buf, 10, 100), -ENOSPC);
    cr_assert_eq(pm_disk_sim_used(d), 100);
    MUST(pm_disk_truncate(d, h, 40));
    cr_assert_eq(pm_disk_pwrite(d, h, buf, 50, 40), 50);
    cr_assert_eq(pm_disk_open(d, "f", PM_O_CREATE | PM_O_EXCL), -EEXIST);
    cr_assert_eq(pm_disk_open(d, "nope", 0), -ENOENT);
    cr_assert_eq(pm_disk_open(d, "a/b", PM_O_CREATE), -EINVAL);
    cr_assert_eq(pm_disk_pwrite(d, pm_disk_open(d, "f", 0), buf, 1, 0), -EBADF, "read-only");
    pm_disk_destroy(d);
}

static int count_names(void *arg, const char *name)
{
    ++*(int *)arg;
    return strcmp(name, "stop") == 0 ? 7 : 0;
}

Test(disk_posix, operations_on_a_real_directory)
{
    char dir[] = "/tmp/pluto-disk-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/m", dir);
    pm_disk *d;
    cr_assert_eq(pm_disk_posix_open(path, 0, &d), -ENOENT);
    MUST(pm_disk_posix_open(path, PM_DISK_CREATE | PM_DISK_LOCK, &d));
    int h = pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE | PM_O_EXCL);
    cr_assert_geq(h, 0);
    cr_assert_eq(pm_disk_open(d, "f", PM_O_WRITE | PM_O_CREATE | PM_O_EXCL), -EEXIST);
    MUST(writes(d, h, "hello world", 0));
    MUST(pm_disk_fdatasync(d, h));
    MUST(pm_disk_truncate(d, h, 5));
    uint64_t size;
    MUST(pm_disk_size(d, h, &size));
    cr_assert_eq(size, 5);
    char buf[16] = { 0 };
    MUST(pm_disk_read_all(d, h, buf, 5, 0));
    cr_assert_str_eq(buf, "hello");
    cr_assert_eq(pm_disk_read_all(d, h, buf, 6, 0), -EIO, "past the end");
    MUST(pm_disk_fsync(d, h));
    MUST(pm_disk_close(d, h));
    MUST(pm_disk_rename(d, "f", "g"));
    MUST(pm_disk_sync_dir(d));
    uint8_t *all;
    size_t n;
    MUST(pm_disk_get(d, "g", 100, &all, &n));
    cr_assert(n == 5 && memcmp(all, "hello", 5) == 0);
    free(all);
    cr_assert_eq(pm_disk_get(d, "g", 4, &all, &n), -EFBIG);
    MUST(pm_disk_put_atomic(d, "stop", "stop.tmp", "x", 1, "y", 1));
    int names = 0;
    int r = pm_disk_list(d, count_names, &names);
    cr_assert(r == 7 || (r == 0 && names == 2));
    MUST(pm_disk_unlink(d, "g"));
    cr_assert_eq(pm_disk_unlink(d, "g"), -ENOENT);
    pm_disk_destroy(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}
