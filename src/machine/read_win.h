/* read_win.h — a window over one file for reading records in order.
 *
 * Recovery reads a segment front to back, and the proof search tries every
 * aligned offset: both want a byte range as a pointer, without a system call
 * per record. The window holds 1 MiB (more for a larger record) and moves
 * forward as the reader does.
 */
#ifndef PLUTO_MACHINE_READ_WIN_H
#define PLUTO_MACHINE_READ_WIN_H

#include "machine/disk.h"
#include "machine/format.h"

typedef struct pm_win {
    pm_disk *d;
    int h;                  /* -1: no file open */
    uint64_t size;          /* the file's size when opened */
    uint8_t *buf;
    uint64_t cap;
    uint64_t base, len;     /* buf holds [base, base + len) */
} pm_win;

void pm_win_init(pm_win *w, pm_disk *d);
int pm_win_open(pm_win *w, const char *name);       /* read-only; 0 or -errno */
void pm_win_close(pm_win *w);                       /* the file; keeps the buffer */
void pm_win_deinit(pm_win *w);                      /* the file and the buffer */
/* Bytes [off, off + n) of the file, n <= size - off: 0 and *p, or -errno. */
int pm_win_get(pm_win *w, uint64_t off, uint64_t n, const uint8_t **p);
/* The record at off (see pm_rec_decode): 0 with *bad (PM_REC_OK and *rec, or
 * why not), or -errno. Never reads past the file's size. */
int pm_win_rec(pm_win *w, uint64_t off, uint64_t id, pm_rec *rec, pm_rec_bad *bad);

#endif
