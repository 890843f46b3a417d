/* test_journal_damage.c — a log cut at every byte of its last 3 records
 * recovers to the last whole record; every flipped byte is caught; corruption
 * before the tail is refused with the file and offset. */
#include "test_journal_util.h"

enum { KEY = 77, PMAX = 120, NREC = 12 };

#define SEG "log.0000000000000001"

typedef struct ref_log {
    pm_meta m;
    uint8_t bytes[8192];
    size_t size;
    uint64_t off[NREC + 1];     /* record i (0-based) starts at off[i]; off[NREC] = size */
} ref_log;

/* A log of NREC records, each committed alone (so each says its predecessor
 * was synced), as the journal wrote it. */
static void make_ref(ref_log *ref)
{
    ref->m = test_meta(0xfeed, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(1, &ref->m);
    pm_journal *j;
    MUST(pm_journal_open(d, &ref->m, NULL, 1, &j, NULL));
    uint8_t p[PMAX];
    for (uint64_t seq = 1; seq <= NREC; seq++) {
        size_t n = test_payload(KEY, seq, 0, p, PMAX);
        MUST(pm_journal_append(j, seq, 0, p, n, NULL));
        MUST(pm_journal_commit(j, seq));
    }
    MUST(pm_journal_close(j));
    size_t n;
    const uint8_t *b = pm_disk_sim_peek(d, SEG, &n);
    cr_assert(b != NULL && n <= sizeof ref->bytes);
    memcpy(ref->bytes, b, n);
    ref->size = n;
    uint64_t off = PM_SEG_HDR;
    for (int i = 0; i < NREC; i++) {
        ref->off[i] = off;
        off += pm_rec_size(pm_get32(ref->bytes + off + 12));
    }
    cr_assert_eq(off, n);
    ref->off[NREC] = n;
    pm_disk_destroy(d);
}

/* A machine whose only segment holds these bytes. */
static pm_disk *with_segment(const ref_log *ref, const uint8_t *bytes, size_t n)
{
    pm_disk *d = sim_machine(2, &ref->m);
    pm_disk_sim_put(d, SEG, bytes, n);
    return d;
}

/* Read all: the records must be 1..k intact; returns k and the reader's result. */
static uint64_t read_prefix(pm_disk *d, uint64_t id, int *result, pm_damage *dm)
{
    pm_log_reader *r;
    MUST(pm_log_open(d, id, 1, &r));
    pm_record rec;
    uint64_t k = 0;
    int e;
    while ((e = pm_log_next(r, &rec)) > 0) {
        cr_assert_eq(rec.seq, k + 1);
        check_payload(&rec, KEY, 0, PMAX);
        k++;
    }
    *result = e;
    *dm = *pm_log_damage(r);
    pm_log_close(r);
    return k;
}

Test(journal_damage, truncate_at_every_byte_of_the_last_three_records)
{
    ref_log ref;
    make_ref(&ref);
    for (uint64_t cut = ref.off[NREC - 3]; cut <= ref.size; cut++) {
        uint64_t whole = 0;
        while (whole < NREC && ref.off[whole + 1] <= cut)
            whole++;
        bool boundary = ref.off[whole] == cut;
        pm_disk *d = with_segment(&ref, ref.bytes, cut);
        int e;
        pm_damage dm;
        cr_assert_eq(read_prefix(d, ref.m.id, &e, &dm), whole, "cut %llu", (unsigned long long)cut);
        cr_assert_eq(e, 0);
        cr_assert_eq(dm.kind, boundary ? PM_DAMAGE_NONE : PM_DAMAGE_TAIL);
        if (!boundary) {
            cr_assert_str_eq(dm.file, SEG);
            cr_assert_eq(dm.offset, ref.off[whole]);
            cr_assert_eq(dm.seq, whole + 1);
            cr_assert_eq(dm.dropped, cut - ref.off[whole]);
        }
        /* Opening repairs: the tail is cut, appending continues after it. */
        pm_journal *j;
        pm_journal_report rep;
        MUST(pm_journal_open(d, &ref.m, NULL, 1, &j, &rep));
        cr_assert_eq(rep.last_seq, whole);
        cr_assert_eq(rep.damage.kind, dm.kind);
        size_t n;
        pm_disk_sim_peek(d, SEG, &n);
        cr_assert_eq(n, ref.off[whole]);
        uint8_t p[PMAX];
        size_t len = test_payload(KEY, whole + 1, 0, p, PMAX);
        MUST(pm_journal_append(j, whole + 1, 0, p, len, NULL));
        MUST(pm_journal_close(j));
        cr_assert_eq(read_prefix(d, ref.m.id, &e, &dm), whole + 1);
        cr_assert_eq(dm.kind, PM_DAMAGE_NONE);
        pm_disk_destroy(d);
    }
}

/* Index of the record holding byte pos; -1 for the segment header. */
static int record_of(const ref_log *ref, uint64_t pos)
{
    int k = -1;
    while (k + 1 < NREC && ref->off[k + 1] <= pos)
        k++;
    return k;
}

Test(journal_damage, every_flipped_byte_is_caught)
{
    ref_log ref;
    make_ref(&ref);
    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    uint8_t buf[sizeof ref.bytes];
    for (uint64_t pos = 0; pos < ref.size; pos++)
        for (size_t mi = 0; mi < sizeof masks; mi++) {
            memcpy(buf, ref.bytes, ref.size);
            buf[pos] ^= masks[mi];
            pm_disk *d = with_segment(&ref, buf, ref.size);
            int e, k = record_of(&ref, pos);
            pm_damage dm;
            uint64_t got = read_prefix(d, ref.m.id, &e, &dm);
            cr_assert_eq(got, (uint64_t)(k < 0 ? 0 : k), "byte %llu", (unsigned long long)pos);
            cr_assert_eq(dm.offset, k < 0 ? 0 : ref.off[k]);
            if (k == NREC - 1) {                /* the last record: a torn tail */
                cr_assert_eq(e, 0);
                cr_assert_eq(dm.kind, PM_DAMAGE_TAIL);
            } else {                            /* a later record proves it was synced */
                cr_assert_eq(e, PM_E_CORRUPT, "byte %llu mask %x: %s", (unsigned long long)pos,
                             masks[mi], pm_strerror(e));
                cr_assert_eq(dm.kind, PM_DAMAGE_CORRUPT);
                cr_assert_str_eq(dm.file, SEG);
                pm_journal *j;
                cr_assert_eq(pm_journal_open(d, &ref.m, NULL, 1, &j, NULL), PM_E_CORRUPT);
            }
            pm_disk_destroy(d);
        }
}

Test(journal_damage, random_multi_byte_corruption_never_yields_a_bad_record)
{
    ref_log ref;
    make_ref(&ref);
    trng rng = { 99 };
    uint8_t buf[sizeof ref.bytes];
    for (int it = 0; it < 3000; it++) {
        memcpy(buf, ref.bytes, ref.size);
        uint64_t first = ref.size;
        for (int f = 1 + (int)(trand(&rng) % 8); f > 0; f--) {
            uint64_t pos = trand(&rng) % ref.size;
            buf[pos] ^= (uint8_t)(1 + trand(&rng) % 255);
            first = pos < first ? pos : first;
        }
        pm_disk *d = with_segment(&ref, buf, ref.size);
        int e, k = record_of(&ref, first);
        pm_damage dm;
        cr_assert_eq(read_prefix(d, ref.m.id, &e, &dm), (uint64_t)(k < 0 ? 0 : k));
        cr_assert(e == 0 || e == PM_E_CORRUPT);
        cr_assert_neq(dm.kind, PM_DAMAGE_NONE);
        pm_disk_destroy(d);
    }
}

Test(journal_damage, missing_segment_is_corruption)
{
    pm_meta m = test_meta(5, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(3, &m);
    pm_journal_opts o = { .segment_bytes = 400 };
    pm_journal *j;
    MUST(pm_journal_open(d, &m, &o, 1, &j, NULL));
    uint8_t p[PMAX];
    for (uint64_t seq = 1; seq <= 60; seq++) {
        MUST(pm_journal_append(j, seq, 0, p, test_payload(KEY, seq, 0, p, PMAX), NULL));
        MUST(pm_journal_commit(j, seq));
    }
    MUST(pm_journal_close(j));
    pm_file *segs;
    size_t n;
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &n));
    cr_assert_geq(n, 4);
    char second[PM_NAME_MAX], third[PM_NAME_MAX];
    snprintf(second, sizeof second, "%s", segs[1].name);
    snprintf(third, sizeof third, "%s", segs[2].name);
    free(segs);
    MUST(pm_disk_unlink(d, second));
    pm_journal_report rep;
    cr_assert_eq(pm_journal_open(d, &m, &o, 1, &j, &rep), PM_E_CORRUPT);
    cr_assert_str_eq(rep.damage.file, third);
    cr_assert_eq(rep.damage.offset, 0);
    cr_assert_str_eq(rep.damage.why, "records missing before this segment");
    char line[512];
    pm_damage_format(&rep.damage, line, sizeof line);
    cr_assert(strstr(line, third) != NULL && strstr(line, "offset 0") != NULL, "%s", line);
    /* The first segment is gone too: the log starts after seq 1. */
    MUST(pm_list_files(d, PM_LOG_PREFIX, &segs, &n));
    MUST(pm_disk_unlink(d, segs[0].name));
    free(segs);
    cr_assert_eq(pm_journal_open(d, &m, &o, 1, &j, &rep), PM_E_CORRUPT);
    pm_disk_destroy(d);
}

Test(journal_damage, another_machines_records_are_never_accepted)
{
    ref_log ref;
    make_ref(&ref);
    pm_meta other = test_meta(0xbeef, PM_FSYNC_ALWAYS);
    pm_disk *d = sim_machine(4, &other);
    pm_disk_sim_put(d, SEG, ref.bytes, ref.size);
    int e;
    pm_damage dm;
    cr_assert_eq(read_prefix(d, other.id, &e, &dm), 0);
    cr_assert_neq(dm.kind, PM_DAMAGE_NONE);
    cr_assert_str_eq(dm.why, "bad segment header");
    pm_disk_destroy(d);
}
