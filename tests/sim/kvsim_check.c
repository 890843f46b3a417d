/* kvsim_check.c — what the kv machine must never do, checked as it runs.
 *
 * Reads. Every write (PUT or DELETE) has an interval: from its first byte
 * sent (s) to its acknowledgement (e; 204, or 404 for a DELETE: the key is
 * absent then too). A write answered otherwise (503, 408, 413) never
 * happened; one whose connection died unanswered may or may not have, but
 * not after the client saw the connection end (e: then). A read of a key
 * over [s_r, e_r] must return the value of a write w to that key (or absent,
 * the key's state before any write) such that
 *   - w began before the read ended (s_w < e_r), and
 *   - no acknowledged write w2 to the key lies wholly between them: none
 *     began after w was over (s_w2 > e_w; a write in flight is never over)
 *     and was acknowledged before the read began (e_w2 < s_r).
 * So a read returns the last acknowledged write or one in flight, never an
 * older acknowledged value, never bytes nobody wrote, and a write
 * acknowledged before a crash is read back after the restart unless a later
 * write superseded it (the verifier reads every key after each start).
 *
 * Output commit. Each effect the machine hands to the world (a send, a
 * close, a log line) was made by a handler call; that call was caused by
 * the answers journaled before it. The journal must hold them durably
 * (pm_journal_synced_seq) when the effect leaves.
 */
#include "kvsim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Each violation counts; the first ten of each kind are printed. */
void ks_violation(ks_world *w, const char *fmt, ...)
{
    static const char *kinds[16];
    static uint32_t said[16];
    w->violations++;
    uint32_t k = 0;
    while (k < 15 && kinds[k] != NULL && kinds[k] != fmt)
        k++;
    kinds[k] = fmt;
    if (++said[k] > 10)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "sim kv-machine seed %llu: violation at %llu ms: ",
            (unsigned long long)w->o.seed, (unsigned long long)w->now);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

uint32_t ks_write_new(ks_world *w, uint16_t key, bool del, uint64_t vlen, uint64_t vseed)
{
    if (w->nw == w->capw) {
        w->capw = w->capw ? w->capw * 2 : 256;
        w->w = realloc(w->w, w->capw * sizeof *w->w);
        PL_ASSERT(w->w != NULL);
    }
    uint32_t i = w->nw++;
    w->w[i] = (ks_write){ .key = key, .del = del, .state = KS_W_PENDING, .vlen = vlen,
                          .vseed = vseed, .next = UINT32_MAX };
    if (w->ktail[key] == UINT32_MAX)
        w->khead[key] = i;
    else
        w->w[w->ktail[key]].next = i;
    w->ktail[key] = i;
    return i;
}

void ks_write_acked(ks_world *w, uint32_t wi)
{
    ks_write *x = &w->w[wi];
    PL_ASSERT(x->state == KS_W_PENDING && x->s != 0);
    x->state = KS_W_ACKED;
    x->e = w->now;
    w->st.acked++;
}

void ks_write_failed(ks_world *w, uint32_t wi)
{
    PL_ASSERT(w->w[wi].state == KS_W_PENDING);
    w->w[wi].state = KS_W_FAILED;
    w->st.failed++;
}

void ks_write_unknown(ks_world *w, uint32_t wi)
{
    PL_ASSERT(w->w[wi].state == KS_W_PENDING);
    w->w[wi].state = KS_W_UNKNOWN;
    w->w[wi].e = w->now;
    w->st.unknown++;
}

/* Does the write's value equal what was read? (--break-check: it never does
 * when a value has bytes; and every effect is taken for two records younger
 * than it is, so that effects released at once after their commit fail.) */
static bool same(ks_world *w, const ks_write *x, bool absent, const uint8_t *body,
                 uint64_t len)
{
    if (x->del || absent)
        return x->del && absent;
    if (x->vlen != len)
        return false;
    uint8_t buf[4096];
    for (uint64_t off = 0; off < len; off += sizeof buf) {
        size_t n = len - off < sizeof buf ? (size_t)(len - off) : sizeof buf;
        ks_value(x->vseed, off, buf, n);
        if (w->o.break_check && off == 0)
            buf[0] ^= 1;
        if (memcmp(buf, body + off, n) != 0)
            return false;
    }
    return true;
}

