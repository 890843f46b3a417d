/* oslisten_fds.c — socket activation: the listening sockets systemd passes.
 *
 * The protocol (sd_listen_fds(3)), implemented here without libsystemd:
 * when LISTEN_PID is this process's pid, LISTEN_FDS=N sockets are open as
 * descriptors 3 .. 3+N-1, and LISTEN_FDNAMES may name them (colon-separated).
 * The variables are read once, before main (a constructor: no other thread
 * exists yet, so unsetenv cannot race a getenv), and unset whatever they
 * said, as sd_listen_fds(1) does, so that no child process inherits them.
 * Each passed descriptor becomes close-on-exec; one that is not a listening
 * TCP socket is reported and left alone.
 *
 * A LISTEN then adopts a passed socket instead of binding one (the port may
 * be privileged while the service holds no capability, and connections that
 * arrive while the service restarts wait in systemd's socket). The match,
 * best first, ties going to the earlier descriptor:
 *   3  the same address and port;
 *   2  the LISTEN's address is a wildcard (:: or 0.0.0.0), the socket is
 *      bound to a wildcard of either family: `-b ::` (dual-stack) takes a
 *      socket systemd bound to 0.0.0.0, and `-b 0.0.0.0` one bound to [::];
 *   1  the LISTEN's address is a wildcard, the socket's is not: the unit file
 *      narrows where the server listens (a wildcard LISTEN says "any
 *      address"); the reverse, a socket wider than the LISTEN asked for, is
 *      never taken: a LISTEN on 127.0.0.1 must not end up serving the world.
 * The port must be equal, except that a LISTEN on port 0 ("any port") takes a
 * socket of any port, the address rule still holding. Several LISTENs for the
 * same address (the workers of -w N) all get the same socket, each its own
 * duplicate, which its backend closes as it would a socket of its own. The
 * workers then accept from one queue, where with SO_REUSEPORT each has its own:
 * a busy worker leaves clients to the others instead of holding those the
 * kernel hashed to it, but a new client may wake every waiting worker, of
 * which one accepts it (the others find nothing: EAGAIN). The descriptors
 * passed stay open in the process: after a stop's listeners are closed, new
 * clients wait in the queue (systemd holds the socket too) for the next start.
 *
 * The first LISTEN of the process says, once, on stderr, which passed sockets
 * it did not take: with one LISTEN (every pluto command) they stay unused.
 */
#include "backend/oslisten_fds.h"
#include "backend/osfile.h"
#include "runtime/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { FDS_START = 3, FDS_MAX = 64 };

typedef struct passed {
    int fd;
    struct sockaddr_storage ss;         /* its bound address (getsockname) */
    char name[32];                      /* from LISTEN_FDNAMES, for messages */
} passed;

/* Written before main only; read by every worker. */
static passed socks[FDS_MAX];
static int nsocks;
static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static bool warned;

static bool parse_count(const char *s, unsigned long *out)
{
    if (s == NULL || s[0] < '0' || s[0] > '9')
        return false;
    char *end;
    errno = 0;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == 0;
}

/* The i-th colon-separated name of names (may be NULL) into out. */
static void name_at(const char *names, unsigned long i, char *out, size_t n)
{
    out[0] = 0;
    for (; names != NULL && i > 0; i--) {
        names = strchr(names, ':');
        names = names ? names + 1 : NULL;
    }
    if (names == NULL)
        return;
    size_t len = strcspn(names, ":");
    snprintf(out, n, "%.*s", (int)len, names);
}

static void text_of(const struct sockaddr_storage *ss, char *out, size_t n)
{
    char host[64];
    uint16_t port = 0;
    pl__os_addr_text(ss, host, sizeof host, &port);
    snprintf(out, n, ss->ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host, (unsigned)port);
}

