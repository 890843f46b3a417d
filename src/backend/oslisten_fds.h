/* oslisten_fds.h — listening sockets passed by systemd (socket activation),
 * and readiness once the process listens. Used by pl__os_listen (ossock.c).
 */
#ifndef PLUTO_BACKEND_OSLISTEN_FDS_H
#define PLUTO_BACKEND_OSLISTEN_FDS_H

#include <stdint.h>
#include <sys/socket.h>

/* A LISTEN for want (an address and port, as pl__os_sockaddr makes them):
 * when systemd passed a listening socket that matches it (see oslisten_fds.c
 * for the rule), a non-blocking, close-on-exec duplicate of it, its port in
 * *bound, and readiness notified; -ENOENT when none matches or none was
 * passed (the caller binds a socket of its own); another negative errno when
 * the duplicate cannot be made. */
int pl__os_listen_inherited(const struct sockaddr_storage *want, uint16_t *bound);

/* The process listens on ss: tell systemd it is ready (once; notify.c). */
void pl__os_listening(const struct sockaddr_storage *ss);

#endif
