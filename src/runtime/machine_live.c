/* machine_live.c — the machine backend: the live backend (epoll, io_uring)
 * wrapped so that a machine keeps its promises.
 *
 *   journal     every answer the live backend delivers is appended to the
 *               journal before the core sees it (pl__machine_answer, called
 *               from pl__deliver); a TURN record closes each poll's answers.
 *   output      SEND, SENDFILE, CLOSE and LOG are held here until the turn
 *               that caused them is committed (machine_turn.c), then handed
 *               to the live backend in order. The cause of a command is the
 *               handler call that made it (t->born): one that reaches this
 *               backend later, behind other sends on its descriptor, goes
 *               straight on if that call's turn is committed already. Other
 *               commands (receives, timers, listeners, files) go straight
 *               through: they only bring answers in.
 *   dead fds    descriptors open when the previous process died keep their
 *               numbers (a placeholder on /dev/null sits on each, so that no
 *               new socket takes one while the program still names it), and
 *               every command on one is answered here, at the next poll: a
 *               receive -ECONNRESET, a send -EPIPE, a close 0 (which frees the
 *               number), anything else -EBADF. Those answers are events too.
 *   signals     SIGINT and SIGTERM stop the machine (machine_run.c), so the
 *               program's own tasks for them are kept here, never answered:
 *               a stop is not part of the machine's history.
 *   status      PL_CMD_MACHINE streams get the journal's state (disk full).
 *
 * Deadlines: this backend has no deadline(), so the core gives each
 * pl_timeout a hidden TIMER task, journaled and re-armed like any timer; the
 * replay backend has none either, so both make the same tasks.
 */
#include "runtime/machine.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void pl__mlist_push(pl__mlist *l, int which, pl__task *t)
{
    PL_ASSERT(!t->bk_machine);
    t->bk_machine = true;
    t->bk32[0] = (uint32_t)which;
    t->bkp = l->tail;
    t->bk_next = NULL;
    if (l->tail)
        l->tail->bk_next = t;
    else
        l->head = t;
    l->tail = t;
}

void pl__mlist_remove(pl__mlist *l, pl__task *t)
{
    pl__task *prev = t->bkp;
    if (prev)
        prev->bk_next = t->bk_next;
    else
        l->head = t->bk_next;
    if (t->bk_next)
        t->bk_next->bkp = prev;
    else
        l->tail = prev;
    t->bk_machine = false;
    t->bk_next = NULL;
    t->bk[0] = t->bk[1] = t->bk[2] = 0;
}

pl__task *pl__mlist_pop(pl__mlist *l)
{
    pl__task *t = l->head;
    if (t != NULL)
        pl__mlist_remove(l, t);
    return t;
}

static pl__mlist *list_of(pl__mach *m, const pl__task *t)
{
    switch (t->bk32[0]) {
    case PL__ML_HELD: return &m->held;
    case PL__ML_DEAD: return &m->dead;
    case PL__ML_SUBS: return &m->subs;
    case PL__ML_RETRY: return &m->retry;
    default: return &m->sigs;
    }
}

static bool is_dead(const pl__mach *m, int fd)
{
    return fd >= 0 && fd < m->nstale && m->stale[fd] != PL__STALE_NONE;
}

/* The error a command on a dead descriptor gets, or 0 if it uses none. */
static int dead_error(const pl__mach *m, const pl__task *t)
{
    switch (t->cmd.kind) {
    case PL_CMD_RECV: return is_dead(m, t->cmd.fd) ? -ECONNRESET : 0;
    case PL_CMD_SEND: return is_dead(m, t->cmd.fd) ? -EPIPE : 0;
    case PL_CMD_SENDFILE:
        return is_dead(m, t->cmd.fd) ? -EPIPE : is_dead(m, t->cmd.file_fd) ? -EBADF : 0;
    case PL_CMD_CLOSE: return is_dead(m, t->cmd.fd) ? 1 : 0;   /* answered 0 */
    case PL_CMD_READ: return is_dead(m, t->cmd.fd) ? -EBADF : 0;
    case PL_CMD_OPEN: case PL_CMD_STAT: case PL_CMD_READ_FILE: case PL_CMD_READDIR:
        return is_dead(m, t->cmd.dir) ? -EBADF : 0;
    default: return 0;
    }
}

