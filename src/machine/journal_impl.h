/* journal_impl.h — the journal writer's state, shared by journal.c (append,
 * commit) and journal_open.c (recovery at open).
 *
 * Invariants:
 *   - every segment but the open one (h) is fully synced, data and name;
 *   - seg_len bytes of the open segment hold its header and whole records,
 *     up to seq `written`; a failed write is cut back to seg_len;
 *   - buf holds records written + 1 .. last, encoded, with `synced` as their
 *     claim of what was durable; synced <= written <= last.
 */
#ifndef PLUTO_MACHINE_JOURNAL_IMPL_H
#define PLUTO_MACHINE_JOURNAL_IMPL_H

#include "machine/journal.h"

struct pm_journal {
    pm_disk *d;
    uint64_t id;
    pm_fsync policy;
    uint32_t interval_ms;
    uint64_t seg_max;
    uint32_t buf_max;
    int h;                  /* the open segment; -1: the next commit creates one */
    uint64_t seg_len;
    bool seg_dirty;         /* written since its last fdatasync */
    bool seg_new;           /* created; its name not yet synced in the directory */
    uint8_t *buf;
    size_t buf_len, buf_cap;
    uint64_t last, written, synced;
    uint64_t synced_ms;     /* now_ms of the last sync (INTERVAL) */
    int broken;             /* 0, or PM_E_SYNC once an fsync failed */
};

/* fdatasync the open segment (and its name if new): 0 or PM_E_SYNC (broken). */
int pm__journal_sync_segment(pm_journal *j);

#endif
