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
