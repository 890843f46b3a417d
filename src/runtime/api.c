/* api.c — the effects a handler may use: send, bind/join/first, ret, exit,
 * shared references. Each only records a decision in the call's context;
 * the core acts on it after the handler returns (dispatch.c).
 */
#include "runtime/rt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pl__task *emit(pl_ctx *cx, pl__comp *comp, const pl_cmd *cmd,
                      const pl_handler *h, const void *mem, size_t len)
{
    pl__task *t = pl__task_new(cx, comp, cmd, h, mem, len);
    t->born = cx->rt->call_seq;
    pl__fifo_push(&cx->emit, t);
    return t;
}

pl_task_id pl_send(pl_ctx *cx, const pl_cmd *cmd, const pl_handler *h,
                   const void *mem, size_t len)
{
    PL_ASSERT(cx != NULL && cmd != NULL);
    return emit(cx, cx->comp, cmd, h, mem, len)->id;
}

void pl_consume(pl_ctx *cx, size_t n)
{
    cx->consumed = n;
}

void pl_timeout(pl_ctx *cx, uint64_t ms)
{
    cx->timeout_set = true;
    cx->timeout_ms = ms;
}

void pl_write(pl_ctx *cx, int fd, const void *buf, size_t len)
{
    pl_iov iov = { buf, len };
    pl_cmd c = pl_cmd_writev(fd, &iov, 1);
    pl_send(cx, &c, NULL, NULL, 0);
}

static void vlog(pl_ctx *cx, int flags, const char *fmt, va_list ap)
{
    char line[PL_LOG_MAX];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        n = 0;
    pl_cmd c = pl_cmd_log(line);
    c.flags = flags;
    c.len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    if (c.len == 0)
        c.text = "";
    pl_send(cx, &c, NULL, NULL, 0);
}

void pl_logf(pl_ctx *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(cx, 0, fmt, ap);
    va_end(ap);
}

void pl_errf(pl_ctx *cx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(cx, PL_LOG_ERR, fmt, ap);
    va_end(ap);
}

/* The continuation, parked on its join; the sides are started. */
static pl__task *start_join(pl_ctx *cx, pl__jkind kind, const pl_start *a,
                            const pl_start *b, const pl_handler *then,
                            const void *mem, size_t len)
{
    pl_rt *rt = cx->rt;
    pl__join *j = calloc(1, sizeof *j);
    PL_ASSERT(j != NULL);
    j->kind = kind;
    pl_cmd none = pl_cmd_none();
    pl__task *t = pl__task_new(cx, cx->comp, &none, then, mem, len);
    t->born = rt->call_seq;
    t->state = PL__T_PARKED;
    t->join = j;
    j->then = t;
    const pl_start *sides[2] = { a, b };
    for (int i = 0; i < (kind == PL__J_BIND ? 1 : 2); i++) {
        pl__comp *c = pl__comp_new(rt, cx->comp, j, i);
        j->side[i] = c;
        emit(cx, c, &sides[i]->cmd, sides[i]->h, sides[i]->mem, sides[i]->len);
    }
    return t;
}

pl_task_id pl_bind(pl_ctx *cx, const pl_start *a, const pl_handler *then,
                   const void *mem, size_t len)
{
    return start_join(cx, PL__J_BIND, a, NULL, then, mem, len)->id;
}

pl_task_id pl_join(pl_ctx *cx, const pl_start *a, const pl_start *b,
                   const pl_handler *then, const void *mem, size_t len)
{
    return start_join(cx, PL__J_JOIN, a, b, then, mem, len)->id;
}

pl_task_id pl_first(pl_ctx *cx, const pl_start *a, const pl_start *b,
                    const pl_handler *then, const void *mem, size_t len)
{
    return start_join(cx, PL__J_FIRST, a, b, then, mem, len)->id;
}

