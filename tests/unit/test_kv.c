/* test_kv.c — the kv app, run by hand: request bytes in, exact responses out.
 *
 * Each test starts the program in a harness, answers its TIME (a fixed
 * Date), its LISTEN and one CLIENT on fd 7, then feeds request bytes to the
 * connection's receiver and reads back every byte it sends (answering each
 * SEND, so the ones queued behind it follow).
 */
#include "scenario.h"
#include "apps/kv.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#define DATE "Tue, 14 Nov 2023 22:13:20 GMT"
#define HEAD_204 "HTTP/1.1 204 No Content\r\nServer: pluto\r\nDate: " DATE "\r\n" \
                 "X-Content-Type-Options: nosniff\r\n\r\n"

typedef struct kvt {
    pl_harness *h;
    pl_task_id rx;              /* the connection's receiver */
    int fd;
    size_t seen;                /* commands looked at by take() */
    char *out;                  /* bytes sent on fd since the last take() */
    size_t len, cap;
} kvt;

/* A program wrapping kv with a repeating timer whose ticks set the `full`
 * flag (odd tick numbers) or clear it (even ones), the way a machine that
 * watches its journal will. */
static pl_verdict on_toggle(pl_ctx *cx, void *mem, const pl_answer *a)
{
    kv_set_full(cx, mem, a->n % 2 == 1);
    return PL_KEEP;
}
static PL_HANDLER(h_toggle, on_toggle);

static void toggle_start(pl_ctx *cx, const void *cfg)
{
    kv_refs r = kv_state_new(cx, cfg);
    kv_run(cx, cfg, &r);
    pl_cmd t = pl_cmd_timer(3600000, 3600000);
    pl_send(cx, &t, &h_toggle, &r, sizeof r);
}

static const pl_handler *toggle_handlers[32];
static pl_program toggle_program;

static void make_toggle_program(void)
{
    size_t n = 0;
    for (; pl_app_kv.handlers[n] != NULL; n++)
        toggle_handlers[n] = pl_app_kv.handlers[n];
    toggle_handlers[n++] = &h_toggle;
    toggle_handlers[n] = NULL;
    toggle_program = pl_app_kv;
    toggle_program.handlers = toggle_handlers;
    toggle_program.start = toggle_start;
}

static kv_cfg default_cfg(void)
{
    kv_cfg cfg;
    char err[128];
    cr_assert_eq(pl_app_kv.parse(&cfg, 0, NULL, err, sizeof err), 0);
    return cfg;
}

static kvt start_with(const pl_program *p, const kv_cfg *cfg)
{
    kvt t = { .h = pl_harness_start(p, cfg, 0), .fd = 7 };
    cr_assert_not_null(t.h);
    const pl_hcmd *time = find_cmd(t.h, 0, PL_CMD_TIME);
    cr_assert_not_null(time);
    answer(t.h, time->task, (pl_answer){ .kind = PL_ANS_TIME,
                                         .wall_ns = 1700000000LL * 1000000000LL });
    const pl_hcmd *listen = find_cmd(t.h, 0, PL_CMD_LISTEN);
    cr_assert_not_null(listen);
    answer(t.h, listen->task, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 8080 });
    answer(t.h, listen->task, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = t.fd });
    const pl_hcmd *recv = find_cmd(t.h, 0, PL_CMD_RECV);
    cr_assert_not_null(recv);
    cr_assert_eq(recv->cmd.fd, t.fd);
    t.rx = recv->task;
    t.seen = pl_harness_count(t.h);
    return t;
}

static kvt start_program(const pl_program *p)
{
    kv_cfg cfg = default_cfg();
    return start_with(p, &cfg);
}

static kvt start(void) { return start_program(&pl_app_kv); }

static void stop(kvt *t)
{
    pl_harness_destroy(t->h);
    free(t->out);
}

static void feed_n(kvt *t, const void *p, size_t n)
{
    answer(t->h, t->rx, (pl_answer){ .kind = PL_ANS_DATA, .data = p, .len = n });
}

static void feed(kvt *t, const char *s) { feed_n(t, s, strlen(s)); }

