/* test_journal_util.h — helpers shared by the journal, snapshot and disk tests. */
#ifndef PLUTO_TESTS_JOURNAL_UTIL_H
#define PLUTO_TESTS_JOURNAL_UTIL_H

#include "machine/format.h"
#include "machine/journal.h"
#include "machine/snapshot.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(call)                                                                  \
    do {                                                                            \
        int e_ = (call);                                                            \
        cr_assert_eq(e_, 0, "%s: %d (%s)", #call, e_, pm_strerror(e_));             \
    } while (0)

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A small deterministic generator for test workloads. */
typedef struct trng { uint64_t s; } trng;
static inline uint64_t trand(trng *r) { return mix64(r->s += 0x9e3779b97f4a7c15ull); }

static inline pm_meta test_meta(uint64_t id, pm_fsync f)
{
    pm_meta m = { .id = id, .fsync = f, .snapshot_every = 1000 };
    snprintf(m.program, sizeof m.program, "counter");
    snprintf(m.version, sizeof m.version, "1.0");
    return m;
}

/* The payload of record `seq` written by incarnation `round` of a workload:
 * 0..max bytes, all derived from (key, seq, round). */
static inline size_t test_payload(uint64_t key, uint64_t seq, uint64_t round, uint8_t *out,
                                  size_t max)
{
    uint64_t h = mix64(key * 1000003u + seq * 7919u + round);
    size_t n = (size_t)(h % (max + 1));
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)mix64(h + i);
    return n;
}

static inline void check_payload(const pm_record *r, uint64_t key, uint64_t round, size_t max)
{
    uint8_t want[4096];
    cr_assert(max <= sizeof want);
    size_t n = test_payload(key, r->seq, round, want, max);
    cr_assert_eq(r->len, n, "seq %llu: length %u, expected %zu", (unsigned long long)r->seq,
                 r->len, n);
    cr_assert(memcmp(r->payload, want, n) == 0, "seq %llu: payload differs",
              (unsigned long long)r->seq);
}

/* A sim disk holding a fresh machine. */
static inline pm_disk *sim_machine(uint64_t seed, const pm_meta *m)
{
    pm_disk *d = pm_disk_sim_create(seed);
    MUST(pm_meta_create(d, m));
    return d;
}

#endif
