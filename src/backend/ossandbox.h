/* ossandbox.h — least privilege for a live run (pl_sandbox in pluto.h).
 *
 * pl_run_workers calls pl__sandbox_begin before it starts the workers (the
 * Landlock domain and no_new_privs are inherited by the threads created
 * after), a durable machine once it has gone live; pl__sandbox_end once the
 * run is over. The runtime (src/runtime/setup.c) calls pl__sandbox_ready in
 * each worker whose set-up is over; the last one drops to the user and
 * installs the seccomp filter (ossandbox_seccomp.c) on every thread at once.
 * Landlock's rules are in ossandbox_landlock.c; the io_uring backend
 * restricts its rings itself (uring_setup.c) and reports here.
 */
#ifndef PLUTO_BACKEND_OSSANDBOX_H
#define PLUTO_BACKEND_OSSANDBOX_H

#include <pluto/pluto.h>
#include <stdbool.h>
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

/* 0, or -1 with the reason in why (an unknown user, --user without root,
 * no_new_privs refused): the run must not start. Landlock that cannot be
 * applied (an old kernel) is not an error: the line printed once ready says
 * so. With s->dir and a user to become, the directory and its files are
 * given to that user first (the machine was made by root). */
int pl__sandbox_begin(const pl_sandbox *s, uint32_t workers, char *why, size_t why_len);
void pl__sandbox_end(void);

/* The calling worker's set-up is over. The last worker to say so drops to
 * the user, installs the seccomp allowlist on every thread and prints one
 * line on stdout saying what was applied. Nothing between begin and end. */
void pl__sandbox_ready(void);

/* Would --user name be accepted here (it exists; root, or already it)?
 * 0, or -1 with the reason in why. Reads /etc/passwd: before the sandbox. */
int pl__sandbox_user_check(const char *name, char *why, size_t why_len);

/* The io_uring backend set up a ring for a sandboxed run: restricted to n
 * operations, or (n < 0, -errno) not restricted, why. For the line. */
void pl__sandbox_ring(int n, const char *why);

/* ossandbox_landlock.c: restrict the calling thread (and the threads it
 * creates later) to s's paths; say what was done in out. */
void pl__landlock_apply(const pl_sandbox *s, char *out, size_t cap);

/* Install the allowlist on every thread of the process (no_new_privs must be
 * set); machine: with the calls a durable machine's journal makes (fsync,
 * rename, ...). Returns how many system calls it allows, or a negative
 * errno; why says what went wrong (an architecture without a list: -ENOTSUP). */
int pl__seccomp_apply(bool machine, char *why, size_t why_len);

#endif
