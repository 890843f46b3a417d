/* journal_read.c — read the log back, and judge where it stops being valid.
 *
 * Records are read in order from the segment holding from_seq, each checked
 * (magic, length, checksum, next sequence number). The first record that fails
 * ends the valid log at (file, offset), and then the question is: torn tail or
 * corruption? A crash can damage only bytes that were not yet synced, so
 *
 *   the damage is corruption  <=>  some later valid record, anywhere in the
 *   rest of the log, says that the expected sequence number had been synced
 *   (its `synced` field is >= it) when it was written.
 *
 * Otherwise everything from the damage on was never durable, and it is a torn
 * tail: the records before it are the log. The search for such a record tries
 * every 8-byte-aligned offset after the damage, so a damaged length field does
 * not hide the records behind it.
 */
#include "machine/journal.h"
#include "machine/format.h"
#include "machine/read_win.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pm_log_reader {
    pm_disk *d;
    uint64_t id, from;
    pm_file *segs;
    size_t nsegs, cur;
    pm_win w;               /* the open segment (w.h < 0: none) */
    uint64_t off;           /* next record there */
    uint64_t expect;        /* its sequence number */
    uint32_t opened;
    uint64_t bytes;
    bool done;
    int err;                /* returned once done: 0, PM_E_CORRUPT or -errno */
    pm_damage dmg;
};

int pm_log_open(pm_disk *d, uint64_t id, uint64_t from_seq, pm_log_reader **out)
{
    PL_ASSERT(from_seq >= 1);
    pm_log_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return -ENOMEM;
    *r = (pm_log_reader){ .d = d, .id = id, .from = from_seq, .expect = from_seq };
    pm_win_init(&r->w, d);
    int e = pm_list_files(d, PM_LOG_PREFIX, &r->segs, &r->nsegs);
    if (e < 0) {
        free(r);
        return e;
    }
    while (r->cur + 1 < r->nsegs && r->segs[r->cur + 1].seq <= from_seq)
        r->cur++;                           /* the last segment starting at or before it */
    if (r->nsegs > 0 && r->segs[r->cur].seq <= from_seq)
        r->expect = r->segs[r->cur].seq;   /* else the first header shows the gap */
    *out = r;
    return 0;
}

/* A valid record at off in w whose synced field covers seq: the proof that
 * damage before it is not from a crash. Returns 1, 0 or -errno. */
static int proof_in(pm_win *w, uint64_t off, uint64_t id, uint64_t seq, uint64_t *at)
{
    for (off = (off + PM_REC_ALIGN - 1) & ~(uint64_t)(PM_REC_ALIGN - 1);
         off + PM_REC_HDR <= w->size; off += PM_REC_ALIGN) {
        pm_rec rec;
        pm_rec_bad bad;
        int e = pm_win_rec(w, off, id, &rec, &bad);
        if (e < 0)
            return e;
        if (bad == PM_REC_OK && rec.synced >= seq) {
            *at = off;
            return 1;
        }
    }
    return 0;
}

/* Search the rest of the log for a proof; add up the bytes after the damage. */
static int find_proof(pm_log_reader *r, uint64_t off)
{
    pm_damage *dm = &r->dmg;
    dm->dropped = r->w.size - off;
    int found = proof_in(&r->w, off + 1, r->id, dm->seq, &dm->proof_offset);
    if (found > 0)
        snprintf(dm->proof, sizeof dm->proof, "%s", r->segs[r->cur].name);
    pm_win_close(&r->w);
    for (size_t i = r->cur + 1; found >= 0 && i < r->nsegs; i++) {
        pm_win w;
        pm_win_init(&w, r->d);
        int e = pm_win_open(&w, r->segs[i].name);
        if (e < 0) {
            pm_win_deinit(&w);
            return e;
        }
        r->opened++, r->bytes += w.size, dm->dropped += w.size;
        if (found == 0 && (found = proof_in(&w, 0, r->id, dm->seq, &dm->proof_offset)) > 0)
            snprintf(dm->proof, sizeof dm->proof, "%s", r->segs[i].name);
        pm_win_deinit(&w);
    }
    return found;
}

