/* test_machine_disk.c — a machine's journal when the disk misbehaves:
 * corruption refused with the file and offset, a torn tail recovered, a
 * full disk (the status answers, output held, nothing lost), and a failed
 * fsync that stops the machine. */
#include "machine_util.h"

static void work(pl__mach *m, int n)
{
    tm_settle(m);
    tm_connect(m, 7);
    for (int i = 0; i < n; i++) {
        tm_tick(m);
        tm_feed(m, 7, "some line\n");
    }
    tm_settle(m);
}

Test(machine_disk, corruption_before_the_tail_is_refused_naming_file_and_offset)
{
    pm_disk *d = pm_disk_sim_create(21);
    pl__mach *m = tm_boot(d, 0);
    work(m, 10);
    cr_assert_eq(pl__mach_end(m), 0);
    size_t n;
    const uint8_t *p = pm_disk_sim_peek(d, "log.0000000000000001", &n);
    cr_assert_not_null(p);
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    copy[400] ^= 0x40;                  /* inside an early record, long since synced */
    pm_disk_sim_put(d, "log.0000000000000001", copy, n);
    free(copy);
    char msg[1024];
    cr_assert_eq(tm_try_start(d, &tm_prog, &m, msg, sizeof msg), 1);
    cr_assert(strstr(msg, "corruption in log.0000000000000001 at offset ") != NULL, "%s", msg);
    cr_assert(strstr(msg, "refusing to start") != NULL, "%s", msg);
    size_t after;
    pm_disk_sim_peek(d, "log.0000000000000001", &after);
    cr_assert_eq(after, n, "nothing was changed on disk");
    pm_disk_destroy(d);
}

Test(machine_disk, a_torn_tail_is_cut_to_the_last_whole_record_and_said)
{
    pm_disk *d = pm_disk_sim_create(22);
    pl__mach *m = tm_boot(d, 0);
    work(m, 5);
    cr_assert_eq(pl__mach_end(m), 0);
    size_t n;
    const uint8_t *p = pm_disk_sim_peek(d, "log.0000000000000001", &n);
    uint8_t *copy = malloc(n);
    memcpy(copy, p, n);
    pm_disk_sim_put(d, "log.0000000000000001", copy, n - 20);
    free(copy);
    fflush(g_err);
    size_t said = g_errlen;
    m = tm_start(d);
    cr_assert(strstr(tm_said() + said, "recovered to seq ") != NULL, "%s", tm_said() + said);
    cr_assert(strstr(tm_said() + said, "torn tail in log.0000000000000001") != NULL);
    tm_settle(m);
    tm_tick(m);
    tm_settle(m);
    cr_assert_eq(pl__mach_end(m), 0);
    m = tm_start(d);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine_disk, a_full_disk_says_so_holds_nothing_back_it_cannot_and_recovers)
{
    pm_disk *d = pm_disk_sim_create(23);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 7);
    tm_settle(m);
    cr_assert(m->reserve, "a reserve file was made");
    pm_disk_sim_set_capacity(d, pm_disk_sim_used(d) + 64);
    tm_feed(m, 7, "before\n");
    tm_settle(m);
    cr_assert(m->full, "the commit met ENOSPC");
    cr_assert(strstr(g_fk.out, "L status -28\n") != NULL, "%s", g_fk.out);
    cr_assert(strstr(g_fk.out, "S 7 echo before\n") != NULL, "the reserve's room let it out");
    tm_feed(m, 7, "during\n");
    tm_settle(m);
    cr_assert(strstr(g_fk.out, "S 7 echo during (full)\n") != NULL, "%s", g_fk.out);
    /* Room again: the reserve comes back (tried each second), then the status. */
    pm_disk_sim_set_capacity(d, 0);
    tm_settle(m);
    cr_assert(m->full, "not before a second has passed");
    g_now += 1000;
    tm_settle(m);
    cr_assert(!m->full);
    cr_assert(strstr(g_fk.out, "L status 0\n") != NULL, "%s", g_fk.out);
    tm_feed(m, 7, "after\n");
    tm_settle(m);
    cr_assert(strstr(g_fk.out, "S 7 echo after\n") != NULL);
    uint64_t h = tm_hash(m);
    pl__mach_crash(m);
    pm_disk_sim_crash(d);
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), h, "nothing was lost");
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine_disk, with_no_room_at_all_output_and_input_wait_then_go_on)
{
    pm_disk *d = pm_disk_sim_create(24);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 7);
    tm_settle(m);
    size_t seen = g_fk.outlen;
    uint64_t used = pm_disk_sim_used(d);
    pm_disk_sim_set_capacity(d, used - TM_RESERVE + 16);   /* even without the reserve */
    tm_feed(m, 7, "waiting\n");
    for (int i = 0; i < 6; i++)
        tm_turn(m);
    cr_assert(m->full && m->stalled);
    cr_assert(pl__mach_rt(m)->hold_input, "no new input while nothing can be written");
    cr_assert(strstr(g_fk.out + seen, "echo waiting") == NULL, "%s", g_fk.out + seen);
    pm_disk_sim_set_capacity(d, 0);
    tm_settle(m);
    cr_assert(!m->stalled && !pl__mach_rt(m)->hold_input);
    cr_assert(strstr(g_fk.out + seen, "S 7 echo waiting\n") != NULL, "%s", g_fk.out + seen);
    g_now += 1000;
    tm_settle(m);
    cr_assert(!m->full);
    uint64_t h = tm_hash(m);
    pl__mach_crash(m);
    pm_disk_sim_crash(d);
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), h, "nothing was lost");
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine_disk, a_failed_fsync_stops_the_machine_without_releasing_its_output)
{
    pm_disk *d = pm_disk_sim_create(25);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 7);
    tm_settle(m);
    size_t seen = g_fk.outlen;
    tm_feed(m, 7, "lost\n");
    /* The next commit writes (call 1), then fdatasyncs (call 2): fail that. */
    pm_disk_sim_fail(d, pm_disk_sim_calls(d) + 2, false, -EIO);
    cr_assert(!tm_turn(m), "the run stops");
    cr_assert_eq(pl__mach_end(m), 1);
    cr_assert(strstr(g_fk.out + seen, "lost") == NULL, "%s", g_fk.out + seen);
    cr_assert(strstr(tm_said(), "the journal failed") != NULL, "%s", tm_said());
    m = tm_start(d);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

