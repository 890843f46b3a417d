/* test_http_listing.c — the HTML index of a directory: escaping, links, sort, dates. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "http/listing.h"

/* A names buffer and entries built from C strings. */
typedef struct fixture { char names[4096]; size_t used; pl_http_listing_entry e[16]; } fixture;

static pl_http_listing_entry *add(fixture *f, size_t i, const char *name, bool dir,
                                  uint64_t size, int64_t mtime)
{
    size_t n = strlen(name);
    memcpy(f->names + f->used, name, n);
    f->e[i] = (pl_http_listing_entry){ .name = (uint32_t)f->used, .name_len = (uint32_t)n,
                                       .dir = dir, .size = size, .mtime_s = mtime };
    f->used += n;
    return &f->e[i];
}

static const char *row(const fixture *f, size_t i, char *buf, size_t cap)
{
    size_t n = pl_http_listing_row(buf, cap, f->names, &f->e[i]);
    cr_assert_gt(n, 0);
    cr_assert_leq(n, pl_http_listing_row_max(f->e[i].name_len));
    buf[n] = 0;
    return buf;
}

Test(listing, a_file_row_has_link_name_size_and_date)
{
    static fixture f;
    char buf[512];
    add(&f, 0, "notes.txt", false, 1234, 1580674820);         /* 2020-02-02 20:20:20 */
    cr_assert_str_eq(row(&f, 0, buf, sizeof buf),
                     "<tr><td><a href=\"notes.txt\">notes.txt</a></td><td>1234</td>"
                     "<td>2020-02-02 20:20</td></tr>\n");
}

Test(listing, a_directory_row_links_with_a_slash_and_has_no_size)
{
    static fixture f;
    char buf[512];
    add(&f, 0, "img", true, 4096, 0);
    cr_assert_str_eq(row(&f, 0, buf, sizeof buf),
                     "<tr><td><a href=\"img/\">img/</a></td><td>-</td>"
                     "<td>1970-01-01 00:00</td></tr>\n");
}

Test(listing, names_are_escaped_for_html_and_encoded_for_links)
{
    static fixture f;
    char buf[1024];
    add(&f, 0, "<b>&\"x'.html", false, 1, 0);
    const char *r = row(&f, 0, buf, sizeof buf);
    cr_assert_not_null(strstr(r, ">&lt;b&gt;&amp;&quot;x&#39;.html</a>"), "%s", r);
    cr_assert_not_null(strstr(r, "href=\"%3Cb%3E%26%22x%27.html\""), "%s", r);
    cr_assert_null(strstr(r, "<b>"));
    add(&f, 1, "a b?c#d%e \xc3\xbc.txt", false, 1, 0);
    r = row(&f, 1, buf, sizeof buf);
    cr_assert_not_null(strstr(r, "href=\"a%20b%3Fc%23d%25e%20%C3%BC.txt\""), "%s", r);
    cr_assert_not_null(strstr(r, ">a b?c#d%e \xc3\xbc.txt</a>"), "%s", r);
}

Test(listing, no_name_becomes_a_scheme_or_a_raw_control_byte)
{
    static fixture f;
    char buf[1024];
    add(&f, 0, "javascript:alert(1)", false, 1, 0);
    const char *r = row(&f, 0, buf, sizeof buf);
    cr_assert_not_null(strstr(r, "href=\"javascript%3Aalert%281%29\""), "%s", r);
    add(&f, 1, "a\nb\x7f", false, 1, 0);
    r = row(&f, 1, buf, sizeof buf);
    cr_assert_null(strchr(r, '\x7f'));
    cr_assert_not_null(strstr(r, ">a\xef\xbf\xbd" "b\xef\xbf\xbd</a>"), "%s", r);
    cr_assert_not_null(strstr(r, "href=\"a%0Ab%7F\""), "%s", r);
}

Test(listing, hidden_entries_and_rows_that_do_not_fit_give_nothing)
{
    static fixture f;
    char buf[512];
    add(&f, 0, "x", false, 1, 0)->hidden = true;
    cr_assert_eq(pl_http_listing_row(buf, sizeof buf, f.names, &f.e[0]), 0);
    add(&f, 1, "y", false, 1, 0);
    cr_assert_eq(pl_http_listing_row(buf, 20, f.names, &f.e[1]), 0);
}

Test(listing, the_worst_name_fits_the_row_bound)
{
    static fixture f;
    char name[256], buf[4096];
    memset(name, '"', 255);
    name[255] = 0;
    add(&f, 0, name, true, 0, 253402300799);                  /* 9999-12-31 23:59:59 */
    size_t n = pl_http_listing_row(buf, sizeof buf, f.names, &f.e[0]);
    cr_assert_gt(n, 0);
    cr_assert_leq(n, pl_http_listing_row_max(255));
    buf[n] = 0;
    cr_assert_not_null(strstr(buf, "9999-12-31 23:59"));
}

Test(listing, dates_before_1970_and_out_of_range)
{
    static fixture f;
    char buf[512];
    add(&f, 0, "old", false, 0, -1);
    cr_assert_not_null(strstr(row(&f, 0, buf, sizeof buf), "1969-12-31 23:59"));
    add(&f, 1, "far", false, 0, 253402300800);
    cr_assert_not_null(strstr(row(&f, 1, buf, sizeof buf), "<td>-</td></tr>"));
}

Test(listing, sorted_by_name_in_byte_order)
{
    static fixture f;
    const char *in[] = { "b", "a.txt", "B", "a", "ab", "\xc3\xa9", "_", "a b", "Z" };
    const char *want[] = { "B", "Z", "_", "a", "a b", "a.txt", "ab", "b", "\xc3\xa9" };
    size_t n = sizeof in / sizeof in[0];
    for (size_t i = 0; i < n; i++)
        add(&f, i, in[i], i % 2 == 0, i, 0);
    pl_http_listing_sort(f.e, n, f.names);
    for (size_t i = 0; i < n; i++) {
        char got[32];
        snprintf(got, sizeof got, "%.*s", (int)f.e[i].name_len, f.names + f.e[i].name);
        cr_assert_str_eq(got, want[i], "position %zu", i);
    }
    pl_http_listing_sort(f.e, 0, f.names);                    /* empty and single: fine */
    pl_http_listing_sort(f.e, 1, f.names);
}

Test(listing, top_has_the_escaped_path_and_a_parent_link_below_the_root)
{
    char buf[2048];
    size_t n = pl_http_listing_top(buf, sizeof buf, "/a <b>/");
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_assert(strncmp(buf, "<!doctype html>", 15) == 0);
    cr_assert_not_null(strstr(buf, "<title>Index of /a &lt;b&gt;/</title>"));
    cr_assert_not_null(strstr(buf, "<a href=\"../\">../</a>"));
    n = pl_http_listing_top(buf, sizeof buf, "/");
    buf[n] = 0;
    cr_assert_null(strstr(buf, "href=\"../\""), "the root has no parent");
    cr_assert_eq(pl_http_listing_top(buf, 100, "/"), 0);
}

Test(listing, end_closes_the_page_and_says_when_cut)
{
    char buf[512];
    size_t n = pl_http_listing_end(buf, sizeof buf, false);
    buf[n] = 0;
    cr_assert_str_eq(buf, "</table>\n</body></html>\n");
    n = pl_http_listing_end(buf, sizeof buf, true);
    buf[n] = 0;
    cr_assert_not_null(strstr(buf, "more entries"));
    cr_assert_eq(pl_http_listing_end(buf, 5, false), 0);
}