static bool is_effect(const pl__task *t)
{
    return t->cmd.kind == PL_CMD_SEND || t->cmd.kind == PL_CMD_SENDFILE ||
           t->cmd.kind == PL_CMD_CLOSE || t->cmd.kind == PL_CMD_LOG;
}

static void mb_submit(void *b, pl__task *t)
{
    pl__mach *m = b;
    int dead = dead_error(m, t);
    if (dead != 0) {
        pl__mlist_push(&m->dead, PL__ML_DEAD, t);
        t->bk32[1] = (uint32_t)(dead > 0 ? 0 : dead);
        m->rt->mach_owed = true;
        return;
    }
    if (t->cmd.kind == PL_CMD_MACHINE) {
        pl__mlist_push(&m->subs, PL__ML_SUBS, t);   /* bk32[1]: the status it was told */
        return;
    }
    if (t->cmd.kind == PL_CMD_SIGNAL && (t->cmd.signo == SIGINT || t->cmd.signo == SIGTERM)) {
        pl__mlist_push(&m->sigs, PL__ML_SIGS, t);
        return;
    }
    if (is_effect(t) && t->born > m->durable_call) {
        pl__mlist_push(&m->held, PL__ML_HELD, t);
        m->rt->mach_owed = true;
        return;
    }
    pl__mach_release(m, t);
}

void pl__mach_release(pl__mach *m, pl__task *t)
{
    t->bk[0] = t->bk[1] = t->bk[2] = 0;
    t->bk_next = NULL;
    t->bk_listed = false;
    m->live->submit(m->lb, t);
}

static void mb_cancel(void *b, pl__task *t)
{
    pl__mach *m = b;
    if (t->bk_machine)
        pl__mlist_remove(list_of(m, t), t);
    else
        m->live->cancel(m->lb, t);
}

static void mb_kick(void *b)
{
    pl__mach *m = b;
    m->live->kick(m->lb);
}

/* Answer the commands on dead descriptors, oldest first. */
int pl__mach_deliver_dead(pl__mach *m)
{
    int n = 0;
    pl__task *t;
    while (!m->rt->exiting && (t = pl__mlist_pop(&m->dead)) != NULL) {
        int err = (int)t->bk32[1];
        pl_answer a = { .kind = pl__ans_kind_of(t->cmd.kind), .err = err,
                        .eof = t->cmd.kind == PL_CMD_READ_FILE };
        if (t->cmd.kind == PL_CMD_CLOSE && is_dead(m, t->cmd.fd)) {
            int fd = t->cmd.fd;
            if (m->stale[fd] == PL__STALE_PLACED)
                close(fd);              /* the number is free again */
            m->stale[fd] = PL__STALE_NONE;
        }
        t->bk[1] = 0;
        pl__deliver(m->rt, t, &a);
        n++;
    }
    return n;
}

static int status_now(const pl__mach *m) { return m->full ? -ENOSPC : 0; }

static pl__task *owed_status(pl__mach *m)
{
    for (pl__task *t = m->subs.head; t != NULL; t = t->bk_next)
        if ((int)t->bk32[1] != status_now(m))
            return t;
    return NULL;
}

/* Tell each PL_CMD_MACHINE stream the journal's state, if it changed. A
 * handler may end other streams, so each round looks again from the start. */
void pl__mach_deliver_status(pl__mach *m)
{
    pl__task *t;
    while (!m->rt->exiting && (t = owed_status(m)) != NULL) {
        t->bk32[1] = (uint32_t)status_now(m);
        pl_answer a = { .kind = PL_ANS_MACHINE, .err = status_now(m) };
        pl__deliver(m->rt, t, &a);
    }
}

