/* test_machine.c — durable machines: boot, crash, start, and what each
 * promises (machine_util.h drives them by hand on a simulated disk). */
#include "machine_util.h"

#include "machine/snapshot.h"

/* A little of everything: ticks, a client sending lines in pieces. */
static void workload(pl__mach *m)
{
    tm_settle(m);
    for (int i = 0; i < 7; i++)
        tm_tick(m);
    tm_connect(m, 7);
    tm_feed(m, 7, "hello\nwor");
    tm_feed(m, 7, "ld\nand more");
    tm_tick(m);
    tm_connect(m, 8);
    tm_feed(m, 8, "second client\n");
    tm_settle(m);
}

Test(machine, boot_runs_the_program_and_its_effects_go_out_after_commit)
{
    pm_disk *d = pm_disk_sim_create(1);
    pl__mach *m = tm_boot(d, 0);
    workload(m);
    const tm_state *s = tm_program_state(m);
    cr_assert_eq(s->ticks, 8);
    cr_assert_eq(s->lines, 3);
    cr_assert_eq(s->joins, 1);
    cr_assert_eq(s->firsts, 1);
    cr_assert(strstr(g_fk.out, "L tick 8\n") != NULL, "%s", g_fk.out);
    cr_assert(strstr(g_fk.out, "S 7 echo hello\n") != NULL);
    cr_assert(strstr(g_fk.out, "S 7 echo world\n") != NULL);
    cr_assert(strstr(g_fk.out, "S 8 echo second client\n") != NULL);
    cr_assert(strstr(g_fk.out, "L joined 0 1\n") != NULL);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, start_after_a_crash_has_the_state_of_the_last_commit_and_goes_on)
{
    pm_disk *d = pm_disk_sim_create(2);
    pl__mach *m = tm_boot(d, 0);
    workload(m);
    uint64_t before = tm_hash(m);
    uint64_t ticks = tm_program_state(m)->ticks;
    tm_tick(m);                         /* journaled, never committed: lost in the crash */
    pl__mach_crash(m);
    pm_disk_sim_crash(d);
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), before, "replay rebuilt the state of the last commit");
    cr_assert_eq(tm_program_state(m)->ticks, ticks);
    tm_settle(m);
    tm_tick(m);
    tm_settle(m);
    char line[64];
    snprintf(line, sizeof line, "L tick %llu\n", (unsigned long long)ticks + 1);
    cr_assert(strstr(g_fk.out, line) != NULL, "the count goes on: %s", g_fk.out);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, descriptors_of_the_dead_process_answer_that_they_died)
{
    pm_disk *d = pm_disk_sim_create(3);
    pl__mach *m = tm_boot(d, 0);
    workload(m);
    pl__mach_crash(m);
    m = tm_start(d);
    tm_settle(m);
    /* The two receivers were re-issued, found dead, ended, and closed their fd. */
    cr_assert(strstr(g_fk.out, "S 7") == NULL, "nothing is sent to a dead socket");
    cr_assert_eq(tm_task(PL_CMD_RECV, -1, 0), 0, "no receiver is left");
    pl_rt *rt = pl__mach_rt(m);
    cr_assert(!pl__fdq_is_open(rt, 7) && !pl__fdq_is_open(rt, 8), "both numbers are free");
    tm_connect(m, 7);                   /* a new client may get the number again */
    tm_feed(m, 7, "new\n");
    tm_settle(m);
    cr_assert(strstr(g_fk.out, "S 7 echo new\n") != NULL, "%s", g_fk.out);
    uint64_t h = tm_hash(m);
    pl__mach_crash(m);
    m = tm_start(d);                    /* a second restart replays both epochs */
    cr_assert_eq(tm_hash(m), h);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, a_receive_deadline_is_a_journaled_timer)
{
    pm_disk *d = pm_disk_sim_create(4);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 9);
    tm_feed(m, 9, "a\n");
    tm_settle(m);
    pl_task_id timer = tm_task(PL_CMD_TIMER, -1, 0);
    cr_assert_neq(timer, 0, "pl_timeout armed a hidden timer in the live backend");
    tm_answer(timer, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });
    tm_turn(m);
    tm_settle(m);
    cr_assert(strstr(g_fk.out, "C 9\n") != NULL, "timed out, closed: %s", g_fk.out);
    uint64_t h = tm_hash(m);
    pl__mach_crash(m);
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), h);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, output_waits_while_the_journal_cannot_be_written)
{
    pm_disk *d = pm_disk_sim_create(5);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 7);
    tm_settle(m);
    size_t seen = g_fk.outlen;
    pm_disk_sim_fail(d, pm_disk_sim_calls(d) + 1, true, -EIO);
    tm_feed(m, 7, "held\n");
    for (int i = 0; i < 5; i++)
        tm_turn(m);
    cr_assert_eq(g_fk.outlen, seen, "nothing leaves before the answer is durable");
    cr_assert(pl__mach_rt(m)->hold_input, "and no new input is taken");
    pm_disk_sim_fail(d, 0, false, 0);
    tm_settle(m);
    cr_assert(!pl__mach_rt(m)->hold_input);
    cr_assert(strstr(g_fk.out + seen, "S 7 echo held\n") != NULL, "%s", g_fk.out + seen);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, a_stop_takes_one_last_turn_and_logs_nothing_twice)
{
    pm_disk *d = pm_disk_sim_create(6);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_tick(m);                         /* its line is held: not committed yet */
    /* SIGTERM reaches the machine's own task: the program never hears it. */
    pl_answer sig = { .kind = PL_ANS_SIGNAL, .signo = 15 };
    pl__deliver(pl__mach_rt(m), m->stop[1], &sig);
    int turns = 0;
    while (tm_turn(m))
        cr_assert_lt(++turns, 5, "the stop ends the run");
    uint64_t h = tm_hash(m);
    cr_assert_eq(pl__mach_end(m), 0);
    cr_assert(strstr(g_fk.out, "L tick 1\n") != NULL, "the last turn's line went out");
    cr_assert(strstr(tm_said(), "stopped at seq ") != NULL, "%s", tm_said());
    pm_disk_sim_crash(d);
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), h, "the whole history was durable");
    tm_settle(m);
    tm_tick(m);
    tm_settle(m);
    /* After a start the status stream hears the journal's state again. */
    cr_assert_str_eq(g_fk.out, "L status 0\nL tick 2\n", "nothing again after a clean "
                     "stop: %s", g_fk.out);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, an_exit_is_not_part_of_the_history)
{
    pm_disk *d = pm_disk_sim_create(7);
    pl__mach *m = tm_boot(d, 0);
    tm_settle(m);
    tm_connect(m, 7);
    tm_settle(m);
    uint64_t h = tm_hash(m);
    tm_feed(m, 7, "exit\n");
    cr_assert_eq(pl__mach_end(m), 3, "the program's exit code");
    m = tm_start(d);
    cr_assert_eq(tm_hash(m), h, "start resumes before the turn that exited");
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}

