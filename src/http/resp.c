/* resp.c — response heads as bytes.
 *
 *   HTTP/1.1 200 OK\r\n
 *   Server: pluto\r\n
 *   Date: Sat, 21 Nov 2026 14:00:00 GMT\r\n
 *   Content-Type: text/html; charset=utf-8\r\n
 *   Content-Length: 849\r\n
 *   ...
 *   \r\n
 */
#include "http/resp.h"
#include "http/out.h"

#include <stdio.h>
#include <string.h>

const char *pl_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "";
    }
}


static void header(out *o, const char *name, const char *value)
{
    if (value == NULL || value[0] == 0)
        return;
    puts_(o, name);
    put(o, ": ", 2);
    puts_(o, value);
    put(o, "\r\n", 2);
}

size_t pl_http_resp_head(char *buf, size_t cap, const pl_http_resp *r)
{
    out o = { buf, 0, cap, false };
    put(&o, "HTTP/1.1 ", 9);
    put_u64(&o, (uint64_t)r->status);
    put(&o, " ", 1);
    puts_(&o, pl_http_reason(r->status));
    put(&o, "\r\nServer: pluto\r\n", 17);
    header(&o, "Date", r->date);
    header(&o, "Content-Type", r->content_type);
    if (r->has_length) {
        put(&o, "Content-Length: ", 16);
        put_u64(&o, r->content_length);
        put(&o, "\r\n", 2);
    }
    header(&o, "Content-Range", r->content_range);
    header(&o, "Content-Encoding", r->content_encoding);
    header(&o, "ETag", r->etag);
    header(&o, "Last-Modified", r->last_modified);
    header(&o, "Location", r->location);
    header(&o, "Allow", r->allow);
    header(&o, "Vary", r->vary);
    header(&o, "Cache-Control", r->cache_control);
    if (r->accept_ranges)
        header(&o, "Accept-Ranges", "bytes");
    header(&o, "X-Content-Type-Options", "nosniff");
    if (r->close)
        header(&o, "Connection", "close");
    else if (r->keep_alive_10)
        header(&o, "Connection", "keep-alive");
    if (r->extra != NULL)
        puts_(&o, r->extra);
    put(&o, "\r\n", 2);
    return o.full ? 0 : o.len;
}

size_t pl_http_encode_path(const char *path, char *dst, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || (*p && strchr("-._~!$&'()*+,;=:@/", *p));
        if (n + (keep ? 1 : 3) >= cap)
            return 0;
        if (keep) {
            dst[n++] = (char)*p;
        } else {
            dst[n++] = '%';
            dst[n++] = hex[*p >> 4];
            dst[n++] = hex[*p & 15];
        }
    }
    dst[n] = 0;
    return n;
}

size_t pl_http_resp_simple(char *buf, size_t cap, const pl_http_simple *s)
{
    int status = s->status;
    bool head = s->head;
    char body[256];
    int n = snprintf(body, sizeof body,
                     "<!doctype html><title>%d %s</title><h1>%d %s</h1>\n", status,
                     pl_http_reason(status), status, pl_http_reason(status));
    if (n < 0 || (size_t)n >= sizeof body)
        return 0;
    pl_http_resp r = { .status = status, .date = s->date, .has_length = status != 304,
                       .content_length = status == 304 ? 0 : (uint64_t)n,
                       .content_type = status == 304 ? NULL : "text/html; charset=utf-8",
                       .location = s->location, .allow = s->allow, .close = s->close,
                       .keep_alive_10 = s->keep_alive_10 && !s->close,
                       .extra = s->extra };
    size_t len = pl_http_resp_head(buf, cap, &r);
    if (len == 0 || head || status == 304)
        return len;
    if (len + (size_t)n > cap)
        return 0;
    memcpy(buf + len, body, (size_t)n);
    return len + (size_t)n;
}
