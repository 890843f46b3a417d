/* test_http_cond.c — ETags, HTTP-dates and the precondition order of RFC 9110 §13.2.2. */
#include "http/http.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const int64_t RFC_T = 784111777;         /* Sun, 06 Nov 1994 08:49:37 GMT */

static pl_str S(const char *s) { return (pl_str){ s, strlen(s) }; }

static void date_is(int64_t t, const char *want)
{
    char buf[32];
    cr_assert_eq(pl_http_date(t, buf), 29);
    cr_assert_str_eq(buf, want, "%lld", (long long)t);
    int64_t back;
    cr_assert_eq(pl_http_parse_date(S(want), &back), 0, "%s", want);
    cr_assert_eq(back, t, "%s", want);
}

static int64_t parse(const char *s)
{
    int64_t t = 12345;
    return pl_http_parse_date(S(s), &t) == 0 ? t : -12345;
}

Test(http_cond, etag_format)
{
    pl_http_validators v;
    pl_http_etag(&v, 0x1a, 0x3f, 0, 0x2d, NULL);
    cr_assert_str_eq(v.etag, "\"1a-3f-2d\"");
    cr_assert_eq(v.etag_len, 10);
    pl_http_etag(&v, 0x1a, 0x3f, 0x5e0b1c2d, 0, "br");
    cr_assert_str_eq(v.etag, "\"1a-3f-15e56c62164d8200-br\"");
    cr_assert_eq(v.mtime_s, 0x5e0b1c2d);
    pl_http_etag(&v, 0, 0, 0, 0, "");
    cr_assert_str_eq(v.etag, "\"0-0-0\"");
    pl_http_etag(&v, 1, 2, 0, 3, "zs\"td");
    cr_assert_str_eq(v.etag, "\"1-2-3-zstd\"", "no quote can leak in from the suffix");
}

Test(http_cond, etag_changes_and_fits)
{
    pl_http_validators a, b;
    pl_http_etag(&a, 7, 100, 1700000000, 5, NULL);
    pl_http_etag(&b, 7, 100, 1700000000, 6, NULL);
    cr_assert_str_neq(a.etag, b.etag, "a change within the same second shows");
    pl_http_etag(&b, 7, 101, 1700000000, 5, NULL);
    cr_assert_str_neq(a.etag, b.etag);
    pl_http_etag(&a, UINT64_MAX, UINT64_MAX, INT64_MAX, 999999999, "zstd");
    cr_assert_lt(a.etag_len, sizeof a.etag);
    cr_assert_eq(strlen(a.etag), a.etag_len);
    cr_assert_eq(a.etag[0], '"');
    cr_assert_eq(a.etag[a.etag_len - 1], '"');
    pl_http_etag(&b, UINT64_MAX, UINT64_MAX - 1, INT64_MAX, 999999999, "zstd");
    cr_assert_str_neq(a.etag, b.etag);
    pl_http_etag(&b, UINT64_MAX, UINT64_MAX, INT64_MAX, 999999999, "gz");
    cr_assert_str_neq(a.etag, b.etag);
}

Test(http_cond, dates_known)
{
    date_is(0, "Thu, 01 Jan 1970 00:00:00 GMT");
    date_is(RFC_T, "Sun, 06 Nov 1994 08:49:37 GMT");
    date_is(951782400, "Tue, 29 Feb 2000 00:00:00 GMT");
    date_is(1709213820, "Thu, 29 Feb 2024 13:37:00 GMT");
    date_is(2147483647, "Tue, 19 Jan 2038 03:14:07 GMT");
    date_is(4107542399, "Sun, 28 Feb 2100 23:59:59 GMT");
    date_is(4107542400, "Mon, 01 Mar 2100 00:00:00 GMT");
    date_is(-1, "Wed, 31 Dec 1969 23:59:59 GMT");
    date_is(-2203891200, "Thu, 01 Mar 1900 00:00:00 GMT");
    date_is(-11670955200, "Tue, 29 Feb 1600 12:00:00 GMT");
    date_is(-62135596800, "Mon, 01 Jan 0001 00:00:00 GMT");
    date_is(253402300799, "Fri, 31 Dec 9999 23:59:59 GMT");
    char buf[32];
    pl_http_date(INT64_MAX, buf);
    cr_assert_str_eq(buf, "Fri, 31 Dec 9999 23:59:59 GMT", "clamped to four digits");
    pl_http_date(INT64_MIN, buf);
    cr_assert_str_eq(buf, "Sat, 01 Jan 0000 00:00:00 GMT");
}