/* The highest N in the lines "L tick N" the fake was handed. */
static uint64_t max_tick_out(void)
{
    uint64_t max = 0;
    for (const char *p = g_fk.out; (p = strstr(p, "L tick ")) != NULL; p += 7) {
        uint64_t n = strtoull(p + 7, NULL, 10);
        if (n > max)
            max = n;
    }
    return max;
}

static size_t count_echoes(void)
{
    size_t n = 0;
    for (const char *p = g_fk.out; (p = strstr(p, " echo ")) != NULL; p += 6)
        n++;
    return n;
}

/* Power fails at a random I/O call while the machine runs: every effect that
 * went out had its cause on disk, so the machine that starts after the
 * reboot has at least the state those effects show, and starts at all. */
Test(machine_disk, power_loss_at_any_io_call_keeps_the_cause_of_every_effect)
{
    for (uint64_t seed = 1; seed <= 10000; seed++) {
        pm_disk *d = pm_disk_sim_create(seed);
        pl__mach *m = tm_boot(d, seed % 4 == 0 ? 4 : 0);
        tm_settle(m);
        tm_connect(m, 7);
        uint64_t z = seed * 0x9e3779b97f4a7c15ull;
        pm_disk_sim_crash_at(d, pm_disk_sim_calls(d) + 1 + (z >> 33) % 60);
        for (int i = 0; i < 25 && !pl__exiting(pl__mach_rt(m)); i++) {
            if ((z >> (i % 40)) & 1)
                tm_feed(m, 7, "x\n");
            else
                tm_tick(m);
        }
        uint64_t ticks = max_tick_out();
        size_t echoes = count_echoes();
        pl__mach_crash(m);
        bool dead = pm_disk_sim_dead(d);
        pm_disk_sim_crash_at(d, 0);
        if (dead)
            pm_disk_sim_reboot(d);
        else
            pm_disk_sim_crash(d);           /* not reached: the power goes now */
        m = tm_start(d);
        const tm_state *s = tm_program_state(m);
        cr_assert_geq(s->ticks, ticks, "seed %llu: tick %llu went out, the state has %llu",
                      (unsigned long long)seed, (unsigned long long)ticks,
                      (unsigned long long)s->ticks);
        cr_assert_geq(s->lines, echoes, "seed %llu", (unsigned long long)seed);
        cr_assert_eq(pl__mach_end(m), 0);
        pm_disk_destroy(d);
    }
}
