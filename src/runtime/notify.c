/* notify.c — the sd_notify(3) protocol, which is small enough not to need
 * libsystemd: NOTIFY_SOCKET names an AF_UNIX datagram socket (a path, or
 * "@name" in the abstract namespace), and each notification is one datagram
 * of newline-separated assignments, e.g.
 *
 *     READY=1
 *     STATUS=listening on :: port 8000
 *
 * The variable is read once, before main (a constructor: no thread exists yet,
 * so unsetenv cannot race another thread's getenv), kept, and unset, as
 * sd_notify(1, ...) does, so that no child process inherits it. A live
 * process sends two messages at most (ready, stopping), each from whichever
 * worker gets there first; nothing here runs per request.
 */
#include "runtime/notify.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un target;
static socklen_t target_len;            /* 0: no NOTIFY_SOCKET, nothing is sent */
static atomic_bool ready_sent, stopping_sent;

__attribute__((constructor)) static void notify_init(void)
{
    const char *e = getenv("NOTIFY_SOCKET");
    if (e == NULL)
        return;
    size_t n = strlen(e);
    if ((e[0] == '/' || e[0] == '@') && n >= 2 && n < sizeof target.sun_path) {
        target.sun_family = AF_UNIX;
        memcpy(target.sun_path, e, n);
        /* An abstract name starts with a NUL and its length is exact. */
        if (e[0] == '@')
            target.sun_path[0] = 0;
        target_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        /* systemd also knows vsock: addresses (virtual machines); not here. */
        fprintf(stderr, "pluto: NOTIFY_SOCKET=%s is not a socket path or @name; "
                "systemd will not hear from this process\n", e);
    }
    unsetenv("NOTIFY_SOCKET");
}

static void send_state(const char *msg)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ssize_t n = -1;
    if (fd >= 0) {
        n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (const struct sockaddr *)&target,
                   target_len);
        close(fd);
    }
    /* Not fatal: the service runs on, but a Type=notify unit will time out
     * waiting for READY=1, and this line says why. */
    if (n < 0)
        perror("pluto: cannot notify systemd (NOTIFY_SOCKET)");
}

void pl__notify_ready(const char *status)
{
    if (target_len == 0 || atomic_exchange(&ready_sent, true))
        return;
    char msg[256];
    snprintf(msg, sizeof msg, "READY=1\nSTATUS=%s", status);
    send_state(msg);
}

void pl__notify_stopping(int signo)
{
    if (target_len == 0 || atomic_exchange(&stopping_sent, true))
        return;
    char msg[96];
    snprintf(msg, sizeof msg, "STOPPING=1\nSTATUS=stopping on signal %d", signo);
    send_state(msg);
}
