/* registry.c — handlers by stable name.
 *
 * Saved state will name handlers, not addresses, so a program lists its
 * handlers once. The runtime checks the list at start (unique names, a
 * function each) and checks every task against it: a handler missing from
 * the registry is a bug found on its first use, not after a restart.
 */
#include "runtime/rt.h"

#include <string.h>

bool pl__registered(const pl_program *p, const pl_handler *h)
{
    for (const pl_handler *const *r = p->handlers; *r != NULL; r++)
        if (*r == h)
            return true;
    return false;
}

void pl__registry_check(const pl_program *p)
{
    if (p->handlers == NULL)
        return;
    for (const pl_handler *const *r = p->handlers; *r != NULL; r++) {
        PL_ASSERT((*r)->name != NULL && (*r)->fn != NULL);
        for (const pl_handler *const *q = p->handlers; q != r; q++)
            PL_ASSERT(strcmp((*q)->name, (*r)->name) != 0);
    }
}

const pl_handler *pl_program_handler(const pl_program *p, const char *name)
{
    if (p->handlers == NULL)
        return NULL;
    for (const pl_handler *const *r = p->handlers; *r != NULL; r++)
        if (strcmp((*r)->name, name) == 0)
            return *r;
    return NULL;
}