/* The valid log ends at off in the current segment: say why, and how. */
static int damage(pm_log_reader *r, uint64_t off, const char *why)
{
    r->dmg = (pm_damage){ .offset = off, .seq = r->expect, .why = why };
    snprintf(r->dmg.file, sizeof r->dmg.file, "%s", r->segs[r->cur].name);
    int found = find_proof(r, off);
    r->done = true;
    if (found < 0)
        return r->err = found;
    r->dmg.kind = found ? PM_DAMAGE_CORRUPT : PM_DAMAGE_TAIL;
    return r->err = found ? PM_E_CORRUPT : 0;
}

/* Open segment cur and check its header. 1: ready; 0: damage found; <0. */
static int open_segment(pm_log_reader *r)
{
    int e = pm_win_open(&r->w, r->segs[r->cur].name);
    if (e < 0)
        return e;
    r->opened++, r->bytes += r->w.size;
    const uint8_t *p;
    uint64_t first;
    if (r->w.size < PM_SEG_HDR)
        return damage(r, 0, "truncated segment header"), 0;
    if ((e = pm_win_get(&r->w, 0, PM_SEG_HDR, &p)) < 0)
        return e;
    if (pm_seg_hdr_decode(p, r->id, &first) < 0)
        return damage(r, 0, "bad segment header"), 0;
    if (first != r->segs[r->cur].seq)
        return damage(r, 0, "segment header and name disagree"), 0;
    if (first != r->expect)
        return damage(r, 0, "records missing before this segment"), 0;
    r->off = PM_SEG_HDR;
    return 1;
}

static int fail(pm_log_reader *r, int e)
{
    r->done = true;
    pm_win_close(&r->w);
    return r->err = e;
}

int pm_log_next(pm_log_reader *r, pm_record *out)
{
    while (!r->done) {
        if (r->w.h < 0) {
            if (r->cur == r->nsegs) {           /* the end of the last segment */
                r->done = true;
                break;
            }
            int e = open_segment(r);
            if (e <= 0)
                return e < 0 ? fail(r, e) : r->err;
        }
        PL_ASSERT(r->off <= r->w.size);
        if (r->off == r->w.size) {              /* a whole segment read */
            pm_win_close(&r->w);
            r->cur++;
            continue;
        }
        pm_rec rec;
        pm_rec_bad bad;
        int e = pm_win_rec(&r->w, r->off, r->id, &rec, &bad);
        if (e < 0)
            return fail(r, e);
        if (bad != PM_REC_OK)
            return damage(r, r->off, pm_rec_bad_name(bad));
        if (rec.seq != r->expect)
            return damage(r, r->off, "unexpected sequence number");
        uint64_t at = r->off;
        r->off += pm_rec_size(rec.len);
        r->expect++;
        PL_ASSERT(r->off <= r->w.size);
        if (rec.seq < r->from)
            continue;
        *out = (pm_record){ .seq = rec.seq, .task = rec.task, .type = rec.type, .len = rec.len,
                            .payload = rec.payload, .file = r->segs[r->cur].name, .offset = at };
        return 1;
    }
    return r->err;
}

const pm_damage *pm_log_damage(const pm_log_reader *r) { return &r->dmg; }

uint64_t pm_log_last_seq(const pm_log_reader *r) { return r->expect - 1; }

void pm_log_stats(const pm_log_reader *r, uint32_t *segments, uint64_t *bytes)
{
    *segments = r->opened;
    *bytes = r->bytes;
}

void pm_log_close(pm_log_reader *r)
{
    if (r == NULL)
        return;
    pm_win_deinit(&r->w);
    free(r->segs);
    free(r);
}
