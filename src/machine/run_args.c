/* run_args.c — a machine's recorded arguments (run_args.h). */
#include "machine/run_args.h"
#include "machine/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAGIC "PLUTOARG"
enum { ARGS_MAX = 1 << 20 };

int pm_args_write(pm_disk *d, int argc, char *const *argv)
{
    size_t n = 16 + 8;
    for (int i = 0; i < argc; i++)
        n += 4 + strlen(argv[i]);
    if (n > ARGS_MAX)
        return -E2BIG;
    uint8_t *b = malloc(n);
    if (b == NULL)
        return -ENOMEM;
    memcpy(b, ARGS_MAGIC, 8);
    pm_put32(b + 8, PM_FORMAT);
    pm_put32(b + 12, (uint32_t)argc);
    size_t off = 16;
    for (int i = 0; i < argc; i++) {
        size_t len = strlen(argv[i]);
        pm_put32(b + off, (uint32_t)len);
        memcpy(b + off + 4, argv[i], len);
        off += 4 + len;
    }
    pm_put64(b + off, pm_checksum(b, off, 0));
    int e = pm_disk_put_atomic(d, PM_ARGS_NAME, PM_ARGS_NAME ".tmp", b, n, NULL, 0);
    free(b);
    return e;
}

int pm_args_read(pm_disk *d, int *argc, char ***argv)
{
    uint8_t *b;
    size_t n;
    int e = pm_disk_get(d, PM_ARGS_NAME, ARGS_MAX, &b, &n);
    if (e < 0)
        return e == -EFBIG ? PM_E_FORMAT : e;
    if (n < 24 || memcmp(b, ARGS_MAGIC, 8) != 0 || pm_get32(b + 8) != PM_FORMAT) {
        free(b);
        return PM_E_FORMAT;
    }
    if (pm_get64(b + n - 8) != pm_checksum(b, n - 8, 0)) {
        free(b);
        return PM_E_CORRUPT;
    }
    uint32_t count = pm_get32(b + 12);
    if (count > (n - 24) / 4) {
        free(b);
        return PM_E_FORMAT;
    }
    /* One block: the pointers, then each argument with its NUL. */
    size_t strings = n - 24 - (size_t)count * 4 + count;
    char **v = malloc(((size_t)count + 1) * sizeof *v + strings + 1);
    if (v == NULL) {
        free(b);
        return -ENOMEM;
    }
    char *s = (char *)(v + count + 1);
    size_t off = 16;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = off + 4 <= n - 8 ? pm_get32(b + off) : UINT32_MAX;
        if (len > n - 8 - off - 4) {
            free(v);
            free(b);
            return PM_E_FORMAT;
        }
        memcpy(s, b + off + 4, len);
        s[len] = 0;
        v[i] = s;
        s += len + 1;
        off += 4 + len;
    }
    v[count] = NULL;
    free(b);
    if (off != n - 8) {
        free(v);
        return PM_E_FORMAT;
    }
    *argc = (int)count;
    *argv = v;
    return 0;
}
