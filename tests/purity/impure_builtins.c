/* impure_builtins.c — calls gcc treats as builtins. Built with link-time optimisation
 * (as the apps are with gcc), an object's plugin symbol table leaves them out, so
 * check-purity must read the ELF symbol table to reject this one. */
#include <stdio.h>
#include <stdlib.h>

int impure_builtins(int x)
{
    if (x < 0) {
        printf("%d\n", x);
        exit(1);
    }
    return x;
}
