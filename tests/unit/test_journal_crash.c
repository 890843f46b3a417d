/* test_journal_crash.c — the journal under power loss, failing calls and a
 * full disk, on the simulated disk.
 *
 * Invariant, checked after every recovery: the records recovered are exactly
 * 1..L, each one of those appended with that number (nothing invented, no mix
 * of incarnations), and every record that was durable (a commit returned
 * success under fsync=always, or synced_seq covered it) is among them with
 * the content that was durable.
 */
#include "test_journal_util.h"

enum { PMAX = 200, SEQ_MAX = 4096, ROUNDS_MAX = 8 };

typedef struct history {
    uint64_t key;
    uint8_t appended[SEQ_MAX];      /* bit r: appended by round r */
    uint8_t durable_round[SEQ_MAX];
    uint64_t durable;               /* 1..durable are durable */
    uint8_t seen[SEQ_MAX];          /* the round of each record the last verify read */
} history;

static void mark_durable(history *h, uint64_t upto, const uint8_t *rounds, int round)
{
    for (uint64_t s = h->durable + 1; s <= upto; s++)
        h->durable_round[s] = rounds ? rounds[s] : (uint8_t)round;
    h->durable = upto > h->durable ? upto : h->durable;
}

/* Read the log back and check it against the history. Returns L, or -1 if
 * the disk died while reading (a crash point inside verification). */
static int64_t verify(pm_disk *d, uint64_t id, history *h)
{
    pm_log_reader *r;
    if (pm_log_open(d, id, 1, &r) < 0)
        return -1;
    pm_record rec;
    uint64_t want = 1;
    int e;
    while ((e = pm_log_next(r, &rec)) > 0) {
        cr_assert_eq(rec.seq, want);
        cr_assert(rec.seq < SEQ_MAX && rec.task < ROUNDS_MAX);
        cr_assert(h->appended[rec.seq] & (1u << rec.task), "seq %llu: never appended by %llu",
                  (unsigned long long)rec.seq, (unsigned long long)rec.task);
        if (rec.seq <= h->durable)
            cr_assert_eq(rec.task, h->durable_round[rec.seq], "seq %llu: not the durable one",
                         (unsigned long long)rec.seq);
        check_payload(&rec, h->key, rec.task, PMAX);
        h->seen[rec.seq] = (uint8_t)rec.task;
        want++;
    }
    pm_log_close(r);
    if (e < 0) {
        cr_assert_neq(e, PM_E_CORRUPT, "corruption after a crash");
        return -1;
    }
    cr_assert_geq(want - 1, h->durable, "lost durable records: got %llu, durable %llu",
                  (unsigned long long)(want - 1), (unsigned long long)h->durable);
    return (int64_t)(want - 1);
}

/* Append and commit until an error; returns the number of commits done. */
static int workload(pm_journal *j, history *h, trng *rng, int round, int commits)
{
    uint8_t p[PMAX];
    uint64_t now = 0;
    for (int c = 0; c < commits; c++) {
        for (int k = 1 + (int)(trand(rng) % 4); k > 0; k--) {
            uint64_t seq = pm_journal_last_seq(j) + 1;
            if (seq >= SEQ_MAX)
                return c;
            size_t n = test_payload(h->key, seq, (uint64_t)round, p, PMAX);
            if (pm_journal_append(j, (uint64_t)round, 0, p, n, NULL) < 0)
                return c;
            h->appended[seq] |= (uint8_t)(1u << round);
        }
        now += trand(rng) % 700;
        if (pm_journal_commit(j, now) < 0)
            return c;
        mark_durable(h, pm_journal_synced_seq(j), NULL, round);
    }
    return commits;
}

/* What the runs went through, to show the test is not vacuous. */
static struct {
    uint64_t crashes, deaths, opens, tails, durable, recovered;
} stats;

