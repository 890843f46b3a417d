/* format.c — encoding and checking records, segment headers and file names.
 *
 * One place knows the bytes (format.h has the layout): the writer encodes with
 * pm_rec_encode and reads back through the same pm_rec_decode as recovery and
 * the fuzzer, so a record that passes here passed every check there is.
 */
#include "machine/format.h"
#include "machine/machine.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

uint64_t pm_checksum(const void *p, size_t n, uint64_t id)
{
    return XXH3_64bits_withSeed(p, n, id);
}

void pm_rec_encode(uint8_t *out, const pm_rec *r, uint64_t id)
{
    PL_ASSERT(r->len <= PM_REC_PAYLOAD_MAX);
    uint64_t size = pm_rec_size(r->len);
    pm_put32(out + 8, PM_REC_MAGIC);
    pm_put32(out + 12, r->len);
    pm_put64(out + 16, r->seq);
    pm_put64(out + 24, r->task);
    pm_put64(out + 32, r->synced);
    pm_put32(out + 40, r->type);
    pm_put32(out + 44, 0);
    if (r->len > 0)
        memcpy(out + PM_REC_HDR, r->payload, r->len);
    memset(out + PM_REC_HDR + r->len, 0, size - PM_REC_HDR - r->len);   /* padding */
    pm_put64(out, pm_checksum(out + 8, size - 8, id));
}

pm_rec_bad pm_rec_decode(const uint8_t *p, uint64_t avail, uint64_t id, pm_rec *r,
                         uint64_t *need)
{
    *need = PM_REC_HDR;
    if (avail < PM_REC_HDR)
        return PM_REC_SHORT;
    if (pm_get32(p + 8) != PM_REC_MAGIC || pm_get32(p + 44) != 0)
        return PM_REC_MAGIC_BAD;
    uint32_t len = pm_get32(p + 12);
    if (len > PM_REC_PAYLOAD_MAX)
        return PM_REC_TOO_LONG;
    *need = pm_rec_size(len);
    if (avail < *need)
        return PM_REC_SHORT;
    if (pm_get64(p) != pm_checksum(p + 8, *need - 8, id))
        return PM_REC_SUM_BAD;
    *r = (pm_rec){ .seq = pm_get64(p + 16), .task = pm_get64(p + 24),
                   .synced = pm_get64(p + 32), .type = pm_get32(p + 40), .len = len,
                   .payload = p + PM_REC_HDR };
    return PM_REC_OK;
}

const char *pm_rec_bad_name(pm_rec_bad b)
{
    static const char *const names[] = { "valid", "truncated record", "bad record header",
                                         "bad record length", "bad checksum" };
    return b <= PM_REC_SUM_BAD ? names[b] : "?";
}

void pm_seg_hdr_encode(uint8_t out[PM_SEG_HDR], uint64_t first_seq, uint64_t id)
{
    memcpy(out, PM_SEG_MAGIC, 8);
    pm_put32(out + 8, PM_FORMAT);
    pm_put32(out + 12, 0);
    pm_put64(out + 16, first_seq);
    pm_put64(out + 24, pm_checksum(out, 24, id));
}

int pm_seg_hdr_decode(const uint8_t p[PM_SEG_HDR], uint64_t id, uint64_t *first_seq)
{
    if (memcmp(p, PM_SEG_MAGIC, 8) != 0 || pm_get32(p + 8) != PM_FORMAT ||
        pm_get32(p + 12) != 0 || pm_get64(p + 24) != pm_checksum(p, 24, id))
        return -1;
    *first_seq = pm_get64(p + 16);
    return 0;
}

/* ---- names -------------------------------------------------------------- */

void pm_name_log(char out[PM_NAME_MAX], uint64_t first_seq)
{
    snprintf(out, PM_NAME_MAX, PM_LOG_PREFIX "%016llx", (unsigned long long)first_seq);
}

void pm_name_snap(char out[PM_NAME_MAX], uint64_t seq)
{
    snprintf(out, PM_NAME_MAX, PM_SNAP_PREFIX "%016llx", (unsigned long long)seq);
}

bool pm_name_parse(const char *name, const char *prefix, uint64_t *seq)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || strlen(name) != n + 16)
        return false;
    uint64_t v = 0;
    for (const char *c = name + n; *c; c++) {
        int d = *c >= '0' && *c <= '9' ? *c - '0' : *c >= 'a' && *c <= 'f' ? *c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint64_t)d;
    }
    *seq = v;
    return true;
}

typedef struct listing {
    const char *prefix;
    pm_file *v;
    size_t n, cap;
} listing;

static int on_name(void *arg, const char *name)
{
    listing *l = arg;
    uint64_t seq;
    if (!pm_name_parse(name, l->prefix, &seq))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        pm_file *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        l->v = v, l->cap = cap;
    }
    l->v[l->n].seq = seq;
    snprintf(l->v[l->n].name, PM_NAME_MAX, "%s", name);
    l->n++;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    uint64_t x = ((const pm_file *)a)->seq, y = ((const pm_file *)b)->seq;
    return x < y ? -1 : x > y;
}

int pm_list_files(pm_disk *d, const char *prefix, pm_file **out, size_t *n)
{
    listing l = { .prefix = prefix };
    *out = NULL;            /* callers may free it whatever the result */
    *n = 0;
    int r = pm_disk_list(d, on_name, &l);
    if (r < 0) {
        free(l.v);
        return r;
    }
    if (l.n > 1)
        qsort(l.v, l.n, sizeof *l.v, by_seq);
    *out = l.v;
    *n = l.n;
    return 0;
}
