/* test_http_parse.c — request heads and chunked bodies, valid and hostile.
 *
 * Every sample also goes through the split invariant: found byte by byte, or
 * in any two or three pieces, a head ends where it ends when found whole and
 * parses the same; a chunked body decodes to the same bytes and result.
 */
#include "http/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SIZE_LINE_MAX_TEST = 4096 };      /* chunked.c: a size line with extensions */

typedef struct sample { const char *s; int status; } sample;

/* Head length and parse status of s, found whole. */
static int parse_s(const char *s, pl_http_req *r)
{
    size_t len = strlen(s), scanned = 0;
    size_t h = pl_http_head_end(s, len, &scanned);
    return pl_http_parse_head(s, h ? h : len, r);
}

static pl_http_req req;     /* large: kept off the stack */

static bool str_is(pl_str s, const char *want)
{
    return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define OK(s) cr_assert_eq(parse_s(s, &req), 0, "%s", s)
#define BAD(s, st) cr_assert_eq(parse_s(s, &req), st, "%s", s)

/* ---- valid heads ---------------------------------------------------------- */

Test(http_parse, minimal_get)
{
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    OK(s);
    cr_assert_eq(req.method, PL_HTTP_GET);
    cr_assert(str_is(req.method_raw, "GET") && str_is(req.target, "/"));
    cr_assert_eq(req.minor, 1);
    cr_assert_eq(req.head_len, strlen(s));
    cr_assert(req.keep_alive && req.has_host && str_is(req.host, "a"));
    cr_assert(!req.has_length && !req.chunked && !req.expect_continue);
    cr_assert_eq(req.nheaders, 1);
    cr_assert_eq(req.range.len, 0);
}

Test(http_parse, head_with_headers_fills_the_slices)
{
    OK("HEAD /a/b.css?x=1 HTTP/1.1\r\n"
       "host:  example.org:8080 \r\n"
       "If-None-Match: \"a\", W/\"b\"\r\n"
       "If-Match:\t\"c\"\t\r\n"
       "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
       "If-Unmodified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
       "RANGE: bytes=0-1\r\n"
       "If-Range: \"a\"\r\n"
       "Accept-Encoding: br, gzip;q=0.5\r\n"
       "Origin: https://x.test\r\n"
       "X-Empty:\r\n"
       "\r\n");
    cr_assert_eq(req.method, PL_HTTP_HEAD);
    cr_assert(str_is(req.target, "/a/b.css?x=1"));
    cr_assert(str_is(req.host, "example.org:8080"));
    cr_assert(str_is(req.if_none_match, "\"a\", W/\"b\""));
    cr_assert(str_is(req.if_match, "\"c\""));
    cr_assert(str_is(req.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT"));
    cr_assert(str_is(req.if_unmodified_since, "Sun, 06 Nov 1994 08:49:37 GMT"));
    cr_assert(str_is(req.range, "bytes=0-1") && str_is(req.if_range, "\"a\""));
    cr_assert(str_is(req.accept_encoding, "br, gzip;q=0.5"));
    cr_assert(str_is(req.origin, "https://x.test"));
    cr_assert_eq(req.nheaders, 10);
    cr_assert(str_is(req.headers[9].name, "X-Empty") && req.headers[9].value.len == 0);
    cr_assert(str_is(pl_http_header_get(&req, "x-EMPTY"), ""));
    cr_assert(str_is(pl_http_header_get(&req, "if-match"), "\"c\""));
    cr_assert_null(pl_http_header_get(&req, "if-match-").p);
    cr_assert_null(pl_http_header_get(&req, "Cookie").p);
}

Test(http_parse, absolute_form_and_other_targets)
{
    OK("GET http://example.org/a?b HTTP/1.1\r\nHost: example.org\r\n\r\n");
    cr_assert(str_is(req.target, "http://example.org/a?b"));
    OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert(req.method == PL_HTTP_OPTIONS && str_is(req.target, "*"));
    OK("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\n\r\n");
    cr_assert_eq(req.method, PL_HTTP_CONNECT);
    OK("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n");   /* obs-text */
}

Test(http_parse, methods_map_case_sensitively)
{
    static const char *names[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS",
                                   "PATCH", "TRACE", "CONNECT", "get", "PURGE", "GETS" };
    static const pl_http_method want[] = {
        PL_HTTP_GET, PL_HTTP_HEAD, PL_HTTP_POST, PL_HTTP_PUT, PL_HTTP_DELETE,
        PL_HTTP_OPTIONS, PL_HTTP_PATCH, PL_HTTP_TRACE, PL_HTTP_CONNECT, PL_HTTP_OTHER,
        PL_HTTP_OTHER, PL_HTTP_OTHER };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s / HTTP/1.1\r\nHost: a\r\n\r\n", names[i]);
        OK(buf);
        cr_assert_eq(req.method, want[i], "%s", names[i]);
        cr_assert(str_is(req.method_raw, names[i]));
    }
}

Test(http_parse, keep_alive_by_version_and_connection)
{
    OK("GET / HTTP/1.0\r\n\r\n");
    cr_assert(req.minor == 0 && !req.keep_alive && !req.has_host);
    OK("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n");
    cr_assert(req.keep_alive);
    OK("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n");
    cr_assert(!req.keep_alive);
    OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade ,CLOSE\r\n\r\n");
    cr_assert(!req.keep_alive);
    OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed, x-close\r\n\r\n");
    cr_assert(req.keep_alive, "whole tokens only");
    OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: x\r\nConnection: close\r\n\r\n");
    cr_assert(!req.keep_alive, "every Connection line counts");
}

Test(http_parse, pipelined_heads_end_at_the_first)
{
    const char *a = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *b = "HEAD /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", a, b);
    size_t scanned = 0, len = strlen(buf);
    size_t h = pl_http_head_end(buf, len, &scanned);
    cr_assert_eq(h, strlen(a));
    cr_assert_eq(pl_http_head_end(buf, len, &scanned), h, "a repeated call agrees");
    cr_assert_eq(pl_http_parse_head(buf, len, &req), 0);
    cr_assert(req.head_len == h && str_is(req.target, "/1"), "parse stops at the first");
    scanned = 0;
    cr_assert_eq(pl_http_head_end(buf + h, len - h, &scanned), strlen(b));
    cr_assert_eq(pl_http_parse_head(buf + h, len - h, &req), 0);
    cr_assert(str_is(req.target, "/2") && !req.keep_alive);
}

Test(http_parse, body_framing_that_is_allowed)
{
    OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0042\r\n\r\n");
    cr_assert(req.has_length && req.content_length == 42);
    OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551615\r\n\r\n");
    cr_assert_eq(req.content_length, UINT64_MAX);
    OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n");
    cr_assert(req.chunked && !req.has_length);
    OK("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked,\r\n\r\n");
    cr_assert(req.chunked, "empty list elements are ignored");
    OK("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n");
    cr_assert(req.expect_continue);
    OK("PUT / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    cr_assert(!req.expect_continue, "ignored in HTTP/1.0 (RFC 9110 10.1.1)");
}

Test(http_parse, hosts)
{
    OK("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
    cr_assert(str_is(req.host, "[::1]:8080"));
    OK("GET / HTTP/1.1\r\nHost:\r\n\r\n");
    cr_assert(req.has_host && req.host.len == 0, "empty Host is allowed");
    BAD("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", -400);
    BAD("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", -400);
    BAD("GET / HTTP/1.1\r\nHost: a\\b\r\n\r\n", -400);
}

Test(http_parse, leading_empty_lines_up_to_four)
{
    OK("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    cr_assert(str_is(req.target, "/") && req.head_len == 29);
    OK("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    BAD("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    size_t scanned = 0;
    cr_assert_eq(pl_http_head_end("\r\n\r\n\r\n", 6, &scanned), 0, "still waiting");
    cr_assert_eq(pl_http_head_end("\r\n\r\n\r\n\r\n\r\n", 10, &scanned), 10, "too many");
}

Test(http_parse, higher_minor_versions_are_handled_as_1_1)
{
    OK("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
    cr_assert(req.minor == 1 && req.keep_alive);
    OK("GET / HTTP/1.9\r\nHost: a\r\n\r\n");
    cr_assert_eq(req.minor, 1);
    BAD("GET / HTTP/1.2\r\n\r\n", -400);       /* as 1.1: Host is required */
}

Test(http_parse, header_and_line_limits_at_the_edge)
{
    static char buf[PL_HTTP_REQLINE_MAX + 4096];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = sizeof "GET / HTTP/1.1" - 1;
        size_t pad = PL_HTTP_REQLINE_MAX - n + (size_t)extra;
        memcpy(buf, "GET /", 5);
        memset(buf + 5, 'a', pad);
        strcpy(buf + 5 + pad, " HTTP/1.1\r\nHost: a\r\n\r\n");
        BAD(buf, extra ? -414 : 0);
    }
    for (int extra = 0; extra <= 1; extra++) {
        size_t len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
        for (int i = 0; i < PL_HTTP_HEADERS_MAX + extra; i++)
            len += (size_t)sprintf(buf + len, i ? "X-%d: %d\r\n" : "Host: a\r\n", i, i);
        strcpy(buf + len, "\r\n");
        BAD(buf, extra ? -431 : 0);
    }
    cr_assert_eq(req.nheaders, PL_HTTP_HEADERS_MAX);
}

/* ---- hostile heads: one test per class ------------------------------------ */

#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"
#define P11 "POST / HTTP/1.1\r\nHost: a\r\n"

Test(http_hostile, content_length_with_transfer_encoding)
{
    BAD(P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", -400);
}

Test(http_hostile, duplicate_content_length_even_equal)
{
    BAD(P11 "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", -400);
    BAD(P11 "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", -400);
}

Test(http_hostile, content_length_list)
{
    BAD(P11 "Content-Length: 5, 5\r\n\r\n", -400);
    BAD(P11 "Content-Length: 5,5\r\n\r\n", -400);
}

Test(http_hostile, content_length_not_digits)
{
    BAD(P11 "Content-Length: +5\r\n\r\n", -400);
    BAD(P11 "Content-Length: -5\r\n\r\n", -400);
    BAD(P11 "Content-Length: 5 5\r\n\r\n", -400);
    BAD(P11 "Content-Length: 0x5\r\n\r\n", -400);
    BAD(P11 "Content-Length: 5.0\r\n\r\n", -400);
    BAD(P11 "Content-Length:\r\n\r\n", -400);
    BAD(P11 "Content-Length: 18446744073709551616\r\n\r\n", -400);
    BAD(P11 "Content-Length: 99999999999999999999999\r\n\r\n", -400);
}

Test(http_hostile, transfer_encoding_not_chunked_last)
{
    BAD(P11 "Transfer-Encoding: chunked, gzip\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: gzip\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: identity\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding:\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", -400);
}

Test(http_hostile, transfer_encoding_chunked_twice)
{
    BAD(P11 "Transfer-Encoding: chunked, chunked\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", -400);
}

Test(http_hostile, transfer_encoding_malformed_or_unimplemented)
{
    BAD(P11 "Transfer-Encoding: gzip, chunked\r\n\r\n", -501);
    BAD(P11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", -501);
    BAD(P11 "Transfer-Encoding: chunked;x=1\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: \"chunked\"\r\n\r\n", -400);
    BAD(P11 "Transfer-Encoding: chun ked\r\n\r\n", -400);
    BAD("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", -400);
}

Test(http_hostile, obs_fold)
{
    BAD(H11 "X-A: 1\r\n 2\r\n\r\n", -400);
    BAD(H11 "X-A: 1\r\n\t2\r\n\r\n", -400);
    BAD("GET / HTTP/1.1\r\n Host: a\r\n\r\n", -400);
}

Test(http_hostile, bare_cr)
{
    BAD(H11 "X-A: 1\r2\r\n\r\n", -400);
    BAD("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET / HTTP/1.1\rHost: a\r\n\r\n", -400);
}

Test(http_hostile, bare_lf)
{
    BAD("GET / HTTP/1.1\nHost: a\n\n", -400);
    BAD("GET / HTTP/1.1\r\nHost: a\n\r\n", -400);
    BAD("GET / HTTP/1.1\r\nHost: a\r\n\n", -400);
    size_t scanned = 0;
    const char *s = "GET / HTTP/1.1\nHost: a\n\nrest";
    cr_assert_eq(pl_http_head_end(s, strlen(s), &scanned), 24, "ends early, to answer 400");
}

Test(http_hostile, nul)
{
    static const char s[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    size_t scanned = 0, len = sizeof s - 1;
    size_t h = pl_http_head_end(s, len, &scanned);
    cr_assert_eq(h, len);
    cr_assert_eq(pl_http_parse_head(s, h, &req), -400);
    static const char t[] = "GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n";
    cr_assert_eq(pl_http_parse_head(t, sizeof t - 1, &req), -400);
}

Test(http_hostile, control_bytes_in_values_and_targets)
{
    BAD(H11 "X: a\x01" "b\r\n\r\n", -400);
    BAD(H11 "X: a\x7f\r\n\r\n", -400);
    BAD("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", -400);
}

Test(http_hostile, missing_host_in_1_1)
{
    BAD("GET / HTTP/1.1\r\n\r\n", -400);
    BAD("GET http://a/ HTTP/1.1\r\nX: y\r\n\r\n", -400);
}

Test(http_hostile, duplicate_host)
{
    BAD(H11 "Host: a\r\n\r\n", -400);
    BAD(H11 "HOST: b\r\n\r\n", -400);
}

Test(http_hostile, space_before_colon_and_bad_names)
{
    BAD("GET / HTTP/1.1\r\nHost : a\r\n\r\n", -400);
    BAD(H11 "X-A\t: 1\r\n\r\n", -400);
    BAD(H11 ": 1\r\n\r\n", -400);
    BAD(H11 "NoColon\r\n\r\n", -400);
    BAD(H11 "X(A): 1\r\n\r\n", -400);
}

Test(http_hostile, bad_request_line)
{
    BAD("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD(" / HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", -400);
    BAD("GET /\r\n\r\n", -400);
    BAD("GET\r\n\r\n", -400);
    BAD("\r\n\r\n\r\n\r\n\r\n\r\n", -400);
}

Test(http_hostile, versions)
{
    BAD("GET / HTTP/2.0\r\nHost: a\r\n\r\n", -505);
    BAD("GET / HTTP/0.9\r\nHost: a\r\n\r\n", -505);
    BAD("GET / HTTP/3.0\r\nHost: a\r\n\r\n", -505);
    BAD("GET / HTTP/1.10\r\nHost: a\r\n\r\n", -400);
    BAD("GET / HTTP/11\r\nHost: a\r\n\r\n", -400);
    BAD("GET / http/1.1\r\nHost: a\r\n\r\n", -400);
    BAD("GET / HTTP/1.x\r\nHost: a\r\n\r\n", -400);
    BAD("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", -400);
}

Test(http_hostile, incomplete_head)
{
    pl_http_req *r = &req;
    cr_assert_eq(pl_http_parse_head("GET / HTTP/1.1\r\nHost: a\r\n", 25, r), -400);
    cr_assert_eq(pl_http_parse_head("GET / HTTP/1.1\r\nHost: a\r\n\r", 26, r), -400);
    cr_assert_eq(pl_http_parse_head("", 0, r), -400);
}

/* ---- the split invariant for heads ----------------------------------------- */

static const char *const head_samples[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "HEAD /x HTTP/1.1\r\nHost: a\r\nRange: bytes=1-\r\nIf-Range: \"e\"\r\n\r\n",
    "GET http://a/b HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\n", "\n\n", "\r\n\r\r\n\r\n", "\r\r\n\r\n", "\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    P11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    P11 "Content-Length: 5, 5\r\n\r\n",
    P11 "Transfer-Encoding: gzip, chunked\r\n\r\n",
    H11 "X-A: 1\r\n 2\r\n\r\n",
    H11 "X-A: 1\r2\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\n\n",
    "GET / HTTP/1.1\r\nHost: a\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\n\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\r",
    "",
};

static pl_http_req req2;

static size_t head_end_pieces(const char *s, size_t len, size_t a, size_t b)
{
    size_t scanned = 0, h = pl_http_head_end(s, a, &scanned);
    if (h == 0)
        h = pl_http_head_end(s, b, &scanned);
    return h ? h : pl_http_head_end(s, len, &scanned);
}

static void check_head_splits(const char *s, size_t len)
{
    size_t scanned = 0, whole = pl_http_head_end(s, len, &scanned);
    cr_assert_leq(whole, len);
    size_t h = 0;
    scanned = 0;
    for (size_t n = 0; n <= len && h == 0; n++)
        h = pl_http_head_end(s, n, &scanned);
    cr_assert_eq(h, whole, "byte by byte: %zu, whole: %zu: %s", h, whole, s);
    for (size_t a = 0; a <= len; a++)
        for (size_t b = a; b <= len; b += 1 + (a * 7 + b) % 5)
            cr_assert_eq(head_end_pieces(s, len, a, b), whole, "split %zu %zu: %s", a, b, s);
    if (whole == 0)
        return;
    int ra = pl_http_parse_head(s, whole, &req), rb = pl_http_parse_head(s, len, &req2);
    cr_assert_eq(ra, rb, "%s", s);
    if (ra == 0) {
        cr_assert(req.head_len == whole && req2.head_len == whole);
        cr_assert(req.method == req2.method && req.keep_alive == req2.keep_alive);
        cr_assert(req.nheaders == req2.nheaders && req.target.p == req2.target.p);
    }
}

Test(http_split, heads_found_in_any_pieces_parse_the_same)
{
    for (size_t i = 0; i < sizeof head_samples / sizeof head_samples[0]; i++)
        check_head_splits(head_samples[i], strlen(head_samples[i]));
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\0\r\n\r\n";
    check_head_splits(nul, sizeof nul - 1);
}

Test(http_split, resumes_where_it_stopped)
{
    static char buf[1 << 16];
    size_t len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: a\r\n");
    while (len + 16 < sizeof buf)
        len += (size_t)sprintf(buf + len, "X: a\r\r\r\n");
    len += (size_t)sprintf(buf + len, "\r\n");
    size_t scanned = 0, h = 0, n;
    for (n = 1; n <= len && h == 0; n++) {
        h = pl_http_head_end(buf, n, &scanned);
        cr_assert(h != 0 || scanned == n, "each byte is looked at once");
    }
    cr_assert_eq(h, len);
    cr_assert_eq(scanned, h - 1, "scanned rests on the final LF");
    cr_assert_eq(pl_http_parse_head(buf, h, &req), -400, "bare CR");
}

/* ---- chunked bodies -------------------------------------------------------- */

typedef struct decoded { long rc; int done; size_t consumed, blen; char body[4096]; } decoded;

/* Feeds in[0..len) in pieces ending at cuts[0..ncuts) then len, as a server would. */
static void decode(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                   uint64_t max_body, decoded *d)
{
    char *buf = malloc(len + 1);
    memcpy(buf, in, len);
    pl_http_chunked c = { 0 };
    *d = (decoded){ .rc = 0 };
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && d->rc >= 0 && !d->done; i++) {
        size_t end = i < ncuts ? cuts[i] : len, blen = 0;
        long rc = pl_http_chunked_feed(&c, buf + at, end - at, &blen, max_body, &d->done);
        cr_assert_leq(d->blen + blen, sizeof d->body);
        memcpy(d->body + d->blen, buf + at, blen);
        d->blen += blen;
        if (rc < 0) {
            d->rc = rc;
            break;
        }
        cr_assert_leq((size_t)rc, end - at);
        cr_assert(d->done || (size_t)rc == end - at, "consumes all until the end");
        d->consumed += (size_t)rc;
        at += (size_t)rc;
        if (d->done && i < ncuts)
            break;
    }
    free(buf);
}

static void same(const decoded *a, const decoded *b, const char *what, size_t k)
{
    cr_assert_eq(a->rc, b->rc, "%s %zu: rc", what, k);
    cr_assert_eq(a->done, b->done, "%s %zu: done", what, k);
    if (a->rc == 0)
        cr_assert_eq(a->consumed, b->consumed, "%s %zu: consumed", what, k);
    cr_assert_eq(a->blen, b->blen, "%s %zu: body length", what, k);
    cr_assert_eq(memcmp(a->body, b->body, a->blen), 0, "%s %zu: body", what, k);
}

static decoded dw, ds;      /* large: kept off the stack */

/* Whole, byte by byte, and in every two pieces: the same body and result. */
static const decoded *check_chunked(const char *in, size_t len, uint64_t max_body)
{
    decode(in, len, NULL, 0, max_body, &dw);
    size_t *cuts = malloc((len + 1) * sizeof *cuts);
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    decode(in, len, cuts, len, max_body, &ds);
    same(&dw, &ds, "byte by byte", 0);
    for (size_t k = 0; k <= len; k++) {
        decode(in, len, &k, 1, max_body, &ds);
        same(&dw, &ds, "split at", k);
    }
    free(cuts);
    return &dw;
}

#define CHUNKED(s, max) check_chunked(s, sizeof s - 1, max)

Test(http_chunked, valid_bodies)
{
    const decoded *d = CHUNKED("5\r\nhello\r\n0\r\n\r\n", 100);
    cr_assert(d->rc == 0 && d->done && d->consumed == 15);
    cr_assert(d->blen == 5 && memcmp(d->body, "hello", 5) == 0);
    d = CHUNKED("1\r\na\r\nA\r\n0123456789\r\n00000\r\n\r\n", 100);
    cr_assert(d->done && d->blen == 11 && memcmp(d->body, "a0123456789", 11) == 0);
    d = CHUNKED("0\r\n\r\n", 0);
    cr_assert(d->done && d->blen == 0 && d->consumed == 5);
    d = CHUNKED("2\r\n\r\n\r\n0\r\n\r\n", 100);
    cr_assert(d->done && d->blen == 2 && memcmp(d->body, "\r\n", 2) == 0);
}

Test(http_chunked, extensions_are_skipped)
{
    const decoded *d = CHUNKED("3;a=b;c=\"x;y\"\r\nabc\r\n0;last\r\n\r\n", 100);
    cr_assert(d->done && d->blen == 3 && memcmp(d->body, "abc", 3) == 0);
    d = CHUNKED("3 \t;a\r\nabc\r\n0\r\n\r\n", 100);
    cr_assert(d->done && d->blen == 3, "BWS before ';'");
}

Test(http_chunked, trailers_are_read_and_dropped)
{
    static const char s[] = "3\r\nabc\r\n0\r\nExpires: never\r\nX-Sum:\t1 2\r\n\r\n";
    const decoded *d = CHUNKED(s, 100);
    cr_assert(d->done && d->blen == 3);
    cr_assert_eq(d->consumed, sizeof s - 1);
}

Test(http_chunked, stops_at_the_end_of_the_body)
{
    const decoded *d = CHUNKED("1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 100);
    cr_assert(d->done && d->consumed == 11 && d->blen == 1);
    pl_http_chunked c = { 0 };
    char buf[] = "0\r\n\r\nzz";
    size_t blen;
    int done;
    cr_assert_eq(pl_http_chunked_feed(&c, buf, 7, &blen, 10, &done), 5);
    cr_assert_eq(pl_http_chunked_feed(&c, buf + 5, 2, &blen, 10, &done), 0);
    cr_assert(done && blen == 0 && memcmp(buf + 5, "zz", 2) == 0);
}

Test(http_chunked, incomplete_bodies_wait)
{
    const decoded *d = CHUNKED("5\r\nhel", 100);
    cr_assert(d->rc == 0 && !d->done && d->blen == 3 && d->consumed == 6);
    d = CHUNKED("5\r\nhello\r\n0\r\n", 100);
    cr_assert(d->rc == 0 && !d->done && d->blen == 5);
}

Test(http_chunked, malformed_sizes)
{
    static const char *const bad[] = {
        "\r\n", "g\r\n", "-1\r\n", "+1\r\n", "0x5\r\n", " 5\r\n", "5 \r\n", "5 x\r\n",
        "5\n", "5\rx", ";a\r\n", "5;a\x01\r\n", "5;a\nb\r\n", "5;\x7f\r\n",
        "10000000000000000\r\n", "fffffffffffffffff\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const decoded *d = check_chunked(bad[i], strlen(bad[i]), UINT64_MAX);
        cr_assert_eq(d->rc, -400, "%s", bad[i]);
    }
}

Test(http_chunked, malformed_framing)
{
    static const char *const bad[] = {
        "5\r\nhelloX\r\n", "5\r\nhello\n0\r\n\r\n", "5\r\nhello\r\r\n",
        "0\r\n\n", "0\r\nX\r\n\r\n", "0\r\n X: y\r\n\r\n", "0\r\nX : y\r\n\r\n",
        "0\r\nX: a\x01\r\n\r\n", "0\r\nX: y\n\r\n", "0\r\nX: y\r\n\rx", "0\r\n:y\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const decoded *d = check_chunked(bad[i], strlen(bad[i]), 100);
        cr_assert_eq(d->rc, -400, "%zu: %s", i, bad[i]);
    }
}

Test(http_chunked, bounded_lines)
{
    static char buf[16384];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = SIZE_LINE_MAX_TEST - 1 + (size_t)extra;     /* with its CRLF: n + 1 */
        memcpy(buf, "1;", 2);
        memset(buf + 2, 'e', n - 3);
        memcpy(buf + n - 1, "\r\nx\r\n0\r\n\r\n", 11);
        decode(buf, n + 10, NULL, 0, 100, &dw);
        cr_assert_eq(dw.rc, extra ? -400 : 0, "size line of %zu bytes: %ld", n + 1, dw.rc);
    }
    size_t n = (size_t)sprintf(buf, "0\r\n");
    while (n < 8200)
        n += (size_t)sprintf(buf + n, "X-Trailer: aaaaaaaaaaaaaaaaaaaaaaa\r\n");
    strcpy(buf + n, "\r\n");
    decode(buf, n + 2, NULL, 0, 100, &dw);
    cr_assert_eq(dw.rc, -400, "trailers are bounded");
    memset(buf, '0', 5000);
    memcpy(buf + 5000, "\r\n\r\n", 4);
    decode(buf, 5004, NULL, 0, 100, &dw);
    cr_assert_eq(dw.rc, -400, "leading zeros count in the size line");
}

Test(http_chunked, max_body)
{
    const decoded *d = CHUNKED("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10);
    cr_assert(d->rc == 0 && d->done && d->blen == 10);
    d = CHUNKED("5\r\nhello\r\n6\r\nworld!\r\n0\r\n\r\n", 10);
    cr_assert(d->rc == -413 && d->blen == 5, "refused at the size line, before its data");
    d = CHUNKED("ffffffffffffffff\r\n", 1 << 20);
    cr_assert_eq(d->rc, -413);
    d = CHUNKED("ffffffffffffffff\r\n", UINT64_MAX);
    cr_assert(d->rc == 0 && !d->done);
    d = CHUNKED("1\r\nx\r\n0\r\n\r\n", 0);
    cr_assert_eq(d->rc, -413);
}

Test(http_chunked, errors_stick)
{
    pl_http_chunked c = { 0 };
    char buf[] = "zz5\r\nhello\r\n";
    size_t blen;
    int done;
    cr_assert_eq(pl_http_chunked_feed(&c, buf, 2, &blen, 10, &done), -400);
    cr_assert_eq(pl_http_chunked_feed(&c, buf + 2, 10, &blen, 10, &done), -400);
    cr_assert(!done);
}
