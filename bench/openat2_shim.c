/* openat2_shim.c — lets pluto open files under valgrind 3.19 (Debian 12), which does not
 * know the openat2 system call (437) and fails it with ENOSYS, so that every request
 * would be a 404. For bench/instr.sh only, as an LD_PRELOAD library:
 *
 *   LD_PRELOAD=openat2_shim.so valgrind --tool=callgrind pluto serve SITE ...
 *
 * It replaces glibc's syscall() (pluto calls openat2 through it) and turns openat2 into
 * openat with the same flags and mode, dropping the RESOLVE_* restrictions: acceptable
 * for a benchmark on a generated directory, never for serving anything. Every other
 * system call goes to the real syscall(). The instructions counted per cached request
 * do not include it: a cached request opens nothing.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long n, ...)
{
    va_list ap;
    va_start(ap, n);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (n == SYS_openat2) {
        const struct open_how *how = (const struct open_how *)a[2];
        return openat((int)a[0], (const char *)a[1], (int)how->flags, (mode_t)how->mode);
    }
    static long (*real)(long, ...);
    if (real == 0)
        real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
