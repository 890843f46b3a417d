/* kvsim_main.c — sim_kv: the kv app as a durable machine under faults.
 *
 *   sim_kv [--seed N] [--clients N] [--no-faults] [--verbose]
 *          [--break-check] [--lying-disk]
 *
 * Boots kv as a machine on a simulated disk, lets the simulated clients
 * work while faults strike (kvsim_fault.c), restarts the machine after each
 * death, and ends with the final checks. Prints one summary line,
 *   sim kv-machine seed N: ..., violations V
 * and last `trace <16 hex digits>`, a hash of what the clients saw and when.
 * Exit code 0, or 3 when a violation was seen (each is printed on stderr).
 *
 * --break-check: the checker expects every value with one byte changed, so
 * it must report violations. --lying-disk: at each start the newest log
 * segment loses its last third (a disk that lied about fsync), so writes
 * acknowledged before a crash vanish and the checker must say so.
 */
#include "kvsim.h"
#include "apps/apps.h"

#include <stdlib.h>
#include <string.h>

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: sim_kv [--seed N] [--clients N] [--no-faults] [--verbose] "
               "[--break-check] [--lying-disk]\n"
               "The kv app as a durable machine on a simulated disk, with faults and "
               "crashes;\nexit code 3 when the checker saw a violation.\n");
    return code;
}

static int parse(ks_opts *o, int argc, char **argv)
{
    *o = (ks_opts){ .seed = 1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--verbose") == 0) o->verbose = true;
        else if (strcmp(a, "--break-check") == 0) o->break_check = true;
        else if (strcmp(a, "--lying-disk") == 0) o->lying_disk = true;
        else if (strcmp(a, "--no-faults") == 0) o->no_faults = true;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return usage(stdout, 0) - 1;
        else if ((strcmp(a, "--seed") == 0 || strcmp(a, "--clients") == 0) && i + 1 < argc) {
            char *end;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (*end != 0 || argv[i][0] < '0' || argv[i][0] > '9')
                return usage(stderr, 2);
            if (a[2] == 's')
                o->seed = v;
            else if (v >= 1 && v <= 64)
                o->clients = (uint32_t)v;
            else
                return usage(stderr, 2);
        } else {
            return usage(stderr, 2);
        }
    }
    return 0;
}

/* The machine's messages since the last look, with --verbose. */
static void said(ks_world *w)
{
    fflush(w->err);
    if (w->o.verbose && w->errlen > w->errseen)
        printf("%.*s", (int)(w->errlen - w->errseen), w->errbuf + w->errseen);
    w->errseen = w->errlen;
}

static bool boot(ks_world *w)
{
    static const uint64_t every[] = { 0, 50, 200, 1000 };
    w->snapshot_every = w->o.lying_disk ? 0 : every[ks_below(w, 4)];
    w->reserve_bytes = 16 * 1024 << ks_below(w, 3);
    w->max_open = ks_below(w, 4) == 0 ? 6 + (uint32_t)ks_below(w, 8) : 64;
    /* Small segments rotate and are pruned; without snapshots nothing is
     * pruned, so there they are larger. */
    uint64_t seg_min = w->snapshot_every ? 4096 : 256 * 1024;
    w->seg_max = ks_below(w, 2) ? 0 : seg_min + ks_size(w, 512 * 1024);
    pl__mach_opts o = { .disk = w->disk, .live = &ks_backend, .no_placeholders = true,
                        .reserve_bytes = w->reserve_bytes, .now_ms = ks_now_ms, .err = w->err,
                        .snapshot_given = true, .snapshot_every = w->snapshot_every,
                        .fsync_given = true, .fsync = w->fsync,
                        .run = { .max_open = w->max_open } };
    char *args[] = { "--port", "8080", NULL };
    char msg[1024] = "";
    int code = pl__mach_boot(&w->m, &pl_app_kv, 2, args, &o, msg, sizeof msg);
    if (code != 0) {
        ks_violation(w, "boot failed (exit code %d): %s", code, msg);
        return false;
    }
    ks_machine_tune(w);
    return true;
}

