/* test_harness_rewind.c — pl_harness_mark / pl_harness_rewind: a program
 * brought back to a marked state runs as it did from there the first time.
 *
 * The program: a listener, and per client a receiver that stores the
 * second byte of each chunk at page (first byte) of a large ref, and
 * answers with what that page held before. A run that wrote a page must
 * leave nothing for the next one after a rewind.
 */
#include "scenario.h"

enum { PAGES = 64, PAGE_BYTES = 4096 };

typedef struct refs { pl_ref big, small; } refs;

static pl_verdict on_data(pl_ctx *cx, void *mem, const pl_answer *a)
{
    const refs *r = mem;
    if (a->len < 2) {
        pl_cmd close = pl_cmd_close(3);
        pl_send(cx, &close, NULL, NULL, 0);
        return PL_DONE;
    }
    uint8_t *big = pl_ref_mut(cx, r->big, NULL);
    uint8_t was = big[(a->data[0] % PAGES) * PAGE_BYTES + 100];
    big[(a->data[0] % PAGES) * PAGE_BYTES + 100] = a->data[1];
    uint32_t *count = pl_ref_mut(cx, r->small, NULL);
    ++*count;
    pl_write(cx, 3, &was, 1);
    pl_consume(cx, a->len);
    return PL_KEEP;
}
static PL_HANDLER(h_data, on_data);

static pl_verdict on_client(pl_ctx *cx, void *mem, const pl_answer *a)
{
    if (a->kind != PL_ANS_CLIENT)
        return PL_KEEP;
    pl_cmd recv = pl_cmd_recv(a->fd);
    pl_send(cx, &recv, &h_data, mem, sizeof(refs));
    return PL_KEEP;
}
static PL_HANDLER(h_client, on_client);

static void start(pl_ctx *cx, const void *cfg)
{
    refs r = { pl_ref_new(cx, NULL, PAGES * PAGE_BYTES), pl_ref_new(cx, NULL, 4) };
    pl_cmd listen = pl_cmd_listen("127.0.0.1", 9);
    pl_send(cx, &listen, &h_client, &r, sizeof r);
}

static const pl_handler *const handlers[] = { &h_client, &h_data, NULL };
static const pl_program prog = { .name = "pages", .handlers = handlers, .start = start };

/* Started, listening, marked: the listener's task id. */
static pl_task_id marked(pl_harness **h)
{
    *h = pl_harness_start(&prog, NULL, 0);
    cr_assert_not_null(*h);
    pl_task_id l = pl_harness_cmd(*h, 0)->task;
    answer(*h, l, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 9 });
    pl_harness_mark(*h);
    return l;
}

/* One client writing v at each page of pages[0..n); the bytes it got back
 * (what each page held), and the receiver's task id. */
static pl_task_id client(pl_harness *h, pl_task_id l, const uint8_t *pages, size_t n,
                         uint8_t v, uint8_t *got)
{
    size_t at = pl_harness_count(h);
    answer(h, l, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 3 });
    expect_cmd(h, at, PL_CMD_RECV);
    pl_task_id rx = pl_harness_cmd(h, at)->task;
    for (size_t i = 0; i < n; i++) {
        uint8_t d[2] = { pages[i], v };
        at = pl_harness_count(h);
        answer(h, rx, (pl_answer){ .kind = PL_ANS_DATA, .data = d, .len = 2 });
        const pl_hcmd *s = find_cmd(h, at, PL_CMD_SEND);
        cr_assert_not_null(s);
        got[i] = s->data[0];
        answer(h, s->task, (pl_answer){ .kind = PL_ANS_SENT, .n = 1 });
    }
    at = pl_harness_count(h);
    answer(h, rx, (pl_answer){ .kind = PL_ANS_DATA, .len = 0 });
    const pl_hcmd *c = find_cmd(h, at, PL_CMD_CLOSE);
    cr_assert_not_null(c);
    answer(h, c->task, (pl_answer){ .kind = PL_ANS_DONE });
    return rx;
}

Test(harness_rewind, a_run_leaves_nothing_behind)
{
    pl_harness *h;
    pl_task_id l = marked(&h);
    size_t count = pl_harness_count(h);
    uint64_t trace = pl_harness_trace(h);
    /* Pages written twice, pages left alone for long (given back), others. */
    static const uint8_t lists[3][6] = {
        { 0, 1, 17, 40, 63, 17 }, { 17, 2, 17, 1, 63, 0 }, { 5, 5, 6, 5, 6, 5 },
    };
    pl_task_id rx = 0;
    for (int round = 0; round < 48; round++) {
        const uint8_t *pages = lists[round < 20 ? round % 2 : round < 46 ? 2 : round % 2];
        uint8_t v = (uint8_t)(round + 1), got[6], sim[PAGES] = { 0 };
        pl_task_id rx2 = client(h, l, pages, 6, v, got);
        cr_assert(rx == 0 || rx2 == rx, "round %d: the same ids again", round);
        rx = rx2;
        for (int i = 0; i < 6; i++) {           /* as from the mark: all zeroes */
            cr_assert_eq(got[i], sim[pages[i]], "round %d: page %d held %d", round,
                         pages[i], got[i]);
            sim[pages[i]] = v;
        }
        cr_assert_eq(pl_harness_rewind(h), 0);
        cr_assert_eq(pl_harness_count(h), count, "the run's records are dropped");
        cr_assert_eq(pl_harness_trace(h), trace);
    }
    pl_harness_destroy(h);
}

Test(harness_rewind, refuses_when_the_program_is_elsewhere)
{
    pl_harness *h = pl_harness_start(&prog, NULL, 0);
    cr_assert_eq(pl_harness_rewind(h), -EBUSY, "nothing marked");
    pl_harness_destroy(h);

    pl_task_id l = marked(&h);
    answer(h, l, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 3 });
    cr_assert_eq(pl_harness_rewind(h), -EBUSY, "a receiver is still there");
    pl_harness_destroy(h);
}
