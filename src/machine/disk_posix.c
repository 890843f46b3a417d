/* disk_posix.c — the pm_disk table on the real file system.
 *
 * Everything happens beneath one directory descriptor (openat, renameat,
 * unlinkat), so the machine's path is used once, at open. Calls interrupted by
 * a signal are restarted; every other error is returned as -errno, ENOSPC
 * included, for the journal to decide.
 */
#include "machine/disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct posix_disk {
    pm_disk base;
    int dirfd;
} posix_disk;

static int dfd(pm_disk *d) { return ((posix_disk *)d)->dirfd; }

static int px_open(pm_disk *d, const char *name, int flags)
{
    int f = O_CLOEXEC | (flags & PM_O_WRITE ? O_RDWR : O_RDONLY);
    f |= (flags & PM_O_CREATE ? O_CREAT : 0) | (flags & PM_O_EXCL ? O_EXCL : 0);
    f |= flags & PM_O_TRUNC ? O_TRUNC : 0;
    int fd;
    do
        fd = openat(dfd(d), name, f, 0600);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int px_close(pm_disk *d, int h) { return close(h) < 0 ? -errno : 0; }

static int64_t px_pread(pm_disk *d, int h, void *buf, size_t n, uint64_t off)
{
    ssize_t r;
    do
        r = pread(h, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static int64_t px_pwrite(pm_disk *d, int h, const void *buf, size_t n, uint64_t off)
{
    ssize_t r;
    do
        r = pwrite(h, buf, n, (off_t)off);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static int px_size(pm_disk *d, int h, uint64_t *size)
{
    struct stat st;
    if (fstat(h, &st) < 0)
        return -errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int px_truncate(pm_disk *d, int h, uint64_t size)
{
    int r;
    do
        r = ftruncate(h, (off_t)size);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

/* Never retried, even on EINTR: after a failed fsync the kernel may have
 * dropped the dirty pages, and a second fsync would succeed without them. */
static int px_fsync(pm_disk *d, int h) { return fsync(h) < 0 ? -errno : 0; }
static int px_fdatasync(pm_disk *d, int h) { return fdatasync(h) < 0 ? -errno : 0; }
static int px_sync_dir(pm_disk *d) { return fsync(dfd(d)) < 0 ? -errno : 0; }

static int px_rename(pm_disk *d, const char *from, const char *to)
{
    return renameat(dfd(d), from, dfd(d), to) < 0 ? -errno : 0;
}

static int px_unlink(pm_disk *d, const char *name)
{
    return unlinkat(dfd(d), name, 0) < 0 ? -errno : 0;
}

static int px_list(pm_disk *d, pm_disk_list_fn fn, void *arg)
{
    int fd = openat(dfd(d), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *dir = fdopendir(fd);
    if (dir == NULL) {
        int e = -errno;
        close(fd);
        return e;
    }
    int r = 0;
    struct dirent *e;
    errno = 0;
    while (r == 0 && (e = readdir(dir)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            r = fn(arg, e->d_name);
    if (r == 0 && errno != 0)
        r = -errno;
    closedir(dir);
    return r;
}

static void px_destroy(pm_disk *d)
{
    close(dfd(d));      /* also releases the lock */
    free(d);
}

static const pm_disk_ops POSIX_OPS = {
    .open = px_open, .close = px_close, .pread = px_pread, .pwrite = px_pwrite,
    .size = px_size, .truncate = px_truncate, .fsync = px_fsync, .fdatasync = px_fdatasync,
    .rename = px_rename, .unlink = px_unlink, .sync_dir = px_sync_dir, .list = px_list,
    .destroy = px_destroy,
};

/* mkdir path, then fsync its parent so the new entry survives a power loss. */
static int make_dir(const char *path)
{
    if (mkdir(path, 0700) < 0)
        return errno == EEXIST ? 0 : -errno;
    char parent[4096];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    while (slash && slash > parent && slash[1] == 0) {    /* "dir/" */
        *slash = 0;
        slash = strrchr(parent, '/');
    }
    const char *p = slash == NULL ? "." : slash == parent ? "/" : (*slash = 0, parent);
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int pm_disk_posix_open(const char *path, int flags, pm_disk **out)
{
    if (flags & PM_DISK_CREATE) {
        int r = make_dir(path);
        if (r < 0)
            return r;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if ((flags & PM_DISK_LOCK) && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return e;
    }
    posix_disk *d = calloc(1, sizeof *d);
    if (d == NULL) {
        close(fd);
        return -ENOMEM;
    }
    d->base.ops = &POSIX_OPS;
    d->dirfd = fd;
    *out = &d->base;
    return 0;
}
