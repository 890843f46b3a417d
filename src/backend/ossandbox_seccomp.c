/* ossandbox_seccomp.c — the seccomp allowlist: the system calls a live run
 * makes once its set-up is over (listeners bound, log open, user dropped).
 *
 * The list was taken from `strace -f` of the server through the serve test
 * suites on both backends, keeping what runs after the filter goes on:
 * event waits (epoll, io_uring_enter), accept/receive/send/sendfile, opening
 * files beneath the root (openat2) and reading them, directory listings,
 * timers and signals (timerfd, signalfd), malloc's memory calls, threads
 * waking and ending (futex, tgkill, exit), and what glibc does around them.
 * socket() is allowed for AF_UNIX only: sd_notify's STOPPING=1 datagram.
 * Not on it, among others: execve, fork/clone, connect, bind, listen, socket
 * for any network, ptrace, mount, setuid and friends, kexec, bpf.
 *
 * A durable machine also writes its journal and snapshots after that: its
 * list adds fsync, fdatasync, ftruncate (a torn tail cut), rename (a snapshot
 * or meta put in place), unlink (pruning, the reserve file); its files are
 * opened with openat, already allowed. The kv app's strace on both backends,
 * with snapshots and a disk that fills, shows nothing else.
 *
 * A call not on the list fails with EPERM instead of killing the process:
 * a server that finds a refused call answers an error, and the refusal can be
 * seen (and tested). Calls of another ABI (x32 numbers, a 32-bit int 0x80)
 * are refused the same way.
 *
 * io_uring: operations submitted on a ring are performed by the kernel and
 * do not pass through seccomp. A sandboxed run's rings are restricted to the
 * operations the backend submits (uring_setup.c), and Landlock still applies
 * to what a ring would open; see the README's "Sandbox".
 */
#include "backend/ossandbox.h"
#include "runtime/assert.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef ARCH
static const int ALLOWED[] = {
    /* waiting for events */
    SYS_epoll_pwait, SYS_epoll_ctl, SYS_io_uring_enter, SYS_io_uring_register,
#ifdef SYS_epoll_wait
    SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait2
    SYS_epoll_pwait2,
#endif
#ifdef SYS_poll
    SYS_poll,
#endif
    SYS_ppoll,
    /* sockets the process already has */
    SYS_accept4, SYS_accept, SYS_recvfrom, SYS_recvmsg, SYS_sendto, SYS_sendmsg,
    SYS_shutdown, SYS_setsockopt, SYS_getsockopt, SYS_getsockname, SYS_getpeername,
    /* files */
    SYS_openat2, SYS_openat, SYS_read, SYS_pread64, SYS_readv, SYS_write, SYS_writev,
    SYS_pwrite64, SYS_sendfile, SYS_splice, SYS_lseek, SYS_close, SYS_fstat,
    SYS_newfstatat, SYS_statx, SYS_getdents64, SYS_fcntl, SYS_ioctl, SYS_dup, SYS_dup3,
    SYS_fadvise64, SYS_readlinkat,
    /* timers, signals, clocks */
    SYS_timerfd_create, SYS_timerfd_settime, SYS_timerfd_gettime, SYS_signalfd4,
    SYS_eventfd2, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigaction,
    SYS_rt_sigtimedwait, SYS_sigaltstack, SYS_tgkill, SYS_clock_gettime, SYS_gettimeofday,
    SYS_clock_nanosleep, SYS_nanosleep, SYS_restart_syscall,
    /* memory */
    SYS_mmap, SYS_munmap, SYS_mremap, SYS_mprotect, SYS_madvise, SYS_brk,
    /* threads and the process */
    SYS_futex, SYS_sched_yield, SYS_getpid, SYS_gettid, SYS_getuid, SYS_geteuid,
    SYS_getgid, SYS_getegid, SYS_getrlimit, SYS_prlimit64, SYS_getrandom, SYS_exit,
    SYS_exit_group, SYS_set_robust_list, SYS_rseq, SYS_membarrier,
#ifdef SYS_futex_waitv
    SYS_futex_waitv,
#endif
#ifdef PL_SANITIZED
    SYS_clone, SYS_clone3, SYS_ptrace, SYS_wait4, SYS_prctl, SYS_getppid,
    SYS_sched_getaffinity, SYS_process_vm_readv, SYS_kill,
#ifdef SYS_open                         /* the sanitizers' own calls, on x86-64 */
    SYS_open, SYS_getdents, SYS_stat, SYS_lstat, SYS_readlink, SYS_access, SYS_pipe,
#endif
#endif
};
enum { NALLOWED = sizeof ALLOWED / sizeof ALLOWED[0] };

/* A durable machine's journal, snapshots and reserve file (src/machine/disk_posix.c). */
static const int MACHINE[] = {
    SYS_fsync, SYS_fdatasync, SYS_ftruncate, SYS_unlinkat,
#ifdef SYS_renameat
    SYS_renameat,
#endif
#ifdef SYS_renameat2
    SYS_renameat2,
#endif
};
enum { NMACHINE = sizeof MACHINE / sizeof MACHINE[0] };

#define STMT(code, k) ((struct sock_filter)BPF_STMT(code, k))
#define JUMP(code, k, jt, jf) ((struct sock_filter)BPF_JUMP(code, k, jt, jf))

/* arch check, nr load, [x32 check], the compares, socket: 3, deny, allow */
enum { HEAD = 5, PROG_MAX = HEAD + NALLOWED + NMACHINE + 3 + 2 };

int pl__seccomp_apply(bool machine, char *why, size_t why_len)
{
    struct sock_filter f[PROG_MAX];
    size_t n = 0, extra = machine ? NMACHINE : 0;
    const size_t deny = HEAD + NALLOWED + extra + 3, allow = deny + 1;
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    f[n] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, (uint8_t)(deny - n - 1), 0);
#else
    f[n] = JUMP(BPF_JMP | BPF_JA, 0, 0, 0);
#endif
    n++;
    for (size_t i = 0; i < NALLOWED + extra; i++, n++) {
        int nr = i < NALLOWED ? ALLOWED[i] : MACHINE[i - NALLOWED];
        f[n] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, (uint8_t)(allow - n - 1), 0);
    }
    /* socket(AF_UNIX, ...) only; the low 32 bits of the first argument. */
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 2);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_UNIX, 1, 0);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM);       /* deny */
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);               /* allow */
    PL_ASSERT(n == allow + 1 && n <= PROG_MAX);
    struct sock_fprog prog = { .len = (unsigned short)n, .filter = f };
    long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
    if (r != 0) {
        /* > 0: the id of a thread that could not take the filter. */
        snprintf(why, why_len, "seccomp: %s", r > 0 ? "a thread cannot be synchronized"
                                                     : strerror(errno));
        return r > 0 ? -EAGAIN : -errno;
    }
    return (int)(NALLOWED + extra + 1);   /* and socket, for AF_UNIX */
}
#else
int pl__seccomp_apply(bool machine, char *why, size_t why_len)
{
    snprintf(why, why_len, "no allowlist for this architecture");
    return -ENOTSUP;
}
#endif