static void take(int fd, const char *name)
{
    int type = 0, listening = 0;
    socklen_t tl = sizeof type, ll = sizeof listening, sl = sizeof socks[0].ss;
    passed *p = &socks[nsocks];
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        fprintf(stderr, "pluto: systemd passed fd %d, which is not open\n", fd);
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ll) != 0 || !listening ||
        getsockname(fd, (struct sockaddr *)&p->ss, &sl) != 0 ||
        (p->ss.ss_family != AF_INET && p->ss.ss_family != AF_INET6)) {
        fprintf(stderr, "pluto: systemd passed fd %d, which is not a listening TCP "
                "socket; it is left alone\n", fd);
        return;
    }
    p->fd = fd;
    snprintf(p->name, sizeof p->name, "%s", name);
    nsocks++;
}

__attribute__((constructor)) static void listen_fds_init(void)
{
    unsigned long pid, n;
    const char *names = getenv("LISTEN_FDNAMES");
    if (parse_count(getenv("LISTEN_PID"), &pid) && pid == (unsigned long)getpid() &&
        parse_count(getenv("LISTEN_FDS"), &n)) {
        if (n > FDS_MAX) {
            fprintf(stderr, "pluto: systemd passed %lu sockets; the first %d are used\n",
                    n, FDS_MAX);
            n = FDS_MAX;
        }
        for (unsigned long i = 0; i < n; i++) {
            char name[32];
            name_at(names, i, name, sizeof name);
            take(FDS_START + (int)i, name);
        }
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

static bool is_any(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    return IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr);
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
    return ntohs(ss->ss_family == AF_INET ? ((const struct sockaddr_in *)ss)->sin_port
                                          : ((const struct sockaddr_in6 *)ss)->sin6_port);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    return IN6_ARE_ADDR_EQUAL(&((const struct sockaddr_in6 *)a)->sin6_addr,
                              &((const struct sockaddr_in6 *)b)->sin6_addr);
}

/* How well a passed socket fits a LISTEN (the rule at the top): 0 not at all. */
static int rank(const struct sockaddr_storage *want, const struct sockaddr_storage *have)
{
    if (port_of(want) != 0 && port_of(want) != port_of(have))
        return 0;
    if (same_addr(want, have))
        return 3;
    if (!is_any(want))
        return 0;
    return is_any(have) ? 2 : 1;
}

static void notify_listening(const struct sockaddr_storage *ss, bool passed_by_systemd)
{
    char addr[80], status[128];
    text_of(ss, addr, sizeof addr);
    snprintf(status, sizeof status, "listening on %s%s", addr,
             passed_by_systemd ? " (socket from systemd)" : "");
    pl__notify_ready(status);
}

void pl__os_listening(const struct sockaddr_storage *ss) { notify_listening(ss, false); }

/* Once per process: the passed sockets the first LISTEN did not take. */
static void warn_unused(const struct sockaddr_storage *want, int best)
{
    pthread_mutex_lock(&warn_lock);
    bool first = !warned;
    warned = true;
    pthread_mutex_unlock(&warn_lock);
    char w[80], h[80];
    text_of(want, w, sizeof w);
    for (int i = 0; first && i < nsocks; i++) {
        if (i == best)
            continue;
        text_of(&socks[i].ss, h, sizeof h);
        fprintf(stderr, "pluto: systemd passed fd %d (%s%s%s), which LISTEN %s does not "
                "match; it stays unused unless a later LISTEN matches it\n", socks[i].fd, h,
                socks[i].name[0] ? ", " : "", socks[i].name, w);
    }
}

int pl__os_listen_inherited(const struct sockaddr_storage *want, uint16_t *bound)
{
    if (nsocks == 0)
        return -ENOENT;
    int best = -1, best_rank = 0;
    for (int i = 0; i < nsocks; i++) {
        int r = rank(want, &socks[i].ss);
        if (r > best_rank) {
            best = i;
            best_rank = r;
        }
    }
    warn_unused(want, best);
    if (best < 0)
        return -ENOENT;
    int fd = fcntl(socks[best].fd, F_DUPFD_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* O_NONBLOCK belongs to the open file, which systemd and every duplicate
     * share: harmless to them, since systemd only polls it. The TCP options
     * are those pl__os_listen gives its own sockets, for clients to inherit. */
    int fl = fcntl(fd, F_GETFL), one = 1, lowat = PL__NOTSENT_LOWAT;
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    *bound = port_of(&socks[best].ss);
    notify_listening(&socks[best].ss, true);
    return fd;
}
