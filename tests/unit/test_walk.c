/* test_walk.c — the walker, run by hand over a directory tree we invent. */
#include "scenario.h"
#include "apps/apps.h"

#include <stdlib.h>

static pl_harness *start_walk(const char *dir)
{
    static char cfg[8192];
    char err[128];
    char *argv[] = { (char *)dir };
    cr_assert_eq(pl_app_walk.parse(cfg, 1, argv, err, sizeof err), 0);
    pl_harness *h = pl_harness_start(&pl_app_walk, cfg, 0);
    cr_assert_not_null(h);
    return h;
}

/* Pack entries as PL_ANS_DIR carries them: type byte, name, NUL. */
static pl_answer dir_ans(uint8_t *buf, int n, const pl_ftype *types, const char *const *names)
{
    size_t len = 0;
    for (int i = 0; i < n; i++) {
        buf[len++] = (uint8_t)types[i];
        size_t k = strlen(names[i]) + 1;
        memcpy(buf + len, names[i], k);
        len += k;
    }
    return (pl_answer){ .kind = PL_ANS_DIR, .data = buf, .len = len, .n = (uint64_t)n };
}

static void read_file(pl_harness *h, const pl_hcmd *c, const char *path, size_t size)
{
    cr_assert_eq(c->cmd.kind, PL_CMD_READ_FILE);
    cr_assert_str_eq(c->cmd.text, path);
    char *buf = calloc(1, size + 1);
    answer(h, c->task, (pl_answer){ .kind = PL_ANS_DATA, .data = (uint8_t *)buf, .len = size });
    answer(h, c->task, (pl_answer){ .kind = PL_ANS_DATA, .eof = 1 });
    free(buf);
}

Test(walk, sums_files_under_nested_directories)
{
    pl_harness *h = start_walk("site");
    expect_cmd(h, 0, PL_CMD_OPEN);
    cr_assert_str_eq(pl_harness_cmd(h, 0)->cmd.text, "site");
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 3 });
    expect_cmd(h, 1, PL_CMD_READDIR);
    cr_assert_eq(pl_harness_cmd(h, 1)->cmd.dir, 3);

    uint8_t buf[256];
    pl_ftype t1[] = { PL_FT_FILE, PL_FT_DIR, PL_FT_LINK };
    const char *n1[] = { "a", "sub", "link" };
    answer(h, pl_harness_cmd(h, 1)->task, dir_ans(buf, 3, t1, n1));
    cr_assert_eq(pl_harness_count(h), 4, "the file and the directory, not the link");
    const pl_hcmd *sub = pl_harness_cmd(h, 3);
    cr_assert_eq(sub->cmd.kind, PL_CMD_READDIR);
    cr_assert_str_eq(sub->cmd.text, "sub");
    read_file(h, pl_harness_cmd(h, 2), "a", 10);
    cr_assert(!pl_harness_exited(h, NULL));

    pl_ftype t2[] = { PL_FT_FILE };
    const char *n2[] = { "b" };
    answer(h, sub->task, dir_ans(buf, 1, t2, n2));
    read_file(h, pl_harness_cmd(h, 4), "sub/b", 5);
    expect_log(h, 5, "files 2 bytes 15");
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 0);
    pl_harness_destroy(h);
}

Test(walk, unreadable_entries_are_counted_and_exit_1)
{
    pl_harness *h = start_walk("site");
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 3 });
    uint8_t buf[64];
    pl_ftype t[] = { PL_FT_FILE, PL_FT_FILE };
    const char *n[] = { "x", "y" };
    answer(h, pl_harness_cmd(h, 1)->task, dir_ans(buf, 2, t, n));
    answer(h, pl_harness_cmd(h, 2)->task, (pl_answer){ .kind = PL_ANS_DATA, .err = -5 });
    read_file(h, pl_harness_cmd(h, 3), "y", 7);
    expect_log(h, 4, "files 1 bytes 7");
    expect_log(h, 5, "pluto walk: 1 entries could not be read");
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 1);
    pl_harness_destroy(h);
}

Test(walk, missing_root_exits_1)
{
    pl_harness *h = start_walk("nope");
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_OPENED, .err = -2 });
    expect_log(h, 1, "pluto walk: nope: No such file or directory");
    int code = -1;
    cr_assert(pl_harness_exited(h, &code));
    cr_assert_eq(code, 1);
    pl_harness_destroy(h);
}

Test(walk, bad_arguments_are_usage_errors)
{
    char cfg[8192], err[128];
    char *none[] = { NULL };
    char *zero[] = { "--jobs", "0", "d" };
    char *two[] = { "a", "b" };
    cr_assert_eq(pl_app_walk.parse(cfg, 0, none, err, sizeof err), 2);
    cr_assert_eq(pl_app_walk.parse(cfg, 3, zero, err, sizeof err), 2);
    cr_assert_eq(pl_app_walk.parse(cfg, 2, two, err, sizeof err), 2);
}

Test(walk, a_directory_is_read_one_page_at_a_time)
{
    pl_harness *h = start_walk("site");
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_OPENED, .fd = 3 });
    uint8_t buf[64];
    pl_ftype t[] = { PL_FT_FILE };
    const char *n1[] = { "p1" }, *n2[] = { "p2" };
    pl_answer first = dir_ans(buf, 1, t, n1);
    first.next = 77;
    answer(h, pl_harness_cmd(h, 1)->task, first);
    /* The page's file and the rest of the directory, from the cookie. */
    const pl_hcmd *rest = find_cmd(h, 2, PL_CMD_READDIR);
    cr_assert_not_null(rest);
    cr_assert_eq(rest->cmd.offset, 77);
    cr_assert_str_eq(rest->cmd.text, "");
    read_file(h, find_cmd(h, 2, PL_CMD_READ_FILE), "p1", 4);
    answer(h, rest->task, dir_ans(buf, 1, t, n2));
    read_file(h, pl_harness_cmd(h, pl_harness_count(h) - 1), "p2", 6);
    expect_log(h, pl_harness_count(h) - 1, "files 2 bytes 10");
    pl_harness_destroy(h);
}
