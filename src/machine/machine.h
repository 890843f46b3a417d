/* machine.h — a durable machine's directory: layout, metadata, errors, inspect.
 *
 * A machine is one directory that holds everything needed to resume a program:
 *
 *   meta                    program name + version, machine id, options (--fsync,
 *                           --snapshot-every), format version; replaced atomically
 *   log.<16 hex digits>     a log segment; the digits are its first sequence number
 *   snap.<16 hex digits>    a snapshot at that sequence number
 *   *.tmp                   a file being written; never read, removed by pruning
 *
 * No path is stored inside, so a directory copied elsewhere (or to another
 * machine: every number is little-endian) starts there and continues. The
 * on-disk formats are in docs/JOURNAL.md; journal.h appends and reads the log,
 * snapshot.h writes and loads snapshots.
 *
 * A machine's life, as the runtime drives it:
 *
 *   boot   pm_meta_create, pm_journal_open(from 1), then run
 *   start  pm_meta_read, pm_snap_load (newest valid, at S), pm_journal_open(from S+1)
 *          which verifies and repairs the log, pm_log_open(from S+1) to replay,
 *          then run: pm_journal_append per answer, pm_journal_commit per loop turn,
 *          pm_snap_write + pm_snap_prune every snapshot_every events
 *
 * Errors: 0 or a negative errno, or one of PM_E_* below; pm_strerror() says
 * which in words.
 */
#ifndef PLUTO_MACHINE_MACHINE_H
#define PLUTO_MACHINE_MACHINE_H

#include "machine/disk.h"

enum {
    PM_E_CORRUPT = -4001,   /* damage before the log's tail: refuse to start */
    PM_E_FORMAT = -4002,    /* not a machine file, or a format version we don't know */
    PM_E_SYNC = -4003,      /* an fsync failed: data may be lost; the journal is done */
    PM_E_PROGRAM = -4004,   /* the machine belongs to another program */
};

/* A static string for 0, -errno or PM_E_*. */
const char *pm_strerror(int err);

/* ---- names -------------------------------------------------------------- */

#define PM_META_NAME "meta"
#define PM_LOG_PREFIX "log."
#define PM_SNAP_PREFIX "snap."

void pm_name_log(char out[PM_NAME_MAX], uint64_t first_seq);
void pm_name_snap(char out[PM_NAME_MAX], uint64_t seq);
/* name == prefix + exactly 16 lower-case hex digits: true and *seq. */
bool pm_name_parse(const char *name, const char *prefix, uint64_t *seq);

typedef struct pm_file {
    uint64_t seq;
    char name[PM_NAME_MAX];
} pm_file;

/* The files named prefix + 16 hex digits, ascending by seq, in a malloc'd
 * array (*out, *n; free it, even after an error: then it is NULL). 0 or -errno. */
int pm_list_files(pm_disk *d, const char *prefix, pm_file **out, size_t *n);

/* ---- meta --------------------------------------------------------------- */

typedef enum pm_fsync {
    PM_FSYNC_ALWAYS = 0,    /* every commit is durable when it returns */
    PM_FSYNC_INTERVAL = 1,  /* commits write; one fsync per interval */
    PM_FSYNC_NEVER = 2,     /* commits write; the OS syncs when it likes */
} pm_fsync;

enum { PM_PROG_MAX = 64 };   /* program name and version, with the NUL */

typedef struct pm_meta {
    char program[PM_PROG_MAX];
    char version[PM_PROG_MAX];
    uint64_t id;                /* chosen at boot (nonzero); seeds every checksum */
    pm_fsync fsync;
    uint32_t fsync_interval_ms; /* PM_FSYNC_INTERVAL; 0 means 1000 */
    uint64_t snapshot_every;    /* events between snapshots; 0: none */
} pm_meta;

/* boot: write meta durably. -EEXIST if the directory already holds a machine
 * (a meta, a log segment or a snapshot). */
int pm_meta_create(pm_disk *d, const pm_meta *m);
/* -ENOENT: not a machine; PM_E_FORMAT: a damaged or foreign meta. */
int pm_meta_read(pm_disk *d, pm_meta *m);
/* Replace meta atomically (new options, or a migrated program's version). */
int pm_meta_write(pm_disk *d, const pm_meta *m);
const char *pm_fsync_name(pm_fsync f);
/* "always", "interval" or "never": 0, else -EINVAL. */
int pm_fsync_parse(const char *s, pm_fsync *out);

/* ---- damage ------------------------------------------------------------- */

typedef enum pm_damage_kind {
    PM_DAMAGE_NONE = 0,
    PM_DAMAGE_TAIL,         /* the log ends in a torn or partial write: recoverable */
    PM_DAMAGE_CORRUPT,      /* a bad record that was durable: refuse to start */
} pm_damage_kind;

/* Where a log stops being valid, and why. */
typedef struct pm_damage {
    pm_damage_kind kind;
    char file[PM_NAME_MAX];     /* the segment holding the first bad byte */
    uint64_t offset;            /* ... its offset there */
    uint64_t seq;               /* the sequence number expected there */
    uint64_t dropped;           /* bytes from there to the end of the log */
    const char *why;            /* "bad checksum", "truncated record", ... */
    char proof[PM_NAME_MAX];    /* CORRUPT: a later valid record saying the bad */
    uint64_t proof_offset;      /*   one had been synced, and where it is */
} pm_damage;

/* One line for people: "torn tail in log.… at offset …: …". */
void pm_damage_format(const pm_damage *dm, char *out, size_t n);

/* ---- inspect -------------------------------------------------------------- */

/* The report of `pluto inspect DIR`: program, version, options, last sequence
 * number, snapshots, log size and every damage found, as text (*text,
 * malloc'd; free it). Reads only. Returns 0 when the machine would start
 * cleanly, 1 when it would start after recovering damage (a torn tail, a
 * corrupt snapshot skipped), 2 when it would refuse to start; <0 when the
 * directory is not a readable machine (then *text is NULL). */
int pm_inspect(pm_disk *d, char **text);
/* `pluto inspect DIR`: prints the report; exit code 0, 1 (refuses to start or
 * not a machine) or 2 (usage). */
int pm_inspect_main(const char *argv0, int argc, char **argv);

#endif
