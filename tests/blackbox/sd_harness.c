/* sd_harness.c — start a program the way systemd starts a socket-activated
 * Type=notify service, without systemd: for tests/blackbox/test_systemd.sh.
 *
 *   sd_harness [options] -- PROGRAM ARGS...
 *
 *   --bind ADDR     the passed listening socket's address (default 127.0.0.1;
 *                   its port is any free one)
 *   --no-listen     pass no socket (LISTEN_* unset)
 *   --pid-mismatch  LISTEN_PID names another process (this one), so the
 *                   program must ignore descriptor 3
 *   --no-notify     leave NOTIFY_SOCKET unset
 *   --abstract      the notify socket is in the abstract namespace ("@name")
 *   --dir DIR       where the notify socket's file goes (default /tmp)
 *   --timeout S     kill the program after S seconds (default 60)
 *
 * An argument "{PORT}" becomes the passed socket's port. The harness makes a
 * listening TCP socket and an AF_UNIX datagram socket, forks; the child moves
 * the listener to descriptor 3, sets LISTEN_PID (its own pid: known only
 * after the fork), LISTEN_FDS=1, LISTEN_FDNAMES=http, NOTIFY_SOCKET, and
 * execs. The parent closes its copy of the listener (the program then holds
 * the only one) and prints, flushed, one line per event:
 *
 *   sd: port P inode I pid C       the passed socket and the child
 *   sd: notify LINE                each line of each notification datagram
 *   sd: exit N | sd: signal N      how the child ended
 *   sd: timeout                    it was killed at the deadline (exit 1)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static int listener(const char *addr, unsigned *port)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    socklen_t len = sizeof *v4;
    if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        len = sizeof *v6;
    } else {
        fprintf(stderr, "sd_harness: bad address %s\n", addr);
        exit(2);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);   /* as systemd does */
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0)
        die("bind/listen");
    len = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &len);
    *port = ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port);
    return fd;
}

/* The notify socket; *env is what NOTIFY_SOCKET says. */
static int notify_socket(const char *dir, int abstract, char *env, size_t n)
{
    struct sockaddr_un un = { .sun_family = AF_UNIX };
    socklen_t len;
    if (abstract) {
        snprintf(env, n, "@pluto-sd-harness-%ld", (long)getpid());
        memcpy(un.sun_path + 1, env + 1, strlen(env) - 1);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(env));
    } else {
        snprintf(env, n, "%s/notify-%ld", dir, (long)getpid());
        snprintf(un.sun_path, sizeof un.sun_path, "%s", env);
        unlink(env);
        len = sizeof un;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&un, len) != 0)
        die("notify socket");
    return fd;
}

static void child(int lfd, int mode_listen, int pid_mismatch, const char *notify,
                  char **argv)
{
    char num[32];
    if (mode_listen) {
        if (lfd == 3)
            fcntl(3, F_SETFD, 0);               /* keep it across exec */
        else if (dup2(lfd, 3) != 3)
            die("dup2");
        snprintf(num, sizeof num, "%ld", (long)(pid_mismatch ? getppid() : getpid()));
        setenv("LISTEN_PID", num, 1);
        setenv("LISTEN_FDS", "1", 1);
        setenv("LISTEN_FDNAMES", "http", 1);
    }
    if (notify != NULL)
        setenv("NOTIFY_SOCKET", notify, 1);
    execvp(argv[0], argv);
    die("exec");
}

static void print_datagram(int nfd)
{
    char buf[4096];
    ssize_t n;
    while ((n = recv(nfd, buf, sizeof buf - 1, MSG_DONTWAIT)) >= 0) {
        buf[n] = 0;
        for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
            printf("sd: notify %s\n", line);
        fflush(stdout);
    }
}

int main(int argc, char **argv)
{
    const char *bind_addr = "127.0.0.1", *dir = "/tmp";
    int do_listen = 1, pid_mismatch = 0, do_notify = 1, abstract = 0, timeout_s = 60, i;
    for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--bind") == 0 && i + 1 < argc) bind_addr = argv[++i];
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir = argv[++i];
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout_s = atoi(argv[++i]);
        else if (strcmp(argv[i], "--no-listen") == 0) do_listen = 0;
        else if (strcmp(argv[i], "--pid-mismatch") == 0) pid_mismatch = 1;
        else if (strcmp(argv[i], "--no-notify") == 0) do_notify = 0;
        else if (strcmp(argv[i], "--abstract") == 0) abstract = 1;
        else { fprintf(stderr, "sd_harness: unknown option %s\n", argv[i]); return 2; }
    }
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: sd_harness [options] -- PROGRAM ARGS...\n");
        return 2;
    }
    char **cargv = &argv[i + 1];
    unsigned port = 0;
    int lfd = do_listen ? listener(bind_addr, &port) : -1;
    char env[200] = "";
    int nfd = do_notify ? notify_socket(dir, abstract, env, sizeof env) : -1;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%u", port);
    for (char **a = cargv; *a; a++)
        if (strcmp(*a, "{PORT}") == 0)
            *a = portstr;
    struct stat st = { 0 };
    if (lfd >= 0)
        fstat(lfd, &st);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        child(lfd, do_listen, pid_mismatch, do_notify ? env : NULL, cargv);
    if (lfd >= 0)
        close(lfd);                             /* the program holds the only copy */
    printf("sd: port %u inode %lu pid %ld\n", port, (unsigned long)st.st_ino, (long)pid);
    fflush(stdout);
    time_t deadline = time(NULL) + timeout_s;
    int status, code = 0;
    for (;;) {
        struct pollfd p = { .fd = nfd, .events = POLLIN };
        poll(&p, nfd >= 0 ? 1 : 0, 100);
        if (nfd >= 0)
            print_datagram(nfd);
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        if (time(NULL) > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            printf("sd: timeout\n");
            code = 1;
            break;
        }
    }
    if (nfd >= 0)
        print_datagram(nfd);
    if (WIFEXITED(status))
        printf("sd: exit %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("sd: signal %d\n", WTERMSIG(status));
    if (nfd >= 0 && !abstract)
        unlink(env);
    return code;
}
