/* machine_replay.c — replay: the journal's answers through the same handlers,
 * with every effect suppressed.
 *
 * The replay backend performs nothing. It holds the tasks the core submits
 * to it, by id, and lets go of them when the core cancels them or when the
 * journal gives one its last answer. The core is deterministic given its
 * answers, so the tasks it creates while replaying get the ids they had when
 * the answers were recorded; a record naming a task the backend does not
 * hold (or an answer of the wrong kind) means the program no longer behaves
 * as it did, and the start is refused there, naming the record.
 *
 * Answers are delivered in the recorded batches (a TURN or EPOCH record ends
 * one), and the core's own answers are run between batches, as the loop did
 * live. What the backend holds at the end is what was pending when the
 * previous process stopped: machine_run.c re-issues it.
 */
#include "runtime/machine.h"

#include <stdio.h>
#include <string.h>

static void rb_destroy(void *b) { (void)b; }
static void rb_kick(void *b) { (void)b; }
static void rb_finish(void *b, int code) { (void)b; (void)code; }
static int rb_poll(void *b, bool block) { (void)b; (void)block; return -1; }

static void rb_submit(void *b, pl__task *t)
{
    pl__mach *m = b;
    pl__tmap_put(m->rmap, t);
}

static void rb_cancel(void *b, pl__task *t)
{
    pl__mach *m = b;
    if (m->rmap != NULL)                /* NULL: a failed start is being taken apart */
        pl__tmap_del(m->rmap, t->id);
}

/* No deadline(): pl_timeout makes hidden TIMER tasks, as the machine backend. */
const pl__backend pl__backend_replay = {
    .name = "replay", .destroy = rb_destroy, .submit = rb_submit, .cancel = rb_cancel,
    .kick = rb_kick, .poll = rb_poll, .finish = rb_finish, .untraced = true,
};

/* The core's own work between two batches, as the loop does it. */
static int between(pl__mach *m, const pm_record *rec, char *msg, size_t len)
{
    pl__run_ready(m->rt);
    pl__reap(m->rt);
    if (!m->rt->exiting)
        return 0;
    snprintf(msg, len, "replay reached the program's exit at seq %llu (%s offset %llu)",
             (unsigned long long)rec->seq, rec->file, (unsigned long long)rec->offset);
    return -1;
}

static int diverged(const pm_record *rec, const char *what, char *msg, size_t len)
{
    snprintf(msg, len, "the record at seq %llu (%s offset %llu) %s: the program does not "
             "behave as the one that wrote the journal", (unsigned long long)rec->seq,
             rec->file, (unsigned long long)rec->offset, what);
    return -1;
}

static int replay_answer(pl__mach *m, const pm_record *rec, char *msg, size_t len)
{
    pl_rt *rt = m->rt;
    pl_answer a;
    if (pl__answer_decode(rec->payload, rec->len, &a) < 0)
        return diverged(rec, "is not an answer", msg, len);
    pl__task *t = pl__tmap_get(m->rmap, rec->task);
    if (t == NULL) {
        char what[96];
        snprintf(what, sizeof what, "answers task %llu, which is not pending",
                 (unsigned long long)rec->task);
        return diverged(rec, what, msg, len);
    }
    if (a.kind != pl__ans_kind_of(t->cmd.kind) &&
        !(a.kind == PL_ANS_CLIENT && t->cmd.kind == PL_CMD_LISTEN))
        return diverged(rec, "answers a task of another kind", msg, len);
    if (a.kind == PL_ANS_CLIENT && a.err == 0) {
        if (a.fd < 0 || pl__fdq_is_open(rt, a.fd))
            return diverged(rec, "accepts a descriptor already open", msg, len);
        pl__fd_opened(rt, a.fd);        /* as the backend did before delivering */
    }
    if (pl__is_final(t, &a))
        pl__tmap_del(m->rmap, t->id);   /* the backend let go of it */
    pl__deliver(rt, t, &a);
    m->replayed++;
    return 0;
}

int pl__mach_replay(pl__mach *m, pl__tmap *held, uint64_t from_seq, char *msg, size_t len)
{
    pm_log_reader *r;
    int e = pm_log_open(m->disk, m->meta.id, from_seq, &r);
    if (e < 0) {
        snprintf(msg, len, "cannot read the log: %s", pm_strerror(e));
        return -1;
    }
    m->rmap = held;
    m->replaying = true;
    pm_record rec = { .file = "", .seq = from_seq };
    bool batch = false;
    int rc = between(m, &rec, msg, len);
    while (rc == 0 && (e = pm_log_next(r, &rec)) > 0) {
        if (rec.type == PL__MREC_ANSWER) {
            rc = replay_answer(m, &rec, msg, len);
            batch = true;
            if (rc == 0 && m->rt->exiting)
                rc = between(m, &rec, msg, len);
        } else if (rec.type == PL__MREC_TURN || rec.type == PL__MREC_EPOCH) {
            rc = between(m, &rec, msg, len);
            batch = false;
        } else {
            rc = diverged(&rec, "has a type this version does not know", msg, len);
        }
    }
    if (rc == 0 && batch)
        rc = between(m, &rec, msg, len);
    if (rc == 0 && e < 0) {
        char line[512];
        pm_damage_format(pm_log_damage(r), line, sizeof line);
        if (e == PM_E_CORRUPT)
            snprintf(msg, len, "%s; refusing to start", line);
        else
            snprintf(msg, len, "cannot read the log: %s", pm_strerror(e));
        rc = -1;
    }
    pm_log_close(r);
    m->replaying = false;
    m->rmap = NULL;
    return rc;
}
