/* disk_sim.c — a deterministic in-memory disk: the pm_disk table, fault
 * injection, capacity and short writes. The test controls are in
 * disk_sim_ctl.c, what a power loss leaves in disk_sim_loss.c; the model is
 * described in disk_sim.h.
 */
#include "machine/disk_sim.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sim_disk *S(pm_disk *d) { return (sim_disk *)d; }

/* Count the call; say whether it fails (and whether by injection). */
static int enter(sim_disk *s, bool *injected)
{
    *injected = false;
    s->calls++;
    if (s->dead)
        return -EIO;
    if (s->crash_at != 0 && s->calls == s->crash_at) {
        sd_power_loss(s);
        s->dead = true;
        return -EIO;
    }
    if (s->fail_at != 0 && (s->calls == s->fail_at || (s->fail_forever && s->calls > s->fail_at))) {
        *injected = true;
        return s->fail_err;
    }
    return 0;
}

#define ENTER(s)                        \
    bool inj_;                          \
    int e_ = enter((s), &inj_);         \
    if (e_ != 0)                        \
        return e_

bool sd_bad_name(const char *name)
{
    size_t n = strlen(name);
    return n == 0 || n >= PM_NAME_MAX || strchr(name, '/') != NULL;
}

static sd_file *handle_file(sim_disk *s, int h, bool write)
{
    if (h < 0 || (uint32_t)h >= s->nhandles || !s->handles[h].open)
        return NULL;
    if (write && !s->handles[h].write)
        return NULL;
    return &s->files[s->handles[h].file];
}

uint32_t sd_new_file(sim_disk *s)
{
    uint32_t i = 0;
    while (i < s->nfiles && s->files[i].live)
        i++;
    if (i == s->nfiles) {
        s->files = sd_grow(s->files, &s->files_cap, s->nfiles + 1, sizeof *s->files);
        s->nfiles++;
    }
    s->files[i] = (sd_file){ .live = true };
    return i;
}

static void add_dirop(sim_disk *s, sd_dirkind k, const char *a, const char *b, uint32_t f)
{
    s->dirops = sd_grow(s->dirops, &s->dirops_cap, s->ndirops + 1, sizeof *s->dirops);
    sd_dirop *op = &s->dirops[s->ndirops++];
    *op = (sd_dirop){ .kind = k, .file = f };
    snprintf(op->a, sizeof op->a, "%s", a);
    snprintf(op->b, sizeof op->b, "%s", b ? b : "");
}

void sd_add_op(sd_file *f, bool trunc, uint64_t off, const void *p, uint64_t len)
{
    f->ops = sd_grow(f->ops, &f->ops_cap, f->nops + 1, sizeof *f->ops);
    sd_op *op = &f->ops[f->nops++];
    *op = (sd_op){ .trunc = trunc, .off = off, .len = len };
    if (!trunc) {
        op->bytes = malloc(len ? len : 1);
        PL_ASSERT(op->bytes != NULL);
        memcpy(op->bytes, p, len);
    }
}

static int sim_open(pm_disk *d, const char *name, int flags)
{
    sim_disk *s = S(d);
    ENTER(s);
    if (sd_bad_name(name))
        return -EINVAL;
    sd_name *n = sd_find(&s->cur, name);
    if (n != NULL && (flags & PM_O_CREATE) && (flags & PM_O_EXCL))
        return -EEXIST;
    if (n == NULL && !(flags & PM_O_CREATE))
        return -ENOENT;
    uint32_t file;
    if (n == NULL) {
        file = sd_new_file(s);
        sd_set_name(&s->cur, name, file);
        add_dirop(s, SD_CREATE, name, NULL, file);
    } else {
        file = n->file;
    }
    if ((flags & PM_O_TRUNC) && (flags & PM_O_WRITE) && s->files[file].cur_len > 0) {
        sd_resize(&s->files[file], 0);
        sd_add_op(&s->files[file], true, 0, NULL, 0);
    }
    s->handles = sd_grow(s->handles, &s->handles_cap, s->nhandles + 1, sizeof *s->handles);
    s->handles[s->nhandles] = (sd_handle){ .file = file, .open = true,
                                           .write = (flags & PM_O_WRITE) != 0 };
    return (int)s->nhandles++;
}

static int sim_close(pm_disk *d, int h)
{
    sim_disk *s = S(d);
    if (handle_file(s, h, false) == NULL)
        return -EBADF;
    s->handles[h].open = false;
    return 0;
}

static int64_t sim_pread(pm_disk *d, int h, void *buf, size_t n, uint64_t off)
{
    sim_disk *s = S(d);
    ENTER(s);
    sd_file *f = handle_file(s, h, false);
    if (f == NULL)
        return -EBADF;
    if (off >= f->cur_len)
        return 0;
    uint64_t k = f->cur_len - off < n ? f->cur_len - off : n;
    memcpy(buf, f->cur + off, k);
    return (int64_t)k;
}

/* How many of n bytes at off fit, given the capacity (0: none). */
static uint64_t room_for(sim_disk *s, sd_file *f, uint64_t off, uint64_t n)
{
    if (s->capacity == 0 || off + n <= f->cur_len)
        return n;
    uint64_t used = pm_disk_sim_used(&s->base);
    uint64_t free_bytes = s->capacity > used ? s->capacity - used : 0;
    uint64_t end_max = f->cur_len + free_bytes;
    return off >= end_max ? 0 : (end_max - off < n ? end_max - off : n);
}

