/* inspect.c — `pluto inspect DIR`: what a machine holds and what is damaged.
 *
 * Reads only (no repair, no lock), and judges the way `start` would: the
 * newest valid snapshot, then the log from the record after it.
 *
 *   machine    counter 1.0 (format 1, id 5d41402abc4b2a76)
 *   options    --fsync always --snapshot-every 1000 --user nobody
 *   args       --interval-ms 500
 *   last seq   1234
 *   snapshots  1
 *     snap.00000000000003e8  seq 1000  4144 bytes  valid
 *   log        2 segments, 81234 bytes (log.0000000000000001 .. log.00000000000003c1)
 *   replay     from seq 1001: 234 records
 *   damage     none
 */
#include "machine/journal.h"
#include "machine/run_args.h"
#include "machine/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What reading the log as start would found. */
typedef struct log_view {
    int err;                    /* 0, PM_E_CORRUPT or -errno */
    uint64_t records, last;
    pm_damage damage;
} log_view;

static int read_log(pm_disk *d, uint64_t id, uint64_t from, log_view *lv)
{
    pm_log_reader *r;
    int e = pm_log_open(d, id, from, &r);
    if (e < 0)
        return e;
    pm_record rec;
    while ((e = pm_log_next(r, &rec)) > 0)
        lv->records++;
    lv->err = e;
    lv->last = pm_log_last_seq(r);
    lv->damage = *pm_log_damage(r);
    pm_log_close(r);
    return 0;
}

/* Sum of every segment's size, not only those replay reads. */
static void print_log_size(FILE *f, pm_disk *d)
{
    pm_file *segs;
    size_t n;
    if (pm_list_files(d, PM_LOG_PREFIX, &segs, &n) < 0) {
        fprintf(f, "log        unreadable\n");
        return;
    }
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        int h = pm_disk_open(d, segs[i].name, 0);
        uint64_t size = 0;
        if (h >= 0 && pm_disk_size(d, h, &size) == 0)
            total += size;
        if (h >= 0)
            pm_disk_close(d, h);
    }
    fprintf(f, "log        %zu segment%s, %llu bytes", n, n == 1 ? "" : "s",
            (unsigned long long)total);
    if (n == 1)
        fprintf(f, " (%s)", segs[0].name);
    if (n > 1)
        fprintf(f, " (%s .. %s)", segs[0].name, segs[n - 1].name);
    fprintf(f, "\n");
    free(segs);
}

/* The damage lines; returns 0 clean, 1 recoverable, 2 refuses to start. */
static int print_damage(FILE *f, const log_view *lv, const pm_snap_info *v, size_t n)
{
    int worst = 0;
    for (size_t i = n; i-- > 0;)
        if (v[i].bad != NULL) {
            fprintf(f, "damage     %s: %s (skipped)\n", v[i].name, v[i].bad);
            worst = 1;
        }
    if (lv->err < 0 && lv->err != PM_E_CORRUPT) {
        fprintf(f, "damage     log unreadable: %s\n", pm_strerror(lv->err));
        return 2;
    }
    if (lv->damage.kind == PM_DAMAGE_NONE) {
        if (worst == 0)
            fprintf(f, "damage     none\n");
        return worst;
    }
    char line[512];
    pm_damage_format(&lv->damage, line, sizeof line);
    fprintf(f, "damage     %s\n", line);
    if (lv->damage.kind == PM_DAMAGE_CORRUPT) {
        fprintf(f, "           start refuses this machine\n");
        return 2;
    }
    fprintf(f, "           start recovers to seq %llu\n", (unsigned long long)lv->last);
    return 1;
}

/* One word as a shell would need it: quoted when it holds anything but
 * letters, digits and a few safe marks. */
