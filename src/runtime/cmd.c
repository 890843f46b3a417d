/* cmd.c — a command as a task keeps it.
 *
 * A pl_cmd is 96 bytes, and most of it is fields other kinds use; a task
 * lives as long as a connection, so it keeps the command packed (pl__cmd,
 * 48 bytes: fields no kind uses together share space) and its payload, the
 * bytes of a SEND or the text of a path or a log line, in pooled memory.
 * pl__cmd_public() rebuilds the public form for the harness and the trace.
 */
#include "runtime/rt.h"

#include <string.h>

static bool has_host(int k) { return k == PL_CMD_LISTEN || k == PL_CMD_CONNECT; }

/* pl__cmd keeps one of the fields that share its first union, by kind. */
static int shared_int(const pl_cmd *c)
{
    switch (c->kind) {
    case PL_CMD_SIGNAL: return c->signo;
    case PL_CMD_SENDFILE: return c->file_fd;
    default: return c->dir;
    }
}

static pl__cmd compact(const pl_cmd *c)
{
    pl__cmd k = { .kind = (uint8_t)c->kind, .fd = c->fd, .flags = (int16_t)c->flags,
                  .count = c->count, .after_ms = c->after_ms };
    if (has_host(c->kind))
        k.port = c->port;
    else
        k.dir = shared_int(c);
    if (c->kind == PL_CMD_TIMER)
        k.every_ms = c->every_ms;
    else
        k.offset = c->offset;
    return k;
}

pl_cmd pl__cmd_public(const pl__task *t)
{
    const pl__cmd *k = &t->cmd;
    pl_cmd c = { .kind = k->kind, .fd = k->fd, .flags = k->flags, .len = k->len,
                 .count = k->count, .after_ms = k->after_ms };
    switch (k->kind) {
    case PL_CMD_SIGNAL: c.signo = k->signo; break;
    case PL_CMD_SENDFILE: c.file_fd = k->file_fd; break;
    case PL_CMD_LISTEN: case PL_CMD_CONNECT: c.port = k->port; break;
    default: c.dir = k->dir; break;
    }
    if (k->kind == PL_CMD_TIMER)
        c.every_ms = k->every_ms;
    else
        c.offset = k->offset;
    if (has_host(k->kind))
        c.host = k->host;
    else
        c.text = k->text;
    return c;
}

/* The command, packed, and its payload, copied into pooled memory. */
void pl__cmd_copy(pl_rt *rt, pl__task *t, const pl_cmd *cmd)
{
    t->cmd = compact(cmd);
    if (cmd->kind == PL_CMD_SEND) {
        size_t total = 0;
        for (int i = 0; i < cmd->iovcnt; i++)
            total += cmd->iov[i].len;
        PL_ASSERT(total < UINT32_MAX);
        t->data = pl__pool_get(&rt->pool, total);
        size_t off = 0;
        for (int i = 0; i < cmd->iovcnt; i++) {
            memcpy(t->data + off, cmd->iov[i].base, cmd->iov[i].len);
            off += cmd->iov[i].len;
        }
        t->data_len = (uint32_t)total;
        return;
    }
    const char *s = has_host(cmd->kind) ? cmd->host : cmd->text;
    if (s == NULL)
        return;
    size_t len = cmd->len ? cmd->len : strlen(s);
    PL_ASSERT(len < UINT32_MAX);
    t->str = pl__pool_get(&rt->pool, len + 1);
    memcpy(t->str, s, len);
    t->str[len] = 0;
    t->cmd.len = (uint32_t)len;
    t->cmd.text = t->str;               /* host shares the field */
}

size_t pl__cmd_payload_size(const pl__task *t)
{
    return t->cmd.kind == PL_CMD_SEND ? t->data_len : (size_t)t->cmd.len + 1;
}
