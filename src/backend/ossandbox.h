/* ossandbox.h — least privilege for a live run (pl_sandbox in pluto.h).
 *
 * pl_run_workers calls pl__sandbox_begin before it starts the workers (the
 * Landlock domain and no_new_privs are inherited by the threads created
 * after), and pl__sandbox_end once they are all gone. pl_sandbox_ready
 * (ossandbox.c) counts the workers whose set-up is over; the last one drops
 * to the user and installs the seccomp filter (ossandbox_seccomp.c) on every
 * thread at once.
 */
#ifndef PLUTO_BACKEND_OSSANDBOX_H
#define PLUTO_BACKEND_OSSANDBOX_H

#include <pluto/pluto.h>
#include <stddef.h>

/* A sanitizer build: LeakSanitizer stops the world at exit with a tracer
 * thread (clone, ptrace, wait4) reading /proc, so the sandbox lets it. */
#if defined(__SANITIZE_ADDRESS__)
#define PL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PL_SANITIZED 1
#endif
#endif

/* 0, or -1 after saying why on stderr (an unknown user, --user without
 * root): the run must not start. Landlock that cannot be applied (an old
 * kernel) is not an error: the line printed once ready says so. */
int pl__sandbox_begin(const pl_sandbox *sb, uint32_t workers);
void pl__sandbox_end(void);

/* Install the allowlist on every thread of the process (no_new_privs must be
 * set). Returns how many system calls it allows, or a negative errno; why
 * says what went wrong (an architecture without a list: -ENOTSUP). */
int pl__seccomp_apply(char *why, size_t why_len);

#endif
