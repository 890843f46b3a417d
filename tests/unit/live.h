/* live.h — running one test body on each live backend. */
#ifndef PLUTO_TESTS_LIVE_H
#define PLUTO_TESTS_LIVE_H

#include "scenario.h"
#include "backend/uring_select.h"

static inline void need_uring(void)
{
    char why[160];
    if (!pl__uring_usable(why, sizeof why))
        cr_skip_test("io_uring unavailable here: %s", why);
}

/* Test(epoll, name) and Test(uring, name) run the body with k set to each. */
#define LIVE_TEST(name, timeout_s)                                                \
    static void name(pl_backend_kind k);                                          \
    Test(epoll, name, .timeout = timeout_s) { name(PL_BACKEND_EPOLL); }           \
    Test(uring, name, .timeout = timeout_s) { need_uring(); name(PL_BACKEND_URING); } \
    static void name(pl_backend_kind k)

#endif
