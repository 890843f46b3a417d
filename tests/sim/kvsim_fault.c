/* kvsim_fault.c — the faults of one seed, the machine's restarts, the end.
 *
 * A seed plans 2 to 6 faults at random times while the clients work, at
 * least one of them a power loss:
 *   power_call  power lost at a random later disk call (during a commit, a
 *               snapshot, a start...): the machine dies, the disk keeps what
 *               the simulated disk says a power loss keeps
 *   power_now   the same at a random instant
 *   kill        the process dies (kill -9): the disk keeps everything
 *   stop        SIGTERM: the machine's own clean stop
 *   eio         one disk call fails with EIO: a failed write stalls the
 *               journal until a commit succeeds, a failed fsync stops the
 *               machine (exit 1) without releasing its output
 *   offline     every disk call fails with EIO for a while
 *   full        the disk fills (capacity just above what is used) for a
 *               while: kv answers 503 to writes, then recovers
 * and one seed in three has short writes throughout, one in two small log
 * segments (from 4 KiB: they rotate and are pruned). One seed in eight runs
 * with --fsync interval or never, which promise nothing against a power
 * loss: its machine is killed instead. After each death the machine is
 * started again on the same disk after a pause; a start that fails while a
 * fault is active is tried again, one that fails otherwise is a violation,
 * as is a journal that fails with no fault.
 *
 * The end, once the clients are done and the disk is well: a power loss,
 * a start and every key read back; a clean stop, a start and every key read
 * back; a clean stop.
 */
#include "kvsim.h"
#include "apps/apps.h"
#include "machine/journal_impl.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

static const char *const NAMES[KS_F_KINDS] = {
    "power loss at a disk call", "power loss", "kill -9", "SIGTERM", "EIO", "disk offline",
    "disk full", "disk back online", "room on the disk",
};

void ks_faults_plan(ks_world *w)
{
    w->heal.ev.kind = w->room.ev.kind = KS_EV_FAULT;
    w->heal.kind = KS_F_HEAL_DISK;
    w->room.kind = KS_F_ROOM;
    /* One seed in eight trades durability for speed: --fsync interval or never
     * promise nothing against a power loss, so those seeds only kill. */
    w->fsync = ks_below(w, 8) || w->o.lying_disk ? PM_FSYNC_ALWAYS
             : ks_below(w, 2) ? PM_FSYNC_INTERVAL : PM_FSYNC_NEVER;
    if (w->o.no_faults)
        return;
    static const uint8_t weights[KS_F_HEAL_DISK] = { 20, 12, 15, 8, 20, 8, 17 };
    w->nfaults = 2 + (uint32_t)ks_below(w, 5);
    uint64_t at = KS_EPOCH_MS + 500;
    bool power = false;
    for (uint32_t i = 0; i < w->nfaults; i++) {
        uint64_t r = ks_below(w, 100);
        uint8_t k = 0;
        while (r >= weights[k])
            r -= weights[k++];
        power |= k == KS_F_POWER_CALL || k == KS_F_POWER_NOW;
        at += 200 + ks_size(w, 8000);
        w->faults[i] = (ks_fault){ .ev.kind = KS_EV_FAULT, .kind = k };
        ks_sched(w, &w->faults[i].ev, at);
    }
    if (!power)
        w->faults[ks_below(w, w->nfaults)].kind =
            ks_below(w, 2) ? KS_F_POWER_CALL : KS_F_POWER_NOW;
    for (uint32_t i = 0; i < w->nfaults && w->fsync != PM_FSYNC_ALWAYS; i++)
        if (w->faults[i].kind == KS_F_POWER_CALL || w->faults[i].kind == KS_F_POWER_NOW)
            w->faults[i].kind = KS_F_KILL;
    if (ks_below(w, 3) == 0)
        pm_disk_sim_short_writes(w->sim, 2 + (uint32_t)ks_below(w, 7));
}

bool ks_fault_active(ks_world *w)
{
    return w->offline || w->full || w->faults_since_start > 0 || w->heal.ev.h.idx != 0 ||
           w->room.ev.h.idx != 0;
}

static bool faults_pending(ks_world *w)
{
    for (uint32_t i = 0; i < w->nfaults; i++)
        if (w->faults[i].ev.h.idx != 0)
            return true;
    return w->heal.ev.h.idx != 0 || w->room.ev.h.idx != 0 || w->offline || w->full;
}

