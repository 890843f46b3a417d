/* read_win.c — a forward-moving read window over one file (read_win.h). */
#include "machine/read_win.h"
#include "runtime/assert.h"

#include <errno.h>
#include <stdlib.h>

enum { WIN_BYTES = 1 << 20 };

void pm_win_init(pm_win *w, pm_disk *d) { *w = (pm_win){ .d = d, .h = -1 }; }

int pm_win_open(pm_win *w, const char *name)
{
    pm_win_close(w);
    int h = pm_disk_open(w->d, name, 0);
    if (h < 0)
        return h;
    int e = pm_disk_size(w->d, h, &w->size);
    if (e < 0) {
        pm_disk_close(w->d, h);
        return e;
    }
    w->h = h;
    w->base = w->len = 0;
    return 0;
}

void pm_win_close(pm_win *w)
{
    if (w->h >= 0)
        pm_disk_close(w->d, w->h);
    w->h = -1;
    w->size = w->base = w->len = 0;
}

void pm_win_deinit(pm_win *w)
{
    pm_win_close(w);
    free(w->buf);
    w->buf = NULL;
    w->cap = 0;
}

int pm_win_get(pm_win *w, uint64_t off, uint64_t n, const uint8_t **p)
{
    PL_ASSERT(w->h >= 0 && off <= w->size && n <= w->size - off);
    if (off < w->base || off + n > w->base + w->len) {
        uint64_t want = n > WIN_BYTES ? n : WIN_BYTES;
        want = want < w->size - off ? want : w->size - off;
        if (want > w->cap) {
            uint8_t *b = realloc(w->buf, want);
            if (b == NULL)
                return -ENOMEM;
            w->buf = b, w->cap = want;
        }
        w->len = 0;
        int e = pm_disk_read_all(w->d, w->h, w->buf, want, off);
        if (e < 0)
            return e;
        w->base = off, w->len = want;
    }
    *p = w->buf + (off - w->base);
    return 0;
}

int pm_win_rec(pm_win *w, uint64_t off, uint64_t id, pm_rec *rec, pm_rec_bad *bad)
{
    PL_ASSERT(off <= w->size);
    uint64_t avail = w->size - off, need = PM_REC_HDR;
    const uint8_t *p;
    *bad = PM_REC_SHORT;
    if (avail < need)
        return 0;
    int e = pm_win_get(w, off, need, &p);
    if (e < 0)
        return e;
    *bad = pm_rec_decode(p, need, id, rec, &need);
    if (*bad != PM_REC_SHORT || need > avail)
        return 0;
    if ((e = pm_win_get(w, off, need, &p)) < 0)
        return e;
    *bad = pm_rec_decode(p, need, id, rec, &need);
    return 0;
}
