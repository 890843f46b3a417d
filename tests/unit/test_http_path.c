/* test_http_path.c — request-targets to paths: the mapping, and every traversal
 * encoding we could find, each of which must be refused or land inside the root. */
#include "http/http.h"

#include <criterion/criterion.h>
#include <string.h>

static char out[256];
static pl_http_path info;

static int map(const char *t) { return pl_http_map_path(t, strlen(t), out, sizeof out, &info); }

static void ok(const char *target, const char *path)
{
    int rc = map(target);
    cr_assert_eq(rc, 0, "%s: got %d", target, rc);
    cr_assert_str_eq(out, path, "%s", target);
    cr_assert_eq(info.len, strlen(path), "%s", target);
}

static void bad(const char *target)
{
    cr_assert_eq(map(target), -400, "%s should be refused, got \"%s\"", target, out);
}

/* Inside the root: no ".." segment, no leading '/', no empty segment. */
static bool inside(const char *p)
{
    if (p[0] == '/' || strstr(p, "//") != NULL)
        return false;
    for (const char *s = p; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return false;
        s += n + (s[n] == '/');
    }
    return true;
}

Test(http_path, origin_form)
{
    ok("/", "");
    cr_assert(info.dir_slash);
    ok("/index.html", "index.html");
    cr_assert(!info.dir_slash && !info.dotfile && info.query.len == 0);
    ok("/a/b/c.txt", "a/b/c.txt");
    ok("/a/b/", "a/b");
    cr_assert(info.dir_slash);
    ok("/a%20b/%41", "a b/A");
    ok("/caf%C3%A9", "caf\xc3\xa9");
    ok("/caf\xc3\xa9", "caf\xc3\xa9");
    ok("/%7e/x;y=1/a+b", "~/x;y=1/a+b");
    ok("/%25/%3f/%23", "%/?/#");
}

Test(http_path, dot_segments_and_slashes)
{
    ok("/a//b", "a/b");
    ok("//a///b//", "a/b");
    cr_assert(info.dir_slash);
    ok("/a/./b", "a/b");
    ok("/a/b/../c", "a/c");
    ok("/a/b/..", "a");
    cr_assert(info.dir_slash);
    ok("/a/.", "a");
    cr_assert(info.dir_slash);
    ok("/a/..", "");
    ok("/a/%2e%2e/b", "b");
    ok("/a/.%2E/b", "b");
    ok("/./././", "");
    ok("/a/b/c/../../d", "a/d");
}

Test(http_path, query_and_fragment)
{
    ok("/a?x=1&y=%2f", "a");
    cr_assert_eq(info.query.len, 10);
    cr_assert_eq(memcmp(info.query.p, "?x=1&y=%2f", 10), 0);
    ok("/a?x#frag", "a");
    cr_assert_eq(info.query.len, 2);
    ok("/a#frag?x", "a");
    cr_assert_eq(info.query.len, 0);
    ok("/dir?", "dir");
    cr_assert_eq(info.query.len, 1);
    ok("/a?../../etc/passwd", "a");
    ok("/a/b%3F/c", "a/b?/c");
    cr_assert_eq(info.query.len, 0);
}

Test(http_path, absolute_form)
{
    ok("http://example.com/a/b?q", "a/b");
    cr_assert_eq(info.query.len, 2);
    ok("HTTPS://example.com:443/x/", "x");
    cr_assert(info.dir_slash);
    ok("http://h", "");
    cr_assert(info.dir_slash);
    ok("http://h?q=1", "");
    cr_assert_eq(info.query.len, 4);
    ok("http://user@h:80//a/./b", "a/b");
    bad("http:///x");
    bad("ftp://h/x");
    bad("http:/x");
    bad("http://h/../x");
    bad("http://h/a/../../x");
}

