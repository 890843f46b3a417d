/* test_http_resp.c — response heads, Location encoding, multipart bodies. */
#include <criterion/criterion.h>
#include <string.h>

#include "http/resp.h"

Test(resp, head_has_the_fixed_headers_and_fits_or_refuses)
{
    char buf[512];
    pl_http_resp r = { .status = 404, .date = "Sat, 21 Nov 2026 14:00:00 GMT",
                       .has_length = true, .content_length = 12, .close = true };
    size_t n = pl_http_resp_head(buf, sizeof buf, &r);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_assert(strncmp(buf, "HTTP/1.1 404 Not Found\r\nServer: pluto\r\n", 39) == 0);
    cr_assert_not_null(strstr(buf, "Content-Length: 12\r\n"));
    cr_assert_not_null(strstr(buf, "X-Content-Type-Options: nosniff\r\n"));
    cr_assert_not_null(strstr(buf, "Connection: close\r\n\r\n"));
    cr_assert_eq(pl_http_resp_head(buf, 40, &r), 0, "a head that does not fit is refused");
}

Test(resp, location_paths_are_percent_encoded)
{
    char out[64];
    cr_assert_gt(pl_http_encode_path("d \xc3\xbc?x/a%b", out, sizeof out), 0);
    cr_assert_str_eq(out, "d%20%C3%BC%3Fx/a%25b");
    cr_assert_eq(pl_http_encode_path("abc", out, 3), 0);
}

Test(resp, multipart_length_matches_the_body)
{
    char b[PL_HTTP_BOUNDARY_LEN + 1], b2[PL_HTTP_BOUNDARY_LEN + 1];
    pl_http_boundary("\"1-2-3\"", b);
    pl_http_boundary("\"1-2-3\"", b2);
    cr_assert_str_eq(b, b2, "the boundary is a function of the ETag");
    cr_assert_eq(strlen(b), PL_HTTP_BOUNDARY_LEN);
    pl_http_range r[2] = { { 0, 3 }, { 10, 19 } };
    char body[1024];
    size_t n = 0;
    for (int i = 0; i < 2; i++) {
        n += pl_http_part_head(body + n, sizeof body - n, b, "text/plain", &r[i], 100);
        memset(body + n, 'x', r[i].last - r[i].first + 1);
        n += r[i].last - r[i].first + 1;
    }
    n += pl_http_parts_end(body + n, sizeof body - n, b);
    cr_assert_eq(pl_http_parts_length(b, "text/plain", r, 2, 100), n);
    body[n] = 0;
    cr_assert_not_null(strstr(body, "Content-Range: bytes 10-19/100\r\n\r\n"));
    cr_assert(strncmp(body + n - strlen(b) - 8, "\r\n--", 4) == 0);
}
