/* osfile.h — file commands on the real OS (openat2 beneath a directory). */
#ifndef PLUTO_BACKEND_OSFILE_H
#define PLUTO_BACKEND_OSFILE_H

#include "runtime/internal.h"

#include <stdio.h>
#include <sys/socket.h>

struct stat;

enum { PL__OPEN_PATH = 1 << 8 };   /* O_PATH: for stat */

/* Open path beneath dir; returns a descriptor or a negative errno. */
int pl__os_open_beneath(int dir, const char *path, int flags);
int pl__os_fstat(int fd, pl_stat *st);
void pl__os_fill_stat(pl_stat *st, const struct stat *s);
/* Read one page of a directory's entries, packed as pl_dirent_next()
 * expects, from cookie (0: the start) up to page bytes (at least one entry).
 * *next is the cookie of the following page, 0 after the last. On success
 * *buf is malloc'd (or NULL when empty) and the caller frees it. */
typedef struct pl__dirpage {
    uint8_t *buf;
    size_t len;
    uint64_t count, next;
} pl__dirpage;
int pl__os_readdir(int dir, const char *path, uint64_t cookie, size_t page, pl__dirpage *out);

/* What every live backend performs at once, the same way:
 *   pl__os_file_cmd   OPEN, STAT, READ (into rbuf), READDIR, answered in a;
 *                     returns a buffer to free once a is delivered, or NULL
 *   pl__os_log        LOG: the line on stdout, or on stderr (PL_LOG_ERR)
 *   pl__os_time       TIME: the wall and monotonic clocks */
uint8_t *pl__os_file_cmd(const pl__task *t, uint8_t *rbuf, size_t rbuf_len, pl_answer *a);
void pl__os_log(const pl__task *t);
/* Log lines this thread wrote to stdout since it last flushed: a backend
 * flushes before it sleeps and after a turn, and only when there are some
 * (an empty fflush still takes the stream's lock: ~130 instructions). */
extern _Thread_local bool pl__os_unflushed;
static inline void pl__os_flush(void)
{
    if (pl__os_unflushed) {
        pl__os_unflushed = false;
        fflush(stdout);
    }
}
void pl__os_time(pl_answer *a);

/* Sockets (ossock.c). A TCP address from its text ("127.0.0.1", "::1"; NULL
 * or empty: 127.0.0.1): 0, or -EINVAL when it is not an address. */
int pl__os_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                    socklen_t *len);
/* The text of an address (IPv6 without brackets) and its port. */
void pl__os_addr_text(const struct sockaddr_storage *ss, char *out, size_t n, uint16_t *port);
/* A non-blocking listening socket on host:port with PL_LISTEN_* flags, and
 * the port it bound in *bound: a descriptor, or a negative errno. With
 * PL_LISTEN_REUSEPORT the first listener of this process on an address
 * checks that no other process holds it. Its clients inherit TCP_NODELAY and
 * TCP_NOTSENT_LOWAT (PL__NOTSENT_LOWAT bytes). */
enum { PL__NOTSENT_LOWAT = 128 * 1024 };
int pl__os_listen(const char *host, uint16_t port, int flags, uint16_t *bound);

#endif