pl_task_id pl_first_graceful(pl_ctx *cx, const pl_start *a, const pl_start *b,
                             const pl_handler *then, const void *mem, size_t len)
{
    pl__task *t = start_join(cx, PL__J_FIRST, a, b, then, mem, len);
    t->join->side[0]->graceful = true;
    return t->id;
}

void pl_ret(pl_ctx *cx, const void *res, size_t len)
{
    PL_ASSERT(len <= PL_RESULT_MAX);
    PL_ASSERT(!cx->returned);
    cx->returned = true;
    cx->ret.len = (uint32_t)len;
    if (len)
        memcpy(cx->ret.data, res, len);
}

void pl_exit(pl_ctx *cx, int code)
{
    if (!cx->exit) {
        cx->exit = true;
        cx->exit_code = code;
    }
}

pl_task_id pl_self(const pl_ctx *cx)
{
    return cx->self ? cx->self->id : 0;
}

pl_ref pl_ref_new(pl_ctx *cx, const void *init, size_t len)
{
    pl_rt *rt = cx->rt;
    pl__ref *refs = realloc(rt->refs, (rt->nrefs + 1) * sizeof *refs);
    PL_ASSERT(refs != NULL);
    rt->refs = refs;
    refs[rt->nrefs] = (pl__ref){ NULL, 0 };
    pl_ref r = rt->nrefs++;
    pl_ref_set(cx, r, init, len);
    return r;
}

const void *pl_ref_get(pl_ctx *cx, pl_ref ref, size_t *len)
{
    PL_ASSERT(ref < cx->rt->nrefs);
    if (len)
        *len = cx->rt->refs[ref].len;
    return cx->rt->refs[ref].p;
}

void *pl_ref_mut(pl_ctx *cx, pl_ref ref, size_t *len)
{
    PL_ASSERT(ref < cx->rt->nrefs);
    if (len)
        *len = cx->rt->refs[ref].len;
    return cx->rt->refs[ref].p;
}

void pl_ref_set(pl_ctx *cx, pl_ref ref, const void *val, size_t len)
{
    pl_rt *rt = cx->rt;
    PL_ASSERT(ref < rt->nrefs && len <= (size_t)1 << 30);
    uint8_t *p = val ? malloc(len ? len : 1) : calloc(1, len ? len : 1);
    PL_ASSERT(p != NULL);
    if (len && val)
        memcpy(p, val, len);
    free(rt->refs[ref].p);
    rt->refs[ref] = (pl__ref){ p, len };
    uint64_t tag[3] = { 0x52454657u, ref, len };
    pl__trace_mix(rt, tag, sizeof tag);
    if (val)                        /* zeroes add nothing the length does not say */
        pl__trace_mix(rt, p, len);
}

void *pl_ref_resize(pl_ctx *cx, pl_ref ref, size_t len)
{
    pl_rt *rt = cx->rt;
    PL_ASSERT(ref < rt->nrefs && len <= (size_t)1 << 30);
    pl__ref *r = &rt->refs[ref];
    uint8_t *p = realloc(r->p, len ? len : 1);
    PL_ASSERT(p != NULL);
    if (len > r->len)
        memset(p + r->len, 0, len - r->len);
    *r = (pl__ref){ p, len };
    uint32_t tag[2] = { 0x52455a45u, ref };
    pl__trace_mix(rt, tag, sizeof tag);
    pl__trace_mix(rt, &len, sizeof len);
    return p;
}

const char *pl_dirent_next(size_t *pos, const pl_answer *ans, pl_ftype *type)
{
    if (*pos >= ans->len)
        return NULL;
    const char *p = (const char *)ans->data + *pos;
    *type = (pl_ftype)(uint8_t)p[0];
    size_t n = strnlen(p + 1, ans->len - *pos - 1);
    *pos += n + 2;
    return p + 1;
}

const char *pl_strerror(int err)
{
    return err == 0 ? "ok" : strerror(-err);
}
