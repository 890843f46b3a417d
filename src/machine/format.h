/* format.h — the byte layouts of log segments and records (docs/JOURNAL.md).
 *
 * Every number is little-endian; every checksum is XXH3-64 seeded with the
 * machine id, so a record from another machine never passes for one of ours.
 *
 *   segment header (32 bytes)
 *     0  "PLUTOLOG"   8  u32 format (1)   12  u32 0   16  u64 first seq
 *    24  u64 XXH3(bytes 0..24)
 *   record (48 bytes + payload padded with zeros to a multiple of 8)
 *     0  u64 XXH3(bytes 8..end)           8  u32 magic "PLJR"   12  u32 payload length
 *    16  u64 seq   24  u64 task id   32  u64 synced seq   40  u32 type   44  u32 0
 *    48  payload
 *
 * `synced seq` is what the writer knew to be durable when it wrote the record.
 * The reader uses it to tell a torn tail from corruption: a bad record is
 * corruption only if a later valid record says it had been synced.
 */
#ifndef PLUTO_MACHINE_FORMAT_H
#define PLUTO_MACHINE_FORMAT_H

#include <stdint.h>
#include <string.h>

enum {
    PM_FORMAT = 1,                   /* version of every file format here */
    PM_SEG_HDR = 32,
    PM_REC_HDR = 48,
    PM_REC_ALIGN = 8,
    PM_REC_MAGIC = 0x524a4c50,       /* "PLJR" read as little-endian u32 */
    PM_REC_PAYLOAD_MAX = 4 << 20,    /* largest record payload, bytes */
};

#define PM_SEG_MAGIC "PLUTOLOG"

/* A record as read or to write. payload points into the reader's buffer. */
typedef struct pm_rec {
    uint64_t seq;
    uint64_t task;
    uint64_t synced;
    uint32_t type;
    uint32_t len;
    const uint8_t *payload;
} pm_rec;

static inline void pm_put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void pm_put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint32_t pm_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t pm_get64(const uint8_t *p)
{
    return (uint64_t)pm_get32(p) | (uint64_t)pm_get32(p + 4) << 32;
}

/* Bytes a record with this payload takes in a segment. */
static inline uint64_t pm_rec_size(uint64_t len)
{
    return PM_REC_HDR + ((len + PM_REC_ALIGN - 1) & ~(uint64_t)(PM_REC_ALIGN - 1));
}

uint64_t pm_checksum(const void *p, size_t n, uint64_t id);

/* Encode r (with r->len payload bytes) into out, pm_rec_size(r->len) bytes. */
void pm_rec_encode(uint8_t *out, const pm_rec *r, uint64_t id);

/* Why a record image is not a valid record. */
typedef enum pm_rec_bad {
    PM_REC_OK = 0,
    PM_REC_SHORT,       /* fewer bytes than its header (or length) needs */
    PM_REC_MAGIC_BAD,   /* not a record header */
    PM_REC_TOO_LONG,    /* a length above PM_REC_PAYLOAD_MAX */
    PM_REC_SUM_BAD,     /* checksum mismatch */
} pm_rec_bad;

/* Check the record at p, given the `avail` bytes there: PM_REC_OK and *r
 * (payload pointing into p), or why not. Needs only pm_rec_size() bytes. Call
 * first with avail >= PM_REC_HDR; PM_REC_SHORT with need > avail says how many
 * bytes the record claims. */
pm_rec_bad pm_rec_decode(const uint8_t *p, uint64_t avail, uint64_t id, pm_rec *r,
                         uint64_t *need);
const char *pm_rec_bad_name(pm_rec_bad b);

void pm_seg_hdr_encode(uint8_t out[PM_SEG_HDR], uint64_t first_seq, uint64_t id);
/* 0 and *first_seq, or -1 if the header is not valid. */
int pm_seg_hdr_decode(const uint8_t p[PM_SEG_HDR], uint64_t id, uint64_t *first_seq);

#endif