static void run(ks_world *w)
{
    while (!w->ended) {
        said(w);
        ks_ev *e = ks_next(w);
        if (e == NULL || e->h.at > KS_TIME_CAP_MS) {
            ks_violation(w, "the run is not over after %llu ms of virtual time (clients %s)",
                         (unsigned long long)w->now, ks_clients_done(w) ? "done" : "at work");
            for (uint32_t i = 0; i < w->ncl; i++) {
                const ks_client *c = &w->cl[i];
                if (!c->done)
                    fprintf(stderr, "  client %u: %u of %u requests, %u in flight, %s, "
                            "%llu bytes unsent\n", c->id, c->issued, c->ops, c->nq,
                            c->conn ? "connected" : "not connected",
                            (unsigned long long)(c->out_base + c->out_len - c->sent));
            }
            break;
        }
        if (w->m == NULL) {
            ks_run_event(w, e);
            continue;
        }
        bool ok = pl__mach_turn(w->m);
        if (pm_disk_sim_dead(w->sim))
            ks_power_lost(w);
        else if (w->pending != 0)
            ks_fault_act(w);
        else if (!ok)
            ks_machine_ended(w);
        else
            ks_finish_check(w);
    }
    said(w);
    if (w->m != NULL)
        pl__mach_crash(w->m);
    w->m = NULL;
}

static void summary(const ks_world *w)
{
    const ks_stats *s = &w->st;
    printf("sim kv-machine seed %llu: %u clients, %u keys, fsync %s, snapshot every %llu, "
           "%llu requests, %llu responses (%llu 408), crashes %llu, faults power=%llu "
           "powercall=%llu "
           "kill=%llu stop=%llu eio=%llu eio_write=%llu eio_sync=%llu eio_other=%llu "
           "fatal=%llu offline=%llu enospc=%llu full503=%llu short=%llu reset=%llu, "
           "restarts %llu, retries %llu, snapshots %llu, segments %llu, replayed %llu, "
           "writes acked %llu, "
           "failed %llu, unknown %llu, checked %llu, violations %u\n",
           (unsigned long long)w->o.seed, w->ncl - 1, w->nkeys, pm_fsync_name(w->fsync),
           (unsigned long long)w->snapshot_every, (unsigned long long)s->requests,
           (unsigned long long)s->responses, (unsigned long long)s->s408,
           (unsigned long long)(s->power_now + s->power_call + s->kills + s->fatal),
           (unsigned long long)s->power_now, (unsigned long long)s->power_call,
           (unsigned long long)s->kills, (unsigned long long)s->stops,
           (unsigned long long)s->eio, (unsigned long long)s->eio_write,
           (unsigned long long)s->eio_sync, (unsigned long long)s->eio_other,
           (unsigned long long)s->fatal, (unsigned long long)s->offline,
           (unsigned long long)s->enospc, (unsigned long long)s->s503,
           (unsigned long long)s->short_writes, (unsigned long long)s->resets,
           (unsigned long long)s->restarts, (unsigned long long)s->start_retries,
           (unsigned long long)s->snapshots, (unsigned long long)s->segments,
           (unsigned long long)s->replayed,
           (unsigned long long)s->acked, (unsigned long long)s->failed,
           (unsigned long long)s->unknown, (unsigned long long)s->checked, w->violations);
    printf("trace %016llx\n", (unsigned long long)w->trace);
}

int main(int argc, char **argv)
{
    ks_opts o;
    int e = parse(&o, argc, argv);
    if (e != 0)
        return e < 0 ? 0 : e;
    ks_world *w = calloc(1, sizeof *w);
    PL_ASSERT(w != NULL);
    ks_w = w;
    w->o = o;
    w->rng = ks_mix(o.seed);
    w->err = open_memstream(&w->errbuf, &w->errlen);
    PL_ASSERT(w->err != NULL);
    w->restart.kind = w->fin.kind = KS_EV_WORLD;
    w->sim = pm_disk_sim_create(ks_mix(o.seed ^ 0xd15cull));
    w->disk = ks_disk_wrap(w, w->sim);
    w->lis_fd = -1;
    ks_clients_make(w);
    ks_faults_plan(w);
    w->now = KS_EPOCH_MS;
    if (boot(w))
        run(w);
    summary(w);
    int code = w->violations ? 3 : 0;
    pm_disk_destroy(w->disk);
    ks_net_free(w);
    ks_clients_free(w);
    fclose(w->err);
    free(w->errbuf);
    free(w->w);
    sim_heap_free(&w->events);
    free(w->paused);
    free(w->cause);
    free(w);
    return code;
}
