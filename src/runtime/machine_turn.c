/* machine_turn.c — what a machine does with each answer and at the end of
 * each loop turn.
 *
 * An answer is appended to the journal's buffer before the core sees it
 * (no I/O). At the start of the next poll, after the core has run every
 * handler the turn's answers caused, the turn is committed: one write, one
 * fdatasync (by the fsync policy) for all of them — the group commit — and
 * then the effects they caused are released, in order (output commit). Every
 * snapshot_every answers, a snapshot follows the commit.
 *
 * Disk full. A commit whose write fails changed nothing durable (journal.h):
 * the machine then holds its output and takes no new input (hold_input), and
 * retries at each poll. The first time it is ENOSPC it also removes the
 * reserve file it keeps beside the journal (machine_run.c), so that the
 * machine can go on a while in a degraded mode: PL_CMD_MACHINE streams get
 * -ENOSPC (the kv app then answers 503 to writes), and those answers and
 * what they cause can be committed in the reserve's room. Once a commit
 * succeeds again the output flows; once the reserve can be written again
 * (tried every second) the streams get 0. A failed fsync is different: the
 * data may be lost, the journal refuses everything after it, and the machine
 * stops (exit code 1) without releasing the output it held; start recovers
 * what is durable.
 */
#include "runtime/machine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#define RESERVE_NAME "reserve"
enum { RESERVE_RETRY_MS = 1000 };

void pl__mach_say(pl__mach *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(m->err, "pluto: machine %s: ", m->name);
    vfprintf(m->err, fmt, ap);
    fputc('\n', m->err);
    fflush(m->err);
    va_end(ap);
}

/* The journal cannot go on: stop the run, release nothing more. */
static void fatal(pl__mach *m, int e)
{
    if (m->fatal)
        return;
    m->fatal = e ? e : PM_E_SYNC;
    pl__mach_say(m, "the journal failed (%s); stopping, start resumes from what is durable",
                 pm_strerror(e));
    if (!m->rt->exiting) {
        m->rt->exiting = true;
        m->rt->exit_code = 1;
    }
}

int pl__mach_append(pl__mach *m, uint64_t task, uint32_t type, const void *p, size_t n)
{
    int e = pm_journal_append(m->j, task, type, p, n, NULL);
    if (e == -ENOBUFS) {                /* the buffer is full: write it now */
        e = pm_journal_commit(m->j, m->now_ms());
        if (e == 0)
            e = pm_journal_append(m->j, task, type, p, n, NULL);
    }
    if (e < 0)
        fatal(m, e);
    return e;
}

bool pl__machine_answer(pl__mach *m, pl__task *t, const pl_answer *a)
{
    if (m->replaying)
        return true;                    /* it comes from the journal */
    if (t == m->stop[0] || t == m->stop[1]) {
        m->stopping = true;             /* the machine backend's poll ends the run */
        m->rt->mach_owed = true;
        return false;
    }
    if (m->rt->exiting)
        return false;                   /* the core drops it: so does the journal */
    if (m->nrelisten > 0 && a->kind == PL_ANS_LISTENING && pl__mach_relisten(m, t, a))
        return false;
    pl__answer_encode(&m->buf, a);
    if (pl__mach_append(m, t->id, PL__MREC_ANSWER, m->buf.p, m->buf.len) < 0)
        return false;
    m->rt->mach_owed = true;            /* commit soon: the live backend must not sleep */
    m->turn_answers++;
    m->since_snap++;
    return true;
}

static void release_held(pl__mach *m)
{
    pl__task *t;
    while ((t = pl__mlist_pop(&m->held)) != NULL)
        pl__mach_release(m, t);
}