static const char *describe(const ks_write *x, char *buf, size_t cap)
{
    static const char *const S[] = { "in flight", "acked", "failed", "unknown" };
    if (x->del)
        snprintf(buf, cap, "DELETE %s [%llu, %llu]", S[x->state], (unsigned long long)x->s,
                 (unsigned long long)x->e);
    else
        snprintf(buf, cap, "PUT %llu bytes %s [%llu, %llu]", (unsigned long long)x->vlen,
                 S[x->state], (unsigned long long)x->s, (unsigned long long)x->e);
    return buf;
}

void ks_check_read(ks_world *w, ks_client *c, uint16_t key, uint64_t s, bool absent,
                   const uint8_t *body, uint64_t len)
{
    w->st.checked++;
    uint64_t h[3] = { key, absent, len };
    ks_trace(w, h, sizeof h);
    /* The latest start of a write acknowledged before the read began: every
     * write over before it is superseded. */
    uint64_t smax = 0;
    const ks_write *last = NULL;
    for (uint32_t i = w->khead[key]; i != UINT32_MAX; i = w->w[i].next) {
        const ks_write *x = &w->w[i];
        if (x->state == KS_W_ACKED && x->e < s && x->s > smax) {
            smax = x->s;
            last = x;
        }
    }
    if (absent && smax == 0)
        return;                         /* nothing acknowledged yet: absent is allowed */
    for (uint32_t i = w->khead[key]; i != UINT32_MAX; i = w->w[i].next) {
        const ks_write *x = &w->w[i];
        if (x->state == KS_W_FAILED || x->s == 0 || x->s > w->now)
            continue;
        bool over = x->state == KS_W_ACKED || x->state == KS_W_UNKNOWN;
        if (over && x->e < smax)
            continue;                   /* superseded before the read began */
        if (same(w, x, absent, body, len))
            return;
    }
    char d[96] = "nothing";
    if (last != NULL)
        describe(last, d, sizeof d);
    char got[32] = "absent";
    if (!absent)
        snprintf(got, sizeof got, "%llu bytes", (unsigned long long)len);
    ks_violation(w, "client %u read /kv/%s over [%llu, %llu]: %s, which no write it may "
                 "see holds (the last acknowledged: %s)", c->id, w->keys[key],
                 (unsigned long long)s, (unsigned long long)w->now, got, d);
}

/* ---- output commit ------------------------------------------------------------- */

void ks_commit_reset(ks_world *w, pl_rt *rt)
{
    w->map_base = w->mapped = rt->call_seq;
}

/* The calls made since the last mapping were caused by answers journaled up
 * to now: an upper bound, so the check is only stricter. */
void ks_commit_map(ks_world *w)
{
    if (w->rt == NULL || w->rt->mach == NULL || w->rt->mach->j == NULL)
        return;
    uint64_t calls = w->rt->call_seq;
    if (calls <= w->mapped)
        return;
    if (calls - w->map_base >= w->ncause) {
        w->ncause = (calls - w->map_base) * 2 + 64;
        w->cause = realloc(w->cause, w->ncause * sizeof *w->cause);
        PL_ASSERT(w->cause != NULL);
    }
    uint64_t last = pm_journal_last_seq(w->rt->mach->j);
    for (uint64_t c = w->mapped + 1; c <= calls; c++)
        w->cause[c - w->map_base] = last;
    w->mapped = calls;
}

void ks_commit_check(ks_world *w, const pl__task *t)
{
    pm_journal *j = w->rt->mach != NULL ? w->rt->mach->j : NULL;
    if (j == NULL) {
        ks_violation(w, "an effect before the machine's journal was open");
        return;
    }
    ks_commit_map(w);
    if (t->born <= w->map_base)
        return;                         /* made by a process before: replayed, durable */
    uint64_t cause = w->cause[t->born - w->map_base] + 2 * w->o.break_check;
    /* Under --fsync interval or never, an effect waits for its cause to be
     * written, no more (docs/JOURNAL.md). */
    uint64_t synced = w->fsync == PM_FSYNC_ALWAYS ? pm_journal_synced_seq(j)
                                                  : pm_journal_written_seq(j);
    if (synced < cause)
        ks_violation(w, "an effect (command kind %d on fd %d) left before its cause was "
                     "durable: caused by seq %llu, durable up to %llu", t->cmd.kind,
                     t->cmd.fd, (unsigned long long)cause, (unsigned long long)synced);
}