static pm_fsync policy_of(uint64_t seed)
{
    return seed % 5 == 0 ? PM_FSYNC_INTERVAL : seed % 7 == 0 ? PM_FSYNC_NEVER : PM_FSYNC_ALWAYS;
}

/* After a successful open: check what it recovered (1..L, now durable: open
 * synced it). The pending power loss waits while we read. */
static void after_open(pm_disk *d, uint64_t id, history *h, uint64_t crash_at)
{
    uint64_t left = crash_at ? crash_at - pm_disk_sim_calls(d) : 0;
    pm_disk_sim_crash_at(d, 0);
    int64_t l = verify(d, id, h);
    cr_assert_geq(l, 0);
    mark_durable(h, (uint64_t)l, h->seen, 0);
    for (uint64_t s = 1; s < SEQ_MAX; s++)   /* the only content each seq may have now */
        h->appended[s] = s <= (uint64_t)l ? (uint8_t)(1u << h->seen[s]) : 0;
    pm_disk_sim_crash_at(d, left ? pm_disk_sim_calls(d) + left : 0);
}

/* Rounds of open + workload, each cut by a power loss at a random call (inside
 * recovery too), then a clean recovery that must hold everything durable. */
static void power_loss_run(uint64_t seed)
{
    trng rng = { seed };
    history *h = calloc(1, sizeof *h);
    h->key = seed;
    pm_meta m = test_meta(seed | 1, policy_of(seed));
    m.fsync_interval_ms = 500;
    pm_disk *d = sim_machine(seed, &m);
    pm_disk_sim_short_writes(d, trand(&rng) % 4 == 0 ? 3 : 0);
    pm_journal_opts o = { .segment_bytes = 256 + trand(&rng) % 2048,
                          .buffer_bytes = 4096 };
    int rounds = 1 + (int)(trand(&rng) % 3);
    for (int round = 1; round <= rounds + 1; round++) {
        bool last = round == rounds + 1;
        bool power = !last && trand(&rng) % 3 != 0;     /* else only the process dies */
        uint64_t crash_at = power ? pm_disk_sim_calls(d) + 1 + trand(&rng) % 80 : 0;
        pm_disk_sim_crash_at(d, crash_at);
        pm_journal *j;
        pm_journal_report rep;
        stats.durable += last ? h->durable : 0;
        int e = pm_journal_open(d, &m, &o, 1, &j, &rep);
        stats.opens += e == 0;
        stats.tails += e == 0 && rep.damage.kind == PM_DAMAGE_TAIL;
        cr_assert_neq(e, PM_E_CORRUPT, "seed %llu: corruption reported after power loss",
                      (unsigned long long)seed);
        cr_assert(!last || e == 0, "seed %llu: recovery failed: %s", (unsigned long long)seed,
                  pm_strerror(e));
        if (e == 0) {
            after_open(d, m.id, h, crash_at);
            if (!last)
                workload(j, h, &rng, round, power ? 40 : 1 + (int)(trand(&rng) % 20));
            pm_journal_abandon(j);
        }
        stats.recovered += last ? rep.last_seq : 0;
        stats.crashes += power;
        stats.deaths += !last && !power;
        if (pm_disk_sim_dead(d))
            pm_disk_sim_reboot(d);
        else if (power)
            pm_disk_sim_crash(d);
    }
    pm_disk_destroy(d);
    free(h);
}

Test(journal_crash, power_loss_10000_seeds)
{
    for (uint64_t seed = 1; seed <= 10000; seed++)
        power_loss_run(seed);
    cr_log_info("power loss: 10000 seeds, %llu power losses, %llu process deaths, "
                "%llu recoveries (%llu torn tails cut), %llu records durable before the last "
                "crash, %llu recovered after it", (unsigned long long)stats.crashes,
                (unsigned long long)stats.deaths, (unsigned long long)stats.opens,
                (unsigned long long)stats.tails, (unsigned long long)stats.durable,
                (unsigned long long)stats.recovered);
}
