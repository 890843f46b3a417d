/* disk.h — everything a machine does to its directory, behind one table.
 *
 * The journal and the snapshots never call the OS themselves: they go through a
 * pm_disk, a table of functions over one directory (the machine's). Two
 * implementations:
 *
 *   posix   the real file system: openat/pwrite/fdatasync/renameat beneath a
 *           directory descriptor, so a machine directory can be moved or copied
 *           and still works (no path is ever stored).
 *   sim     a deterministic in-memory disk driven by a seed, for tests and the
 *           simulator: writes and directory changes are volatile until fsynced;
 *           a power loss drops, reorders or tears what was not synced; any I/O
 *           call can be made to fail (the Nth one, once or forever), a capacity
 *           gives ENOSPC, writes can be short.
 *
 * Names are single file names inside the directory (no '/', at most
 * PM_NAME_MAX - 1 bytes). A handle is a small integer from open(); handles are
 * not file descriptors and are never reused by the sim.
 *
 * Errors: every call returns 0 (or a count) on success and a negative errno on
 * failure. A short pwrite/pread is not an error (see pm_disk_write_all).
 * Each disk object holds all of its mutable state; there are no globals.
 */
#ifndef PLUTO_MACHINE_DISK_H
#define PLUTO_MACHINE_DISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { PM_NAME_MAX = 64 };

/* open() flags. Without PM_O_WRITE a handle is read-only. */
enum {
    PM_O_WRITE = 1,         /* read and write */
    PM_O_CREATE = 2,        /* create if missing */
    PM_O_EXCL = 4,          /* with CREATE: fail with -EEXIST if it exists */
    PM_O_TRUNC = 8,         /* truncate to 0 on open */
};

typedef struct pm_disk pm_disk;

/* Called once per name in the directory, in no particular order; a nonzero
 * return stops the listing and becomes list()'s result. */
typedef int (*pm_disk_list_fn)(void *arg, const char *name);

typedef struct pm_disk_ops {
    int (*open)(pm_disk *d, const char *name, int flags);          /* handle >= 0 */
    int (*close)(pm_disk *d, int h);
    int64_t (*pread)(pm_disk *d, int h, void *buf, size_t n, uint64_t off);
    int64_t (*pwrite)(pm_disk *d, int h, const void *buf, size_t n, uint64_t off);
    int (*size)(pm_disk *d, int h, uint64_t *size);
    int (*truncate)(pm_disk *d, int h, uint64_t size);
    int (*fsync)(pm_disk *d, int h);                                /* data + metadata */
    int (*fdatasync)(pm_disk *d, int h);                            /* data + size */
    int (*rename)(pm_disk *d, const char *from, const char *to);    /* replaces `to` */
    int (*unlink)(pm_disk *d, const char *name);
    int (*sync_dir)(pm_disk *d);          /* make creates, renames, unlinks durable */
    int (*list)(pm_disk *d, pm_disk_list_fn fn, void *arg);
    void (*destroy)(pm_disk *d);
} pm_disk_ops;

/* Every implementation embeds this first. */
struct pm_disk {
    const pm_disk_ops *ops;
};

static inline int pm_disk_open(pm_disk *d, const char *name, int flags)
{ return d->ops->open(d, name, flags); }
static inline int pm_disk_close(pm_disk *d, int h) { return d->ops->close(d, h); }
static inline int64_t pm_disk_pread(pm_disk *d, int h, void *buf, size_t n, uint64_t off)
{ return d->ops->pread(d, h, buf, n, off); }
static inline int64_t pm_disk_pwrite(pm_disk *d, int h, const void *buf, size_t n,
                                     uint64_t off)
{ return d->ops->pwrite(d, h, buf, n, off); }
static inline int pm_disk_size(pm_disk *d, int h, uint64_t *size)
{ return d->ops->size(d, h, size); }
static inline int pm_disk_truncate(pm_disk *d, int h, uint64_t size)
{ return d->ops->truncate(d, h, size); }
static inline int pm_disk_fsync(pm_disk *d, int h) { return d->ops->fsync(d, h); }
static inline int pm_disk_fdatasync(pm_disk *d, int h) { return d->ops->fdatasync(d, h); }
static inline int pm_disk_rename(pm_disk *d, const char *from, const char *to)
{ return d->ops->rename(d, from, to); }
static inline int pm_disk_unlink(pm_disk *d, const char *name)
{ return d->ops->unlink(d, name); }
static inline int pm_disk_sync_dir(pm_disk *d) { return d->ops->sync_dir(d); }
static inline int pm_disk_list(pm_disk *d, pm_disk_list_fn fn, void *arg)
{ return d->ops->list(d, fn, arg); }
/* Frees the disk object and closes what it holds; NULL is ignored. */
static inline void pm_disk_destroy(pm_disk *d) { if (d) d->ops->destroy(d); }

