/* ossandbox.c — least privilege for a live run: the order of the steps,
 * the user, and the line that says what was applied (Landlock's rules:
 * ossandbox_landlock.c; the seccomp filter: ossandbox_seccomp.c).
 *
 * The order, and why:
 *   1. begin (pl_run_workers, before any worker thread exists; a durable
 *      machine, once it has gone live: its journal open, its listeners
 *      re-issued): look the user up (getpwnam reads /etc/passwd and loads
 *      NSS modules: after Landlock it could not), give a machine's directory
 *      to that user, set no_new_privs, and restrict the process with
 *      Landlock. landlock_restrict_self applies to the calling thread and the
 *      threads it creates later, so every worker is born inside the domain.
 *   2. ready (the runtime, src/runtime/setup.c, from each worker once its
 *      set-up is over: listeners bound, log open): the last worker to say so
 *      drops to the user (setgroups, setgid, setuid: glibc applies them to
 *      every thread), then installs the seccomp allowlist on every thread
 *      (TSYNC), then prints one line saying what was applied (stdout, after
 *      the lines the worker logged in the same turn; a machine's on stderr,
 *      with its other messages, since its stdout is its program's). Port 80
 *      is bound by then, and the log was opened as root.
 * Nothing here runs per request.
 */
#include "backend/ossandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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

enum { MAX_GROUPS = 256 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    bool active;                /* between begin and end */
    pl_sandbox_mode mode;
    bool machine;               /* a durable machine: its journal's calls are allowed */
    char dir[PL_PATH_MAX];      /* ... its directory, named in the line */
    uint32_t workers, ready;    /* how many there are, and have called ready */
    char landlock[1024];        /* what Landlock did, for the line */
    bool drop;                  /* become uid/gid once ready */
    uid_t uid;
    gid_t gid;
    gid_t groups[MAX_GROUPS];
    int ngroups;
    char user[64];
    bool test_try;              /* the unsafe test build's PLUTO_TEST_TRY_EXEC */
} sb;

/* The rings the io_uring backend made for the run (they may come before
 * begin: a machine's live backend is made as it goes live). Until end. */
static struct {
    int rings, restricted, ops;
    char why[160];              /* the first ring that could not be restricted */
} ring;

/* The user name: its ids and groups into sb, or -1 and why. */
static int user_lookup(const char *name, bool keep, char *why, size_t why_len)
{
    uid_t me = geteuid();
    struct passwd *pw = getpwnam(name);
    if (pw == NULL) {
        snprintf(why, why_len, "--user %s: no such user", name);
        return -1;
    }
    if (me != 0) {
        if (pw->pw_uid == me)
            return 0;                   /* already that user (a systemd User=) */
        snprintf(why, why_len, "--user %s needs the server started as root (it runs as uid %u)",
                 name, (unsigned)me);
        return -1;
    }
    if (!keep)
        return 0;
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

int pl__sandbox_user_check(const char *name, char *why, size_t why_len)
{
    return name == NULL ? 0 : user_lookup(name, false, why, why_len);
}

/* A machine made by root, run as another user: its directory and files are
 * given to that user, who will create, rename and remove them. Entries are
 * never followed (a symbolic link keeps its owner, and so does its target). */
static int give_dir(const char *dir, char *why, size_t why_len)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    int err = d == NULL || fchown(fd, sb.uid, sb.gid) != 0 ? errno : 0;
    struct dirent *e;
    while (err == 0 && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            fchownat(fd, e->d_name, sb.uid, sb.gid, AT_SYMLINK_NOFOLLOW) != 0)
            err = errno;
    if (d != NULL)
        closedir(d);
    else if (fd >= 0)
        close(fd);
    if (err != 0)
        snprintf(why, why_len, "cannot give %s to user %s: %s", dir, sb.user, strerror(err));
    return err ? -1 : 0;
}

