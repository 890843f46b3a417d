/* snapshot.c — write, verify, load and prune snapshots (snapshot.h).
 *
 *   0  "PLUTOSNP"   8  u32 format (1)   12  u32 0   16  u64 seq   24  u64 length
 *  32  u64 XXH3(payload)   40  u64 XXH3(bytes 0..40)   48  payload
 *
 * A snapshot is valid only when both checksums, its name and its length agree;
 * anything else is skipped and reported, never half-used.
 */
#include "machine/snapshot.h"
#include "machine/format.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC "PLUTOSNP"
#define TMP_SUFFIX ".tmp"

int pm_snap_write(pm_disk *d, uint64_t id, uint64_t seq, const void *data, size_t len)
{
    if (len > PM_SNAP_MAX)
        return -EFBIG;
    uint8_t h[PM_SNAP_HDR];
    memcpy(h, SNAP_MAGIC, 8);
    pm_put32(h + 8, PM_FORMAT);
    pm_put32(h + 12, 0);
    pm_put64(h + 16, seq);
    pm_put64(h + 24, len);
    pm_put64(h + 32, pm_checksum(data, len, id));
    pm_put64(h + 40, pm_checksum(h, 40, id));
    char name[PM_NAME_MAX], tmp[PM_NAME_MAX + 8];
    pm_name_snap(name, seq);
    snprintf(tmp, sizeof tmp, "%s" TMP_SUFFIX, name);
    return pm_disk_put_atomic(d, name, tmp, h, sizeof h, data, len);
}

/* NULL if the file image p[0..n) is a valid snapshot at seq, else why not. */
static const char *verify(const uint8_t *p, size_t n, uint64_t id, uint64_t seq)
{
    if (n < PM_SNAP_HDR)
        return "truncated header";
    if (memcmp(p, SNAP_MAGIC, 8) != 0 || pm_get32(p + 8) != PM_FORMAT || pm_get32(p + 12) != 0)
        return "bad header";
    if (pm_get64(p + 40) != pm_checksum(p, 40, id))
        return "bad header checksum";
    if (pm_get64(p + 16) != seq)
        return "header and name disagree";
    if (pm_get64(p + 24) != n - PM_SNAP_HDR)
        return "wrong length";
    if (pm_get64(p + 32) != pm_checksum(p + PM_SNAP_HDR, n - PM_SNAP_HDR, id))
        return "bad checksum";
    return NULL;
}

/* Read and verify one snapshot file: fills info; *data (if asked) gets the
 * payload of a valid one, malloc'd. 0 or -errno. */
static int read_one(pm_disk *d, uint64_t id, const pm_file *f, pm_snap_info *info,
                    uint8_t **data, size_t *len)
{
    *info = (pm_snap_info){ .seq = f->seq };
    snprintf(info->name, sizeof info->name, "%s", f->name);
    uint8_t *buf;
    size_t n;
    int e = pm_disk_get(d, f->name, PM_SNAP_MAX + PM_SNAP_HDR, &buf, &n);
    if (e == -EFBIG) {
        info->bad = "too large";
        return 0;
    }
    if (e < 0)
        return e;
    info->size = n;
    info->bad = verify(buf, n, id, f->seq);
    if (info->bad == NULL && data != NULL) {
        *len = n - PM_SNAP_HDR;
        memmove(buf, buf + PM_SNAP_HDR, *len);
        *data = buf;
        return 0;
    }
    free(buf);
    return 0;
}

int pm_snap_list(pm_disk *d, uint64_t id, pm_snap_info **out, size_t *n)
{
    pm_file *files;
    int e = pm_list_files(d, PM_SNAP_PREFIX, &files, n);
    if (e < 0)
        return e;
    pm_snap_info *v = calloc(*n ? *n : 1, sizeof *v);
    if (v == NULL)
        e = -ENOMEM;
    for (size_t i = 0; e == 0 && i < *n; i++)
        e = read_one(d, id, &files[i], &v[i], NULL, NULL);
    free(files);
    if (e < 0) {
        free(v);
        return e;
    }
    *out = v;
    return 0;
}

int pm_snap_load(pm_disk *d, uint64_t id, pm_snap *out)
{
    *out = (pm_snap){ 0 };
    pm_file *files;
    size_t n;
    int e = pm_list_files(d, PM_SNAP_PREFIX, &files, &n);
    if (e < 0)
        return e;
    e = -ENOENT;
    for (size_t i = n; i-- > 0;) {
        pm_snap_info info;
        int r = read_one(d, id, &files[i], &info, &out->data, &out->len);
        if (r < 0) {
            e = r;
            break;
        }
        if (info.bad == NULL) {
            out->seq = info.seq;
            e = 0;
            break;
        }
        if (out->skipped < PM_SNAP_SKIPPED_MAX)
            out->skip[out->skipped] = info;
        out->skipped++;
    }
    free(files);
    return e;
}

void pm_snap_free(pm_snap *s)
{
    free(s->data);
    s->data = NULL;
}

enum { TEMPS_MAX = 16 };      /* leftovers removed per prune; the rest next time */

typedef struct temps {
    uint32_t n;
    char name[TEMPS_MAX][PM_NAME_MAX];
} temps;

/* Collect snap.*.tmp names: the listing callback must not change the directory. */
static int find_temp(void *arg, const char *name)
{
    temps *t = arg;
    size_t n = strlen(name), k = strlen(TMP_SUFFIX);
    if (strncmp(name, PM_SNAP_PREFIX, strlen(PM_SNAP_PREFIX)) == 0 && n > k &&
        strcmp(name + n - k, TMP_SUFFIX) == 0 && t->n < TEMPS_MAX)
        snprintf(t->name[t->n++], PM_NAME_MAX, "%s", name);
    return 0;
}

/* Remove segments whose records are all <= keep: segment i ends where i+1
 * starts, and the last one is never removed. */
static int prune_segments(pm_disk *d, uint64_t keep, uint32_t *count)
{
    pm_file *segs;
    size_t n;
    int e = pm_list_files(d, PM_LOG_PREFIX, &segs, &n);
    for (size_t i = 0; e == 0 && i + 1 < n && segs[i + 1].seq <= keep + 1; i++) {
        e = pm_disk_unlink(d, segs[i].name);
        *count += e == 0;
    }
    free(segs);
    return e;
}

int pm_snap_prune(pm_disk *d, uint64_t id, pm_prune_report *rep)
{
    pm_prune_report scratch;
    rep = rep ? rep : &scratch;
    *rep = (pm_prune_report){ 0 };
    temps t = { 0 };
    int e = pm_disk_list(d, find_temp, &t);
    for (uint32_t i = 0; e == 0 && i < t.n; i++)
        if ((e = pm_disk_unlink(d, t.name[i])) == 0)
            rep->temps++;
    pm_snap_info *v = NULL;
    size_t n = 0;
    if (e == 0)
        e = pm_snap_list(d, id, &v, &n);
    size_t newest = n, keep = n;            /* indexes of N and K; n: none */
    for (size_t i = n; e == 0 && i-- > 0 && keep == n;)
        if (v[i].bad == NULL)
            *(newest == n ? &newest : &keep) = i;
    for (size_t i = 0; e == 0 && keep < n && i < keep; i++)
        if ((e = pm_disk_unlink(d, v[i].name)) == 0)
            rep->snapshots++;
    if (e == 0 && keep < n)
        e = prune_segments(d, v[keep].seq, &rep->segments);
    free(v);
    if (e == 0 && rep->snapshots + rep->segments + rep->temps > 0 && pm_disk_sync_dir(d) < 0)
        e = PM_E_SYNC;
    return e;
}