/* ---- helpers over any disk (disk.c) ----------------------------------- */

/* Write all n bytes at off, continuing after short writes: 0 or -errno (part
 * of the bytes may have been written). */
int pm_disk_write_all(pm_disk *d, int h, const void *buf, size_t n, uint64_t off);
/* Read exactly n bytes at off: 0, -EIO if the file ends first, or -errno. */
int pm_disk_read_all(pm_disk *d, int h, void *buf, size_t n, uint64_t off);
/* Replace `name` atomically and durably with head then body: write `tmp`,
 * fsync, rename to `name`, fsync the directory. The tmp file is removed on
 * failure. A failed fsync returns PM_E_SYNC (machine.h). */
int pm_disk_put_atomic(pm_disk *d, const char *name, const char *tmp, const void *head,
                       size_t head_len, const void *body, size_t body_len);
/* Read a whole file of at most max bytes into a malloc'd buffer (*out, *n).
 * -EFBIG if larger; -ENOENT if missing. */
int pm_disk_get(pm_disk *d, const char *name, size_t max, uint8_t **out, size_t *n);

/* ---- posix (disk_posix.c) ---------------------------------------------- */

enum {
    PM_DISK_CREATE = 1,     /* create the directory if missing (and fsync its parent) */
    PM_DISK_LOCK = 2,       /* take an exclusive lock: -EBUSY if another process has it */
};

/* A disk over directory `path`: 0 and *out, or -errno. */
int pm_disk_posix_open(const char *path, int flags, pm_disk **out);

/* ---- sim (disk_sim.c) -------------------------------------------------- */

/* A new empty simulated directory; every random choice comes from seed. */
pm_disk *pm_disk_sim_create(uint64_t seed);

/* Fault injection. Calls are counted from 1 over the disk's life: every
 * operation but close and destroy. The call numbered `nth` fails with err
 * (without effect, except that a failed fsync or sync_dir loses a random part of
 * what it should have made durable, as Linux may); with forever, so does every
 * later call. nth 0 turns injection off. */
void pm_disk_sim_fail(pm_disk *d, uint64_t nth, bool forever, int err);
/* Power loss at call `nth` (before it runs): from then on every call fails
 * with -EIO until pm_disk_sim_reboot(). nth 0: never. */
void pm_disk_sim_crash_at(pm_disk *d, uint64_t nth);
/* Power loss now, then reboot: unsynced writes are dropped, torn or applied
 * out of order, unsynced directory changes kept or lost, per the seed; every
 * handle becomes invalid (-EBADF). */
void pm_disk_sim_crash(pm_disk *d);
/* After crash_at fired: come back with the state the power loss left. */
void pm_disk_sim_reboot(pm_disk *d);
bool pm_disk_sim_dead(const pm_disk *d);
uint64_t pm_disk_sim_calls(const pm_disk *d);
/* Bytes all files may hold together (0: unlimited); beyond it writes are
 * short, then fail with -ENOSPC. */
void pm_disk_sim_set_capacity(pm_disk *d, uint64_t bytes);
uint64_t pm_disk_sim_used(const pm_disk *d);
/* One pwrite in `one_in` writes fewer bytes than asked (0: never). */
void pm_disk_sim_short_writes(pm_disk *d, uint32_t one_in);
/* Put a file's durable contents directly (tests, fuzzing): no call counted. */
void pm_disk_sim_put(pm_disk *d, const char *name, const void *buf, size_t n);
/* A file's current contents (what a read sees): a pointer valid until the next
 * call on the disk, or NULL if missing. No call counted. */
const uint8_t *pm_disk_sim_peek(pm_disk *d, const char *name, size_t *n);

#endif
