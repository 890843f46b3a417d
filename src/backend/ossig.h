/* ossig.h — signals for the live backends: one signalfd for every signal a
 * task listens to (the signals are blocked, so they come only through it).
 * The backend watches the descriptor its own way (epoll: registered for
 * reading; io_uring: a multishot poll) and calls pl__os_sigs_read when it
 * is readable.
 */
#ifndef PLUTO_BACKEND_OSSIG_H
#define PLUTO_BACKEND_OSSIG_H

#include "runtime/internal.h"

#include <signal.h>

typedef struct pl__os_sigs {
    int fd;                     /* the signalfd; -1 until a task listens */
    sigset_t mask;
    pl__task *tasks[65];        /* per signal: its listeners, a list via bk_next */
} pl__os_sigs;

/* No signal yet; SIGPIPE ignored (a write to a closed socket is an error). */
void pl__os_sigs_init(pl__os_sigs *s);
void pl__os_sigs_deinit(pl__os_sigs *s);
/* A SIGNAL task listens. Returns true when that made the signalfd: the
 * backend starts watching s->fd. */
bool pl__os_sig_add(pl__os_sigs *s, pl__task *t);
void pl__os_sig_remove(pl__os_sigs *s, pl__task *t);
/* Read what the signalfd holds and answer each signal's listeners (a
 * signal sent to the process also goes to every worker). Returns the
 * answers delivered. */
int pl__os_sigs_read(pl__os_sigs *s, pl_rt *rt);

#endif
