/* run_args.c — a machine's recorded arguments and options (run_args.h). */
#include "machine/run_args.h"
#include "machine/format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAGIC "PLUTOARG"
enum { ARGS_MAX = 1 << 20 };

static size_t put_list(uint8_t *b, size_t off, int n, char *const *v)
{
    for (int i = 0; i < n; i++) {
        size_t len = strlen(v[i]);
        if (b != NULL) {
            pm_put32(b + off, (uint32_t)len);
            memcpy(b + off + 4, v[i], len);
        }
        off += 4 + len;
    }
    return off;
}

int pm_args_write(pm_disk *d, int argc, char *const *argv, int optc, char *const *optv)
{
    size_t n = put_list(NULL, 16, argc, argv) + (optc > 0 ? 4 : 0);
    n = put_list(NULL, n, optc, optv) + 8;
    if (n > ARGS_MAX)
        return -E2BIG;
    uint8_t *b = malloc(n);
    if (b == NULL)
        return -ENOMEM;
    memcpy(b, ARGS_MAGIC, 8);
    pm_put32(b + 8, PM_FORMAT);
    pm_put32(b + 12, (uint32_t)argc);
    size_t off = put_list(b, 16, argc, argv);
    if (optc > 0) {
        pm_put32(b + off, (uint32_t)optc);
        off = put_list(b, off + 4, optc, optv);
    }
    pm_put64(b + off, pm_checksum(b, off, 0));
    int e = pm_disk_put_atomic(d, PM_ARGS_NAME, PM_ARGS_NAME ".tmp", b, n, NULL, 0);
    free(b);
    return e;
}

/* One list of count strings from b at *off (before end) into one block: the
 * pointers, then each string with its NUL. 0, or PM_E_FORMAT. */
static int get_list(const uint8_t *b, size_t *off, size_t end, uint32_t count, char ***out)
{
    if (count > (end - *off) / 4)
        return PM_E_FORMAT;
    size_t strings = end - *off - (size_t)count * 4 + count;
    char **v = malloc(((size_t)count + 1) * sizeof *v + strings + 1);
    if (v == NULL)
        return -ENOMEM;
    char *s = (char *)(v + count + 1);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t len = *off + 4 <= end ? pm_get32(b + *off) : UINT32_MAX;
        if (len > end - *off - 4) {
            free(v);
            return PM_E_FORMAT;
        }
        memcpy(s, b + *off + 4, len);
        s[len] = 0;
        v[i] = s;
        s += len + 1;
        *off += 4 + len;
    }
    v[count] = NULL;
    *out = v;
    return 0;
}

/* which 0: the program's arguments; 1: the machine's option words. */
static int read_list(pm_disk *d, int which, int *count, char ***out)
{
    uint8_t *b;
    size_t n;
    int e = pm_disk_get(d, PM_ARGS_NAME, ARGS_MAX, &b, &n);
    if (e < 0)
        return e == -EFBIG ? PM_E_FORMAT : e;
    if (n < 24 || memcmp(b, ARGS_MAGIC, 8) != 0 || pm_get32(b + 8) != PM_FORMAT)
        e = PM_E_FORMAT;
    else if (pm_get64(b + n - 8) != pm_checksum(b, n - 8, 0))
        e = PM_E_CORRUPT;
    size_t off = 16, end = n - 8;
    char **lists[2] = { NULL, NULL };
    uint32_t counts[2] = { 0, 0 };
    if (e == 0) {
        counts[0] = pm_get32(b + 12);
        e = get_list(b, &off, end, counts[0], &lists[0]);
    }
    if (e == 0 && off != end) {         /* the machine's options follow */
        if (end - off < 4) {
            e = PM_E_FORMAT;
        } else {
            counts[1] = pm_get32(b + off);
            off += 4;
            e = get_list(b, &off, end, counts[1], &lists[1]);
        }
    }
    if (e == 0 && off != end)
        e = PM_E_FORMAT;
    if (e == 0 && lists[1] == NULL)
        e = get_list(b, &off, end, 0, &lists[1]);
    free(b);
    free(lists[1 - which]);
    if (e != 0) {
        free(lists[which]);
        return e;
    }
    *count = (int)counts[which];
    *out = lists[which];
    return 0;
}

int pm_args_read(pm_disk *d, int *argc, char ***argv) { return read_list(d, 0, argc, argv); }

int pm_args_read_opts(pm_disk *d, int *optc, char ***optv)
{
    return read_list(d, 1, optc, optv);
}