/* A listener re-issued at go-live may find its port still held for a moment
 * by the process that died (io_uring closes a dead ring's sockets in the
 * background): it tries again every 50 ms for PL__RELISTEN_MS before the
 * program hears of it. Not an event: the failed attempts are not journaled. */
bool pl__mach_relisten(pl__mach *m, pl__task *t, const pl_answer *a)
{
    size_t i = 0;
    while (i < m->nrelisten && m->relisten[i] != t->id)
        i++;
    if (i == m->nrelisten)
        return false;
    uint64_t now = m->now_ms();
    if (a->err == -EADDRINUSE && now < m->relisten_until) {
        pl__mlist_push(&m->retry, PL__ML_RETRY, t);
        t->bk[1] = now + 50;            /* bk[0] holds the list's id */
        return true;
    }
    m->relisten[i] = m->relisten[--m->nrelisten];
    return false;
}

static void retry_due(pl__mach *m)
{
    uint64_t now = m->now_ms();
    for (pl__task *t = m->retry.head, *next; t != NULL; t = next) {
        next = t->bk_next;
        if (now >= t->bk[1]) {
            pl__mlist_remove(&m->retry, t);
            pl__mach_release(m, t);
        }
    }
}

static void nap_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* A stop (SIGINT, SIGTERM) takes one more turn: what the last answers
 * caused goes out and its answers (DONE, SENT) are journaled, with no new
 * input; then those are committed and the run ends. What that last poll
 * caused is not released: it is pending in the journal, and the next start
 * issues it. So a clean stop logs no line twice. */
static int stop_turn(pl__mach *m)
{
    int e = pm_journal_commit(m->j, m->now_ms());
    if (e < 0) {
        pl__mach_say(m, "the last turn could not be written (%s)", pm_strerror(e));
        m->fatal = e;
    }
    m->stopped = true;
    m->rt->exiting = true;
    m->rt->exit_code = e < 0 ? 1 : 0;
    return 0;
}

static int mb_poll(void *b, bool block)
{
    pl__mach *m = b;
    if (m->stopping && m->drained)
        return stop_turn(m);
    pl__mach_end_turn(m);
    if (m->rt->exiting)
        return 0;
    if (m->stopping) {
        m->drained = true;
        m->rt->hold_input = true;
        block = false;
    }
    retry_due(m);
    bool owe = m->dead.head != NULL || owed_status(m) != NULL;
    m->rt->mach_owed = owe;             /* set again by what this poll brings */
    bool later = m->stalled || m->retry.head != NULL;
    int n = m->live->poll(m->lb, block && !owe && !later);
    if (later && n <= 0 && !owe && !m->rt->exiting)
        nap_ms(20);                     /* try again soon, without spinning */
    int k = pl__mach_deliver_dead(m);
    pl__mach_deliver_status(m);
    if (n < 0 && (k > 0 || later || m->subs.head != NULL))
        n = 0;                          /* more may come: a commit, a status */
    if (m->turn_answers > 0 && !m->rt->exiting) {
        m->turn_answers = 0;
        pl__mach_append(m, 0, PL__MREC_TURN, NULL, 0);
    }
    return n < 0 ? n : n + k;
}

static void mb_destroy(void *b)
{
    pl__mach *m = b;
    for (int i = 0; i < 2; i++)
        if (m->stop[i] != NULL && m->stop[i]->state == PL__T_BACKEND)
            m->live->cancel(m->lb, m->stop[i]);
    m->live->destroy(m->lb);
    m->lb = NULL;
}

static void mb_finish(void *b, int code)
{
    pl__mach *m = b;
    m->live->finish(m->lb, code);
}

const pl__backend pl__backend_machine = {
    .name = "machine", .destroy = mb_destroy, .submit = mb_submit, .cancel = mb_cancel,
    .kick = mb_kick, .poll = mb_poll, .finish = mb_finish, .untraced = true,
};
