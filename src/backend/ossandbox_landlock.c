/* ossandbox_landlock.c — the Landlock rules of a sandboxed run (ossandbox.c
 * says when they go on).
 *
 * The process handles every file-system right its kernel's ABI knows, and
 * allows back only:
 *   read       read files and list directories beneath each `read` path (the
 *              served directory, /etc/mime.types, a walked directory)
 *   log        write files and create regular files in the log's directory,
 *              so that a log reopened after rotation (mv, then SIGHUP) may
 *              be a new file
 *   dir        a durable machine's directory: read, write, create, truncate
 *              (ABI 3), rename within it and remove files — the journal's
 *              segments, snapshots written to a temporary name and renamed,
 *              meta replaced the same way, the reserve file — and list it
 *              (pruning, the directory's fsync needs nothing more)
 * and with ABI 4 or later no TCP connect (the net right handled, no rule).
 * Anything else on the file system fails with EACCES, however the path was
 * reached: a file outside the root stays out of reach even if the HTTP path
 * check and openat2's RESOLVE_BENEATH were both bypassed. Landlock does not
 * stop bind, so the workers still bind their listeners after this. The
 * checks are the kernel's, where a file is opened or a connection made, so
 * they hold for io_uring's operations too.
 */
#include "backend/ossandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Access rights newer than the oldest linux/landlock.h this builds with. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#ifndef LANDLOCK_ACCESS_NET_CONNECT_TCP
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif

/* The ruleset attribute as of ABI 4 (the net field); its size tells the
 * kernel which fields we know. */
struct ll_ruleset { uint64_t handled_fs, handled_net; };

static long ll_create(const struct ll_ruleset *a, size_t size, uint32_t flags)
{
    return syscall(SYS_landlock_create_ruleset, a, size, flags);
}

/* Allow `rights` beneath path (a directory) or on it (a file: only the
 * rights that apply to files). 0, or a negative errno. */
static int ll_allow(int ruleset, const char *path, uint64_t rights)
{
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode))
        rights &= LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE |
                  LANDLOCK_ACCESS_FS_TRUNCATE;
    struct landlock_path_beneath_attr pb = { .allowed_access = rights, .parent_fd = fd };
    long r = syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
    int err = r < 0 ? -errno : 0;
    close(fd);
    return err;
}

/* Append a clause to out: "; " before it unless it is the first. */
static void say(char *out, size_t cap, bool *first, const char *fmt, const char *a,
                const char *b)
{
    size_t n = strlen(out);
    if (!*first && n + 2 < cap) {
        memcpy(out + n, "; ", 3);
        n += 2;
    }
    *first = false;
    snprintf(out + n, cap - n, fmt, a, b);
}

/* The directory holding path ("." for a bare name), into out. */
static void dir_of(const char *path, char *out, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, cap, ".");
    else if (slash == path)
        snprintf(out, cap, "/");
    else
        snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

static void rules(int rs, long abi, const pl_sandbox *s, char *out, size_t cap)
{
    bool first = true;
    const uint64_t read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    for (int i = 0; i < 4 && s->read[i] != NULL; i++) {
        int err = ll_allow(rs, s->read[i], read);
        if (i == 0)
            say(out, cap, &first, "read beneath%s%s", "", "");
        size_t n = strlen(out);
        snprintf(out + n, cap - n, " %s%s%s%s", s->read[i], err ? " (not allowed: " : "",
                 err ? strerror(-err) : "", err ? ")" : "");
    }
#ifdef PL_SANITIZED
    ll_allow(rs, "/proc", read);        /* /proc/PID inodes come and go: all of it */
#endif
    if (s->log != NULL) {
        char dir[PL_PATH_MAX];
        dir_of(s->log, dir, sizeof dir);
        int err = ll_allow(rs, dir, LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG);
        say(out, cap, &first, err ? "write the log's directory %s (not allowed: %s)"
            : "write and create files in %s (the log's directory)%s", dir,
            err ? strerror(-err) : "");
    }
    if (s->dir != NULL) {
        uint64_t rw = read | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG |
                      LANDLOCK_ACCESS_FS_REMOVE_FILE;
        if (abi >= 3)
            rw |= LANDLOCK_ACCESS_FS_TRUNCATE;
        int err = ll_allow(rs, s->dir, rw);
        say(out, cap, &first, err ? "the machine's directory %s (not allowed: %s)"
            : "read and write beneath %s (the machine)%s", s->dir, err ? strerror(-err) : "");
    }
    if (first)
        say(out, cap, &first, "no file%s%s", "", "");
    if (abi >= 4)
        say(out, cap, &first, "no TCP connect%s%s", "", "");
}

void pl__landlock_apply(const pl_sandbox *s, char *out, size_t cap)
{
    long abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        snprintf(out, cap, "landlock not applied (%s)",
                 errno == ENOSYS ? "the kernel has no Landlock"
                 : errno == EOPNOTSUPP ? "Landlock is disabled in this kernel"
                 : strerror(errno));
        return;
    }
    struct ll_ruleset a = { .handled_fs = (1ULL << 13) - 1 };   /* ABI 1: bits 0..12 */
    if (abi >= 2)
        a.handled_fs |= LANDLOCK_ACCESS_FS_REFER;
    if (abi >= 3)
        a.handled_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
    if (abi >= 5)
        a.handled_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
    if (abi >= 4)
        a.handled_net = LANDLOCK_ACCESS_NET_CONNECT_TCP;    /* no rule: no connect */
    int rs = (int)ll_create(&a, abi >= 4 ? sizeof a : sizeof a.handled_fs, 0);
    if (rs < 0) {
        snprintf(out, cap, "landlock not applied (%s)", strerror(errno));
        return;
    }
    snprintf(out, cap, "landlock (ABI %ld): ", abi);
    rules(rs, abi, s, out, cap);
    if (syscall(SYS_landlock_restrict_self, rs, 0) != 0)
        snprintf(out, cap, "landlock not applied (restrict_self: %s)", strerror(errno));
    close(rs);
}
