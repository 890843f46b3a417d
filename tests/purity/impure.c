/* impure.c — a module that breaks every purity rule; check-purity must reject it. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int calls;

int impure(void)
{
    char c = 0;
    return (int)time(NULL) + rand() + (int)read(0, &c, 1) + calls++;
}

_Thread_local int scratch;          /* thread-local state is state too */

int impure_tls(void) { return ++scratch; }
