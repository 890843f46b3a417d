/* hello.c — the concurrent hello world: "Hello" and "World" are logged by
 * two computations under Join, and the program exits when both returned.
 */
#include "apps/apps.h"

static pl_verdict on_logged(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_ret(cx, NULL, 0);
    return PL_DONE;
}
static PL_HANDLER(h_logged, on_logged);

static pl_verdict on_both(pl_ctx *cx, void *mem, const pl_answer *a)
{
    pl_exit(cx, 0);
    return PL_DONE;
}
static PL_HANDLER(h_both, on_both);

static void hello_start(pl_ctx *cx, const void *cfg)
{
    pl_start hello = { pl_cmd_log("Hello"), &h_logged, NULL, 0 };
    pl_start world = { pl_cmd_log("World"), &h_logged, NULL, 0 };
    pl_join(cx, &hello, &world, &h_both, NULL, 0);
}

static int hello_parse(void *cfg, int argc, char **argv, char *err, size_t len)
{
    if (argc > 0)
        return pl_app_error(err, len, "unexpected argument '%s'", argv[0]);
    return 0;
}

static const pl_handler *const hello_handlers[] = { &h_logged, &h_both, NULL };

const pl_program pl_app_hello = {
    .name = "hello",
    .version = PL_VERSION,
    .summary = "log \"Hello\" and \"World\" from two computations under Join",
    .usage = "",
    .handlers = hello_handlers,
    .cfg_size = 1,
    .parse = hello_parse,
    .start = hello_start,
};