Test(http_path, refused_targets)
{
    const char *t[] = {
        "", "*", "a/b", "../a", "h:80", "/a%2fb", "/a%2Fb", "/a%5cb", "/a%5Cb", "/a\\b",
        "/%00", "/a%00.html", "/a\x01", "/%0a", "/%0d%0a", "/%7f", "/a\x7f", "/%1b[31m",
        "/%", "/%2", "/a%zz", "/%g0", "/%%30", "/a?x\ny", "/a#\r",
        "/%ed%a0%80", "/%f4%90%80%80", "/%f5%80%80%80", "/%ff", "/%80", "/%e2%82",
        "/%c0%80", "/%c2", "/%f0%80%80%af",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        bad(t[i]);
    cr_assert_eq(pl_http_map_path("/a\0b", 4, out, sizeof out, &info), -400);
    ok("/%f0%9f%98%80/%ef%bf%bf/%c2%80", "\xf0\x9f\x98\x80/\xef\xbf\xbf/\xc2\x80");
}

Test(http_path, traversal_encodings)
{
    const char *t[] = {
        "/..", "/../", "/../etc/passwd", "/a/../..", "/a/../../b", "/%2e%2e/", "/%2E%2e/x",
        "/%2e%2E/x", "/.%2e/x", "/%2e./x", "/a/%2e%2e/%2e%2e/x", "//..//", "/./../",
        "/a/b/../../..", "/..%2f", "/..%2F..%2Fetc", "/..%5c", "/..%5C..%5Cwin.ini", "/..\\x",
        "/\\..\\x", "/%c0%ae%c0%ae/x", "/%c0%ae%c0%ae%c0%af", "/%e0%80%ae%e0%80%ae/x",
        "/%c0%2e%c0%2e/", "/%c1%9c", "/%c1%1c", "/%252e%252e/x", "/%252e%252e%252fetc",
        "/%25%32%65%25%32%65/x", "/%%32%65%%32%65/x", "/.../x", "/a/..../b", "/a/b./",
        "/a/.. /b", "/a/..%20/b", "/a/%2e%2e%00/x", "/.%00./x", "http://h/%2e%2e/x",
        "http://h/..%2f..%2fetc", "http://h//..//..//", "/a/b/c/%2e%2e/%2e%2e/%2e%2e/%2e%2e",
        "/%u002e%u002e/x", "/..;/x", "/.;./x", "/a/...%2f..", "/a/%2e%2e%2f%2e%2e",
        "/%ef%bc%8e%ef%bc%8e/x", "/%e2%80%a4%e2%80%a4/x", "/\xc0\xae\xc0\xae/x",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int rc = map(t[i]);
        cr_assert(rc == -400 || (rc == 0 && inside(out)), "%s: rc %d, \"%s\"", t[i], rc, out);
        cr_assert(rc != 0 || info.len == strlen(out), "%s", t[i]);
    }
    ok("/%252e%252e/x", "%2e%2e/x");
    ok("/%25%32%65/x", "%2e/x");
    ok("/a/...", "a/...");
    ok("/a/b./", "a/b.");
    bad("/%c0%ae%c0%ae/x");
    bad("/%e0%80%ae%e0%80%ae/x");
    bad("/..%2f");
}

Test(http_path, dotfiles)
{
    ok("/.env", ".env");
    cr_assert(info.dotfile);
    ok("/.well-known/acme-challenge/tok", ".well-known/acme-challenge/tok");
    cr_assert(!info.dotfile);
    ok("/.well-known", ".well-known");
    cr_assert(!info.dotfile);
    const char *yes[] = { "/.well-knownx", "/a/.git/config", "/a/.well-known/x",
                          "/.well-known/.x", "/%2egit/x", "/.../x", "/a/..b", "/.htaccess" };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        cr_assert_eq(map(yes[i]), 0, "%s", yes[i]);
        cr_assert(info.dotfile, "%s", yes[i]);
    }
    const char *no[] = { "/a/b.c", "/a/.hidden/../b", "/a./b", "/a/b.", "/", "/.well-known/" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        cr_assert_eq(map(no[i]), 0, "%s", no[i]);
        cr_assert(!info.dotfile, "%s", no[i]);
    }
}

Test(http_path, output_limit)
{
    char small[8];
    pl_http_path in;
    cr_assert_eq(pl_http_map_path("/abcdefg", 8, small, 8, &in), 0);
    cr_assert_str_eq(small, "abcdefg");
    cr_assert_eq(pl_http_map_path("/abcdefgh", 9, small, 8, &in), -414);
    cr_assert_eq(pl_http_map_path("/abc/defg", 9, small, 8, &in), -414);
    cr_assert_eq(pl_http_map_path("/abc/%64%65f", 12, small, 8, &in), 0);
    cr_assert_str_eq(small, "abc/def");
    cr_assert_eq(pl_http_map_path("/abcdefg/%2e%2e", 15, small, 8, &in), 0);
    cr_assert_str_eq(small, "", "a dot segment needs no room in out");
    cr_assert_eq(pl_http_map_path("/", 1, small, 1, &in), 0);
    cr_assert_str_eq(small, "");
    cr_assert_eq(pl_http_map_path("/a", 2, small, 1, &in), -414);
    cr_assert_eq(pl_http_map_path("/", 1, small, 0, &in), -414);

    static char big[10001];
    big[0] = '/';
    memset(big + 1, 'a', sizeof big - 2);
    cr_assert_eq(pl_http_map_path(big, sizeof big - 1, out, sizeof out, &info), -414);
    cr_assert_eq(out[0], 0);
}