int pl__sandbox_begin(const pl_sandbox *s, uint32_t workers, char *why, size_t why_len)
{
    pthread_mutex_lock(&lock);
    memset(&sb, 0, sizeof sb);
    sb.mode = s->mode;
    sb.machine = s->dir != NULL;
    snprintf(sb.dir, sizeof sb.dir, "%s", s->dir ? s->dir : "");
    sb.workers = workers ? workers : 1;
    int rc = s->user != NULL ? user_lookup(s->user, true, why, why_len) : 0;
    if (rc == 0 && sb.drop && s->dir != NULL)
        rc = give_dir(s->dir, why, why_len);
#ifdef PLUTO_UNSAFE_NO_PATH_CHECK
    sb.test_try = getenv("PLUTO_TEST_TRY_EXEC") != NULL;
#endif
    if (rc == 0 && s->mode == PL_SANDBOX_ON) {
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
            snprintf(why, why_len, "cannot set no_new_privs: %s", strerror(errno));
            rc = -1;
        } else {
            pl__landlock_apply(s, sb.landlock, sizeof sb.landlock);
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
    memset(&ring, 0, sizeof ring);
    pthread_mutex_unlock(&lock);
}

void pl__sandbox_ring(int n, const char *why)
{
    pthread_mutex_lock(&lock);
    ring.rings++;
    if (n >= 0) {
        ring.restricted++;
        ring.ops = n;
    } else if (ring.why[0] == 0) {
        snprintf(ring.why, sizeof ring.why, "%s", why);
    }
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

/* The unsafe test build only: what the sandbox refuses, tried after it is on.
 * PLUTO_TEST_TRY_WRITE=PATH also tries to create PATH (a machine's test:
 * outside its directory). */
static void test_try(void)
{
    int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
    fprintf(stderr, "pluto: sandbox test: open /etc/passwd: %s\n",
            fd < 0 ? strerror(errno) : "opened");
    const char *path = getenv("PLUTO_TEST_TRY_WRITE");
    if (path != NULL) {
        int w = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        fprintf(stderr, "pluto: sandbox test: create %s: %s\n", path,
                w < 0 ? strerror(errno) : "created");
    }
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    fprintf(stderr, "pluto: sandbox test: socket AF_INET: %s\n", s < 0 ? strerror(errno) : "made");
    char *const argv[] = { "true", NULL };
    execve("/bin/true", argv, environ);
    fprintf(stderr, "pluto: sandbox test: execve /bin/true: %s\n", strerror(errno));
}

/* Append to line: what seccomp and the rings are, and who we are. */
static void line_tail(char *line, size_t cap)
{
    size_t n = strlen(line);
    if (sb.mode == PL_SANDBOX_ON) {
        char why[160] = "";
        int calls = pl__seccomp_apply(sb.machine, why, sizeof why);
        if (calls >= 0)
            n += (size_t)snprintf(line + n, cap - n, "; seccomp allowlist (%d calls)", calls);
        else
            n += (size_t)snprintf(line + n, cap - n, "; seccomp not applied (%s)", why);
    }
    if (n < cap && ring.rings > 0 && ring.restricted == ring.rings)
        n += (size_t)snprintf(line + n, cap - n, "; io_uring restricted to %d operations",
                              ring.ops);
    else if (n < cap && ring.rings > 0)
        n += (size_t)snprintf(line + n, cap - n, "; io_uring not restricted (%s)", ring.why);
    if (n < cap && sb.drop)
        snprintf(line + n, cap - n, "; user %s (uid %u, gid %u)", sb.user, (unsigned)sb.uid,
                 (unsigned)sb.gid);
    else if (n < cap && geteuid() == 0)
        snprintf(line + n, cap - n, "; still root (--user NAME would drop it)");
}

void pl__sandbox_ready(void)
{
    pthread_mutex_lock(&lock);
    if (!sb.active || ++sb.ready != sb.workers) {
        pthread_mutex_unlock(&lock);
        return;
    }
    char line[1600], why[256];
    if (sb.drop && sb.machine && give_dir(sb.dir, why, sizeof why) != 0)
        fprintf(stderr, "pluto: %s\n", why);   /* files made since begin: the user's too */
    if (sb.drop)
        drop_user();
    if (sb.mode == PL_SANDBOX_ON)
        snprintf(line, sizeof line, "sandbox: %s; no_new_privs", sb.landlock);
    else
        snprintf(line, sizeof line, "sandbox: off (--no-sandbox)");
    line_tail(line, sizeof line);
    bool try = sb.test_try, machine = sb.machine;
    if (machine)                        /* stdout is the program's: with the machine's words */
        fprintf(stderr, "pluto: machine %s: %s\n", sb.dir, line);
    pthread_mutex_unlock(&lock);
    if (!machine) {
        printf("%s\n", line);           /* after the lines the worker logged */
        fflush(stdout);
    }
    if (try)
        test_try();
}
