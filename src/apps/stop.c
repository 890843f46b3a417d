/* stop.c — a computation that returns when SIGINT or SIGTERM arrives.
 *
 * Servers run First(serve, stop): when a signal comes, stop returns, and
 * the First cancels the listener and every connection in one step (echo),
 * or interrupts them so that responses under way finish (serve, with
 * pl_first_graceful). The result is the signal number (pl_app_stop_signo).
 * A server that drains listens again (pl_app_stop_again): a second signal
 * means now.
 */
#include "apps/apps.h"

#include <signal.h>
#include <string.h>

static pl_verdict on_stop_signal(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, &a->signo, sizeof a->signo);
    return PL_DONE;
}
PL_HANDLER(pl_app_h_stop_signal, on_stop_signal);

static pl_verdict on_stop_signals(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_cmd i = pl_cmd_signal(SIGINT), t = pl_cmd_signal(SIGTERM);
    pl_send(cx, &i, &pl_app_h_stop_signal, NULL, 0);
    pl_send(cx, &t, &pl_app_h_stop_signal, NULL, 0);
    return PL_DONE;
}
PL_HANDLER(pl_app_h_stop_signals, on_stop_signals);

void pl_app_stop_again(pl_ctx *cx, const pl_handler *h, const void *mem, size_t len)
{
    pl_cmd i = pl_cmd_signal(SIGINT), t = pl_cmd_signal(SIGTERM);
    pl_send(cx, &i, h, mem, len);
    pl_send(cx, &t, h, mem, len);
}

pl_start pl_app_stop_start(void)
{
    return (pl_start){ pl_cmd_none(), &pl_app_h_stop_signals, NULL, 0 };
}

int pl_app_stop_signo(const pl_answer *a)
{
    int signo = 0;
    if (a->res[0].len == sizeof signo)
        memcpy(&signo, a->res[0].data, sizeof signo);
    return signo;
}