/* Write the reserve file whole and durably; false if the disk has no room. */
bool pl__mach_reserve_make(pl__mach *m)
{
    int h = pm_disk_open(m->disk, RESERVE_NAME, PM_O_WRITE | PM_O_CREATE);
    if (h < 0)
        return false;
    uint64_t size = 0;
    int e = pm_disk_size(m->disk, h, &size);
    static const uint8_t zeros[64 * 1024];
    uint64_t want = m->reserve_bytes;
    for (uint64_t off = size; e == 0 && off < want; off += sizeof zeros) {
        size_t n = want - off < sizeof zeros ? (size_t)(want - off) : sizeof zeros;
        e = pm_disk_write_all(m->disk, h, zeros, n, off);
    }
    if (e == 0 && size < want && pm_disk_fsync(m->disk, h) < 0)
        e = -EIO;
    pm_disk_close(m->disk, h);
    if (e == 0 && size < want)
        e = pm_disk_sync_dir(m->disk);
    if (e < 0) {
        pm_disk_unlink(m->disk, RESERVE_NAME);
        return false;
    }
    m->reserve = true;
    return true;
}

static void reserve_drop(pl__mach *m)
{
    if (!m->reserve)
        return;
    m->reserve = false;
    pm_disk_unlink(m->disk, RESERVE_NAME);
    pm_disk_sync_dir(m->disk);
}

int pl__mach_snapshot(pl__mach *m)
{
    m->since_snap = 0;
    if (m->prog->handlers == NULL) {
        if (m->warned != 1)
            pl__mach_say(m, "no snapshot: the program has no handler registry");
        m->warned = 1;
        return 0;
    }
    int e = pm_journal_sync(m->j);      /* the log is never behind a snapshot */
    if (e == 0) {
        pl__wbuf w = { 0 };
        pl__state_save(m->rt, &w);
        e = pm_snap_write(m->disk, m->meta.id, pm_journal_last_seq(m->j), w.p, w.len);
        free(w.p);
    }
    if (e == 0)
        e = pm_snap_prune(m->disk, m->meta.id, NULL);
    if (e == PM_E_SYNC || pm_journal_error(m->j))
        fatal(m, e);
    else if (e < 0 && m->warned != e)
        pl__mach_say(m, "snapshot skipped: %s", pm_strerror(e));
    if (e < 0)
        m->warned = e;
    return e;
}

/* The commit failed, nothing durable changed: hold everything, say it once. */
static void stall(pl__mach *m, int e, uint64_t now)
{
    if (e == -ENOSPC && !m->full) {
        m->full = true;
        m->retry_ms = now + RESERVE_RETRY_MS;
        pl__mach_say(m, "the disk is full: writes are refused until there is room%s",
                     m->reserve ? " (running on the reserve meanwhile)" : "");
        if (m->reserve) {
            reserve_drop(m);
            if (pm_journal_commit(m->j, now) == 0) {
                m->durable_call = m->rt->call_seq;
                release_held(m);
                return;
            }
        }
    }
    if (!m->stalled)
        pl__mach_say(m, "cannot write the journal (%s): output and input wait", pm_strerror(e));
    m->stalled = true;
    m->rt->hold_input = true;
}

void pl__mach_end_turn(pl__mach *m)
{
    uint64_t now = m->now_ms();
    int e = pm_journal_commit(m->j, now);
    if (e == PM_E_SYNC || pm_journal_error(m->j)) {
        fatal(m, e);
        return;
    }
    if (e < 0) {
        stall(m, e, now);
        return;
    }
    m->durable_call = m->rt->call_seq;  /* every call so far had its cause committed */
    if (m->stalled) {
        m->stalled = false;
        m->rt->hold_input = false;
        m->live->kick(m->lb);           /* paused receivers and listeners go on */
        pl__mach_say(m, "the journal is written again");
    }
    release_held(m);
    if (m->full && now >= m->retry_ms) {
        m->retry_ms = now + RESERVE_RETRY_MS;
        if (pl__mach_reserve_make(m)) {
            m->full = false;
            pl__mach_say(m, "the disk has room again");
        }
    }
    if (m->snapshot_every > 0 && m->since_snap >= m->snapshot_every)
        pl__mach_snapshot(m);
}
