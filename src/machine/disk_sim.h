/* disk_sim.h — the simulated disk's state, shared by disk_sim.c (the table of
 * operations, faults), disk_sim_ctl.c (the controls tests use) and
 * disk_sim_loss.c (what a power loss leaves).
 *
 * The model follows what Linux file systems promise and no more:
 *   - a file's data is durable once fsync/fdatasync returns 0 on it; until
 *     then each write (and truncate) since the last sync is kept, dropped or
 *     torn independently, and sometimes applied out of order;
 *   - a create, rename or unlink is durable once the directory is synced;
 *     before that each is kept or lost independently;
 *   - a failed fsync still "cleans" the file: what it should have saved is
 *     partly lost, and a later fsync will not bring it back.
 * Files are inodes with names pointing at them, so a file synced but never
 * linked durably vanishes at a power loss, as it would for real.
 */
#ifndef PLUTO_MACHINE_DISK_SIM_H
#define PLUTO_MACHINE_DISK_SIM_H

#include "machine/disk.h"

/* A data change not yet synced, in the order it was made. */
typedef struct sd_op {
    bool trunc;             /* a truncate to len; else a write of len bytes at off */
    uint64_t off, len;
    uint8_t *bytes;
} sd_op;

typedef struct sd_file {
    bool live;
    uint8_t *cur;           /* what reads see */
    uint64_t cur_len, cur_cap;
    uint8_t *dur;           /* what survives a power loss for sure */
    uint64_t dur_len, dur_cap;
    sd_op *ops;             /* since the last sync */
    uint32_t nops, ops_cap;
} sd_file;

typedef struct sd_name {
    char name[PM_NAME_MAX];
    uint32_t file;
} sd_name;

typedef struct sd_names {
    sd_name *v;
    uint32_t n, cap;
} sd_names;

typedef enum sd_dirkind { SD_CREATE, SD_RENAME, SD_UNLINK } sd_dirkind;

/* A directory change not yet synced. */
typedef struct sd_dirop {
    sd_dirkind kind;
    char a[PM_NAME_MAX], b[PM_NAME_MAX];   /* name (or rename's from, to) */
    uint32_t file;                          /* CREATE */
} sd_dirop;

typedef struct sd_handle {
    uint32_t file;
    bool open, write;
} sd_handle;

typedef struct sim_disk {
    pm_disk base;
    uint64_t rng;
    sd_file *files;
    uint32_t nfiles, files_cap;
    sd_names cur, dur;                     /* the directory now, and durably */
    sd_dirop *dirops;
    uint32_t ndirops, dirops_cap;
    sd_handle *handles;                    /* never reused: stale handles stay stale */
    uint32_t nhandles, handles_cap;
    uint64_t calls, fail_at, crash_at;
    bool fail_forever, dead;
    int fail_err;
    uint64_t capacity;
    uint32_t short_one_in;
} sim_disk;

extern const pm_disk_ops sd_ops;

/* disk_sim.c */
bool sd_bad_name(const char *name);
uint32_t sd_new_file(sim_disk *s);
void sd_add_op(sd_file *f, bool trunc, uint64_t off, const void *p, uint64_t len);

/* disk_sim_loss.c */
uint64_t sd_rand(sim_disk *s);
void *sd_grow(void *v, uint32_t *cap, uint32_t need, size_t size);   /* aborts on OOM */
sd_name *sd_find(sd_names *ns, const char *name);
void sd_set_name(sd_names *ns, const char *name, uint32_t file);
void sd_drop_name(sd_names *ns, const char *name);
void sd_copy_names(sd_names *to, const sd_names *from);
void sd_resize(sd_file *f, uint64_t len);                /* cur: zero-filled growth */

void sd_sync_file(sd_file *f);                           /* ops become durable */
void sd_lose_file(sim_disk *s, sd_file *f);              /* a failed fsync */
void sd_lose_dir(sim_disk *s);                           /* a failed sync_dir */
void sd_power_loss(sim_disk *s);                         /* dur := what survives */
void sd_reboot(sim_disk *s);                             /* cur := dur, handles die */

#endif
