/* disk_sim_loss.c — what the simulated disk keeps when power is lost.
 *
 * For each file, its durable bytes, then each unsynced change in order (or,
 * one file in four, in a shuffled order): a change is dropped (2 in 8), torn
 * (1 in 8) or kept whole. A torn write keeps either a prefix cut at any byte,
 * or a random subset of its 512-byte sectors with zeros for the rest. For the
 * directory, each unsynced create, rename and unlink is kept or lost by a coin
 * flip, in order. Every choice comes from the disk's seed.
 */
#include "machine/disk_sim.h"
#include "runtime/assert.h"

#include <stdlib.h>
#include <string.h>

enum { SECTOR = 512 };

uint64_t sd_rand(sim_disk *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);     /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void *sd_grow(void *v, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return v;
    uint32_t n = *cap ? *cap : 8;
    while (n < need)
        n *= 2;
    v = realloc(v, (size_t)n * size);
    PL_ASSERT(v != NULL);
    *cap = n;
    return v;
}

sd_name *sd_find(sd_names *ns, const char *name)
{
    for (uint32_t i = 0; i < ns->n; i++)
        if (strcmp(ns->v[i].name, name) == 0)
            return &ns->v[i];
    return NULL;
}

void sd_set_name(sd_names *ns, const char *name, uint32_t file)
{
    sd_name *e = sd_find(ns, name);
    if (e == NULL) {
        ns->v = sd_grow(ns->v, &ns->cap, ns->n + 1, sizeof *ns->v);
        e = &ns->v[ns->n++];
        memcpy(e->name, name, strlen(name) + 1);
    }
    e->file = file;
}

void sd_drop_name(sd_names *ns, const char *name)
{
    sd_name *e = sd_find(ns, name);
    if (e != NULL)
        *e = ns->v[--ns->n];
}

void sd_copy_names(sd_names *to, const sd_names *from)
{
    to->v = sd_grow(to->v, &to->cap, from->n, sizeof *to->v);
    if (from->n > 0)
        memcpy(to->v, from->v, from->n * sizeof *to->v);
    to->n = from->n;
}

/* Set a buffer's length, zero-filling growth. */
static void buf_resize(uint8_t **p, uint64_t *len, uint64_t *cap, uint64_t n)
{
    if (n > *cap) {
        uint64_t c = *cap ? *cap : 256;
        while (c < n)
            c *= 2;
        *p = realloc(*p, c);
        PL_ASSERT(*p != NULL);
        *cap = c;
    }
    if (n > *len)
        memset(*p + *len, 0, n - *len);
    *len = n;
}

void sd_resize(sd_file *f, uint64_t len) { buf_resize(&f->cur, &f->cur_len, &f->cur_cap, len); }

static void clear_ops(sd_file *f)
{
    for (uint32_t i = 0; i < f->nops; i++)
        free(f->ops[i].bytes);
    f->nops = 0;
}

/* Apply one change, whole, to an image. */
static void apply(uint8_t **img, uint64_t *len, uint64_t *cap, const sd_op *op)
{
    if (op->trunc) {
        buf_resize(img, len, cap, op->len);
        return;
    }
    if (op->off + op->len > *len)
        buf_resize(img, len, cap, op->off + op->len);
    if (op->len > 0)
        memcpy(*img + op->off, op->bytes, op->len);
}

/* The changes still pending reach the disk. Not a copy of cur: after a
 * failed fsync, what it lost stays lost even though reads still show it. */
void sd_sync_file(sd_file *f)
{
    for (uint32_t i = 0; i < f->nops; i++)
        apply(&f->dur, &f->dur_len, &f->dur_cap, &f->ops[i]);
    clear_ops(f);
}

