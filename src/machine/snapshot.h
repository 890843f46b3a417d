/* snapshot.h — a machine's state at a sequence number, saved whole.
 *
 * A snapshot is an opaque blob (the runtime puts every live task, shared ref,
 * pending command and id counter in it) saved at sequence number S: starting
 * from it, only the records after S are replayed. It is written to
 * snap.<S>.tmp, fsynced, renamed to snap.<S>, and the directory fsynced; a crash
 * at any step leaves the previous snapshot loadable. The file has a 48-byte
 * header (magic, format, S, length, payload checksum, header checksum; layout
 * in docs/JOURNAL.md), checksums seeded with the machine id.
 *
 * Write snapshot S only once the journal's records up to S are synced
 * (pm_journal_sync): the log must never be behind a snapshot it needs.
 *
 * Errors: 0 or a negative errno, PM_E_SYNC when an fsync failed (the snapshot
 * may not exist; treat it like a journal fsync failure and stop).
 */
#ifndef PLUTO_MACHINE_SNAPSHOT_H
#define PLUTO_MACHINE_SNAPSHOT_H

#include "machine/machine.h"

enum { PM_SNAP_HDR = 48 };
#define PM_SNAP_MAX ((uint64_t)1 << 32)   /* largest snapshot payload, bytes */

typedef struct pm_snap_info {
    uint64_t seq;
    uint64_t size;              /* the file's size */
    char name[PM_NAME_MAX];
    const char *bad;            /* NULL when valid; else why not ("bad checksum", ...) */
} pm_snap_info;

enum { PM_SNAP_SKIPPED_MAX = 4 };

/* A loaded snapshot; data is malloc'd (pm_snap_free). */
typedef struct pm_snap {
    uint64_t seq;
    uint8_t *data;
    size_t len;
    uint32_t skipped;           /* newer snapshots found invalid and skipped */
    pm_snap_info skip[PM_SNAP_SKIPPED_MAX];   /* the first of them */
} pm_snap;

typedef struct pm_prune_report {
    uint32_t snapshots;         /* snapshot files removed */
    uint32_t segments;          /* log segments removed */
    uint32_t temps;             /* leftover snap.*.tmp files removed */
} pm_prune_report;

/* Save len bytes of data as the snapshot at seq, durably. */
int pm_snap_write(pm_disk *d, uint64_t id, uint64_t seq, const void *data, size_t len);

/* Every snapshot file, ascending by seq, each one read and verified (*out is
 * malloc'd; free it). 0 or -errno. */
int pm_snap_list(pm_disk *d, uint64_t id, pm_snap_info **out, size_t *n);

/* The newest valid snapshot. Invalid newer ones are skipped and named in out.
 * 0; -ENOENT when there is no valid snapshot (out->skipped may say why); or an
 * error. */
int pm_snap_load(pm_disk *d, uint64_t id, pm_snap *out);
void pm_snap_free(pm_snap *s);

/* Remove what the newest valid snapshot N makes unnecessary, keeping the valid
 * snapshot K before it and the log segments needed to replay from K: snapshot
 * files older than K, segments whose records are all <= K (never the last
 * segment), and leftover temporary files. With no K, only the temporaries go.
 * rep may be NULL. 0 or an error; a crash part-way leaves a machine that starts. */
int pm_snap_prune(pm_disk *d, uint64_t id, pm_prune_report *rep);

#endif
