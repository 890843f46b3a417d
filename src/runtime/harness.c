/* harness.c — a backend that performs nothing and records everything.
 *
 * It holds the tasks submitted to it so a test can answer them by id, and
 * logs each submission and cancellation. See include/pluto/harness.h; mark
 * and rewind are in harness_mark.c.
 */
#include "runtime/harness_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The harness is a test's world, not code under test: a fuzzer learns
 * nothing from its branches, and tracing them would cost every input. */
#if defined(__clang__) && __clang_major__ >= 13
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#endif

/* A copy of p[0..n) among the records' bytes. */
static void *keep(pl__bytes *k, const void *p, size_t n)
{
    while (k->cur == NULL || k->cur->cap - k->used < n) {
        pl__chunk *next = k->cur ? k->cur->next : k->first;
        if (next == NULL || next->cap < n) {        /* a new chunk, before a short one */
            size_t cap = n > 64 * 1024 ? n : 64 * 1024;
            pl__chunk *c = malloc(sizeof *c + cap);
            PL_ASSERT(c != NULL);
            *c = (pl__chunk){ next, cap };
            *(k->cur ? &k->cur->next : &k->first) = c;
            next = c;
        }
        k->cur = next;
        k->used = 0;
    }
    void *d = k->cur->b + k->used;
    memcpy(d, p, n);
    k->used += n;
    return d;
}

static void record(pl_harness *h, pl__task *t, bool cancel)
{
    if (h->nlog == h->caplog) {
        h->caplog = h->caplog ? h->caplog * 2 : 32;
        h->log = realloc(h->log, h->caplog * sizeof *h->log);
        PL_ASSERT(h->log != NULL);
    }
    pl_hcmd *c = &h->log[h->nlog++];
    *c = (pl_hcmd){ .task = t->id, .cancel = cancel, .cmd = pl__cmd_public(t) };
    if (t->cmd.kind != PL_CMD_SEND && t->str) {
        const char *s = keep(&h->bytes, t->str, t->cmd.len + 1);
        if (c->cmd.text)
            c->cmd.text = s;
        else
            c->cmd.host = s;
    }
    if (t->data_len) {
        c->data = keep(&h->bytes, t->data, t->data_len);
        c->len = t->data_len;
    }
}

static void hb_destroy(void *b) { (void)b; }
static void hb_kick(void *b) { (void)b; }
static int hb_poll(void *b, bool block) { (void)b; (void)block; return -1; }
static void hb_finish(void *b, int code) { (void)b; (void)code; }

static void hb_submit(void *b, pl__task *t)
{
    pl_harness *h = b;
    record(h, t, false);
    if (h->nheld == h->capheld) {
        h->capheld = h->capheld ? h->capheld * 2 : 32;
        h->held = realloc(h->held, h->capheld * sizeof *h->held);
        PL_ASSERT(h->held != NULL);
    }
    h->held[h->nheld++] = t;
}

static ssize_t find(const pl_harness *h, pl_task_id id)
{
    for (size_t i = 0; i < h->nheld; i++)
        if (h->held[i]->id == id)
            return (ssize_t)i;
    return -1;
}

static void release(pl_harness *h, size_t i)
{
    memmove(&h->held[i], &h->held[i + 1], (h->nheld - i - 1) * sizeof *h->held);
    h->nheld--;
}

static void hb_cancel(void *b, pl__task *t)
{
    pl_harness *h = b;
    ssize_t i = find(h, t->id);
    if (i >= 0)
        release(h, (size_t)i);
    record(h, t, true);
}

static const pl__backend harness_backend = {
    .name = "harness", .create = NULL, .destroy = hb_destroy, .submit = hb_submit,
    .cancel = hb_cancel, .kick = hb_kick, .poll = hb_poll, .finish = hb_finish,
};

pl_harness *pl_harness_start(const pl_program *p, const void *cfg, uint32_t max_open)
{
    pl_harness *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    pl__hmark_init(&h->m);
    pl_run_opts o = { .backend = PL_BACKEND_SIM, .max_open = max_open };
    h->rt = pl__rt_create(p, &harness_backend, h, &o);   /* the harness is the state */
    if (h->rt == NULL) {
        free(h);
        return NULL;
    }
    pl__start(h->rt, p, cfg);
    pl__run_ready(h->rt);
    pl__reap(h->rt);
    return h;
}

size_t pl_harness_count(const pl_harness *h) { return h->nlog; }

const pl_hcmd *pl_harness_cmd(const pl_harness *h, size_t i)
{
    return i < h->nlog ? &h->log[i] : NULL;
}

int pl_harness_answer(pl_harness *h, pl_task_id task, const pl_answer *a)
{
    ssize_t i = find(h, task);
    if (i < 0 || h->rt->exiting)
        return -ENOENT;
    pl__task *t = h->held[i];
    pl_answer copy = *a;
    bool final = t->cmd.kind != PL_CMD_LISTEN && t->cmd.kind != PL_CMD_RECV &&
                 t->cmd.kind != PL_CMD_READ_FILE && t->cmd.kind != PL_CMD_SIGNAL &&
                 !(t->cmd.kind == PL_CMD_TIMER && t->cmd.every_ms);
    if (a->err || (t->cmd.kind == PL_CMD_RECV && a->len == 0) ||
        (t->cmd.kind == PL_CMD_READ_FILE && a->eof))
        final = true;
    if (final)
        release(h, (size_t)i);        /* the backend lets go before a final answer */
    if (a->kind == PL_ANS_CLIENT && a->err == 0)
        pl__fd_opened(h->rt, a->fd);
    pl__deliver(h->rt, t, &copy);
    pl__run_ready(h->rt);
    pl__reap(h->rt);
    return 0;
}

bool pl_harness_pending(const pl_harness *h, pl_task_id task) { return find(h, task) >= 0; }

bool pl_harness_exited(const pl_harness *h, int *code)
{
    if (code)
        *code = h->rt->exit_code;
    return h->rt->exiting;
}

uint64_t pl_harness_trace(const pl_harness *h) { return h->rt->trace; }

void pl_harness_trace_off(pl_harness *h) { h->rt->traced = false; }

void pl_harness_destroy(pl_harness *h)
{
    if (h == NULL)
        return;
    h->nheld = 0;
    pl__rt_destroy(h->rt);
    for (pl__chunk *c = h->bytes.first, *next; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
    pl__hmark_free(&h->m);
    free(h->pooled);
    free(h->log);
    free(h->held);
    free(h);
}

#if defined(__clang__) && __clang_major__ >= 13
#pragma clang attribute pop
#endif
