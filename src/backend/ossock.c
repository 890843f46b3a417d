/* ossock.c — socket set-up on the real OS, shared by the live backends.
 *
 * Addresses from text, listening sockets, and the check that keeps workers
 * from silently sharing a port another process holds: how the data then
 * flows (readiness or completions) is each backend's own business. Under
 * socket activation a LISTEN adopts the socket systemd passed instead of
 * binding one, and the first listener tells systemd the process is ready
 * (oslisten_fds.c).
 */
#include "backend/osfile.h"
#include "backend/oslisten_fds.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

int pl__os_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                    socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (host == NULL || host[0] == 0)
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
        return 0;
    }
    return -EINVAL;
}

void pl__os_addr_text(const struct sockaddr_storage *ss, char *out, size_t n, uint16_t *port)
{
    out[0] = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)ss;
        inet_ntop(AF_INET, &a->sin_addr, out, (socklen_t)n);
        *port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
        *port = ntohs(a->sin6_port);
    }
}

/* Addresses this process listens on with SO_REUSEPORT. The first worker to
 * bind one probes it without SO_REUSEPORT, so a port another process holds
 * is refused ("address in use") instead of silently shared. */
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sockaddr_storage shared[16];
static int nshared;

static bool claim_shared(const struct sockaddr_storage *ss, socklen_t len, int *err)
{
    pthread_mutex_lock(&shared_lock);
    for (int i = 0; i < nshared; i++) {
        if (memcmp(&shared[i], ss, len) == 0) {
            pthread_mutex_unlock(&shared_lock);
            return true;                /* a worker of ours has it: join */
        }
    }
    int probe = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    *err = probe < 0 ? -errno : 0;
    if (probe >= 0) {
        setsockopt(probe, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(probe, (const struct sockaddr *)ss, len) != 0)
            *err = -errno;
        close(probe);
    }
    if (*err == 0 && nshared < 16)
        memcpy(&shared[nshared++], ss, sizeof *ss);
    pthread_mutex_unlock(&shared_lock);
    return *err == 0;
}

int pl__os_listen(const char *host, uint16_t port, int flags, uint16_t *bound)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int err = pl__os_sockaddr(host, port, &ss, &len);
    if (err)
        return err;
    int fd = pl__os_listen_inherited(&ss, bound);   /* a socket systemd passed */
    if (fd >= 0 && (flags & PL_LISTEN_CLIENT_FIRST))
        setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &(int){ 1 }, sizeof(int));
    if (fd != -ENOENT)
        return fd;
    if ((flags & PL_LISTEN_REUSEPORT) && !claim_shared(&ss, len, &err))
        return err;
    fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1, zero = 0, lowat = PL__NOTSENT_LOWAT;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (flags & PL_LISTEN_REUSEPORT)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);   /* workers share it */
    /* Accepted clients inherit these (no call per client): replies leave at
     * once, and a socket takes no more than PL__NOTSENT_LOWAT bytes beyond
     * what TCP can send now. Without that limit a large file fills the whole
     * send buffer, and the peer's acknowledgements then send the rest on the
     * peer's CPU (on loopback, the client's): measured on a 10 MiB file, the
     * client spent about twice the CPU per request. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof lowat);
    if (flags & PL_LISTEN_CLIENT_FIRST)     /* TCP_DEFER_ACCEPT: in seconds */
        setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof one);
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 4096) != 0) {
        err = -errno;
        close(fd);
        return err;
    }
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    char ignored[64];
    pl__os_addr_text(&ss, ignored, sizeof ignored, bound);
    pl__os_listening(&ss);              /* systemd: ready (once) */
    return fd;
}
