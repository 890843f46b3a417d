/* test_http_mime.c — content types by extension, Accept-Encoding, the mime.types overlay. */
#include "http/http.h"
#include "http/mime.h"

#include <criterion/criterion.h>
#include <string.h>

static const char *mime(const char *p) { return pl_http_mime(p, strlen(p)); }

static unsigned pick(const char *ae, unsigned avail)
{
    return pl_http_pick_encoding((pl_str){ ae, strlen(ae) }, avail);
}

enum { BR = 1, ZSTD = 2, GZIP = 4, ALL = 7 };

Test(http_mime, the_table)
{
    static const char *const T[][2] = {
        { "html", "text/html; charset=utf-8" }, { "htm", "text/html; charset=utf-8" },
        { "css", "text/css; charset=utf-8" }, { "js", "text/javascript; charset=utf-8" },
        { "mjs", "text/javascript; charset=utf-8" },
        { "json", "application/json; charset=utf-8" },
        { "map", "application/json; charset=utf-8" }, { "txt", "text/plain; charset=utf-8" },
        { "md", "text/markdown; charset=utf-8" }, { "xml", "application/xml; charset=utf-8" },
        { "svg", "image/svg+xml; charset=utf-8" }, { "wasm", "application/wasm" },
        { "png", "image/png" }, { "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
        { "gif", "image/gif" }, { "webp", "image/webp" }, { "avif", "image/avif" },
        { "ico", "image/x-icon" }, { "bmp", "image/bmp" }, { "tif", "image/tiff" },
        { "tiff", "image/tiff" }, { "woff", "font/woff" }, { "woff2", "font/woff2" },
        { "ttf", "font/ttf" }, { "otf", "font/otf" }, { "eot", "application/vnd.ms-fontobject" },
        { "mp4", "video/mp4" }, { "webm", "video/webm" }, { "ogg", "audio/ogg" },
        { "ogv", "video/ogg" }, { "oga", "audio/ogg" }, { "mp3", "audio/mpeg" },
        { "wav", "audio/wav" }, { "flac", "audio/flac" }, { "m4a", "audio/mp4" },
        { "mov", "video/quicktime" }, { "pdf", "application/pdf" }, { "zip", "application/zip" },
        { "gz", "application/gzip" }, { "br", "application/x-brotli" },
        { "zst", "application/zstd" }, { "tar", "application/x-tar" },
        { "webmanifest", "application/manifest+json; charset=utf-8" },
        { "csv", "text/csv; charset=utf-8" }, { "ics", "text/calendar; charset=utf-8" },
        { "rss", "application/rss+xml; charset=utf-8" },
        { "atom", "application/atom+xml; charset=utf-8" },
        { "xhtml", "application/xhtml+xml; charset=utf-8" },
        { "aac", "audio/aac" }, { "apng", "image/apng" }, { "epub", "application/epub+zip" },
        { "heic", "image/heic" }, { "jsonld", "application/ld+json; charset=utf-8" },
        { "jxl", "image/jxl" }, { "m3u8", "application/vnd.apple.mpegurl" },
        { "mkv", "video/x-matroska" }, { "mpd", "application/dash+xml" },
        { "opus", "audio/ogg" }, { "vtt", "text/vtt; charset=utf-8" },
        { "yaml", "application/yaml; charset=utf-8" }, { "yml", "application/yaml; charset=utf-8" },
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        char p[64];
        strcpy(p, "dir/file.");
        strcat(p, T[i][0]);
        cr_assert_str_eq(mime(p), T[i][1], "%s", p);
        for (char *c = p; *c; c++)
            *c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
        cr_assert_str_eq(mime(p), T[i][1], "%s", p);
        bool text = strstr(T[i][1], "text/") == T[i][1];
        cr_assert(!text || strstr(T[i][1], "; charset=utf-8"), "%s", T[i][0]);
    }
}

Test(http_mime, names_without_a_known_extension)
{
    const char *oct[] = { "", "Makefile", "a/README", ".bashrc", "a/.htaccess", "a.d/readme",
                          "file.", "a/.gz", "x.unknownext", "x.h tml", "/", ".", "..",
                          "a.html/", "x.verylongextensionthatisnotinthetable" };
    for (size_t i = 0; i < sizeof oct / sizeof oct[0]; i++)
        cr_assert_str_eq(mime(oct[i]), "application/octet-stream", "%s", oct[i]);
    cr_assert_str_eq(mime("x.tar.gz"), "application/gzip");
    cr_assert_str_eq(mime("/abs/index.HtMl"), "text/html; charset=utf-8");
    cr_assert_str_eq(mime(".config/app.json"), "application/json; charset=utf-8");
    cr_assert_str_eq(mime(".eslintrc.js"), "text/javascript; charset=utf-8");
    cr_assert_str_eq(mime("a..css"), "text/css; charset=utf-8");
    cr_assert_str_eq(pl_http_mime("a.html.gz", 6), "text/html; charset=utf-8", "len counts");
}

Test(http_mime, accept_encoding)
{
    cr_assert_eq(pick("", ALL), 0);
    cr_assert_eq(pick("gzip, deflate, br, zstd", ALL), BR);
    cr_assert_eq(pick("gzip, deflate, br, zstd", ZSTD | GZIP), ZSTD);
    cr_assert_eq(pick("gzip, deflate, br", ZSTD | GZIP), GZIP);
    cr_assert_eq(pick("gzip, deflate", BR | ZSTD), 0);
    cr_assert_eq(pick("gzip;q=1.0, br;q=0.5", ALL), GZIP);
    cr_assert_eq(pick("br;q=0.5, gzip;q=0.8, zstd;q=0.9", ALL), ZSTD);
    cr_assert_eq(pick("br;q=0.5, gzip;q=0.8, zstd;q=0.9", BR | GZIP), GZIP);
    cr_assert_eq(pick("*", ALL), BR);
    cr_assert_eq(pick("*;q=0.1, gzip;q=0", ALL), BR);
    cr_assert_eq(pick("*;q=0.1, br;q=0", ALL), ZSTD);
    cr_assert_eq(pick("*;q=0", ALL), 0);
    cr_assert_eq(pick("br;q=0", ALL), 0);
    cr_assert_eq(pick("br;q=0.000", ALL), 0);
    cr_assert_eq(pick("br;q=0.001", ALL), BR);
    cr_assert_eq(pick("br;q=0.5, identity", ALL), 0);
    cr_assert_eq(pick("br, identity;q=0.5", ALL), BR);
    cr_assert_eq(pick("br;q=0.5, identity;q=0.5", ALL), BR, "ties favour compression");
    cr_assert_eq(pick("identity;q=0, gzip;q=0.1", ALL), GZIP);
    cr_assert_eq(pick("BR, GZip", GZIP), GZIP);
    cr_assert_eq(pick("x-gzip", ALL), GZIP);
    cr_assert_eq(pick("gzip ; q=0.5 , br ; q=0.4", ALL), GZIP);
    cr_assert_eq(pick("br;q=0, br", ALL), 0, "the first mention counts");
    cr_assert_eq(pick("br", 0), 0);
}

Test(http_mime, accept_encoding_malformed)
{
    cr_assert_eq(pick("br;q=2, gzip", ALL), GZIP, "q above 1: the element is dropped");
    cr_assert_eq(pick("br;q=1.5, gzip", ALL), GZIP);
    cr_assert_eq(pick("br;q=0.1234, gzip;q=0.1", ALL), GZIP);
    cr_assert_eq(pick("br;q=, gzip;q=0.1", ALL), GZIP);
    cr_assert_eq(pick("br;q, gzip;q=0.1", ALL), GZIP);
    cr_assert_eq(pick("br gzip", ALL), 0);
    cr_assert_eq(pick("@@@, br", ALL), BR);
    cr_assert_eq(pick(";;;,,,", ALL), 0);
    cr_assert_eq(pick("br;level=5", ALL), BR, "other parameters are skipped");
    cr_assert_eq(pick("compress, deflate", ALL), 0);
}

Test(http_mime, overlay)
{
    static const char text[] =
        "# comment line\n"
        "text/x-custom\t\tfoo  Bar\r\n"
        "\n"
        "application/x-thing   thing # trailing comment\n"
        "image/other  foo\n"
        "application/noext\n"
        "video/mp2t ts\n";
    pl_http_mime_entry tab[8];
    int n = pl_http_mime_overlay(text, sizeof text - 1, tab, 8);
    cr_assert_eq(n, 4);
    for (int i = 1; i < n; i++)
        cr_assert(strncasecmp(tab[i - 1].ext.p, tab[i].ext.p, 3) < 0);
    pl_str t = pl_http_mime_find(tab, (size_t)n, "a/x.FOO", 7);
    cr_assert(t.len == 13 && memcmp(t.p, "text/x-custom", 13) == 0, "the first line wins");
    t = pl_http_mime_find(tab, (size_t)n, "x.bar", 5);
    cr_assert(t.len == 13 && memcmp(t.p, "text/x-custom", 13) == 0);
    t = pl_http_mime_find(tab, (size_t)n, "x.thing", 7);
    cr_assert(t.len == 19 && memcmp(t.p, "application/x-thing", 19) == 0);
    t = pl_http_mime_find(tab, (size_t)n, "a.ts", 4);
    cr_assert(t.len == 10 && memcmp(t.p, "video/mp2t", 10) == 0);
    cr_assert_eq(pl_http_mime_find(tab, (size_t)n, "x.html", 6).len, 0);
    cr_assert_eq(pl_http_mime_find(tab, (size_t)n, ".foo", 4).len, 0);
    cr_assert_eq(pl_http_mime_overlay(text, sizeof text - 1, tab, 3), -1);
    cr_assert_eq(pl_http_mime_overlay("", 0, tab, 0), 0);
}

Test(http_mime, packed_overlay_fills_only_the_gaps)
{
    static const char text[] =
        "# mime.types\n"
        "application/javascript\t\tjs mjs\n"           /* the built-in type wins */
        "text/x-custom  foo FOO\r\n"
        "image/other  foo zed\n"                       /* foo: the first line wins */
        "application/vnd.debian.binary-package deb udeb\n"
        "bad type  nope\n"                             /* "bad" has no '/': skipped */
        "text/evil\r\nX: y  evil\n"
        "application/x-dots  tar.gz\n"
        "   indented  ignored\n"
        "application/noext\n";
    size_t need = pl_http_mime_pack(text, sizeof text - 1, NULL, 0);
    cr_assert_gt(need, 4);
    static uint8_t buf[4096];
    cr_assert_eq(pl_http_mime_pack(text, sizeof text - 1, buf, need), need);
    uint32_t n;
    memcpy(&n, buf, 4);
    cr_assert_eq(n, 4, "foo, zed, deb, udeb (got %u)", n);
    cr_assert_str_eq(pl_http_mime_packed(buf, need, "a/b.Foo", 7), "text/x-custom; charset=utf-8");
    cr_assert_str_eq(pl_http_mime_packed(buf, need, "x.zed", 5), "image/other");
    cr_assert_str_eq(pl_http_mime_packed(buf, need, "p.deb", 5),
                     "application/vnd.debian.binary-package");
    cr_assert_str_eq(pl_http_mime_packed(buf, need, "p.UDEB", 6),
                     "application/vnd.debian.binary-package");
    cr_assert_null(pl_http_mime_packed(buf, need, "a.js", 4), "known to the table");
    cr_assert_null(pl_http_mime_packed(buf, need, "a.nope", 6));
    cr_assert_null(pl_http_mime_packed(buf, need, "a.evil", 6));
    cr_assert_null(pl_http_mime_packed(buf, need, "a.tar.gz", 8));
    cr_assert_null(pl_http_mime_packed(buf, need, "a.ignored", 9));
    cr_assert_null(pl_http_mime_packed(buf, need, ".foo", 4), "a dotfile has no extension");
    cr_assert_null(pl_http_mime_packed(buf, need, "README", 6));
    cr_assert_null(pl_http_mime_packed(buf, 0, "x.foo", 5), "an empty table");
    cr_assert_eq(pl_http_mime_pack(text, sizeof text - 1, buf, need - 1), need,
                 "too small: sized, not written");
    cr_assert_eq(pl_http_mime_pack("", 0, buf, sizeof buf), 4);
}

Test(http_mime, has_extension)
{
    cr_assert(pl_http_has_extension("app.js", 6));
    cr_assert(pl_http_has_extension("a/v1.2", 6));
    cr_assert_not(pl_http_has_extension("app/route", 9));
    cr_assert_not(pl_http_has_extension(".env", 4));
    cr_assert_not(pl_http_has_extension("a.d/readme", 10));
    cr_assert_not(pl_http_has_extension("a.", 2));
    cr_assert_not(pl_http_has_extension("", 0));
}
