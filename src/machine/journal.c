/* journal.c — append records to the log and commit them in groups.
 *
 * Appending encodes a record into a memory buffer; committing writes the whole
 * buffer at the end of the open segment with one write, then syncs it once if
 * the policy says so. One write and one fdatasync per loop turn, however many
 * answers the turn journaled.
 *
 * The two kinds of failure are kept apart. A write that fails (ENOSPC, EIO)
 * changed nothing durable: the file is cut back to its last whole record, the
 * buffer stays, and the next commit tries again. An fsync that fails may have
 * lost data the kernel will not write again, so the journal stops for good.
 */
#include "machine/journal_impl.h"
#include "machine/format.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdlib.h>

int pm__journal_sync_segment(pm_journal *j)
{
    if (j->h >= 0 && j->seg_dirty) {
        if (pm_disk_fdatasync(j->d, j->h) < 0)
            return j->broken = PM_E_SYNC;
        j->seg_dirty = false;
    }
    if (j->h >= 0 && j->seg_new) {
        if (pm_disk_sync_dir(j->d) < 0)     /* the segment's name, or it may vanish */
            return j->broken = PM_E_SYNC;
        j->seg_new = false;
    }
    j->synced = j->written;
    return 0;
}

int pm_journal_append(pm_journal *j, uint64_t task, uint32_t type, const void *payload,
                      size_t len, uint64_t *seq)
{
    if (j->broken)
        return j->broken;
    if (len > PM_REC_PAYLOAD_MAX)
        return -EMSGSIZE;
    uint64_t size = pm_rec_size(len);
    if (j->buf_len > 0 && j->buf_len + size > j->buf_max)
        return -ENOBUFS;
    if (j->buf_len + size > j->buf_cap) {
        size_t cap = j->buf_cap ? j->buf_cap : 64 * 1024;
        while (cap < j->buf_len + size)
            cap *= 2;
        uint8_t *b = realloc(j->buf, cap);
        if (b == NULL)
            return -ENOMEM;
        j->buf = b, j->buf_cap = cap;
    }
    pm_rec r = { .seq = j->last + 1, .task = task, .synced = j->synced, .type = type,
                 .len = (uint32_t)len, .payload = payload };
    pm_rec_encode(j->buf + j->buf_len, &r, j->id);
    j->buf_len += size;
    j->last++;
    if (seq != NULL)
        *seq = j->last;
    PL_ASSERT(j->synced <= j->written && j->written <= j->last);
    return 0;
}

/* A new segment named after the first buffered record. */
static int create_segment(pm_journal *j)
{
    char name[PM_NAME_MAX];
    pm_name_log(name, j->written + 1);
    int h = pm_disk_open(j->d, name, PM_O_WRITE | PM_O_CREATE | PM_O_TRUNC);
    if (h < 0)
        return h;
    j->h = h;
    j->seg_len = 0;
    j->seg_new = true;
    return 0;
}

/* Write bytes at the end of the open segment, or cut the file back and fail. */
static int write_tail(pm_journal *j, const void *p, size_t n)
{
    j->seg_dirty = true;
    int e = pm_disk_write_all(j->d, j->h, p, n, j->seg_len);
    if (e < 0) {
        /* Leaves no partial record to read back; if even this fails, the next
         * write starts at seg_len again and covers at least as much. */
        pm_disk_truncate(j->d, j->h, j->seg_len);
        return e;
    }
    j->seg_len += n;
    return 0;
}

static int write_buffer(pm_journal *j)
{
    if (j->buf_len == 0)
        return 0;
    int e = j->h < 0 ? create_segment(j) : 0;
    if (e == 0 && j->seg_len == 0) {
        uint8_t hdr[PM_SEG_HDR];
        pm_seg_hdr_encode(hdr, j->written + 1, j->id);
        e = write_tail(j, hdr, sizeof hdr);
    }
    if (e == 0)
        e = write_tail(j, j->buf, j->buf_len);
    if (e < 0)
        return e;
    PL_ASSERT(j->seg_len >= PM_SEG_HDR + j->buf_len);
    j->written = j->last;
    j->buf_len = 0;
    return 0;
}

static bool sync_due(const pm_journal *j, uint64_t now_ms)
{
    if (j->policy == PM_FSYNC_ALWAYS)
        return true;
    if (j->policy == PM_FSYNC_NEVER || j->written == j->synced)
        return false;
    return now_ms < j->synced_ms || now_ms - j->synced_ms >= j->interval_ms;
}

/* Past the size limit: close the segment, synced whatever the policy, so that
 * only the last segment can ever hold unsynced bytes. */
static int rotate(pm_journal *j)
{
    int e = pm__journal_sync_segment(j);
    if (e < 0)
        return e;
    pm_disk_close(j->d, j->h);
    j->h = -1;
    return 0;
}

static int commit(pm_journal *j, uint64_t now_ms, bool force)
{
    if (j->broken)
        return j->broken;
    int e = write_buffer(j);
    if (e < 0)
        return e;
    if (force || sync_due(j, now_ms)) {
        if ((e = pm__journal_sync_segment(j)) < 0)
            return e;
        j->synced_ms = now_ms;
    }
    PL_ASSERT(j->buf_len == 0 && j->written == j->last && j->synced <= j->written);
    if (j->h >= 0 && j->seg_len >= j->seg_max)
        return rotate(j);
    return 0;
}

int pm_journal_commit(pm_journal *j, uint64_t now_ms) { return commit(j, now_ms, false); }
int pm_journal_sync(pm_journal *j) { return commit(j, j->synced_ms, true); }

uint64_t pm_journal_last_seq(const pm_journal *j) { return j->last; }
uint64_t pm_journal_written_seq(const pm_journal *j) { return j->written; }
uint64_t pm_journal_synced_seq(const pm_journal *j) { return j->synced; }
int pm_journal_error(const pm_journal *j) { return j->broken; }

void pm_journal_abandon(pm_journal *j)
{
    if (j == NULL)
        return;
    if (j->h >= 0)
        pm_disk_close(j->d, j->h);
    free(j->buf);
    free(j);
}

int pm_journal_close(pm_journal *j)
{
    int e = j->broken ? j->broken : pm_journal_sync(j);
    pm_journal_abandon(j);
    return e;
}