static void put_word(FILE *f, const char *w)
{
    bool plain = *w != 0;
    for (const char *p = w; *p && plain; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || strchr("-_./:=@%+,", *p) != NULL;
    if (plain) {
        fputs(w, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = w; *p; p++)
        fputs(*p == '\'' ? "'\\''" : (char[]){ *p, 0 }, f);
    fputc('\'', f);
}

/* The words recorded at boot (run_args.h): the machine's own options after
 * the journal's, then the program's arguments. Damage to the file is said
 * here; start would refuse it too. */
static void print_args(FILE *f, pm_disk *d)
{
    int optc = 0, argc = 0;
    char **optv = NULL, **argv = NULL;
    int e = pm_args_read_opts(d, &optc, &optv);
    for (int i = 0; e == 0 && i < optc; i++) {
        fputc(' ', f);
        put_word(f, optv[i]);
    }
    fputc('\n', f);
    if (e == 0)
        e = pm_args_read(d, &argc, &argv);
    if (e == -ENOENT)
        fprintf(f, "args       (none recorded)\n");
    else if (e < 0)
        fprintf(f, "args       unreadable: %s\n", pm_strerror(e));
    else {
        fprintf(f, "args      ");
        for (int i = 0; i < argc; i++) {
            fputc(' ', f);
            put_word(f, argv[i]);
        }
        fputs(argc == 0 ? " (none)\n" : "\n", f);
    }
    free(optv);
    free(argv);
}

static int report(FILE *f, pm_disk *d, const pm_meta *m)
{
    fprintf(f, "machine    %s %s (format 1, id %016llx)\n", m->program, m->version,
            (unsigned long long)m->id);
    fprintf(f, "options    --fsync %s --snapshot-every %llu", pm_fsync_name(m->fsync),
            (unsigned long long)m->snapshot_every);
    print_args(f, d);
    pm_snap_info *v;
    size_t n;
    int e = pm_snap_list(d, m->id, &v, &n);
    if (e < 0)
        return e;
    uint64_t from = 1;
    for (size_t i = n; i-- > 0;)
        if (v[i].bad == NULL) {
            from = v[i].seq + 1;
            break;
        }
    log_view lv = { 0 };
    if ((e = read_log(d, m->id, from, &lv)) == 0) {
        uint64_t last = lv.last + 1 < from ? from - 1 : lv.last;
        fprintf(f, "last seq   %llu\n", (unsigned long long)last);
        fprintf(f, "snapshots  %zu\n", n);
        for (size_t i = n; i-- > 0;)
            fprintf(f, "  %s  seq %llu  %llu bytes  %s\n", v[i].name,
                    (unsigned long long)v[i].seq, (unsigned long long)v[i].size,
                    v[i].bad ? v[i].bad : "valid");
        print_log_size(f, d);
        fprintf(f, "replay     from seq %llu: %llu record%s\n", (unsigned long long)from,
                (unsigned long long)lv.records, lv.records == 1 ? "" : "s");
        e = print_damage(f, &lv, v, n);
    }
    free(v);
    return e;
}

int pm_inspect(pm_disk *d, char **text)
{
    *text = NULL;
    pm_meta m;
    int e = pm_meta_read(d, &m);
    if (e < 0)
        return e;
    size_t len;
    FILE *f = open_memstream(text, &len);
    if (f == NULL)
        return -ENOMEM;
    e = report(f, d, &m);
    fclose(f);
    if (e < 0) {
        free(*text);
        *text = NULL;
    }
    return e;
}

int pm_inspect_main(const char *argv0, int argc, char **argv)
{
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
        printf("usage: %s DIR\nprint a machine's program, options, arguments, last sequence "
               "number, snapshots, log size and damage\n", argv0);
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s DIR\n", argv0);
        return 2;
    }
    pm_disk *d = NULL;
    int e = pm_disk_posix_open(argv[0], 0, &d);
    if (e < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv0, argv[0], pm_strerror(e));
        return 1;
    }
    char *text = NULL;
    e = pm_inspect(d, &text);
    pm_disk_destroy(d);
    if (e < 0) {
        fprintf(stderr, "%s: %s: %s\n", argv0, argv[0],
                e == -ENOENT ? "not a machine (no meta file)" : pm_strerror(e));
        return 1;
    }
    fputs(text, stdout);
    free(text);
    return e == 2;
}