/* Every byte sent on fd since the last call (NUL-terminated; *len if given). */
static const char *take_n(kvt *t, size_t *len)
{
    t->len = 0;
    for (size_t i = t->seen; i < pl_harness_count(t->h); i++) {
        const pl_hcmd *c = pl_harness_cmd(t->h, i);
        t->seen = i + 1;
        if (c->cancel || c->cmd.kind != PL_CMD_SEND || c->cmd.fd != t->fd)
            continue;
        if (t->len + c->len + 1 > t->cap) {
            t->cap = (t->len + c->len + 1) * 2;
            t->out = realloc(t->out, t->cap);
            cr_assert_not_null(t->out);
        }
        memcpy(t->out + t->len, c->data, c->len);
        t->len += c->len;
        answer(t->h, c->task, (pl_answer){ .kind = PL_ANS_SENT, .n = c->len });
    }
    if (t->out == NULL) {
        t->cap = 1;
        t->out = malloc(1);
    }
    t->out[t->len] = 0;
    if (len)
        *len = t->len;
    return t->out;
}

static const char *take(kvt *t) { return take_n(t, NULL); }

static bool closed(kvt *t)
{
    for (size_t i = 0; i < pl_harness_count(t->h); i++) {
        const pl_hcmd *c = pl_harness_cmd(t->h, i);
        if (!c->cancel && c->cmd.kind == PL_CMD_CLOSE && c->cmd.fd == t->fd)
            return true;
    }
    return false;
}

/* The status of the first response in s. */
static int status_of(const char *s)
{
    cr_assert(strncmp(s, "HTTP/1.1 ", 9) == 0, "not a response: %.40s", s);
    return atoi(s + 9);
}

/* How many responses s holds, and their statuses in st. */
static int statuses(const char *s, int *st, int max)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, "HTTP/1.1 ")) != NULL && n < max; p += 9)
        st[n++] = atoi(p + 9);
    return n;
}

static void put(kvt *t, const char *key, const char *body)
{
    char req[1024];
    snprintf(req, sizeof req, "PUT /kv/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s",
             key, strlen(body), body);
    feed(t, req);
    cr_assert_str_eq(take(t), HEAD_204, "PUT %s", key);
}

static const char *get(kvt *t, const char *key)
{
    char req[512];
    snprintf(req, sizeof req, "GET /kv/%s HTTP/1.1\r\nHost: x\r\n\r\n", key);
    feed(t, req);
    return take(t);
}

static const char *body_of(const char *resp)
{
    const char *b = strstr(resp, "\r\n\r\n");
    cr_assert_not_null(b);
    return b + 4;
}

Test(kv, starts_with_time_then_listens_with_signals_and_a_clock)
{
    kv_cfg cfg;
    char err[128];
    cr_assert_eq(pl_app_kv.parse(&cfg, 0, NULL, err, sizeof err), 0);
    pl_harness *h = pl_harness_start(&pl_app_kv, &cfg, 0);
    cr_assert_eq(pl_harness_count(h), 1);
    expect_cmd(h, 0, PL_CMD_TIME);
    answer(h, pl_harness_cmd(h, 0)->task, (pl_answer){ .kind = PL_ANS_TIME });
    expect_cmd(h, 1, PL_CMD_LISTEN);
    cr_assert_str_eq(pl_harness_cmd(h, 1)->cmd.host, "127.0.0.1");
    cr_assert_eq(pl_harness_cmd(h, 1)->cmd.port, 8080);
    expect_cmd(h, 2, PL_CMD_TIMER);
    cr_assert_eq(pl_harness_cmd(h, 2)->cmd.every_ms, 1000, "the Date clock");
    expect_cmd(h, 3, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 3)->cmd.signo, SIGINT);
    expect_cmd(h, 4, PL_CMD_SIGNAL);
    cr_assert_eq(pl_harness_cmd(h, 4)->cmd.signo, SIGTERM);
    answer(h, pl_harness_cmd(h, 1)->task, (pl_answer){ .kind = PL_ANS_LISTENING, .port = 8080 });
    expect_log(h, 5, "kv listening on http://127.0.0.1:8080/");
    pl_harness_destroy(h);
}

