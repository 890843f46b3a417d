/* sim_report.c — what a simulated run checks and says at its end.
 *
 *   echo   every client got back exactly what it sent, unless its connection
 *          was faulted: checked byte by byte as it arrives (sim_client.c),
 *          for completeness when the program closes, and here at the end
 *          (whatever a client managed to send must have come back)
 *   walk   the program's last `files N bytes M` line counts the tree: all of
 *          it, less at most the files an injected EIO hid
 *   serve  HTTP clients: every response checked as it arrives (sim_http_resp.c),
 *          and at the end nothing waiting or leaked (sim_http_end.c)
 *
 * Then one summary line, and last `trace <16 hex digits>`. A violation is
 * printed to stderr as it is found, and makes the run exit with code 3.
 */
#include "backend/sim.h"

#include <stdio.h>
#include <string.h>

/* A LOG command: remember the walk totals line; print the line if asked. */
void sim_log(sim_world *w, const pl__task *t)
{
    const char *s = t->str ? t->str : "";
    const char *p = strstr(s, "files ");
    unsigned long long files, bytes;
    if (p != NULL && sscanf(p, "files %llu bytes %llu", &files, &bytes) == 2) {
        w->walk_seen = true;
        w->walk_files = files;
        w->walk_bytes = bytes;
    }
    if (t->cmd.flags & PL_LOG_ERR)
        fprintf(stderr, "%.*s\n", (int)t->cmd.len, s);
    else
        printf("%.*s\n", (int)t->cmd.len, s);
}

static void check_clients(sim_world *w)
{
    for (uint32_t i = 0; i < w->ncl; i++) {
        sim_client *cl = &w->cl[i];
        if (cl->bad || cl->faulted || cl->refused || cl->got == cl->sent)
            continue;
        cl->bad = true;
        sim_violation(w, cl, cl->got, "the run ended before every byte sent came back");
    }
}

static void check_walk(sim_world *w, int code)
{
    uint64_t lost_files = 0, lost_bytes = 0;
    for (uint32_t i = 0; i < w->nnodes; i++) {
        if (w->nodes[i].faulted) {
            lost_files++;
            lost_bytes += w->nodes[i].size;
        }
    }
    if (!w->walk_seen) {
        if (code == 0 && w->o.scenario != NULL)
            sim_violation(w, NULL, 0, "walk printed no `files N bytes M` line");
        return;
    }
    bool files_ok = w->walk_files <= w->tree_files && w->walk_files + lost_files >= w->tree_files;
    bool bytes_ok = w->walk_bytes <= w->tree_bytes && w->walk_bytes + lost_bytes >= w->tree_bytes;
    if (!files_ok || !bytes_ok) {
        char why[160];
        snprintf(why, sizeof why, "walk counted %llu files %llu bytes; the tree has %llu %llu",
                 (unsigned long long)w->walk_files, (unsigned long long)w->walk_bytes,
                 (unsigned long long)w->tree_files, (unsigned long long)w->tree_bytes);
        sim_violation(w, NULL, 0, why);
    }
}

static void summary(sim_world *w, int code)
{
    if (w->echo)
        check_clients(w);
    if (w->walk && w->tree_used)
        check_walk(w, code);
    const sim_stats *s = &w->st;
    printf("sim seed %llu: %u clients, %llu bytes echoed, %llu pauses, ",
           (unsigned long long)w->o.seed, w->ncl, (unsigned long long)s->echoed,
           (unsigned long long)s->pauses);
    if (w->tree_used)
        printf("tree %llu files %llu bytes, ", (unsigned long long)w->tree_files,
               (unsigned long long)w->tree_bytes);
    if (s->refused)
        printf("%llu refused, ", (unsigned long long)s->refused);
    printf("%llu ms%s, faults reset=%llu emfile=%llu eio=%llu short=%llu, violations %u\n",
           (unsigned long long)w->now, w->timed_out ? " (time cap)" : "",
           (unsigned long long)s->resets, (unsigned long long)s->emfile,
           (unsigned long long)s->eio, (unsigned long long)s->shorts, w->violations);
}

void sim_report(sim_world *w, int code)
{
    if (w->http)
        sim_http_report(w);
    else
        summary(w, code);
    printf("trace %016llx\n", (unsigned long long)pl__trace_hash(w->rt));
    fflush(stdout);
    if (w->violations > 0)
        pl__checks_failed(w->rt);
}
