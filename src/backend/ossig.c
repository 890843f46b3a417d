/* ossig.c — the live backends' signalfd (see ossig.h). */
#include "backend/ossig.h"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

void pl__os_sigs_init(pl__os_sigs *s)
{
    *s = (pl__os_sigs){ .fd = -1 };
    sigemptyset(&s->mask);
    signal(SIGPIPE, SIG_IGN);
}

void pl__os_sigs_deinit(pl__os_sigs *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
}

bool pl__os_sig_add(pl__os_sigs *s, pl__task *t)
{
    int n = t->cmd.signo;
    PL_ASSERT(n > 0 && n < 65);
    t->bk_next = s->tasks[n];
    s->tasks[n] = t;
    sigaddset(&s->mask, n);
    pthread_sigmask(SIG_BLOCK, &s->mask, NULL);
    bool fresh = s->fd < 0;
    s->fd = signalfd(s->fd, &s->mask, SFD_NONBLOCK | SFD_CLOEXEC);
    return fresh && s->fd >= 0;
}

void pl__os_sig_remove(pl__os_sigs *s, pl__task *t)
{
    pl__task **p = &s->tasks[t->cmd.signo];
    while (*p && *p != t)
        p = &(*p)->bk_next;
    if (*p)
        *p = t->bk_next;
    t->bk_next = NULL;
}

/* The listeners are copied first: an answer may end one (and another may
 * start listening) while we go through them. */
static int deliver(pl__os_sigs *s, pl_rt *rt, int signo)
{
    pl__task *ts[16];
    int n = 0, delivered = 0;
    for (pl__task *t = s->tasks[signo]; t && n < 16; t = t->bk_next)
        ts[n++] = t;
    for (int i = 0; i < n && !pl__exiting(rt); i++) {
        if (ts[i]->state != PL__T_BACKEND)
            continue;
        pl_answer a = { .kind = PL_ANS_SIGNAL, .signo = signo };
        delivered++;
        pl__deliver(rt, ts[i], &a);
    }
    return delivered;
}

int pl__os_sigs_read(pl__os_sigs *s, pl_rt *rt)
{
    struct signalfd_siginfo si;
    int delivered = 0;
    while (read(s->fd, &si, sizeof si) == (ssize_t)sizeof si) {
        int n = (int)si.ssi_signo;
        if (n <= 0 || n >= 65)
            continue;
        if (si.ssi_code != SI_TKILL)
            pl__workers_forward(n);     /* sent to the process: every worker hears it */
        delivered += deliver(s, rt, n);
    }
    return delivered;
}
