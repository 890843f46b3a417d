/* journal_open.c — open a machine's log for appending: check, repair, resume.
 *
 * Every record from the segment holding from_seq on is read and checked. A
 * torn tail is cut off: the damaged segment is truncated at the first bad byte
 * (removed if its header is bad) and every later segment removed. Then every
 * segment is synced, and the directory: what the previous process wrote may
 * still have been only in the page cache, and the records appended from now on
 * will claim that everything up to here is durable. The records no record
 * claims durable are written again first (refresh): if the previous process
 * stopped on a failed fsync, the kernel may have marked their pages clean
 * without writing them, and a sync alone would not write them now.
 */
#include "machine/journal_impl.h"
#include "machine/format.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SEGMENT_BYTES = 64 << 20, BUFFER_BYTES = 8 << 20, INTERVAL_MS = 1000 };

/* Where the last valid record lies. */
typedef struct last_rec { char file[PM_NAME_MAX]; uint64_t off; bool any; } last_rec;

/* Read the whole log once: fills rep and *lr; 0 or an error (PM_E_CORRUPT). */
static int check(pm_disk *d, uint64_t id, uint64_t from_seq, pm_journal_report *rep,
                 last_rec *lr)
{
    pm_log_reader *r;
    int e = pm_log_open(d, id, from_seq, &r);
    if (e < 0)
        return e;
    pm_record rec;
    while ((e = pm_log_next(r, &rec)) > 0) {
        rep->records++;
        snprintf(lr->file, sizeof lr->file, "%s", rec.file);
        lr->off = rec.offset;
        lr->any = true;
    }
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

/* Read the log from (file, off) to its end and write it back in place. */
static int rewrite_from(pm_disk *d, const char *file, uint64_t off)
{
    pm_file *segs;
    size_t n;
    int e = pm_list_files(d, PM_LOG_PREFIX, &segs, &n);
    enum { CHUNK = 64 * 1024 };
    uint8_t *buf = e == 0 ? malloc(CHUNK) : NULL;
    if (e == 0 && buf == NULL)
        e = -ENOMEM;
    bool on = false;
    for (size_t i = 0; e == 0 && i < n; i++) {
        if (!on && strcmp(segs[i].name, file) != 0)
            continue;
        uint64_t from = on ? 0 : off, size = 0;
        on = true;
        int h = pm_disk_open(d, segs[i].name, PM_O_WRITE);
        if (h < 0) {
            e = h;
            break;
        }
        e = pm_disk_size(d, h, &size);
        for (uint64_t o = from; e == 0 && o < size; o += CHUNK) {
            size_t k = size - o < CHUNK ? (size_t)(size - o) : CHUNK;
            e = pm_disk_read_all(d, h, buf, k, o);
            if (e == 0)
                e = pm_disk_write_all(d, h, buf, k, o);
        }
        pm_disk_close(d, h);
    }
    free(buf);
    free(segs);
    return e;
}

/* Write again the records after the last record's `synced` claim: nothing
 * says they reached the disk. 0 or -errno; a full disk is no error (a file
 * system that writes copies may need room to rewrite in place, and a start
 * on a full disk must go on: its journal is full, not lost). */
static int refresh(pm_disk *d, uint64_t id, const last_rec *lr, uint64_t last_seq)
{
    if (!lr->any)
        return 0;
    uint8_t hdr[PM_REC_HDR];
    int h = pm_disk_open(d, lr->file, 0);
    if (h < 0)
        return h;
    int e = pm_disk_read_all(d, h, hdr, sizeof hdr, lr->off);
    pm_disk_close(d, h);
    uint64_t claim = pm_get64(hdr + 32);
    if (e < 0 || claim >= last_seq)
        return e;
    pm_log_reader *r;
    e = pm_log_open(d, id, claim + 1, &r);
    if (e < 0)
        return e;
    pm_record rec;
    e = pm_log_next(r, &rec);
    if (e > 0)          /* the segment's first record: its header was written with it */
        e = rewrite_from(d, rec.file, rec.offset <= PM_SEG_HDR ? 0 : rec.offset);
    pm_log_close(r);
    return e < 0 && e != -ENOSPC ? e : 0;
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
    last_rec lr = { .any = false };
    int e = check(d, m->id, from_seq, rep, &lr);
    if (e == 0 && rep->damage.kind == PM_DAMAGE_TAIL)
        e = repair(d, &rep->damage);
    if (e == 0)
        e = refresh(d, m->id, &lr, rep->last_seq);
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
