/* kvsim_disk.c — a disk in front of the simulated one that counts what the
 * faults did: which kind of call an injected EIO hit (a write, an fsync,
 * anything else), when a power loss armed at a call fired, short writes,
 * snapshots and log segments made. It changes nothing: every call goes to the simulated disk
 * (src/machine/disk_sim.c), whose controls the faults use directly.
 */
#include "kvsim.h"

#include <stdlib.h>
#include <string.h>

typedef struct ks_disk {
    pm_disk base;
    pm_disk *in;
    ks_world *w;
} ks_disk;

static ks_disk *D(pm_disk *d) { return (ks_disk *)d; }

enum { C_WRITE, C_SYNC, C_OTHER };

/* The call about to be made on the simulated disk: a fault armed on it? */
static void enter(pm_disk *d, int kind)
{
    ks_world *w = D(d)->w;
    uint64_t n = pm_disk_sim_calls(D(d)->in) + 1;
    if (w->crash_at != 0 && n == w->crash_at) {
        w->crash_at = 0;
        w->st.power_call++;
        ks_say(w, "power lost at disk call %llu", (unsigned long long)n);
        if (w->m == NULL)
            w->fault_during_start = true;
    }
    if (w->fail_at != 0 && (n == w->fail_at || (w->offline && n > w->fail_at)) &&
        !pm_disk_sim_dead(D(d)->in)) {
        w->faults_since_start++;
        if (!w->offline) {
            w->fail_at = 0;
            w->st.eio++;
            w->st.eio_write += kind == C_WRITE;
            w->st.eio_sync += kind == C_SYNC;
            w->st.eio_other += kind == C_OTHER;
            ks_say(w, "EIO injected at disk call %llu (%s)", (unsigned long long)n,
                   kind == C_WRITE ? "write" : kind == C_SYNC ? "fsync" : "other");
        }
        if (w->m == NULL)
            w->fault_during_start = true;
    }
}

static int k_open(pm_disk *d, const char *name, int flags)
{
    enter(d, C_OTHER);
    int h = pm_disk_open(D(d)->in, name, flags);
    if (h >= 0 && (flags & PM_O_TRUNC) && strncmp(name, "log.", 4) == 0)
        D(d)->w->st.segments++;         /* a new log segment */
    return h;
}

static int k_close(pm_disk *d, int h) { return pm_disk_close(D(d)->in, h); }

static int64_t k_pread(pm_disk *d, int h, void *buf, size_t n, uint64_t off)
{
    enter(d, C_OTHER);
    return pm_disk_pread(D(d)->in, h, buf, n, off);
}

static int64_t k_pwrite(pm_disk *d, int h, const void *buf, size_t n, uint64_t off)
{
    enter(d, C_WRITE);
    int64_t r = pm_disk_pwrite(D(d)->in, h, buf, n, off);
    if (r >= 0 && (size_t)r < n)
        D(d)->w->st.short_writes++;
    return r;
}

static int k_size(pm_disk *d, int h, uint64_t *size)
{
    enter(d, C_OTHER);
    return pm_disk_size(D(d)->in, h, size);
}

static int k_truncate(pm_disk *d, int h, uint64_t size)
{
    enter(d, C_WRITE);
    return pm_disk_truncate(D(d)->in, h, size);
}

static int k_fsync(pm_disk *d, int h)
{
    enter(d, C_SYNC);
    return pm_disk_fsync(D(d)->in, h);
}

static int k_fdatasync(pm_disk *d, int h)
{
    enter(d, C_SYNC);
    return pm_disk_fdatasync(D(d)->in, h);
}

static int k_rename(pm_disk *d, const char *from, const char *to)
{
    enter(d, C_OTHER);
    int e = pm_disk_rename(D(d)->in, from, to);
    if (e == 0 && strncmp(to, "snap.", 5) == 0)
        D(d)->w->st.snapshots++;
    return e;
}

static int k_unlink(pm_disk *d, const char *name)
{
    enter(d, C_OTHER);
    return pm_disk_unlink(D(d)->in, name);
}

static int k_sync_dir(pm_disk *d)
{
    enter(d, C_SYNC);
    return pm_disk_sync_dir(D(d)->in);
}

static int k_list(pm_disk *d, pm_disk_list_fn fn, void *arg)
{
    enter(d, C_OTHER);
    return pm_disk_list(D(d)->in, fn, arg);
}

static void k_destroy(pm_disk *d)
{
    pm_disk_destroy(D(d)->in);
    free(d);
}

static const pm_disk_ops k_ops = {
    .open = k_open, .close = k_close, .pread = k_pread, .pwrite = k_pwrite, .size = k_size,
    .truncate = k_truncate, .fsync = k_fsync, .fdatasync = k_fdatasync, .rename = k_rename,
    .unlink = k_unlink, .sync_dir = k_sync_dir, .list = k_list, .destroy = k_destroy,
};

pm_disk *ks_disk_wrap(ks_world *w, pm_disk *sim)
{
    ks_disk *k = calloc(1, sizeof *k);
    PL_ASSERT(k != NULL);
    k->base.ops = &k_ops;
    k->in = sim;
    k->w = w;
    return &k->base;
}
