/* machine_golive.c — from replay to the live loop.
 *
 * When the log is replayed, the core is in the state the previous process
 * had when it stopped, and the replay backend holds what was pending then.
 * Going live, in this order:
 *   1. placeholders on the descriptors the old process left open, before
 *      this process opens anything of its own (so that none of ours, and no
 *      new socket, takes a number the program still names);
 *   2. the journal opened for appending (a torn tail is cut there);
 *   3. the live backend created, the machine backend put on it, with the
 *      machine's own SIGINT and SIGTERM tasks;
 *   4. every task the replay backend holds issued again, oldest first (a file
 *      read under way gets -EINTR: its position died with the old process; a
 *      PL_CMD_MACHINE stream is told the journal's state at the first poll,
 *      since what the program last heard, a full disk, may be over);
 *   5. an EPOCH record, then the reserve file (machine_turn.c).
 */
#include "runtime/machine.h"
#include "machine/format.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Each descriptor the core still counts as open belonged to the process that
 * died: its number keeps a placeholder until the program closes it. A number
 * already in use here (the machine's own directory, an inherited descriptor)
 * is left alone: commands on it are answered above all the same. */
static void stale(pl__mach *m)
{
    pl_rt *rt = m->rt;
    m->nstale = rt->nfds;
    m->stale = calloc((size_t)m->nstale + 1, 1);
    PL_ASSERT(m->stale != NULL);
    int null = -1;
    for (int fd = 0; fd < rt->nfds; fd++) {
        if (!rt->fds[fd].open)
            continue;
        m->stale[fd] = PL__STALE_BUSY;
        if (m->no_placeholders || fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
            continue;
        if (null < 0) {                 /* above every number to keep */
            int first = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (first < 0)
                return;
            null = fcntl(first, F_DUPFD_CLOEXEC, m->nstale);
            close(first);
            if (null < 0)
                return;
        }
        if (dup3(null, fd, O_CLOEXEC) == fd)
            m->stale[fd] = PL__STALE_PLACED;
    }
    if (null >= 0)
        close(null);
}

static int by_id(const void *a, const void *b)
{
    pl_task_id x = (*(pl__task *const *)a)->id, y = (*(pl__task *const *)b)->id;
    return x < y ? -1 : x > y;
}

/* Every task the replay backend holds goes to the machine backend, oldest
 * first. A file read under way cannot go on from where it was. */
static void reissue(pl__mach *m, pl__tmap *held)
{
    pl__task **v = calloc(held->n ? held->n : 1, sizeof *v);
    PL_ASSERT(v != NULL);
    size_t n = 0;
    for (size_t i = 0; i < held->cap; i++)
        if (held->slot[i] != NULL)
            v[n++] = held->slot[i];
    qsort(v, n, sizeof *v, by_id);
    pl__tmap_free(held);
    m->relisten = calloc(n ? n : 1, sizeof *m->relisten);
    PL_ASSERT(m->relisten != NULL);
    m->relisten_until = m->now_ms() + PL__RELISTEN_MS;
    for (size_t i = 0; i < n; i++) {
        v[i]->bk[0] = v[i]->bk[1] = v[i]->bk[2] = 0;
        if (v[i]->cmd.kind == PL_CMD_MACHINE)
            v[i]->bk32[1] = 1;          /* told nothing yet: the journal's state comes next */
        if (v[i]->cmd.kind == PL_CMD_LISTEN)
            m->relisten[m->nrelisten++] = v[i]->id;
        if (v[i]->cmd.kind == PL_CMD_READ_FILE) {
            pl__mlist_push(&m->dead, PL__ML_DEAD, v[i]);
            v[i]->bk32[1] = (uint32_t)-EINTR;
            continue;
        }
        m->rt->be->submit(m->rt->b, v[i]);
    }
    free(v);
}

int pl__mach_go_live(pl__mach *m, pl__tmap *held, const pl_run_opts *ro, uint64_t from,
                    char *msg, size_t len)
{
    pl_rt *rt = m->rt;
    stale(m);
    pm_journal_report rep;
    int e = pm_journal_open(m->disk, &m->meta, &m->jo, from, &m->j, &rep);
    if (e < 0) {
        char line[512] = "";
        if (e == PM_E_CORRUPT)
            pm_damage_format(&rep.damage, line, sizeof line);
        snprintf(msg, len, "%s%s", e == PM_E_CORRUPT ? line : "cannot open the log: ",
                 e == PM_E_CORRUPT ? "; refusing to start" : pm_strerror(e));
        return 1;
    }
    if (rep.damage.kind == PM_DAMAGE_TAIL) {
        char line[512];
        pm_damage_format(&rep.damage, line, sizeof line);
        pl__mach_say(m, "recovered to seq %llu: %s", (unsigned long long)rep.last_seq, line);
    }
    m->lb = m->live ? m->live->create(rt, ro) : pl__live_create(rt, ro, &m->live);
    if (m->lb == NULL) {
        snprintf(msg, len, "no live backend can run here");
        return 1;
    }
    rt->be = &pl__backend_machine;
    rt->b = m;
    static const int stops[2] = { SIGINT, SIGTERM };
    for (int i = 0; i < 2; i++) {
        pl__task *t = calloc(1, sizeof *t);
        PL_ASSERT(t != NULL);
        t->cmd.kind = PL_CMD_SIGNAL;
        t->cmd.signo = stops[i];
        t->state = PL__T_BACKEND;
        m->stop[i] = t;
        m->live->submit(m->lb, t);
    }
    reissue(m, held);
    uint8_t epoch[8];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    pm_put64(epoch, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
    pl__mach_append(m, 0, PL__MREC_EPOCH, epoch, sizeof epoch);
    if (!pl__mach_reserve_make(m)) {
        m->full = true;
        m->retry_ms = m->now_ms() + 1000;
        pl__mach_say(m, "the disk is full: writes are refused until there is room");
    }
    return 0;
}