static int64_t sim_pwrite(pm_disk *d, int h, const void *buf, size_t n, uint64_t off)
{
    sim_disk *s = S(d);
    ENTER(s);
    sd_file *f = handle_file(s, h, true);
    if (f == NULL)
        return -EBADF;
    uint64_t k = room_for(s, f, off, n);
    if (k == 0 && n > 0)
        return -ENOSPC;
    if (s->short_one_in != 0 && k > 1 && sd_rand(s) % s->short_one_in == 0)
        k = 1 + sd_rand(s) % (k - 1);
    if (off + k > f->cur_len)
        sd_resize(f, off + k);
    memcpy(f->cur + off, buf, k);
    sd_add_op(f, false, off, buf, k);
    return (int64_t)k;
}

static int sim_size(pm_disk *d, int h, uint64_t *size)
{
    sim_disk *s = S(d);
    ENTER(s);
    sd_file *f = handle_file(s, h, false);
    if (f == NULL)
        return -EBADF;
    *size = f->cur_len;
    return 0;
}

static int sim_truncate(pm_disk *d, int h, uint64_t size)
{
    sim_disk *s = S(d);
    ENTER(s);
    sd_file *f = handle_file(s, h, true);
    if (f == NULL)
        return -EBADF;
    sd_resize(f, size);
    sd_add_op(f, true, 0, NULL, size);
    return 0;
}

static int sim_fsync(pm_disk *d, int h)
{
    sim_disk *s = S(d);
    bool inj;
    int e = enter(s, &inj);
    sd_file *f = e == 0 || inj ? handle_file(s, h, false) : NULL;
    if (e == 0 && f == NULL)
        return -EBADF;
    if (inj && f != NULL)
        sd_lose_file(s, f);
    if (e != 0)
        return e;
    sd_sync_file(f);
    return 0;
}

/* Once the directory is synced, a file no name points to and no handle holds
 * can never be read again (an unlinked snapshot or segment): free it, or a
 * long simulation keeps every file it ever wrote. */
static void forget_unreachable(sim_disk *s)
{
    uint8_t *held = calloc(s->nfiles ? s->nfiles : 1, 1);
    PL_ASSERT(held != NULL);
    for (uint32_t k = 0; k < s->cur.n; k++)
        held[s->cur.v[k].file] = 1;
    for (uint32_t k = 0; k < s->nhandles; k++)
        if (s->handles[k].open)
            held[s->handles[k].file] = 1;
    for (uint32_t i = 0; i < s->nfiles; i++) {
        sd_file *f = &s->files[i];
        if (!f->live || held[i])
            continue;
        for (uint32_t k = 0; k < f->nops; k++)
            free(f->ops[k].bytes);
        free(f->ops), free(f->cur), free(f->dur);
        *f = (sd_file){ .live = false };
    }
    free(held);
}

static int sim_sync_dir(pm_disk *d)
{
    sim_disk *s = S(d);
    bool inj;
    int e = enter(s, &inj);
    if (inj)
        sd_lose_dir(s);
    if (e != 0)
        return e;
    sd_copy_names(&s->dur, &s->cur);
    s->ndirops = 0;
    forget_unreachable(s);
    return 0;
}

static int sim_rename(pm_disk *d, const char *from, const char *to)
{
    sim_disk *s = S(d);
    ENTER(s);
    if (sd_bad_name(from) || sd_bad_name(to))
        return -EINVAL;
    sd_name *n = sd_find(&s->cur, from);
    if (n == NULL)
        return -ENOENT;
    uint32_t file = n->file;
    sd_drop_name(&s->cur, from);
    sd_set_name(&s->cur, to, file);
    add_dirop(s, SD_RENAME, from, to, file);
    return 0;
}

static int sim_unlink(pm_disk *d, const char *name)
{
    sim_disk *s = S(d);
    ENTER(s);
    if (sd_find(&s->cur, name) == NULL)
        return -ENOENT;
    sd_drop_name(&s->cur, name);
    add_dirop(s, SD_UNLINK, name, NULL, 0);
    return 0;
}

static int sim_list(pm_disk *d, pm_disk_list_fn fn, void *arg)
{
    sim_disk *s = S(d);
    ENTER(s);
    char name[PM_NAME_MAX];
    for (uint32_t i = 0; i < s->cur.n; i++) {
        memcpy(name, s->cur.v[i].name, sizeof name);   /* fn may not see our buffer */
        int r = fn(arg, name);
        if (r != 0)
            return r;
    }
    return 0;
}

static void sim_destroy(pm_disk *d)
{
    sim_disk *s = S(d);
    for (uint32_t i = 0; i < s->nfiles; i++) {
        sd_file *f = &s->files[i];
        for (uint32_t k = 0; k < f->nops; k++)
            free(f->ops[k].bytes);
        free(f->ops), free(f->cur), free(f->dur);
    }
    free(s->files), free(s->cur.v), free(s->dur.v), free(s->dirops), free(s->handles);
    free(s);
}

const pm_disk_ops sd_ops = {
    .open = sim_open, .close = sim_close, .pread = sim_pread, .pwrite = sim_pwrite,
    .size = sim_size, .truncate = sim_truncate, .fsync = sim_fsync, .fdatasync = sim_fsync,
    .rename = sim_rename, .unlink = sim_unlink, .sync_dir = sim_sync_dir, .list = sim_list,
    .destroy = sim_destroy,
};