static void go_down(ks_world *w, uint64_t pause_ms)
{
    w->m = NULL;
    w->down = true;
    ks_sched(w, &w->restart, w->now + pause_ms);
}

/* SIGTERM to the machine: the task it keeps for it in the live backend. */
static void sigterm(ks_world *w)
{
    pl__mach *m = w->m;
    for (int i = 0; i < w->nsigs; i++)
        if (w->sigs[i] == m->stop[1]) {
            pl_answer a = { .kind = PL_ANS_SIGNAL, .signo = SIGTERM };
            ks_deliver(w, w->sigs[i], &a);
            return;
        }
    ks_violation(w, "the machine holds no SIGTERM task");
}

void ks_fault_event(ks_world *w, ks_fault *f)
{
    uint64_t calls = pm_disk_sim_calls(w->sim);
    ks_say(w, "fault: %s%s", NAMES[f->kind], w->m == NULL ? " (machine down)" : "");
    switch (f->kind) {
    case KS_F_POWER_CALL:
        w->crash_at = calls + 1 + ks_below(w, 400);
        pm_disk_sim_crash_at(w->sim, w->crash_at);
        return;
    case KS_F_POWER_NOW:
    case KS_F_KILL:
        if (w->m != NULL) {
            w->pending = f->kind + 1;   /* the main loop kills it after this turn */
        } else if (f->kind == KS_F_POWER_NOW) {
            w->st.power_now++;
            pm_disk_sim_crash(w->sim);  /* down already: the power goes anyway */
        }
        return;
    case KS_F_STOP:
        if (w->m != NULL && !w->m->stopping)
            sigterm(w);
        return;
    case KS_F_EIO:
        w->fail_at = calls + 1 + ks_below(w, 60);
        pm_disk_sim_fail(w->sim, w->fail_at, false, -EIO);
        return;
    case KS_F_OFFLINE:
        w->st.offline++;
        w->offline = true;
        w->fail_at = calls + 1 + ks_below(w, 30);
        pm_disk_sim_fail(w->sim, w->fail_at, true, -EIO);
        ks_sched(w, &w->heal.ev, w->now + 100 + ks_size(w, 4000));
        return;
    case KS_F_FULL:
        w->st.enospc++;
        w->full = true;
        w->faults_since_start++;
        pm_disk_sim_set_capacity(w->sim, pm_disk_sim_used(w->sim) +
                                             ks_below(w, ks_below(w, 3) ? 4096 : 96 * 1024));
        ks_sched(w, &w->room.ev, w->now + 200 + ks_size(w, 8000));
        return;
    case KS_F_HEAL_DISK:
        w->offline = false;
        w->fail_at = 0;
        pm_disk_sim_fail(w->sim, 0, false, 0);
        return;
    default:
        w->full = false;
        pm_disk_sim_set_capacity(w->sim, 0);
        return;
    }
}

/* After a turn: the kill or power loss a fault asked for. */
void ks_fault_act(ks_world *w)
{
    int kind = w->pending - 1;
    w->pending = 0;
    pl__mach_crash(w->m);
    if (kind == KS_F_POWER_NOW)
        pm_disk_sim_crash(w->sim);
    if (w->phase == 0)                  /* the final checks' crash is not a fault */
        *(kind == KS_F_POWER_NOW ? &w->st.power_now : &w->st.kills) += 1;
    go_down(w, ks_below(w, 1500));
}

/* A power loss armed at a disk call fired: the computer is off. */
void ks_power_lost(ks_world *w)
{
    if (w->m != NULL)
        pl__mach_crash(w->m);
    pm_disk_sim_reboot(w->sim);
    w->crash_at = 0;
    go_down(w, ks_below(w, 1500));
}

/* The turn said the run is over, with no fault asking for it. */
void ks_machine_ended(ks_world *w)
{
    pl__mach *m = w->m;
    bool fatal = m->fatal != 0, stopped = m->stopped;
    int code = pl__mach_end(m);
    ks_say(w, "machine ended: exit code %d%s%s", code, fatal ? " (journal failed)" : "",
           stopped ? " (stopped)" : "");
    if (stopped && code == 0) {
        w->st.stops += w->phase == 0;
        if (w->phase >= 4) {
            w->m = NULL;
            w->ended = true;
            return;
        }
    } else if ((fatal || stopped) && code == 1) {   /* a stop whose last sync failed, too */
        w->st.fatal++;
        if (!ks_fault_active(w))
            ks_violation(w, "the journal failed with no disk fault");
    } else {
        ks_violation(w, "the machine ended by itself: exit code %d", code);
    }
    go_down(w, ks_below(w, 1500));
}

