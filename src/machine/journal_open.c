/* journal_open.c — open a machine's log for appending: check, repair, resume.
 *
 * Every record from the segment holding from_seq on is read and checked. A
 * torn tail is cut off: the damaged segment is truncated at the first bad byte
 * (removed if its header is bad) and every later segment removed. Then every
 * segment is synced, and the directory: what the previous process wrote may
 * still have been only in the page cache, and the records appended from now on
 * will claim that everything up to here is durable.
 */
#include "machine/journal_impl.h"
#include "machine/format.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdlib.h>

enum { SEGMENT_BYTES = 64 << 20, BUFFER_BYTES = 8 << 20, INTERVAL_MS = 1000 };

/* Read the whole log once: fills rep; 0 or an error (PM_E_CORRUPT). */
static int check(pm_disk *d, uint64_t id, uint64_t from_seq, pm_journal_report *rep)
{
    pm_log_reader *r;
    int e = pm_log_open(d, id, from_seq, &r);
    if (e < 0)
        return e;
    pm_record rec;
    while ((e = pm_log_next(r, &rec)) > 0)
        rep->records++;
    rep->last_seq = pm_log_last_seq(r);
    rep->damage = *pm_log_damage(r);
    pm_log_stats(r, &rep->segments, &rep->bytes);
    pm_log_close(r);
    return e;
}

/* Cut the log at the damage: later segments go, the damaged one is truncated. */
static int repair(pm_disk *d, const pm_damage *dm)
{
    uint64_t damaged = 0;
    bool named = pm_name_parse(dm->file, PM_LOG_PREFIX, &damaged);
    PL_ASSERT(named);                       /* the reader only names segments */
    pm_file *segs;
    size_t n;
    int e = pm_list_files(d, PM_LOG_PREFIX, &segs, &n);
    for (size_t i = 0; e == 0 && i < n; i++)
        if (segs[i].seq > damaged)
            e = pm_disk_unlink(d, segs[i].name);
    free(segs);
    if (e < 0)
        return e;
    if (dm->offset < PM_SEG_HDR)
        return pm_disk_unlink(d, dm->file);
    int h = pm_disk_open(d, dm->file, PM_O_WRITE);
    if (h < 0)
        return h;
    e = pm_disk_truncate(d, h, dm->offset);
    pm_disk_close(d, h);
    return e;
}

/* fdatasync every segment and the directory. Leaves *last_seg open for
 * appending (-1 if there is no segment) with its size in *len. */
static int sync_all(pm_disk *d, int *last_seg, uint64_t *len)
{
    pm_file *segs;
    size_t n;
    *last_seg = -1;
    int e = pm_list_files(d, PM_LOG_PREFIX, &segs, &n);
    for (size_t i = 0; e == 0 && i < n; i++) {
        int h = pm_disk_open(d, segs[i].name, PM_O_WRITE);
        if (h < 0) {
            e = h;
            break;
        }
        e = pm_disk_fdatasync(d, h) < 0 ? PM_E_SYNC : 0;
        if (e == 0 && i + 1 == n && (e = pm_disk_size(d, h, len)) == 0)
            *last_seg = h;
        else
            pm_disk_close(d, h);
    }
    free(segs);
    if (e == 0 && pm_disk_sync_dir(d) < 0)
        e = PM_E_SYNC;
    if (e < 0 && *last_seg >= 0) {
        pm_disk_close(d, *last_seg);
        *last_seg = -1;
    }
    return e;
}

static pm_journal *create(pm_disk *d, const pm_meta *m, const pm_journal_opts *o)
{
    pm_journal *j = calloc(1, sizeof *j);
    if (j == NULL)
        return NULL;
    *j = (pm_journal){ .d = d, .id = m->id, .policy = m->fsync, .h = -1,
                       .interval_ms = m->fsync_interval_ms ? m->fsync_interval_ms : INTERVAL_MS,
                       .seg_max = SEGMENT_BYTES, .buf_max = BUFFER_BYTES };
    if (o != NULL && o->fsync_given)
        j->policy = o->fsync;
    if (o != NULL && o->fsync_interval_ms)
        j->interval_ms = o->fsync_interval_ms;
    if (o != NULL && o->segment_bytes)
        j->seg_max = o->segment_bytes;
    if (o != NULL && o->buffer_bytes)
        j->buf_max = o->buffer_bytes;
    return j;
}

int pm_journal_open(pm_disk *d, const pm_meta *m, const pm_journal_opts *o, uint64_t from_seq,
                    pm_journal **out, pm_journal_report *rep)
{
    PL_ASSERT(from_seq >= 1 && m->id != 0);
    pm_journal_report scratch;
    rep = rep ? rep : &scratch;
    *rep = (pm_journal_report){ 0 };
    int e = check(d, m->id, from_seq, rep);
    if (e == 0 && rep->damage.kind == PM_DAMAGE_TAIL)
        e = repair(d, &rep->damage);
    int h = -1;
    uint64_t len = 0;
    if (e == 0)
        e = sync_all(d, &h, &len);
    pm_journal *j = e == 0 ? create(d, m, o) : NULL;
    if (e == 0 && j == NULL)
        e = -ENOMEM;
    if (e < 0) {
        if (h >= 0)
            pm_disk_close(d, h);
        return e;
    }
    if (rep->last_seq + 1 < from_seq) {     /* a snapshot ahead of the log */
        rep->last_seq = from_seq - 1;
        if (h >= 0)
            pm_disk_close(d, h);            /* resume in a new segment log.<from_seq> */
        h = -1;
    }
    j->last = rep->last_seq;
    j->written = j->synced = j->last;
    if (h >= 0 && len >= j->seg_max) {
        pm_disk_close(d, h);
        h = -1;
    }
    j->h = h;
    j->seg_len = len;
    *out = j;
    return 0;
}
