/* assert.h — assertions that stay on in release builds.
 *
 * PL_ASSERT(cond) aborts with the file, line and condition when an invariant
 * fails. It is never compiled out: a broken invariant in a server is a bug to
 * stop at, not a state to run on in.
 */
#ifndef PLUTO_RUNTIME_ASSERT_H
#define PLUTO_RUNTIME_ASSERT_H

_Noreturn void pl__assert_fail(const char *cond, const char *file, int line);

#define PL_ASSERT(cond) \
    ((cond) ? (void)0 : pl__assert_fail(#cond, __FILE__, __LINE__))

#endif
