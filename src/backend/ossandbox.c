/* ossandbox.c — least privilege for a live run: Landlock, the user, and
 * when seccomp goes on (the filter itself: ossandbox_seccomp.c).
 *
 * The order, and why:
 *   1. begin (pl_run_workers, before any worker thread exists): look the user
 *      up (getpwnam reads /etc/passwd and loads NSS modules: after Landlock it
 *      could not), set no_new_privs, and restrict the process with Landlock.
 *      landlock_restrict_self applies to the calling thread and the threads it
 *      creates later, so every worker is born inside the domain. The rules:
 *      read files and list directories beneath the `read` paths (the served
 *      directory, /etc/mime.types); write files and create regular files
 *      beneath the log's directory, so that a log reopened after rotation
 *      (mv, then SIGHUP) may be a new file; no TCP connect (Landlock ABI 4 and
 *      later). Everything else on the file system is refused (EACCES), however
 *      the path was reached: this is what holds if the HTTP path check and
 *      openat2's RESOLVE_BENEATH were both bypassed. Landlock does not stop
 *      bind, so the workers still bind their listeners after this.
 *   2. ready (pl_sandbox_ready, from each worker once its listeners are bound
 *      and its log is open): the last worker to say so drops to the user
 *      (setgroups, setgid, setuid: glibc applies them to every thread), then
 *      installs the seccomp allowlist on every thread (TSYNC), then logs one
 *      line saying what was applied (stdout, after the worker's own lines). Port 80 is bound by then, and the log
 *      was opened as root.
 * Nothing here runs per request.
 */
#include "backend/ossandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/landlock.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
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

enum { MAX_GROUPS = 256 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool active;                /* between begin and end */
    pl_sandbox_mode mode;
    uint32_t workers, ready;    /* how many there are, and have called ready */
    char landlock[768];         /* what Landlock did, for the line */
    bool drop;                  /* become uid/gid once ready */
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    char user[64];
    bool test_try;              /* the unsafe test build's PLUTO_TEST_TRY_EXEC */
} sb;

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

static void say(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(sb.landlock);
    snprintf(sb.landlock + n, sizeof sb.landlock - n, fmt, a, b);
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

static void landlock(const pl_sandbox *s)
{
    long abi = ll_create(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
    if (abi < 0) {
        snprintf(sb.landlock, sizeof sb.landlock, "landlock not applied (%s)",
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
        snprintf(sb.landlock, sizeof sb.landlock, "landlock not applied (%s)", strerror(errno));
        return;
    }
    snprintf(sb.landlock, sizeof sb.landlock, "landlock (ABI %ld): read beneath", abi);
    const uint64_t read = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
    for (int i = 0; i < 4 && s->read[i] != NULL; i++) {
        int err = ll_allow(rs, s->read[i], read);
        say(err ? " %s (not allowed: %s)" : " %s", s->read[i], err ? strerror(-err) : "");
    }
#ifdef PL_SANITIZED
    ll_allow(rs, "/proc", read);      /* /proc/PID inodes come and go: all of it */
#endif
    if (s->log != NULL) {
        char dir[PL_PATH_MAX];
        dir_of(s->log, dir, sizeof dir);
        int err = ll_allow(rs, dir, LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_MAKE_REG);
        say(err ? "; write the log's directory %s (not allowed: %s)" : "; write and create "
            "files in %s (the log's directory)", dir, err ? strerror(-err) : "");
    }
    if (abi >= 4)
        say("; no TCP connect%s%s", "", "");
    if (syscall(SYS_landlock_restrict_self, rs, 0) != 0)
        snprintf(sb.landlock, sizeof sb.landlock, "landlock not applied (restrict_self: %s)",
                 strerror(errno));
    close(rs);
}

/* Look the user up now: once Landlock is on, /etc/passwd cannot be read. */
static int user_begin(const char *name)
{
    uid_t me = geteuid();
    if (name == NULL)
        return 0;
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        fprintf(stderr, "pluto: --user %s: no such user\n", name);
        return -1;
    }
    if (me != 0) {
        if (pw->pw_uid == me)
            return 0;                   /* already that user (a systemd User=) */
        fprintf(stderr, "pluto: --user %s needs the server started as root (it runs as "
                "uid %u)\n", name, (unsigned)me);
        return -1;
    }
    sb.drop = true;
    sb.uid = pw->pw_uid;
    sb.gid = pw->pw_gid;
    snprintf(sb.user, sizeof sb.user, "%s", name);
    sb.ngroups = MAX_GROUPS;
    if (getgrouplist(name, pw->pw_gid, sb.groups, &sb.ngroups) < 0) {
        sb.groups[0] = pw->pw_gid;      /* more than MAX_GROUPS: its own group only */
        sb.ngroups = 1;
    }
    return 0;
}

int pl__sandbox_begin(const pl_sandbox *s, uint32_t workers)
{
    pthread_mutex_lock(&lock);
    memset(&sb, 0, sizeof sb);
    sb.mode = s->mode;
    sb.workers = workers ? workers : 1;
    int rc = user_begin(s->user);
#ifdef PLUTO_UNSAFE_NO_PATH_CHECK
    sb.test_try = getenv("PLUTO_TEST_TRY_EXEC") != NULL;
#endif
    if (rc == 0 && s->mode == PL_SANDBOX_ON) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            fprintf(stderr, "pluto: cannot set no_new_privs: %s\n", strerror(errno));
            rc = -1;
        } else {
            landlock(s);
        }
    }
    sb.active = rc == 0;
    pthread_mutex_unlock(&lock);
    return rc;
}