Test(machine, boot_refuses_a_machine_and_bad_arguments)
{
    pm_disk *d = pm_disk_sim_create(8);
    pl__mach *m = tm_boot(d, 0);
    cr_assert_eq(pl__mach_end(m), 0);
    pl__mach_opts o = tm_opts(d);
    char msg[1024];
    cr_assert_eq(pl__mach_boot(&m, &tm_prog, 0, NULL, &o, msg, sizeof msg), 1);
    cr_assert(strstr(msg, "already holds a machine") != NULL, "%s", msg);
    pm_disk *e = pm_disk_sim_create(9);
    o = tm_opts(e);
    char *bad[] = { "--bad" };
    cr_assert_eq(pl__mach_boot(&m, &tm_prog, 1, bad, &o, msg, sizeof msg), 2);
    cr_assert_null(pm_disk_sim_peek(e, "meta", NULL), "nothing was created");
    cr_assert_eq(tm_try_start(e, &tm_prog, &m, msg, sizeof msg), 1);
    cr_assert(strstr(msg, "not a machine") != NULL, "%s", msg);
    pm_disk_destroy(d);
    pm_disk_destroy(e);
}

static const pl_program other_prog = {
    .name = "other", .version = "1", .summary = "", .usage = "", .handlers = tm_handlers,
    .cfg_size = 8, .parse = tm_parse, .start = tm_prog_start,
};
static const char *const from_tmach[] = { "tmach", NULL };
static const pl_program heir_prog = {
    .name = "heir", .version = "2", .summary = "", .usage = "", .handlers = tm_handlers,
    .cfg_size = 8, .parse = tm_parse, .start = tm_prog_start, .migrates_from = from_tmach,
};

Test(machine, another_program_is_refused_unless_it_declares_the_migration)
{
    pm_disk *d = pm_disk_sim_create(10);
    pl__mach *m = tm_boot(d, 0);
    workload(m);
    uint64_t h = tm_hash(m);
    cr_assert_eq(pl__mach_end(m), 0);
    char msg[1024];
    cr_assert_eq(tm_try_start(d, &other_prog, &m, msg, sizeof msg), 1);
    cr_assert(strstr(msg, "belongs to program 'tmach'") != NULL, "%s", msg);
    cr_assert_eq(tm_try_start(d, &heir_prog, &m, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(tm_hash(m), h);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_meta meta;
    cr_assert_eq(pm_meta_read(d, &meta), 0);
    cr_assert_str_eq(meta.program, "heir", "the machine is the heir's now");
    cr_assert_str_eq(meta.version, "2");
    cr_assert_eq(tm_try_start(d, &tm_prog, &m, msg, sizeof msg), 1, "and no longer tmach's");
    pm_disk_destroy(d);
}

/* A program that behaves differently: one more task at its start, so every
 * id after it is off by one. */
static void odd_start(pl_ctx *cx, const void *cfg)
{
    pl_cmd t = pl_cmd_timer(5, 5);
    pl_send(cx, &t, NULL, NULL, 0);
    tm_prog_start(cx, cfg);
}

Test(machine, a_program_that_no_longer_behaves_the_same_is_refused_at_the_record)
{
    pm_disk *d = pm_disk_sim_create(11);
    pl__mach *m = tm_boot(d, 0);
    workload(m);
    cr_assert_eq(pl__mach_end(m), 0);
    pl_program odd = tm_prog;
    odd.start = odd_start;
    char msg[1024];
    cr_assert_eq(tm_try_start(d, &odd, &m, msg, sizeof msg), 1);
    cr_assert(strstr(msg, "the record at seq 2 (log.0000000000000001 offset ") != NULL, "%s",
              msg);
    cr_assert(strstr(msg, "which is not pending") != NULL, "%s", msg);
    cr_assert_eq(tm_try_start(d, &tm_prog, &m, msg, sizeof msg), 0, "%s", msg);
    cr_assert_eq(pl__mach_end(m), 0);
    pm_disk_destroy(d);
}
