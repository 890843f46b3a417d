/* journal.h — a machine's log: append events, commit them in groups, read them
 * back after a crash.
 *
 * An event is a record (seq, task id, type, payload). Sequence numbers are
 * given by the journal, one after the other from 1; task id, type and payload
 * belong to the caller (the runtime stores a task's answer there). Records live
 * in segment files (log.<first seq>); each is checksummed (XXH3-64 seeded with
 * the machine id) and also says what was already durable when it was written,
 * which is how recovery tells a torn tail (forgiven) from corruption (refused).
 *
 * Writing: pm_journal_append() only encodes into a memory buffer; it never
 * does I/O. pm_journal_commit() writes the whole buffer with one write and then,
 * by the fsync policy, makes it durable with one fdatasync: a group commit, once
 * per loop turn. Under PM_FSYNC_ALWAYS every record appended before a commit
 * that returned 0 survives any crash; the runtime releases the effects of an
 * event (output commit) once pm_journal_synced_seq() covers it.
 *
 * Errors (negative, see pm_strerror):
 *   -ENOBUFS     append: the buffer is full; commit first, then append again.
 *   -ENOSPC, -EIO, ... from a write: the commit did not happen. The partial
 *                write is rolled back (truncated), the buffered records are kept,
 *                and a later commit retries them. The caller stops acknowledging
 *                (holds output, stops taking input) until a commit succeeds, e.g.
 *                once disk space was freed.
 *   PM_E_SYNC    an fsync failed. Never retried (after a failed fsync the kernel
 *                may have dropped the data and a second fsync would lie): the
 *                journal refuses every later append and commit with PM_E_SYNC.
 *                The process should stop; a restart recovers what is durable.
 *   PM_E_CORRUPT open: a record that had been synced is damaged.
 *
 * A pm_journal is used by one thread. It keeps the pm_disk it was given (which
 * must outlive it) and owns its buffer and its open segment.
 */
#ifndef PLUTO_MACHINE_JOURNAL_H
#define PLUTO_MACHINE_JOURNAL_H

#include "machine/machine.h"

typedef struct pm_journal pm_journal;

/* Options for one run; zero (or a NULL pointer) takes the machine's. */
typedef struct pm_journal_opts {
    bool fsync_given;           /* fsync overrides the machine's policy */
    pm_fsync fsync;
    uint32_t fsync_interval_ms; /* 0: the machine's (default 1000) */
    uint64_t segment_bytes;     /* start a new segment after this size; 0: 64 MiB */
    uint32_t buffer_bytes;      /* appended bytes held before a commit; 0: 8 MiB */
} pm_journal_opts;

/* What opening found. */
typedef struct pm_journal_report {
    uint64_t last_seq;          /* last valid record; appends go on after it. At
                                   least from_seq - 1 (a snapshot covers the rest) */
    uint64_t records;           /* valid records with seq >= from_seq */
    uint32_t segments;          /* segment files read */
    uint64_t bytes;             /* their size, before any repair */
    pm_damage damage;           /* TAIL: repaired (cut off); CORRUPT: open failed */
} pm_journal_report;

/* Open the log of the machine described by m for appending, after checking
 * every record from the segment holding from_seq on (snapshot seq + 1, or 1).
 * A torn tail is cut off durably and reported in rep->damage; corruption fails
 * with PM_E_CORRUPT (rep->damage names the file and offset). If the log ends
 * before from_seq - 1 (a snapshot newer than the log), appending resumes at
 * from_seq in a new segment. o may be NULL. 0 and *out, or an error. */
int pm_journal_open(pm_disk *d, const pm_meta *m, const pm_journal_opts *o, uint64_t from_seq,
                    pm_journal **out, pm_journal_report *rep);

/* Buffer one record: its seq is pm_journal_last_seq() + 1, stored in *seq
 * (may be NULL). The payload (at most 4 MiB) is copied. No I/O. */
int pm_journal_append(pm_journal *j, uint64_t task, uint32_t type, const void *payload,
                      size_t len, uint64_t *seq);
/* Write what was appended, then fsync per policy (now_ms, any monotonic clock
 * in ms, paces PM_FSYNC_INTERVAL). With nothing buffered it still syncs under
 * INTERVAL when due, so call it on idle turns too. 0 or an error (above). */
int pm_journal_commit(pm_journal *j, uint64_t now_ms);
/* Commit and fsync now, whatever the policy. */
int pm_journal_sync(pm_journal *j);

uint64_t pm_journal_last_seq(const pm_journal *j);     /* appended */
uint64_t pm_journal_written_seq(const pm_journal *j);  /* handed to the OS */
uint64_t pm_journal_synced_seq(const pm_journal *j);   /* durable */
int pm_journal_error(const pm_journal *j);             /* 0 or PM_E_SYNC */

/* A clean stop: pm_journal_sync(), then free. Returns the sync's result; j is
 * freed either way. */
int pm_journal_close(pm_journal *j);
/* Free without writing anything, as if the process had died (tests). */
void pm_journal_abandon(pm_journal *j);

/* ---- reading (replay, inspect) ------------------------------------------ */

typedef struct pm_log_reader pm_log_reader;

typedef struct pm_record {
    uint64_t seq;
    uint64_t task;
    uint32_t type;
    uint32_t len;
    const uint8_t *payload;     /* valid until the next call on the reader */
    const char *file;           /* the segment holding it ... */
    uint64_t offset;            /* ... and where */
} pm_record;

/* A reader of the records with seq >= from_seq, for the machine with this id.
 * Read-only: damage is reported, never repaired. 0 and *out, or an error. */
int pm_log_open(pm_disk *d, uint64_t id, uint64_t from_seq, pm_log_reader **out);
/* 1 and the next record; 0 at the end of the valid log (a torn tail ends it
 * too: see pm_log_damage); PM_E_CORRUPT when the log is damaged before its
 * tail; or -errno. Records are checksummed and in sequence when returned, but
 * corruption further on is only found when reached: replay after
 * pm_journal_open(), which checked the whole log. */
int pm_log_next(pm_log_reader *r, pm_record *rec);
/* After pm_log_next returned 0 or PM_E_CORRUPT: what ended the log. */
const pm_damage *pm_log_damage(const pm_log_reader *r);
/* The last valid record's seq so far, records before from_seq included: it is
 * below from_seq - 1 when the log ends before from_seq (or from_seq - 1 when
 * there is no log at all). */
uint64_t pm_log_last_seq(const pm_log_reader *r);
/* Segments opened so far and their total size in bytes. */
void pm_log_stats(const pm_log_reader *r, uint32_t *segments, uint64_t *bytes);
void pm_log_close(pm_log_reader *r);

#endif