/* Against the C library, over years 1000..9999 in uneven steps. */
Test(http_cond, dates_match_gmtime)
{
    int n = 0;
    for (int64_t t = -30610224000 + 1; t < 253402300799 - 1; t += 10519777, n++) {
        for (int64_t d = -1; d <= 1; d++) {
            time_t tt = (time_t)(t + d);
            struct tm tm;
            char want[64], got[32];
            gmtime_r(&tt, &tm);
            strftime(want, sizeof want, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            pl_http_date(t + d, got);
            cr_assert_str_eq(got, want);
            int64_t back;
            cr_assert_eq(pl_http_parse_date(S(got), &back), 0, "%s", got);
            cr_assert_eq(back, t + d, "%s", got);
        }
    }
    cr_assert_gt(n, 25000);
}

Test(http_cond, three_formats)
{
    cr_assert_eq(parse("Sun, 06 Nov 1994 08:49:37 GMT"), RFC_T);
    cr_assert_eq(parse("Sunday, 06-Nov-94 08:49:37 GMT"), RFC_T);
    cr_assert_eq(parse("Sun Nov  6 08:49:37 1994"), RFC_T);
    cr_assert_eq(parse("Sun Nov 06 08:49:37 1994"), RFC_T);
    cr_assert_eq(parse("  Sun, 06 Nov 1994 08:49:37 GMT "), RFC_T);
    cr_assert_eq(parse("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
    cr_assert_eq(parse("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800);
    cr_assert_eq(parse("Wednesday, 31-Dec-69 23:59:59 GMT"), 3155759999);
    cr_assert_eq(parse("Wednesday, 09-Nov-94 08:49:37 GMT"), RFC_T + 3 * 86400);
    cr_assert_eq(parse("Tue, 29 Feb 2000 00:00:00 GMT"), 951782400);
    cr_assert_eq(parse("Tue, 30 Jun 2015 23:59:60 GMT"), 1435708800, "a leap second");
}

Test(http_cond, bad_dates)
{
    const char *bad[] = {
        "", "Sun, 06 Nov 1994 08:49:37 UTC", "sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 31 Feb 1994 08:49:37 GMT", "Thu, 29 Feb 1900 00:00:00 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37", "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 19a4 08:49:37 GMT", "Sun, 06 Nov 1994 08-49-37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun Nov  6 08:49:37 94",
        "Sunday, 06-Nov-1994 08:49:37 GMT", "Sun, 06-Nov-94 08:49:37 GMT",
        "Sundae, 06-Nov-94 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 UTC",
        "Sunday, 06-Nov-9x 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, x", "1994-11-06",
        "Sun, 06 Nov 1994 8:49:37  GMT", "Sun, 06 Nov -994 08:49:37 GMT",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(parse(bad[i]), -12345, "%s", bad[i]);
}

static pl_http_validators V;

static pl_http_req req(const char *im, const char *ius, const char *inm, const char *ims)
{
    strcpy(V.etag, "\"abc\"");
    V.etag_len = 5;
    V.mtime_s = RFC_T;
    pl_http_req r;
    memset(&r, 0, sizeof r);
    r.if_match = S(im ? im : "");
    r.if_unmodified_since = S(ius ? ius : "");
    r.if_none_match = S(inm ? inm : "");
    r.if_modified_since = S(ims ? ims : "");
    return r;
}

static int pre(const char *im, const char *ius, const char *inm, const char *ims, bool get)
{
    pl_http_req r = req(im, ius, inm, ims);
    return pl_http_preconditions(&r, &V, get);
}

#define SAME "Sun, 06 Nov 1994 08:49:37 GMT"
#define BEFORE "Sun, 06 Nov 1994 08:49:36 GMT"
#define AFTER "Sun, 06 Nov 1994 08:49:38 GMT"

Test(http_cond, if_none_match)
{
    cr_assert_eq(pre(NULL, NULL, NULL, NULL, true), 200);
    cr_assert_eq(pre(NULL, NULL, "\"abc\"", NULL, true), 304);
    cr_assert_eq(pre(NULL, NULL, "\"abc\"", NULL, false), 412);
    cr_assert_eq(pre(NULL, NULL, "W/\"abc\"", NULL, true), 304, "weak comparison");
    cr_assert_eq(pre(NULL, NULL, "\"xyz\", \"abc\"", NULL, true), 304);
    cr_assert_eq(pre(NULL, NULL, "\"xyz\",W/\"abc\" ,", NULL, true), 304);
    cr_assert_eq(pre(NULL, NULL, "\"xyz\"", NULL, true), 200);
    cr_assert_eq(pre(NULL, NULL, "*", NULL, true), 304);
    cr_assert_eq(pre(NULL, NULL, " * ", NULL, false), 412);
    cr_assert_eq(pre(NULL, NULL, "abc", NULL, true), 200, "malformed matches nothing");
    cr_assert_eq(pre(NULL, NULL, "\"abc\" \"x\"", NULL, true), 200);
    cr_assert_eq(pre(NULL, NULL, "\"ab", NULL, true), 200);
    cr_assert_eq(pre(NULL, NULL, "\"ABC\"", NULL, true), 200, "case matters");
    cr_assert_eq(pre(NULL, NULL, "w/\"abc\"", NULL, true), 200, "W/ is case-sensitive");
}

Test(http_cond, if_match)
{
    cr_assert_eq(pre("\"abc\"", NULL, NULL, NULL, true), 200);
    cr_assert_eq(pre("W/\"abc\"", NULL, NULL, NULL, true), 412, "strong comparison");
    cr_assert_eq(pre("*", NULL, NULL, NULL, true), 200);
    cr_assert_eq(pre("\"xyz\"", NULL, NULL, NULL, true), 412);
    cr_assert_eq(pre("\"x\", \"abc\"", NULL, NULL, NULL, false), 200);
    cr_assert_eq(pre("garbage", NULL, NULL, NULL, true), 412);
    cr_assert_eq(pre("\"abc\"", BEFORE, NULL, NULL, true), 200, "If-Match hides IUS");
    cr_assert_eq(pre("\"xyz\"", NULL, "\"abc\"", NULL, true), 412, "step 1 before step 3");
}

Test(http_cond, if_unmodified_since)
{
    cr_assert_eq(pre(NULL, BEFORE, NULL, NULL, true), 412);
    cr_assert_eq(pre(NULL, SAME, NULL, NULL, true), 200);
    cr_assert_eq(pre(NULL, AFTER, NULL, NULL, true), 200);
    cr_assert_eq(pre(NULL, "yesterday", NULL, NULL, true), 200, "an invalid date is ignored");
    cr_assert_eq(pre(NULL, BEFORE, "\"abc\"", NULL, true), 412, "step 2 before step 3");
    cr_assert_eq(pre(NULL, SAME, "\"abc\"", NULL, true), 304);
}

Test(http_cond, if_modified_since)
{
    cr_assert_eq(pre(NULL, NULL, NULL, SAME, true), 304);
    cr_assert_eq(pre(NULL, NULL, NULL, AFTER, true), 304);
    cr_assert_eq(pre(NULL, NULL, NULL, BEFORE, true), 200);
    cr_assert_eq(pre(NULL, NULL, NULL, "Sunday, 06-Nov-94 08:49:37 GMT", true), 304);
    cr_assert_eq(pre(NULL, NULL, NULL, "Sun Nov  6 08:49:37 1994", true), 304);
    cr_assert_eq(pre(NULL, NULL, NULL, "not a date", true), 200);
    cr_assert_eq(pre(NULL, NULL, NULL, SAME, false), 200, "only for GET and HEAD");
    cr_assert_eq(pre(NULL, NULL, "\"xyz\"", SAME, true), 200, "If-None-Match takes precedence");
    cr_assert_eq(pre(NULL, NULL, "\"abc\"", BEFORE, true), 304);
}

/* RFC 9110 §8.8.3.2, the table of weak and strong comparison; our tag is "1". */
Test(http_cond, rfc_comparison_table)
{
    pl_http_req r = req(NULL, NULL, NULL, NULL);
    strcpy(V.etag, "\"1\"");
    V.etag_len = 3;
    r.if_match = S("W/\"1\"");
    cr_assert_eq(pl_http_preconditions(&r, &V, true), 412);
    r.if_match = S("\"1\"");
    cr_assert_eq(pl_http_preconditions(&r, &V, true), 200);
    r.if_match = S("\"2\"");
    cr_assert_eq(pl_http_preconditions(&r, &V, true), 412);
    r.if_match = S("");
    r.if_none_match = S("W/\"1\"");
    cr_assert_eq(pl_http_preconditions(&r, &V, true), 304);
    r.if_none_match = S("W/\"2\"");
    cr_assert_eq(pl_http_preconditions(&r, &V, true), 200);
}

Test(http_cond, if_range)
{
    pl_http_req r = req(NULL, NULL, NULL, NULL);
    cr_assert(pl_http_if_range(&r, &V), "absent: honour Range");
    V.mtime_s = RFC_T + 3 * 86400;
    r.if_range = S("Wed, 09 Nov 1994 08:49:37 GMT");
    cr_assert(pl_http_if_range(&r, &V), "a date on a Wednesday is a date");
    r.if_range = S("Wednesday, 09-Nov-94 08:49:37 GMT");
    cr_assert(pl_http_if_range(&r, &V));
    V.mtime_s = RFC_T;
    const char *yes[] = { "\"abc\"", " \"abc\"", SAME, "Sunday, 06-Nov-94 08:49:37 GMT" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        r.if_range = S(yes[i]);
        cr_assert(pl_http_if_range(&r, &V), "%s", yes[i]);
    }
    const char *no[] = { "W/\"abc\"", "\"xyz\"", "\"abc\", \"x\"", "*", AFTER, BEFORE,
                         "garbage", "\"abc" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        r.if_range = S(no[i]);
        cr_assert(!pl_http_if_range(&r, &V), "%s", no[i]);
    }
}