Test(kv, put_then_get_returns_the_body)
{
    kvt t = start();
    feed(&t, "PUT /kv/greeting HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    cr_assert_str_eq(take(&t), HEAD_204);
    feed(&t, "GET /kv/greeting HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_str_eq(take(&t), "HTTP/1.1 200 OK\r\nServer: pluto\r\nDate: " DATE "\r\n"
                               "Content-Type: application/octet-stream\r\n"
                               "Content-Length: 5\r\nX-Content-Type-Options: nosniff\r\n"
                               "\r\nhello");
    feed(&t, "HEAD /kv/greeting HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *r = take(&t);
    cr_assert(strstr(r, "Content-Length: 5\r\n") != NULL, "HEAD keeps the length");
    cr_assert_str_eq(body_of(r), "", "HEAD has no body");
    put(&t, "greeting", "bye");
    cr_assert_str_eq(body_of(get(&t, "greeting")), "bye", "a PUT replaces the value");
    put(&t, "empty", "");
    r = get(&t, "empty");
    cr_assert_eq(status_of(r), 200);
    cr_assert(strstr(r, "Content-Length: 0\r\n") != NULL);
    cr_assert(!closed(&t), "keep-alive");
    stop(&t);
}

Test(kv, binary_values_round_trip)
{
    kvt t = start();
    char body[256];
    for (int i = 0; i < 256; i++)
        body[i] = (char)i;
    const char *head = "PUT /kv/bin HTTP/1.1\r\nHost: x\r\nContent-Length: 256\r\n\r\n";
    feed(&t, head);
    feed_n(&t, body, sizeof body);
    cr_assert_str_eq(take(&t), HEAD_204);
    feed(&t, "GET /kv/bin HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t len;
    const char *r = take_n(&t, &len);
    const char *b = body_of(r);
    cr_assert_eq(len - (size_t)(b - r), 256);
    cr_assert(memcmp(b, body, 256) == 0);
    stop(&t);
}

Test(kv, head_and_body_split_across_many_reads)
{
    kvt t = start();
    char body[1000];
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (char)('a' + i % 26);
    char req[1200];
    int n = snprintf(req, sizeof req, "PUT /kv/split HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 1000\r\n\r\n");
    memcpy(req + n, body, sizeof body);
    size_t total = (size_t)n + sizeof body;
    for (size_t off = 0; off < total; off += 7) {
        cr_assert_str_eq(take(&t), "", "nothing before the body is complete");
        feed_n(&t, req + off, total - off < 7 ? total - off : 7);
    }
    cr_assert_str_eq(take(&t), HEAD_204);
    const char *r = get(&t, "split");
    cr_assert(strstr(r, "Content-Length: 1000\r\n") != NULL);
    cr_assert(memcmp(body_of(r), body, sizeof body) == 0);
    stop(&t);
}

Test(kv, a_one_mib_body_in_64_kib_reads_then_one_byte_more_is_413)
{
    kvt t = start();
    size_t max = KV_BODY_MAX;
    char *body = malloc(max);
    for (size_t i = 0; i < max; i++)
        body[i] = (char)(i * 7 + i / 4096);
    feed(&t, "PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n");
    for (size_t off = 0; off < max; off += 65536)
        feed_n(&t, body + off, 65536);
    cr_assert_str_eq(take(&t), HEAD_204);
    size_t len;
    const char *r = take_n(&t, &len), *b;
    (void)r;
    feed(&t, "GET /kv/big HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take_n(&t, &len);
    b = body_of(r);
    cr_assert_eq(len - (size_t)(b - r), max);
    cr_assert(memcmp(b, body, max) == 0);
    free(body);

    feed(&t, "PUT /kv/big2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\nxxxx");
    r = take(&t);
    cr_assert_eq(status_of(r), 413);
    cr_assert(strstr(r, "Connection: close\r\n") != NULL);
    cr_assert(!closed(&t), "what follows is drained first");
    feed(&t, "more of the body that is dropped");
    cr_assert_str_eq(take(&t), "");
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .len = 0 });
    cr_assert(closed(&t), "closed when the client is done");
    stop(&t);
}

Test(kv, drain_ends_on_its_deadline)
{
    kvt t = start();
    feed(&t, "PUT /kv/big HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 413);
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -ETIMEDOUT });
    cr_assert(closed(&t));
    cr_assert_str_eq(take(&t), "", "no 408 after the 413");
    stop(&t);
}

Test(kv, chunked_bodies_are_decoded)
{
    kvt t = start();
    const char *req = "PUT /kv/ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: yes\r\n\r\n";
    size_t n = strlen(req);
    for (size_t off = 0; off < n; off += 3)
        feed_n(&t, req + off, n - off < 3 ? n - off : 3);
    cr_assert_str_eq(take(&t), HEAD_204);
    const char *r = get(&t, "ch");
    cr_assert(strstr(r, "Content-Length: 11\r\n") != NULL);
    cr_assert_str_eq(body_of(r), "hello world");
    /* In one read, followed by a pipelined request. */
    feed(&t, "PUT /kv/ch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "3\r\nabc\r\n0\r\n\r\nGET /kv/ch HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(&t);
    cr_assert(strncmp(r, HEAD_204, strlen(HEAD_204)) == 0);
    cr_assert_str_eq(body_of(r + strlen(HEAD_204)), "abc");
    stop(&t);
}

Test(kv, a_large_chunked_body_and_one_too_large)
{
    kvt t = start();
    size_t max = KV_BODY_MAX;
    char *body = malloc(max + 64);
    int n = snprintf(body, 64, "%zx\r\n", max);
    memset(body + n, 'z', max);
    memcpy(body + n + max, "\r\n0\r\n\r\n", 7);
    feed(&t, "PUT /kv/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (size_t off = 0, total = (size_t)n + max + 7; off < total; off += 50000)
        feed_n(&t, body + off, total - off < 50000 ? total - off : 50000);
    cr_assert_str_eq(take(&t), HEAD_204, "exactly 1 MiB, chunked");
    const char *r = get(&t, "big");
    cr_assert(strstr(r, "Content-Length: 1048576\r\n") != NULL);
    free(body);

    feed(&t, "PUT /kv/big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "80000\r\n");
    cr_assert_str_eq(take(&t), "");
    char part[0x80000];
    memset(part, 'q', sizeof part);
    feed_n(&t, part, sizeof part);
    feed(&t, "\r\n80001\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 413, "%s", r);
    cr_assert(strstr(r, "Connection: close\r\n") != NULL);
    r = get(&t, "big");
    cr_assert_str_eq(r, "", "draining: no more requests on this connection");
    stop(&t);

    t = start();
    feed(&t, "PUT /kv/bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n");
    cr_assert_eq(status_of(take(&t)), 400, "a malformed chunk size");
    stop(&t);
}

Test(kv, unknown_keys_are_404_and_delete_removes)
{
    kvt t = start();
    const char *r = get(&t, "__probe");
    cr_assert_eq(status_of(r), 404);
    cr_assert(strstr(r, "Content-Type: text/plain; charset=utf-8\r\n") != NULL);
    cr_assert_str_eq(body_of(r), "404 Not Found\n");
    feed(&t, "HEAD /kv/__probe HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 404);
    cr_assert_str_eq(body_of(r), "");
    put(&t, "k", "v");
    feed(&t, "DELETE /kv/k HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_str_eq(take(&t), HEAD_204);
    cr_assert_eq(status_of(get(&t, "k")), 404);
    feed(&t, "DELETE /kv/k HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 404, "deleting an absent key");
    put(&t, "k", "again");
    cr_assert_str_eq(body_of(get(&t, "k")), "again", "a deleted key can come back");
    feed(&t, "GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 404);
    feed(&t, "GET /kv HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 404);
    cr_assert(!closed(&t));
    stop(&t);
}

Test(kv, many_keys_through_tombstones_and_rebuilds)
{
    kvt t = start();
    char key[32], val[32], req[128];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 3000; i++) {
            snprintf(key, sizeof key, "key%d", i);
            snprintf(val, sizeof val, "v%d.%d", i, round);
            put(&t, key, val);
        }
        for (int i = 0; i < 3000; i += 2) {
            snprintf(req, sizeof req, "DELETE /kv/key%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
            feed(&t, req);
            cr_assert_str_eq(take(&t), HEAD_204);
        }
        for (int i = 0; i < 3000; i++) {
            snprintf(key, sizeof key, "key%d", i);
            snprintf(val, sizeof val, "v%d.%d", i, round);
            const char *r = get(&t, key);
            if (i % 2)
                cr_assert_str_eq(body_of(r), val);
            else
                cr_assert_eq(status_of(r), 404);
        }
    }
    feed(&t, "GET /kv/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *b = body_of(take(&t));
    size_t commas = 0;
    for (const char *p = b; *p; p++)
        commas += *p == ',';
    cr_assert_eq(commas + 1, 1500);
    stop(&t);
}

/* The limits, made small: keys_max keys in one pipelined read, then a new key
 * is 507 while an existing one can still be replaced and a delete makes room;
 * a value that would pass bytes_max is 507, by its Content-Length or at the
 * end of a chunked body. */
Test(kv, the_limits_are_507)
{
    kv_cfg cfg = default_cfg();
    cr_assert_eq(cfg.keys_max, KV_KEYS_MAX);
    cr_assert_eq(cfg.bytes_max, KV_BYTES_MAX);
    cfg.keys_max = 100;
    cfg.bytes_max = 1000;
    kvt t = start_with(&pl_app_kv, &cfg);
    char reqs[100 * 64], *p = reqs;
    for (int i = 0; i < 100; i++)
        p += sprintf(p, "PUT /kv/k%d HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n.", i);
    feed_n(&t, reqs, (size_t)(p - reqs));
    size_t len;
    take_n(&t, &len);
    cr_assert_eq(len, 100 * strlen(HEAD_204));        /* 390 bytes stored */
    put(&t, "k7", "replaced");                        /* 397 */
    feed(&t, "PUT /kv/one-more HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n.");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 507, "%s", r);
    cr_assert(!closed(&t), "the body was skipped");
    feed(&t, "DELETE /kv/k8 HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_str_eq(take(&t), HEAD_204);
    put(&t, "one-more", ".");                         /* 403 */
    cr_assert_str_eq(body_of(get(&t, "k7")), "replaced");

    char big[701];
    memset(big, 'b', 700);
    big[700] = 0;
    char req[1024];
    snprintf(req, sizeof req, "PUT /kv/k1 HTTP/1.1\r\nHost: x\r\nContent-Length: 700\r\n\r\n%s",
             big);
    feed(&t, req);
    cr_assert_eq(status_of(take(&t)), 507, "403 - 3 + 702 bytes");
    snprintf(req, sizeof req, "PUT /kv/k1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
             "\r\n2bc\r\n%s\r\n0\r\n\r\n", big);
    feed(&t, req);
    cr_assert_eq(status_of(take(&t)), 507, "the same, chunked");
    cr_assert_str_eq(body_of(get(&t, "k1")), ".", "nothing changed");
    big[500] = 0;
    put(&t, "k1", big);                               /* 902 */
    cr_assert_eq(strlen(body_of(get(&t, "k1"))), 500);
    feed(&t, "PUT /kv/k2 HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 507);
    stop(&t);
}

Test(kv, listing_is_escaped_json)
{
    kvt t = start();
    feed(&t, "GET /kv/ HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *r = take(&t);
    cr_assert(strstr(r, "Content-Type: application/json\r\n") != NULL);
    cr_assert_str_eq(body_of(r), "[]");
    put(&t, "a%22b", "1");             /* a"b */
    put(&t, "back%5Cslash", "2");      /* back\slash */
    put(&t, "tab%09nl%0A", "3");
    put(&t, "bell%07", "4");
    put(&t, "caf%C3%A9", "5");         /* café */
    put(&t, "plain", "6");
    feed(&t, "GET /kv/?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(&t);
    const char *b = body_of(r);
    char want[64];
    snprintf(want, sizeof want, "Content-Length: %zu\r\n", strlen(b));
    cr_assert(strstr(r, want) != NULL, "%s", r);
    cr_assert_eq(b[0], '[');
    cr_assert_eq(b[strlen(b) - 1], ']');
    const char *keys[] = { "\"a\\\"b\"", "\"back\\\\slash\"", "\"tab\\tnl\\n\"",
                           "\"bell\\u0007\"", "\"caf\xc3\xa9\"", "\"plain\"" };
    size_t total = 2 + 5;
    for (size_t i = 0; i < 6; i++) {
        cr_assert(strstr(b, keys[i]) != NULL, "%s in %s", keys[i], b);
        total += strlen(keys[i]);
    }
    cr_assert_eq(strlen(b), total, "six keys and five commas: %s", b);
    cr_assert_str_eq(body_of(get(&t, "a%22b")), "1", "the decoded key names the value");
    cr_assert_str_eq(body_of(get(&t, "a\"b")), "1", "raw or encoded, the same key");
    stop(&t);
}

Test(kv, bad_keys_are_400)
{
    kvt t = start();
    const char *bad[] = { "a%2Fb", "a/b", "%ZZ", "%4", "..", ".", "%2e%2E", "%00x", "%FF",
                          "%C0%AF" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char req[128];
        snprintf(req, sizeof req, "PUT /kv/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 "\r\nhi", bad[i]);
        feed(&t, req);
        cr_assert_eq(status_of(take(&t)), 400, "PUT %s", bad[i]);
        cr_assert_eq(status_of(get(&t, bad[i])), 400, "GET %s", bad[i]);
    }
    char key[KV_KEY_MAX + 2];
    memset(key, 'k', sizeof key);
    key[KV_KEY_MAX + 1] = 0;
    cr_assert_eq(status_of(get(&t, key)), 400, "257 bytes");
    key[KV_KEY_MAX] = 0;
    put(&t, key, "longest");
    cr_assert_str_eq(body_of(get(&t, key)), "longest", "256 bytes");
    put(&t, "...", "three dots are a name");
    cr_assert(!closed(&t), "a bad key keeps the connection");
    stop(&t);
}

Test(kv, other_methods_are_405_with_allow)
{
    kvt t = start();
    feed(&t, "POST /kv/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 405);
    cr_assert(strstr(r, "Allow: GET, HEAD, PUT, DELETE\r\n") != NULL, "%s", r);
    feed(&t, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 405);
    cr_assert(strstr(r, "Allow: GET, HEAD\r\n") != NULL);
    feed(&t, "DELETE /kv/ HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 405);
    feed(&t, "OPTIONS /kv/x HTTP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_eq(status_of(take(&t)), 405);
    cr_assert_eq(status_of(get(&t, "x")), 404, "the POST stored nothing, the body was skipped");
    cr_assert(!closed(&t));
    stop(&t);
}

Test(kv, full_refuses_put_and_delete_with_503_but_serves_get)
{
    make_toggle_program();
    kvt t = start_program(&toggle_program);
    const pl_hcmd *toggle = NULL;
    for (size_t i = 0; i < pl_harness_count(t.h); i++)
        if (pl_harness_cmd(t.h, i)->cmd.kind == PL_CMD_TIMER &&
            pl_harness_cmd(t.h, i)->cmd.every_ms == 3600000)
            toggle = pl_harness_cmd(t.h, i);
    cr_assert_not_null(toggle);
    pl_task_id tog = toggle->task;
    put(&t, "k", "before");
    answer(t.h, tog, (pl_answer){ .kind = PL_ANS_TICK, .n = 1 });   /* full */
    t.seen = pl_harness_count(t.h);
    feed(&t, "PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nafter");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 503);
    cr_assert(strstr(r, "Retry-After: 5\r\n") != NULL);
    feed(&t, "PUT /kv/new HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nn");
    cr_assert_eq(status_of(take(&t)), 503);
    feed(&t, "DELETE /kv/k HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 503);
    cr_assert(strstr(r, "Retry-After: 5\r\n") != NULL);
    cr_assert_str_eq(body_of(get(&t, "k")), "before", "GET still works, nothing changed");
    cr_assert_eq(status_of(get(&t, "new")), 404);
    cr_assert(!closed(&t));

    answer(t.h, tog, (pl_answer){ .kind = PL_ANS_TICK, .n = 2 });   /* room again */
    t.seen = pl_harness_count(t.h);
    feed(&t, "PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\naft");
    cr_assert_str_eq(take(&t), "");
    /* Full while the body arrives: refused when it is complete. */
    answer(t.h, tog, (pl_answer){ .kind = PL_ANS_TICK, .n = 3 });
    t.seen = pl_harness_count(t.h);
    feed(&t, "er");
    cr_assert_eq(status_of(take(&t)), 503);
    cr_assert_str_eq(body_of(get(&t, "k")), "before");
    answer(t.h, tog, (pl_answer){ .kind = PL_ANS_TICK, .n = 4 });
    t.seen = pl_harness_count(t.h);
    put(&t, "k", "after");
    cr_assert_str_eq(body_of(get(&t, "k")), "after");
    stop(&t);
}

Test(kv, pipelined_requests_are_answered_in_order_in_one_send)
{
    kvt t = start();
    feed(&t, "PUT /kv/p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
             "GET /kv/p HTTP/1.1\r\nHost: x\r\n\r\n"
             "PUT /kv/p HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\ntwo"
             "GET /kv/p HTTP/1.1\r\nHost: x\r\n\r\n"
             "DELETE /kv/p HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /kv/p HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /kv/ HTTP/1.1\r\nHost: x\r\n\r\n");
    size_t sends = 0;
    for (size_t i = t.seen; i < pl_harness_count(t.h); i++)
        sends += pl_harness_cmd(t.h, i)->cmd.kind == PL_CMD_SEND;
    cr_assert_eq(sends, 1, "one send for the whole read");
    const char *r = take(&t);
    int st[10];
    cr_assert_eq(statuses(r, st, 10), 7);
    int want[] = { 204, 200, 204, 200, 204, 404, 200 };
    for (int i = 0; i < 7; i++)
        cr_assert_eq(st[i], want[i], "response %d", i);
    const char *one = strstr(r, "\r\n\r\none"), *two = strstr(r, "\r\n\r\ntwo");
    cr_assert(one != NULL && two != NULL && one < two);
    cr_assert(strstr(r, "\r\n\r\n[]") != NULL);
    stop(&t);
}

Test(kv, a_pipelined_request_split_after_a_body)
{
    kvt t = start();
    feed(&t, "PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhiGET /kv/a HT");
    cr_assert_str_eq(take(&t), HEAD_204);
    feed(&t, "TP/1.1\r\nHost: x\r\n\r\n");
    cr_assert_str_eq(body_of(take(&t)), "hi");
    stop(&t);
}

/* Every phase resumes anywhere: a mix of requests gets the same bytes back
 * whether it comes in one read or in pieces of random sizes. */
Test(kv, any_split_of_the_input_gives_the_same_output)
{
    static const char mix[] =
        "PUT /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789"
        "PUT /kv/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nwiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n"
        "POST /kv/a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nskip"
        "PUT /kv/%2F HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nbad"
        "GET /kv/a HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /kv/b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nzz"
        "DELETE /kv/a HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET /kv/ HTTP/1.1\r\nHost: x\r\n\r\n"
        "HEAD /kv/a HTTP/1.1\r\nHost: x\r\n\r\n"
        "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    size_t n = sizeof mix - 1, whole_len;
    kvt t = start();
    feed_n(&t, mix, n);
    char *whole = strdup(take_n(&t, &whole_len));
    cr_assert(closed(&t));
    int st[16];
    cr_assert_eq(statuses(whole, st, 16), 10);
    int want[] = { 204, 204, 405, 400, 200, 200, 204, 200, 404, 200 };
    for (int i = 0; i < 10; i++)
        cr_assert_eq(st[i], want[i], "response %d", i);
    stop(&t);
    unsigned seed = 12345;
    for (int run = 0; run < 50; run++) {
        t = start();
        size_t len, total = 0;
        char *got = malloc(whole_len + 1);
        for (size_t off = 0; off < n;) {
            seed = seed * 1103515245 + 12345;
            size_t k = 1 + (seed >> 16) % (run < 25 ? 8 : 200);
            k = k < n - off ? k : n - off;
            feed_n(&t, mix + off, k);
            off += k;
            const char *r = take_n(&t, &len);
            cr_assert_leq(total + len, whole_len, "run %d", run);
            memcpy(got + total, r, len);
            total += len;
        }
        cr_assert_eq(total, whole_len, "run %d", run);
        cr_assert(memcmp(got, whole, whole_len) == 0, "run %d", run);
        cr_assert(closed(&t));
        free(got);
        stop(&t);
    }
    free(whole);
}

Test(kv, expect_100_continue)
{
    kvt t = start();
    feed(&t, "PUT /kv/e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
    cr_assert_str_eq(take(&t), "HTTP/1.1 100 Continue\r\n\r\n");
    feed(&t, "ok");
    cr_assert_str_eq(take(&t), HEAD_204);
    /* An error is answered at once, and the unread body is not waited for. */
    feed(&t, "PUT /kv/e HTTP/1.1\r\nHost: x\r\nContent-Length: 9999999\r\n"
             "Expect: 100-continue\r\n\r\n");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 413);
    cr_assert(strstr(r, "Connection: close\r\n") != NULL);
    stop(&t);
}

Test(kv, connection_close_and_http10)
{
    kvt t = start();
    feed(&t, "PUT /kv/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1\r\n\r\n1");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 204);
    cr_assert(strstr(r, "Connection: close\r\n") != NULL);
    cr_assert(closed(&t));
    stop(&t);

    t = start();
    feed(&t, "POST /kv/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbo");
    r = take(&t);
    cr_assert_eq(status_of(r), 405);
    cr_assert(strstr(r, "Connection: close\r\n") != NULL);
    cr_assert(!closed(&t), "the rest of the body is read first");
    feed(&t, "dy");
    cr_assert(closed(&t), "then closed, without waiting for the client");
    stop(&t);

    t = start();
    feed(&t, "GET /kv/c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 404);
    cr_assert(strstr(r, "Connection: keep-alive\r\n") != NULL, "%s", r);
    cr_assert(!closed(&t));
    feed(&t, "GET /kv/c HTTP/1.0\r\n\r\n");
    cr_assert(strstr(take(&t), "Connection: close\r\n") != NULL);
    cr_assert(closed(&t));
    stop(&t);
}

Test(kv, malformed_heads_close)
{
    kvt t = start();
    feed(&t, "GET /kv/x HTTP/1.1\r\n\r\n");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 400, "no Host");
    cr_assert(closed(&t));
    stop(&t);

    t = start();
    char *big = malloc(KV_HEAD_MAX + 64);
    int n = snprintf(big, 64, "GET /kv/x HTTP/1.1\r\nHost: x\r\nX: ");
    memset(big + n, 'a', KV_HEAD_MAX);
    big[n + KV_HEAD_MAX] = 0;
    feed(&t, big);
    cr_assert_eq(status_of(take(&t)), 431);
    cr_assert(closed(&t));
    free(big);
    stop(&t);
}

Test(kv, timeouts)
{
    kvt t = start();
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -ETIMEDOUT });
    cr_assert_str_eq(take(&t), "", "an idle connection is closed without a word");
    cr_assert(closed(&t));
    stop(&t);

    t = start();
    feed(&t, "GET /kv/x HTTP/1.1\r\nHo");
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -ETIMEDOUT });
    cr_assert_eq(status_of(take(&t)), 408);
    cr_assert(closed(&t));
    stop(&t);

    t = start();
    feed(&t, "PUT /kv/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .err = -ETIMEDOUT });
    cr_assert_eq(status_of(take(&t)), 408);
    cr_assert(closed(&t));
    stop(&t);
}

Test(kv, an_interrupted_put_stores_nothing)
{
    kvt t = start();
    put(&t, "k", "old");
    feed(&t, "PUT /kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nnew");
    answer(t.h, t.rx, (pl_answer){ .kind = PL_ANS_DATA, .len = 0 });
    cr_assert(closed(&t));
    const pl_hcmd *l = find_cmd(t.h, 0, PL_CMD_LISTEN);
    answer(t.h, l->task, (pl_answer){ .kind = PL_ANS_CLIENT, .fd = 8 });
    t.fd = 8;
    t.rx = pl_harness_cmd(t.h, pl_harness_count(t.h) - 1)->task;
    for (size_t i = pl_harness_count(t.h); i-- > 0;)
        if (pl_harness_cmd(t.h, i)->cmd.kind == PL_CMD_RECV) {
            t.rx = pl_harness_cmd(t.h, i)->task;
            break;
        }
    t.seen = pl_harness_count(t.h);
    cr_assert_str_eq(body_of(get(&t, "k")), "old");
    stop(&t);
}

Test(kv, the_page_at_root)
{
    kvt t = start();
    feed(&t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    const char *r = take(&t);
    cr_assert_eq(status_of(r), 200);
    cr_assert(strstr(r, "Content-Type: text/html; charset=utf-8\r\n") != NULL);
    cr_assert(strstr(r, "Content-Security-Policy: default-src 'none'") != NULL);
    const char *b = body_of(r);
    cr_assert(strncmp(b, "<!doctype html>", 15) == 0);
    cr_assert(strstr(b, "<script>") != NULL && strstr(b, "fetch(") != NULL);
    cr_assert(strstr(b, "src=") == NULL && strstr(b, "href=") == NULL, "no external resource");
    feed(&t, "HEAD /?q HTTP/1.1\r\nHost: x\r\n\r\n");
    r = take(&t);
    cr_assert_eq(status_of(r), 200);
    cr_assert_str_eq(body_of(r), "");
    stop(&t);
}

Test(kv, signal_stops_with_exit_0)
{
    kvt t = start();
    const pl_hcmd *sig = find_cmd(t.h, 0, PL_CMD_SIGNAL);
    answer(t.h, sig->task, (pl_answer){ .kind = PL_ANS_SIGNAL, .signo = SIGTERM });
    int code = -1;
    cr_assert(pl_harness_exited(t.h, &code));
    cr_assert_eq(code, 0);
    cr_assert(was_cancelled(t.h, t.rx), "connections end with the First");
    expect_log(t.h, pl_harness_count(t.h) - 1, "kv stopping on signal 15");
    stop(&t);
}

Test(kv, arguments)
{
    kv_cfg cfg;
    char err[128];
    char *ok[] = { "--port", "0", "--bind", "::1" };
    cr_assert_eq(pl_app_kv.parse(&cfg, 4, ok, err, sizeof err), 0);
    cr_assert_eq(cfg.port, 0);
    cr_assert_str_eq(cfg.host, "::1");
    char *bad[][2] = { { "--port", "65536" }, { "--port", "x" }, { "--frob", "1" } };
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(pl_app_kv.parse(&cfg, 2, bad[i], err, sizeof err), 2, "case %zu", i);
    char *alone[] = { "--bind" };
    cr_assert_eq(pl_app_kv.parse(&cfg, 1, alone, err, sizeof err), 2);
}
