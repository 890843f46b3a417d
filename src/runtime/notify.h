/* notify.h — tell systemd how the service is doing (sd_notify(3)), without
 * libsystemd.
 *
 * Both calls do nothing when the process was started without NOTIFY_SOCKET,
 * and each sends at most once per process, whichever worker calls first:
 *
 *   pl__notify_ready     "READY=1" and a STATUS line: the first listening
 *                        socket is bound or adopted (ossock.c, oslisten_fds.c)
 *   pl__notify_stopping  "STOPPING=1": a SIGINT or SIGTERM sent to the process
 *                        reached a loop, which starts a stop (workers.c)
 *
 * status is free text for `systemctl status` (one line, no newline).
 */
#ifndef PLUTO_RUNTIME_NOTIFY_H
#define PLUTO_RUNTIME_NOTIFY_H

void pl__notify_ready(const char *status);
void pl__notify_stopping(int signo);

#endif
