/* test_http_accesslog.c — access log lines: both formats field by field,
 * escaping of hostile bytes, dates, and the bound on a line.
 */
#include "http/accesslog.h"

#include <criterion/criterion.h>
#include <string.h>

static pl_str s(const char *z) { return (pl_str){ z, strlen(z) }; }

static pl_http_log_entry entry(void)
{
    return (pl_http_log_entry){ .addr = s("127.0.0.1"), .time_s = 971185536,
                                .method = s("GET"), .target = s("/a.html?x=1"), .minor = 1,
                                .status = 200, .bytes = 2326,
                                .referer = s("http://example.com/"),
                                .user_agent = s("curl/8.0") };
}

static const char *line(pl_http_log_format f, const pl_http_log_entry *e)
{
    static char buf[PL_HTTP_LOG_LINE_MAX + 1];
    size_t n = pl_http_log_line(buf, PL_HTTP_LOG_LINE_MAX, f, e);
    cr_assert(n > 0 && n <= PL_HTTP_LOG_LINE_MAX);
    cr_assert_eq(buf[n - 1], '\n', "a line ends in a newline");
    cr_assert_null(memchr(buf, '\n', n - 1), "and holds no other");
    buf[n] = 0;
    return buf;
}

Test(accesslog, combined_line)
{
    pl_http_log_entry e = entry();
    cr_assert_str_eq(line(PL_HTTP_LOG_COMBINED, &e),
                     "127.0.0.1 - - [10/Oct/2000:13:45:36 +0000] \"GET /a.html?x=1 HTTP/1.1\" "
                     "200 2326 \"http://example.com/\" \"curl/8.0\"\n");
}

Test(accesslog, combined_empty_fields_are_dashes)
{
    pl_http_log_entry e = entry();
    e.referer = e.user_agent = s("");
    e.minor = 0;
    e.bytes = 0;
    e.status = 304;
    cr_assert_str_eq(line(PL_HTTP_LOG_COMBINED, &e),
                     "127.0.0.1 - - [10/Oct/2000:13:45:36 +0000] \"GET /a.html?x=1 HTTP/1.0\" "
                     "304 0 \"-\" \"-\"\n");
}

Test(accesslog, combined_without_a_request_line)
{
    pl_http_log_entry e = { .addr = s("::1"), .time_s = 0, .minor = -1, .status = 400,
                            .bytes = 92 };
    cr_assert_str_eq(line(PL_HTTP_LOG_COMBINED, &e),
                     "::1 - - [01/Jan/1970:00:00:00 +0000] \"-\" 400 92 \"-\" \"-\"\n");
}

Test(accesslog, combined_escapes_quotes_backslashes_controls_and_high_bytes)
{
    pl_http_log_entry e = entry();
    e.user_agent = s("a\"b\\c\nd\r\x01\x7f\xc3\xa9 \xff");
    e.target = s("/x\"y");
    cr_assert_str_eq(line(PL_HTTP_LOG_COMBINED, &e),
                     "127.0.0.1 - - [10/Oct/2000:13:45:36 +0000] \"GET /x\\x22y HTTP/1.1\" "
                     "200 2326 \"http://example.com/\" "
                     "\"a\\x22b\\x5Cc\\x0Ad\\x0D\\x01\\x7F\\xC3\\xA9 \\xFF\"\n");
}

Test(accesslog, json_line)
{
    pl_http_log_entry e = entry();
    cr_assert_str_eq(line(PL_HTTP_LOG_JSON, &e),
                     "{\"time\":\"2000-10-10T13:45:36Z\",\"addr\":\"127.0.0.1\","
                     "\"method\":\"GET\",\"target\":\"/a.html?x=1\",\"version\":\"HTTP/1.1\","
                     "\"status\":200,\"bytes\":2326,\"referer\":\"http://example.com/\","
                     "\"user_agent\":\"curl/8.0\"}\n");
}

Test(accesslog, json_without_a_request_line)
{
    pl_http_log_entry e = { .addr = s("10.0.0.1"), .time_s = 1709251199, .minor = -1,
                            .status = 408, .bytes = 0 };
    cr_assert_str_eq(line(PL_HTTP_LOG_JSON, &e),
                     "{\"time\":\"2024-02-29T23:59:59Z\",\"addr\":\"10.0.0.1\",\"method\":\"\","
                     "\"target\":\"\",\"version\":\"\",\"status\":408,\"bytes\":0,"
                     "\"referer\":\"\",\"user_agent\":\"\"}\n");
}

