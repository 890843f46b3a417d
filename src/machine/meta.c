/* meta.c — the machine's metadata file, and the words for errors and damage.
 *
 * meta is small and fixed-size (176 bytes, all little-endian):
 *
 *     0  "PLUTOMCH"    8  u32 format (1)    12  u32 fsync policy
 *    16  u32 fsync interval (ms)            20  u32 0
 *    24  u64 snapshot every (events)        32  u64 machine id
 *    40  program name, 64 bytes NUL-padded  104  program version, 64 bytes
 *   168  u64 XXH3 of bytes 0..168 (seed 0)
 *
 * It is only ever replaced whole (pm_disk_put_atomic), so a power loss leaves
 * either the old meta or the new one.
 */
#include "machine/format.h"
#include "machine/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { META_SIZE = 176 };
#define META_MAGIC "PLUTOMCH"
#define META_TMP "meta.tmp"

static bool meta_ok(const pm_meta *m)
{
    return m->id != 0 && m->program[0] != 0 && memchr(m->program, 0, PM_PROG_MAX) &&
           memchr(m->version, 0, PM_PROG_MAX) && m->fsync <= PM_FSYNC_NEVER;
}

static void encode(uint8_t out[META_SIZE], const pm_meta *m)
{
    memset(out, 0, META_SIZE);
    memcpy(out, META_MAGIC, 8);
    pm_put32(out + 8, PM_FORMAT);
    pm_put32(out + 12, (uint32_t)m->fsync);
    pm_put32(out + 16, m->fsync_interval_ms);
    pm_put64(out + 24, m->snapshot_every);
    pm_put64(out + 32, m->id);
    memcpy(out + 40, m->program, strlen(m->program));
    memcpy(out + 104, m->version, strlen(m->version));
    pm_put64(out + 168, pm_checksum(out, 168, 0));
}

int pm_meta_write(pm_disk *d, const pm_meta *m)
{
    if (!meta_ok(m))
        return -EINVAL;
    uint8_t buf[META_SIZE];
    encode(buf, m);
    return pm_disk_put_atomic(d, PM_META_NAME, META_TMP, buf, sizeof buf, NULL, 0);
}

static int is_machine_file(void *arg, const char *name)
{
    uint64_t seq;
    bool mine = strcmp(name, PM_META_NAME) == 0 || pm_name_parse(name, PM_LOG_PREFIX, &seq) ||
                pm_name_parse(name, PM_SNAP_PREFIX, &seq);
    return mine ? -EEXIST : 0;
}

int pm_meta_create(pm_disk *d, const pm_meta *m)
{
    int r = pm_disk_list(d, is_machine_file, NULL);
    return r < 0 ? r : pm_meta_write(d, m);
}

int pm_meta_read(pm_disk *d, pm_meta *m)
{
    uint8_t *buf;
    size_t n;
    int r = pm_disk_get(d, PM_META_NAME, 4096, &buf, &n);
    if (r < 0)
        return r == -EFBIG ? PM_E_FORMAT : r;
    if (n != META_SIZE || memcmp(buf, META_MAGIC, 8) != 0 || pm_get32(buf + 8) != PM_FORMAT)
        r = PM_E_FORMAT;
    else if (pm_get64(buf + 168) != pm_checksum(buf, 168, 0))
        r = PM_E_CORRUPT;
    if (r == 0) {
        *m = (pm_meta){ .fsync = (pm_fsync)pm_get32(buf + 12),
                        .fsync_interval_ms = pm_get32(buf + 16),
                        .snapshot_every = pm_get64(buf + 24), .id = pm_get64(buf + 32) };
        memcpy(m->program, buf + 40, PM_PROG_MAX - 1);
        memcpy(m->version, buf + 104, PM_PROG_MAX - 1);
        if (!meta_ok(m))
            r = PM_E_FORMAT;
    }
    free(buf);
    return r;
}

const char *pm_fsync_name(pm_fsync f)
{
    return f == PM_FSYNC_ALWAYS ? "always" : f == PM_FSYNC_INTERVAL ? "interval" : "never";
}

int pm_fsync_parse(const char *s, pm_fsync *out)
{
    for (int f = PM_FSYNC_ALWAYS; f <= PM_FSYNC_NEVER; f++)
        if (strcmp(s, pm_fsync_name((pm_fsync)f)) == 0) {
            *out = (pm_fsync)f;
            return 0;
        }
    return -EINVAL;
}

const char *pm_strerror(int err)
{
    switch (err) {
    case PM_E_CORRUPT: return "corrupt data (a checksum failed before the end)";
    case PM_E_FORMAT: return "not a Pluto machine file, or an unknown format version";
    case PM_E_SYNC: return "fsync failed: data may be lost, the journal stops";
    case PM_E_PROGRAM: return "the machine belongs to another program";
    default: return err == 0 ? "success" : strerror(-err);
    }
}

void pm_damage_format(const pm_damage *dm, char *out, size_t n)
{
    if (dm->kind == PM_DAMAGE_NONE) {
        snprintf(out, n, "none");
        return;
    }
    int k = snprintf(out, n, "%s in %s at offset %llu (seq %llu expected): %s",
                     dm->kind == PM_DAMAGE_TAIL ? "torn tail" : "corruption", dm->file,
                     (unsigned long long)dm->offset, (unsigned long long)dm->seq, dm->why);
    size_t used = k < 0 ? 0 : (size_t)k < n ? (size_t)k : n;
    if (dm->kind == PM_DAMAGE_TAIL)
        snprintf(out + used, n - used, "; %llu bytes dropped",
                 (unsigned long long)dm->dropped);
    else
        snprintf(out + used, n - used, "; the record at %s offset %llu was written after "
                 "it had been synced", dm->proof, (unsigned long long)dm->proof_offset);
}