void ks_restart(ks_world *w)
{
    pl__mach_opts o = { .disk = w->disk, .live = &ks_backend, .no_placeholders = true,
                        .reserve_bytes = w->reserve_bytes, .now_ms = ks_now_ms, .err = w->err,
                        .run = { .max_open = w->max_open } };
    if (ks_below(w, 4) == 0 && !w->o.lying_disk) {  /* start may override it for a run */
        static const uint64_t every[] = { 0, 50, 200, 1000 };
        o.snapshot_given = true;
        o.snapshot_every = every[ks_below(w, 4)];
    }
    if (w->o.lying_disk)
        ks_cut_log(w);
    w->fault_during_start = false;
    w->faults_since_start = 0;
    char msg[1024] = "";
    pl__mach *m = NULL;
    int code = pl__mach_start(&m, &pl_app_kv, &o, msg, sizeof msg);
    if (code == 0) {
        w->m = m;
        ks_machine_tune(w);
        w->down = false;
        w->st.restarts++;
        w->st.replayed += m->replayed;
        ks_say(w, "machine started: %llu answers replayed", (unsigned long long)m->replayed);
        ks_verify_start(w);
        if (w->phase >= 1)              /* the final checks go on */
            ks_sched(w, &w->fin, w->now + 100);
        return;
    }
    bool dead = pm_disk_sim_dead(w->sim);
    if (dead) {
        pm_disk_sim_reboot(w->sim);
        w->crash_at = 0;
    }
    bool refused = strstr(msg, "refusing to start") != NULL;   /* never heals */
    if (!refused && (dead || w->fault_during_start || w->offline || w->full)) {
        w->st.start_retries++;
        ks_say(w, "start failed under a fault (%s); again later", msg);
        ks_sched(w, &w->restart, w->now + 50 + ks_below(w, 1000));
        return;
    }
    ks_violation(w, "start refused (exit code %d): %s", code, msg);
    w->ended = true;
}

/* Small log segments, so that they fill, rotate and are pruned: the journal
 * takes no option for it, so it is set on the journal the start opened. */
void ks_machine_tune(ks_world *w)
{
    if (w->seg_max != 0)
        w->m->j->seg_max = w->seg_max;
}

/* The clients are done and the disk is well: start the final checks. */
void ks_finish_check(ks_world *w)
{
    if (w->phase != 0 || w->m == NULL || w->m->stopping || !ks_clients_done(w) ||
        faults_pending(w))
        return;
    w->phase = 1;
    w->crash_at = w->fail_at = 0;       /* a fault armed and not yet fired: disarmed */
    pm_disk_sim_crash_at(w->sim, 0);
    pm_disk_sim_fail(w->sim, 0, false, 0);
    ks_sched(w, &w->fin, w->now + 100);
}

void ks_finish_step(ks_world *w)
{
    if (w->m == NULL || !ks_clients_done(w) || w->m->stalled || w->m->stopping) {
        if (!w->down)
            ks_sched(w, &w->fin, w->now + 100);
        return;
    }
    if (w->phase >= 4)
        return;                         /* the last stop is under way */
    ks_say(w, "final check %d", w->phase);
    if (w->phase == 1)
        w->pending = (w->fsync == PM_FSYNC_ALWAYS ? KS_F_POWER_NOW : KS_F_KILL) + 1;
    else
        sigterm(w);
    w->phase++;
}

/* --lying-disk: a disk that lost what it said was durable; the newest log
 * segment loses its last third. The checker must see acknowledged writes go. */
typedef struct newest { char name[PM_NAME_MAX]; } newest;

static int pick_log(void *arg, const char *name)
{
    newest *n = arg;
    if (strncmp(name, "log.", 4) == 0 && strlen(name) == 20 && strcmp(name, n->name) > 0)
        snprintf(n->name, sizeof n->name, "%s", name);
    return 0;
}

void ks_cut_log(ks_world *w)
{
    newest n = { "" };
    pm_disk_list(w->sim, pick_log, &n);
    size_t len;
    const uint8_t *p = n.name[0] ? pm_disk_sim_peek(w->sim, n.name, &len) : NULL;
    if (p == NULL || len < 64)
        return;
    uint8_t *copy = malloc(len);
    PL_ASSERT(copy != NULL);
    memcpy(copy, p, len);
    pm_disk_sim_put(w->sim, n.name, copy, len - len / 3);
    free(copy);
}