Test(accesslog, json_escapes_controls_and_keeps_valid_utf8)
{
    pl_http_log_entry e = entry();
    e.user_agent = s("q\"b\\n\n\r\t\b\f\x01\x1f\x7f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    const char *l = line(PL_HTTP_LOG_JSON, &e);
    cr_assert_not_null(strstr(l, "\"user_agent\":\"q\\\"b\\\\n\\n\\r\\t\\b\\f\\u0001\\u001f"
                                 "\\u007f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}"), "%s", l);
}

Test(accesslog, json_replaces_each_invalid_utf8_byte)
{
    pl_http_log_entry e = entry();
    /* a lone continuation, an overlong '/', a surrogate, a cut sequence, 0xff, > U+10FFFF */
    e.user_agent = s("\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xff|\xf4\x90\x80\x80");
    const char *l = line(PL_HTTP_LOG_JSON, &e);
    cr_assert_not_null(strstr(l, "\"user_agent\":\"\\ufffd|\\ufffd\\ufffd|"
                                 "\\ufffd\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd|"
                                 "\\ufffd\\ufffd\\ufffd\\ufffd\"}"), "%s", l);
}

Test(accesslog, dates_before_and_after_leap_days)
{
    pl_http_log_entry e = entry();
    e.time_s = 951782400;                   /* 2000-02-29 00:00:00 */
    cr_assert_not_null(strstr(line(PL_HTTP_LOG_COMBINED, &e), "[29/Feb/2000:00:00:00 +0000]"));
    e.time_s = 946684799;                   /* 1999-12-31 23:59:59 */
    cr_assert_not_null(strstr(line(PL_HTTP_LOG_JSON, &e), "\"1999-12-31T23:59:59Z\""));
    e.time_s = 4102444800;                  /* 2100-01-01: not a leap year before it */
    cr_assert_not_null(strstr(line(PL_HTTP_LOG_COMBINED, &e), "[01/Jan/2100:00:00:00 +0000]"));
}

Test(accesslog, long_fields_are_cut_whole_and_the_line_stays_bounded)
{
    static char big[20000];
    memset(big, '\x01', sizeof big);
    pl_http_log_entry e = entry();
    e.user_agent = e.referer = e.target = e.method = (pl_str){ big, sizeof big };
    e.addr = (pl_str){ big, 200 };
    for (int f = 0; f < 2; f++) {
        const char *l = line(f, &e);
        size_t n = strlen(l);
        cr_assert(n <= PL_HTTP_LOG_LINE_MAX);
        /* every escape is whole: the text before each quote ends a complete \x01/\u0001 */
        const char *unit = f == 0 ? "\\x01" : "\\u0001";
        const char *q = strstr(l, unit);
        cr_assert_not_null(q);
        for (const char *p = q; *p == '\\'; p += strlen(unit))
            cr_assert(strncmp(p, unit, strlen(unit)) == 0, "an escape was cut: %.12s", p);
    }
    cr_assert(strstr(line(PL_HTTP_LOG_JSON, &e), "\\u0001\"") != NULL);
}

Test(accesslog, a_cut_keeps_utf8_sequences_whole)
{
    static char big[3000];
    for (size_t i = 0; i + 1 < sizeof big; i += 2)
        memcpy(big + i, "\xc3\xa9", 2);     /* 1500 x U+00E9, two bytes each */
    pl_http_log_entry e = entry();
    e.user_agent = (pl_str){ big, sizeof big };
    const char *l = line(PL_HTTP_LOG_JSON, &e);
    const char *v = strstr(l, "\"user_agent\":\"") + 14;
    size_t n = (size_t)(strchr(v, '"') - v);
    cr_assert_eq(n, PL_HTTP_LOG_HEADER_MAX, "1024 bytes: 512 whole sequences (%zu)", n);
}

Test(accesslog, too_small_a_buffer_gives_zero)
{
    char buf[40];
    pl_http_log_entry e = entry();
    cr_assert_eq(pl_http_log_line(buf, sizeof buf, PL_HTTP_LOG_COMBINED, &e), 0);
    cr_assert_eq(pl_http_log_line(buf, sizeof buf, PL_HTTP_LOG_JSON, &e), 0);
}