void pl__sandbox_end(void)
{
    pthread_mutex_lock(&lock);
    sb.active = false;
    pthread_mutex_unlock(&lock);
}

static void drop_user(void)
{
    if (setgroups((size_t)sb.ngroups, sb.groups) != 0 || setgid(sb.gid) != 0 ||
        setuid(sb.uid) != 0 || getuid() != sb.uid || geteuid() != sb.uid) {
        /* Serving on as root after asking not to would be worse than stopping. */
        fprintf(stderr, "pluto: cannot become user %s: %s\n", sb.user, strerror(errno));
        _exit(1);
    }
}

/* The unsafe test build only: what the sandbox refuses, tried after it is on. */
static void test_try(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    fprintf(stderr, "pluto: sandbox test: open /etc/passwd: %s\n", fd < 0 ? strerror(errno) : "opened");
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    fprintf(stderr, "pluto: sandbox test: socket AF_INET: %s\n", s < 0 ? strerror(errno) : "made");
    char *const argv[] = { "true", NULL };
    execve("/bin/true", argv, environ);
    fprintf(stderr, "pluto: sandbox test: execve /bin/true: %s\n", strerror(errno));
}

void pl_sandbox_ready(pl_ctx *cx)
{
    pthread_mutex_lock(&lock);
    if (!sb.active || ++sb.ready != sb.workers) {
        pthread_mutex_unlock(&lock);
        return;
    }
    char line[1200], sec[200] = "";
    if (sb.drop)
        drop_user();
    if (sb.mode == PL_SANDBOX_ON) {
        char why[160] = "";
        int n = pl__seccomp_apply(why, sizeof why);
        if (n >= 0)
            snprintf(sec, sizeof sec, "seccomp allowlist (%d calls)", n);
        else
            snprintf(sec, sizeof sec, "seccomp not applied (%s)", why);
        snprintf(line, sizeof line, "sandbox: %s; no_new_privs; %s", sb.landlock, sec);
    } else {
        snprintf(line, sizeof line, "sandbox: off (--no-sandbox)");
    }
    size_t n = strlen(line);
    if (sb.drop)
        snprintf(line + n, sizeof line - n, "; user %s (uid %u, gid %u)", sb.user,
                 (unsigned)sb.uid, (unsigned)sb.gid);
    else if (geteuid() == 0)
        snprintf(line + n, sizeof line - n, "; still root (--user NAME would drop it)");
    bool try = sb.test_try;
    pthread_mutex_unlock(&lock);
    pl_logf(cx, "%s", line);            /* after the worker's own start-up lines */
    if (try)
        test_try();
}
