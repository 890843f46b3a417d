/* osfile.c — file commands on the real OS, shared by the live backends.
 *
 * Every path is opened beneath a directory handle with openat2() and
 * RESOLVE_BENEATH: "..", absolute paths and symlinks that leave the
 * directory are refused by the kernel, not by string checks. PL_DIR_CWD is
 * the one way out: the server's root and its access log are named from the
 * command line.
 */
#include "backend/osfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int pl__os_open_beneath(int dir, const char *path, int flags)
{
    struct open_how how = { 0 };
    how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (flags & PL_OPEN_DIR)
        how.flags |= O_DIRECTORY;
    if (flags & PL_OPEN_APPEND) {      /* a log: whole writes at the end, from anyone */
        how.flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
        how.mode = 0644;
    }
    if (flags & PL__OPEN_PATH)
        how.flags = O_PATH | O_CLOEXEC;
    if (dir != PL_DIR_CWD)
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
#ifdef PLUTO_UNSAFE_NO_PATH_CHECK
    how.resolve = 0;    /* test builds only: the sandbox must hold without this */
#endif
    int d = dir == PL_DIR_CWD ? AT_FDCWD : dir;
    if (path[0] == 0)
        path = ".";
    long fd = syscall(SYS_openat2, d, path, &how, sizeof how);
    if (fd < 0 && errno == ENOSYS && dir == PL_DIR_CWD)
        fd = openat(d, path, (int)how.flags, (mode_t)how.mode);
    return fd < 0 ? -errno : (int)fd;
}

void pl__os_fill_stat(pl_stat *st, const struct stat *s)
{
    st->size = (uint64_t)s->st_size;
    st->ino = s->st_ino;
    st->dev = s->st_dev;
    st->mtime_s = s->st_mtim.tv_sec;
    st->mtime_ns = s->st_mtim.tv_nsec;
    st->mode = s->st_mode;
    st->type = S_ISREG(s->st_mode) ? PL_FT_FILE
             : S_ISDIR(s->st_mode) ? PL_FT_DIR
             : S_ISLNK(s->st_mode) ? PL_FT_LINK : PL_FT_OTHER;
}

int pl__os_fstat(int fd, pl_stat *st)
{
    struct stat s;
    if (fstat(fd, &s) != 0)
        return -errno;
    pl__os_fill_stat(st, &s);
    return 0;
}

static pl_ftype dtype(struct dirent *e, int dfd)
{
    switch (e->d_type) {
    case DT_REG: return PL_FT_FILE;
    case DT_DIR: return PL_FT_DIR;
    case DT_LNK: return PL_FT_LINK;
    case DT_UNKNOWN: {
        struct stat s;
        if (fstatat(dfd, e->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
            return PL_FT_OTHER;
        pl_stat st;
        pl__os_fill_stat(&st, &s);
        return st.type;
    }
    default: return PL_FT_OTHER;
    }
}

static int put_entry(uint8_t **buf, size_t *len, size_t *cap, pl_ftype t, const char *name)
{
    size_t n = strlen(name);
    if (*len + n + 2 > *cap) {
        size_t c = *cap ? *cap * 2 : 4096;
        while (c < *len + n + 2)
            c *= 2;
        uint8_t *b = realloc(*buf, c);
        if (b == NULL)
            return -ENOMEM;
        *buf = b;
        *cap = c;
    }
    (*buf)[(*len)++] = (uint8_t)t;
    memcpy(*buf + *len, name, n + 1);
    *len += n + 1;
    return 0;
}

/* Directory cookies are the kernel's d_off values (telldir): stable for an
 * unchanged directory across opens, as NFS relies on. */
int pl__os_readdir(int dir, const char *path, uint64_t cookie, size_t page, pl__dirpage *out)
{
    int fd = pl__os_open_beneath(dir, path, PL_OPEN_DIR);
    if (fd < 0)
        return fd;
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        int err = -errno;
        close(fd);
        return err;
    }
    if (cookie != 0)
        seekdir(d, (long)cookie);
    size_t cap = 0;
    *out = (pl__dirpage){ 0 };
    int err = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (out->count > 0 && out->len + strlen(e->d_name) + 2 > page)
            break;                      /* full: the next page starts at e */
        err = put_entry(&out->buf, &out->len, &cap, dtype(e, fd), e->d_name);
        if (err)
            break;
        out->count++;
        out->next = (uint64_t)telldir(d);
        errno = 0;
    }
    if (e == NULL)
        out->next = 0;                  /* reached the end */
    if (err == 0 && e == NULL && errno != 0)
        err = -errno;
    closedir(d);
    if (err) {
        free(out->buf);
        out->buf = NULL;
    }
    return err;
}

uint8_t *pl__os_file_cmd(const pl__task *t, uint8_t *rbuf, size_t rbuf_len, pl_answer *a)
{
    uint8_t *buf = NULL;
    a->fd = -1;
    switch (t->cmd.kind) {
    case PL_CMD_OPEN:
        a->fd = pl__os_open_beneath(t->cmd.dir, t->cmd.text, t->cmd.flags);
        a->err = a->fd < 0 ? a->fd : pl__os_fstat(a->fd, &a->st);
        if (a->err && a->fd >= 0)
            close(a->fd);
        if (a->err)
            a->fd = -1;
        break;
    case PL_CMD_STAT: {
        int fd = pl__os_open_beneath(t->cmd.dir, t->cmd.text, PL__OPEN_PATH);
        a->err = fd < 0 ? fd : pl__os_fstat(fd, &a->st);
        if (fd >= 0)
            close(fd);
        break;
    }
    case PL_CMD_READ: {
        size_t want = t->cmd.count < rbuf_len ? (size_t)t->cmd.count : rbuf_len;
        ssize_t n = pread(t->cmd.fd, rbuf, want, (off_t)t->cmd.offset);
        a->err = n < 0 ? -errno : 0;
        a->data = rbuf;
        a->len = n < 0 ? 0 : (size_t)n;
        break;
    }
    case PL_CMD_READDIR: {
        pl__dirpage pg = { 0 };
        a->err = pl__os_readdir(t->cmd.dir, t->cmd.text, t->cmd.offset,
                                t->cmd.count ? t->cmd.count : PL_DIR_PAGE, &pg);
        if (a->err == 0) {
            buf = pg.buf;
            a->data = buf;
            a->len = pg.len;
            a->n = pg.count;
            a->next = pg.next;
        }
        break;
    }
    default:
        PL_ASSERT(!"not a file command");
    }
    return buf;
}

_Thread_local bool pl__os_unflushed;

void pl__os_log(const pl__task *t)
{
    const char *text = t->cmd.text ? t->cmd.text : "";
    if (t->cmd.flags & PL_LOG_ERR) {
        fflush(stdout);                 /* what came before stays before */
        fprintf(stderr, "%.*s\n", (int)t->cmd.len, text);
    } else {
        fwrite(text, 1, t->cmd.len, stdout);
        fputc('\n', stdout);
        pl__os_unflushed = true;
    }
}

void pl__os_time(pl_answer *a)
{
    struct timespec w, m;
    clock_gettime(CLOCK_REALTIME, &w);
    clock_gettime(CLOCK_MONOTONIC, &m);
    a->wall_ns = (int64_t)w.tv_sec * 1000000000 + w.tv_nsec;
    a->mono_ns = (int64_t)m.tv_sec * 1000000000 + m.tv_nsec;
}
