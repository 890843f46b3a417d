/* fuzz_journal.c — arbitrary bytes as a log segment or a snapshot.
 *
 * Input: one selector byte, then the file. Selector bit 0: a snapshot
 * (snap.0000000000000005) instead of a log segment (log.0000000000000001);
 * bits 1..3: the first sequence number to read from (1..8); bit 4: first give
 * the segment header and every record found walking from it a correct
 * checksum, so that the fuzzer reaches what lies behind the checksums
 * (sequence gaps, `synced` claims, lengths). The file goes on the simulated
 * disk of a machine with a fixed id.
 *
 * Oracle, log: the reader never fails but with PM_E_CORRUPT; every record it
 * returns lies inside the file, in order, with the next sequence number, and
 * its bytes in the file carry a matching checksum (recomputed here from the
 * input, not from the reader's copy); a CORRUPT verdict points at a valid
 * record after the damage. Then opening the journal (which repairs a torn
 * tail) and appending one record leaves a log that reads back with no damage.
 * Oracle, snapshot: a snapshot loads only if its checksum and length match the
 * input, and its payload is the input's.
 */
#include "machine/format.h"
#include "machine/journal.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define CHECK(c) ((c) ? (void)0 : fail(#c, __LINE__))

enum { ID = 0x70757a7a6c65ull };

static void fail(const char *what, int line)
{
    fprintf(stderr, "fuzz_journal: oracle failed at line %d: %s\n", line, what);
    abort();
}

/* The library's assertions (src/runtime/run.c is not linked here). */
_Noreturn void pl__assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, cond);
    abort();
}

/* The record the reader returned, checked against the input bytes. */
static void check_record(const uint8_t *in, size_t n, const pm_record *r)
{
    CHECK(strcmp(r->file, "log.0000000000000001") == 0);
    CHECK(r->offset >= PM_SEG_HDR && r->offset % 8 == 0);
    uint64_t size = pm_rec_size(r->len);
    CHECK(r->offset <= n && size <= n - r->offset);
    const uint8_t *p = in + r->offset;
    CHECK(pm_get64(p) == XXH3_64bits_withSeed(p + 8, size - 8, ID));
    CHECK(pm_get64(p + 16) == r->seq && pm_get64(p + 24) == r->task);
    CHECK(pm_get32(p + 40) == r->type && pm_get32(p + 12) == r->len);
    CHECK(memcmp(p + PM_REC_HDR, r->payload, r->len) == 0);
}

static void fuzz_log(pm_disk *d, const uint8_t *in, size_t n, uint64_t from)
{
    pm_disk_sim_put(d, "log.0000000000000001", in, n);
    pm_log_reader *r;
    CHECK(pm_log_open(d, ID, from, &r) == 0);
    pm_record rec;
    uint64_t last_off = 0, next = 0;
    int e;
    while ((e = pm_log_next(r, &rec)) > 0) {
        check_record(in, n, &rec);
        CHECK(rec.seq >= from && (next == 0 || rec.seq == next));
        CHECK(last_off == 0 || rec.offset > last_off);
        next = rec.seq + 1, last_off = rec.offset;
    }
    CHECK(e == 0 || e == PM_E_CORRUPT);
    int read_result = e;
    const pm_damage *dm = pm_log_damage(r);
    CHECK(dm->offset <= n);
    if (e == PM_E_CORRUPT) {
        CHECK(dm->kind == PM_DAMAGE_CORRUPT && dm->proof_offset > dm->offset);
        CHECK(dm->proof_offset + PM_REC_HDR <= n);
    }
    pm_log_close(r);
    pm_meta m = { .id = ID, .fsync = PM_FSYNC_ALWAYS };
    snprintf(m.program, sizeof m.program, "fuzz");
    CHECK(pm_meta_write(d, &m) == 0);
    pm_journal *j;
    pm_journal_report rep;
    e = pm_journal_open(d, &m, NULL, from, &j, &rep);
    CHECK(e == read_result);
    if (e != 0)
        return;
    CHECK(pm_journal_append(j, 1, 2, "after", 5, NULL) == 0);
    CHECK(pm_journal_close(j) == 0);
    CHECK(pm_log_open(d, ID, from, &r) == 0);
    while ((e = pm_log_next(r, &rec)) > 0)
        ;
    CHECK(e == 0 && pm_log_damage(r)->kind == PM_DAMAGE_NONE);
    CHECK(pm_log_last_seq(r) == rep.last_seq + 1);
    pm_log_close(r);
}

static void fuzz_snapshot(pm_disk *d, const uint8_t *in, size_t n)
{
    pm_disk_sim_put(d, "snap.0000000000000005", in, n);
    pm_snap s;
    int e = pm_snap_load(d, ID, &s);
    CHECK(e == 0 || e == -ENOENT);
    if (e != 0) {
        CHECK(s.skipped == 1);
        return;
    }
    CHECK(s.seq == 5 && n >= PM_SNAP_HDR && s.len == n - PM_SNAP_HDR);
    CHECK(pm_get64(in + 40) == XXH3_64bits_withSeed(in, 40, ID));
    CHECK(pm_get64(in + 32) == XXH3_64bits_withSeed(in + PM_SNAP_HDR, s.len, ID));
    CHECK(memcmp(s.data, in + PM_SNAP_HDR, s.len) == 0);
    pm_snap_free(&s);
}

/* Make the header's and each record's checksum right, walking record by record. */
static void fix_checksums(uint8_t *p, size_t n)
{
    if (n < PM_SEG_HDR)
        return;
    pm_put64(p + 24, XXH3_64bits_withSeed(p, 24, ID));
    for (uint64_t off = PM_SEG_HDR; off + PM_REC_HDR <= n;) {
        uint64_t size = pm_rec_size(pm_get32(p + off + 12));
        if (size > n - off)
            break;
        pm_put64(p + off, XXH3_64bits_withSeed(p + off + 8, size - 8, ID));
        off += size;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    pm_disk *d = pm_disk_sim_create(1);
    uint8_t sel = data[0];
    uint8_t *file = malloc(size);       /* exactly the file: ASan sees any overread */
    memcpy(file, data + 1, size - 1);
    if (sel & 1)
        fuzz_snapshot(d, file, size - 1);
    else {
        if (sel & 0x10)
            fix_checksums(file, size - 1);
        fuzz_log(d, file, size - 1, 1 + (sel >> 1 & 7));
    }
    free(file);
    pm_disk_destroy(d);
    return 0;
}
