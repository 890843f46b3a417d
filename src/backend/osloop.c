/* osloop.c — what the live backends' loops share (see osloop.h). */
#include "backend/osloop.h"
#include "backend/osfile.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

void pl__os_list_remove(pl__os_list *l, pl__task *t)
{
    if (!t->bk_listed)
        return;
    pl__task *prev = NULL;
    for (pl__task *q = l->head; q; prev = q, q = q->bk_next) {
        if (q != t)
            continue;
        if (prev)
            prev->bk_next = q->bk_next;
        else
            l->head = q->bk_next;
        if (l->tail == q)
            l->tail = prev;
        break;
    }
    t->bk_listed = false;
    t->bk_next = NULL;
}

void pl__os_list_finish(pl__os_list *l, pl__os_perform_fn *perform, void *b)
{
    for (pl__task *t = l->head; t != NULL; t = t->bk_next)
        if (t->cmd.kind == PL_CMD_LOG && t->state == PL__T_BACKEND)
            perform(b, t);
}

void pl__os_fdset_add(pl__os_fdset *s, int fd)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->fd = realloc(s->fd, s->cap * sizeof *s->fd);
        PL_ASSERT(s->fd != NULL);
    }
    s->fd[s->n++] = fd;
}

void *pl__os_table_fit(void *table, int *n, size_t elem, int fd)
{
    PL_ASSERT(fd >= 0);
    if (fd < *n)
        return table;
    int grown = *n ? *n : 256;
    while (grown <= fd)
        grown *= 2;
    table = pl__table_grow(table, (size_t)*n * elem, (size_t)grown * elem);
    *n = grown;
    return table;
}

void pl__os_close_open(const pl_rt *rt, int n)
{
    for (int fd = 0; fd < n; fd++)
        if (rt && pl__fdq_is_open(rt, fd))
            close(fd);
}

/* One chunk of a READ_FILE; true: more is to come. */
static bool read_file(pl__task *t, uint8_t *rbuf, size_t rbuf_len, pl_answer *a)
{
    PL_ASSERT(t->cmd.kind == PL_CMD_READ_FILE);
    a->data = rbuf;
    if (PL__OS_FILE(t) == 0) {
        int fd = pl__os_open_beneath(t->cmd.dir, t->cmd.text, 0);
        if (fd < 0) {
            a->err = fd;
            return false;
        }
        PL__OS_FILE(t) = (uint64_t)fd + 1;
    }
    int fd = (int)PL__OS_FILE(t) - 1;
    ssize_t n = read(fd, rbuf, rbuf_len);
    if (n <= 0) {
        a->err = n < 0 ? -errno : 0;
        a->eof = 1;
        close(fd);
        PL__OS_FILE(t) = 0;
        return false;
    }
    a->len = (size_t)n;
    return true;
}

uint8_t *pl__os_loop_cmd(pl__task *t, uint8_t *rbuf, size_t rbuf_len, pl_answer *a,
                         bool *again)
{
    *again = false;
    switch (t->cmd.kind) {
    case PL_CMD_LOG:
        pl__os_log(t);
        return NULL;
    case PL_CMD_TIME:
        pl__os_time(a);
        return NULL;
    case PL_CMD_READ_FILE:
        *again = read_file(t, rbuf, rbuf_len, a);
        return NULL;
    default:
        return pl__os_file_cmd(t, rbuf, rbuf_len, a);
    }
}