/* Apply part of a write to an image: a prefix, or some sectors. */
static void tear(sim_disk *s, uint8_t **img, uint64_t *len, uint64_t *cap, const sd_op *op)
{
    uint64_t end = op->off;
    if (sd_rand(s) % 2 == 0) {
        uint64_t keep = op->len ? sd_rand(s) % op->len : 0;
        end = op->off + keep;
        if (keep > 0 && end > *len)
            buf_resize(img, len, cap, end);
        if (keep > 0)
            memcpy(*img + op->off, op->bytes, keep);
        return;
    }
    for (uint64_t a = op->off; a < op->off + op->len;) {
        uint64_t b = (a / SECTOR + 1) * SECTOR;
        b = b < op->off + op->len ? b : op->off + op->len;
        if (sd_rand(s) % 2 == 0) {
            if (b > *len)
                buf_resize(img, len, cap, b);
            memcpy(*img + a, op->bytes + (a - op->off), b - a);
        }
        a = b;
    }
    if (sd_rand(s) % 3 == 0 && op->off + op->len > *len)   /* size persisted, data not */
        buf_resize(img, len, cap, op->off + op->len);
}

/* The file's bytes after a power loss: durable bytes + a random fate per change. */
static void image(sim_disk *s, sd_file *f)
{
    uint64_t len = 0, cap = 0;
    uint8_t *img = NULL;
    buf_resize(&img, &len, &cap, f->dur_len);
    if (f->dur_len > 0)
        memcpy(img, f->dur, f->dur_len);
    uint32_t *order = malloc((f->nops ? f->nops : 1) * sizeof *order);
    PL_ASSERT(order != NULL);
    for (uint32_t i = 0; i < f->nops; i++)
        order[i] = i;
    if (f->nops > 1 && sd_rand(s) % 4 == 0)
        for (uint32_t i = f->nops - 1; i > 0; i--) {
            uint32_t j = (uint32_t)(sd_rand(s) % (i + 1)), t = order[i];
            order[i] = order[j], order[j] = t;
        }
    for (uint32_t i = 0; i < f->nops; i++) {
        const sd_op *op = &f->ops[order[i]];
        uint64_t fate = sd_rand(s) % 8;
        if (fate < 2)
            continue;                           /* dropped */
        if (fate == 2 && !op->trunc)
            tear(s, &img, &len, &cap, op);
        else
            apply(&img, &len, &cap, op);
    }
    free(order);
    free(f->dur);
    f->dur = img;
    f->dur_len = len;
    f->dur_cap = cap;
    clear_ops(f);
}

void sd_lose_file(sim_disk *s, sd_file *f) { image(s, f); }

void sd_lose_dir(sim_disk *s)
{
    for (uint32_t i = 0; i < s->ndirops; i++) {
        const sd_dirop *op = &s->dirops[i];
        if (sd_rand(s) % 2 == 0)
            continue;
        if (op->kind == SD_CREATE)
            sd_set_name(&s->dur, op->a, op->file);
        else if (op->kind == SD_UNLINK)
            sd_drop_name(&s->dur, op->a);
        else if (sd_find(&s->dur, op->a) != NULL) {
            uint32_t file = sd_find(&s->dur, op->a)->file;
            sd_drop_name(&s->dur, op->a);
            sd_set_name(&s->dur, op->b, file);
        }
    }
    s->ndirops = 0;
}

void sd_power_loss(sim_disk *s)
{
    for (uint32_t i = 0; i < s->nfiles; i++)
        if (s->files[i].live)
            image(s, &s->files[i]);
    sd_lose_dir(s);
}

static bool named(const sim_disk *s, uint32_t file)
{
    for (uint32_t i = 0; i < s->dur.n; i++)
        if (s->dur.v[i].file == file)
            return true;
    return false;
}

/* Back up with the durable state; files no name points to are gone. */
void sd_reboot(sim_disk *s)
{
    s->dead = false;
    for (uint32_t i = 0; i < s->nhandles; i++)
        s->handles[i].open = false;
    sd_copy_names(&s->cur, &s->dur);
    for (uint32_t i = 0; i < s->nfiles; i++) {
        sd_file *f = &s->files[i];
        if (!f->live)
            continue;
        if (named(s, i)) {
            f->cur_len = 0;
            sd_resize(f, f->dur_len);
            if (f->dur_len > 0)
                memcpy(f->cur, f->dur, f->dur_len);
            continue;
        }
        free(f->cur), free(f->dur), free(f->ops);
        *f = (sd_file){ .live = false };
    }
}
