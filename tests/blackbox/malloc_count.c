/* malloc_count.c — an LD_PRELOAD library that counts a process's allocations.
 *
 *   cc -shared -fPIC -O2 -o malloc_count.so malloc_count.c
 *   MALLOC_COUNT_FILE=out LD_PRELOAD=./malloc_count.so pluto serve ...
 *   kill -USR1 PID        # appends "mallocs N" to out
 *
 * malloc, calloc, realloc, aligned_alloc, posix_memalign and memalign each
 * count one call (a realloc too, since it may move the block); the totals
 * are cumulative since the process started. SIGUSR1 appends the count to
 * MALLOC_COUNT_FILE with async-signal-safe calls only, so a test can read
 * it before and after a run of requests and assert the difference. The
 * allocations themselves are glibc's (__libc_*), so nothing else changes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

static atomic_ulong count;
static const char *out_path;            /* MALLOC_COUNT_FILE, read at load time */

void *malloc(size_t n)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n) { return memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = memalign(align, n);
    if (p == NULL)
        return 12;                      /* ENOMEM */
    *out = p;
    return 0;
}

/* "mallocs N\n", appended to the file (async-signal-safe: open, write, close). */
static void report(int sig)
{
    (void)sig;
    const char *path = out_path;
    if (path == NULL)
        return;
    char line[40] = "mallocs ", digits[24];
    unsigned long n = atomic_load(&count);
    int k = 0;
    do {
        digits[k++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    size_t len = 8;
    while (k > 0)
        line[len++] = digits[--k];
    line[len++] = '\n';
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    ssize_t w = write(fd, line, len);
    (void)w;
    close(fd);
}

__attribute__((constructor)) static void install(void)
{
    out_path = getenv("MALLOC_COUNT_FILE");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
}
