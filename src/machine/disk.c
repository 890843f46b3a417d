/* disk.c — small procedures over any pm_disk: whole reads and writes, and the
 * write-temp-fsync-rename-fsync-directory dance that replaces a file atomically.
 */
#include "machine/disk.h"
#include "machine/machine.h"

#include <errno.h>
#include <stdlib.h>

int pm_disk_write_all(pm_disk *d, int h, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;
    while (n > 0) {
        int64_t w = pm_disk_pwrite(d, h, p, n, off);
        if (w < 0)
            return (int)w;
        if (w == 0)
            return -EIO;            /* no progress and no error: don't spin */
        p += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

int pm_disk_read_all(pm_disk *d, int h, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        int64_t r = pm_disk_pread(d, h, p, n, off);
        if (r < 0)
            return (int)r;
        if (r == 0)
            return -EIO;            /* the file is shorter than it said */
        p += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

int pm_disk_put_atomic(pm_disk *d, const char *name, const char *tmp, const void *head,
                       size_t head_len, const void *body, size_t body_len)
{
    int h = pm_disk_open(d, tmp, PM_O_WRITE | PM_O_CREATE | PM_O_TRUNC);
    if (h < 0)
        return h;
    int r = pm_disk_write_all(d, h, head, head_len, 0);
    if (r == 0 && body_len > 0)
        r = pm_disk_write_all(d, h, body, body_len, head_len);
    if (r == 0 && pm_disk_fsync(d, h) < 0)
        r = PM_E_SYNC;
    pm_disk_close(d, h);
    if (r == 0)
        r = pm_disk_rename(d, tmp, name);
    if (r < 0) {
        pm_disk_unlink(d, tmp);     /* best effort: a stale tmp is never read */
        return r;
    }
    /* Without this the rename may not survive a power loss. */
    return pm_disk_sync_dir(d) < 0 ? PM_E_SYNC : 0;
}

int pm_disk_get(pm_disk *d, const char *name, size_t max, uint8_t **out, size_t *n)
{
    int h = pm_disk_open(d, name, 0);
    if (h < 0)
        return h;
    uint64_t size;
    int r = pm_disk_size(d, h, &size);
    uint8_t *buf = NULL;
    if (r == 0 && size > max)
        r = -EFBIG;
    if (r == 0 && (buf = malloc(size ? size : 1)) == NULL)
        r = -ENOMEM;
    if (r == 0)
        r = pm_disk_read_all(d, h, buf, size, 0);
    pm_disk_close(d, h);
    if (r < 0) {
        free(buf);
        return r;
    }
    *out = buf;
    *n = size;
    return 0;
}
