/* disk_sim_ctl.c — the simulated disk's controls for tests and the simulator:
 * create it, inject faults and power losses, limit its capacity, put and peek
 * at files without counting calls.
 */
#include "machine/disk_sim.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Bytes held by files that are linked or open: what the capacity limits. */
uint64_t pm_disk_sim_used(const pm_disk *d)
{
    const sim_disk *s = (const sim_disk *)d;
    uint64_t used = 0;
    for (uint32_t i = 0; i < s->nfiles; i++) {
        bool held = false;
        for (uint32_t k = 0; k < s->cur.n && !held; k++)
            held = s->cur.v[k].file == i;
        for (uint32_t k = 0; k < s->nhandles && !held; k++)
            held = s->handles[k].open && s->handles[k].file == i;
        used += s->files[i].live && held ? s->files[i].cur_len : 0;
    }
    return used;
}

pm_disk *pm_disk_sim_create(uint64_t seed)
{
    sim_disk *s = calloc(1, sizeof *s);
    PL_ASSERT(s != NULL);
    s->base.ops = &sd_ops;
    s->rng = seed;
    return &s->base;
}

static sim_disk *as_sim(const pm_disk *d)
{
    PL_ASSERT(d->ops == &sd_ops);
    return (sim_disk *)d;
}

void pm_disk_sim_fail(pm_disk *d, uint64_t nth, bool forever, int err)
{
    sim_disk *s = as_sim(d);
    s->fail_at = nth, s->fail_forever = forever, s->fail_err = err;
}

void pm_disk_sim_crash_at(pm_disk *d, uint64_t nth) { as_sim(d)->crash_at = nth; }
bool pm_disk_sim_dead(const pm_disk *d) { return as_sim(d)->dead; }
uint64_t pm_disk_sim_calls(const pm_disk *d) { return as_sim(d)->calls; }
void pm_disk_sim_set_capacity(pm_disk *d, uint64_t bytes) { as_sim(d)->capacity = bytes; }
void pm_disk_sim_short_writes(pm_disk *d, uint32_t one_in) { as_sim(d)->short_one_in = one_in; }

void pm_disk_sim_crash(pm_disk *d)
{
    sim_disk *s = as_sim(d);
    if (!s->dead)
        sd_power_loss(s);
    sd_reboot(s);
}

void pm_disk_sim_reboot(pm_disk *d)
{
    sim_disk *s = as_sim(d);
    PL_ASSERT(s->dead);
    sd_reboot(s);
}

void pm_disk_sim_put(pm_disk *d, const char *name, const void *buf, size_t n)
{
    sim_disk *s = as_sim(d);
    PL_ASSERT(!sd_bad_name(name));
    uint32_t file = sd_new_file(s);
    sd_file *f = &s->files[file];
    sd_add_op(f, false, 0, buf, n);
    sd_resize(f, n);
    if (n > 0)
        memcpy(f->cur, buf, n);
    sd_sync_file(f);
    sd_set_name(&s->cur, name, file);
    sd_set_name(&s->dur, name, file);
}

const uint8_t *pm_disk_sim_peek(pm_disk *d, const char *name, size_t *n)
{
    sim_disk *s = as_sim(d);
    sd_name *e = sd_find(&s->cur, name);
    if (e == NULL)
        return NULL;
    *n = s->files[e->file].cur_len;
    return s->files[e->file].cur ? s->files[e->file].cur : (const uint8_t *)"";
}
