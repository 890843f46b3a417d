/* serve_mime.c — Content-Type: the built-in table, then /etc/mime.types.
 *
 * At start, before the root is opened and the port bound, each worker reads
 * /etc/mime.types with READ_FILE (a command like any other: no side door),
 * gathering the text in a scratch ref, and packs the extensions the built-in
 * table does not know into the overlay ref named in the configuration
 * (pl_http_mime_pack: flat, pointer-free). The built-in types win; the file
 * only fills gaps (mime.h says why). A missing or unreadable file means no
 * overlay; a file over MIME_TEXT is read up to its last whole line there.
 */
#include "apps/serve.h"
#include "http/mime.h"

#include <string.h>

enum { MIME_TEXT = 512 * 1024 };

static const char MIME_TYPES[] = "/etc/mime.types";

typedef struct mime_mem { serve_refs refs; pl_ref text; uint32_t len; bool cut; } mime_mem;

/* Pack what was read into the overlay, drop the text, go on starting. */
static void loaded(pl_ctx *cx, const mime_mem *m)
{
    const serve_cfg *cfg = serve_cfg_of(cx, &m->refs);
    const char *text = pl_ref_get(cx, m->text, NULL);
    size_t len = m->len;
    if (m->cut) {
        while (len > 0 && text[len - 1] != '\n')
            len--;
        pl_errf(cx, "pluto: %s: only the first %u KiB read", MIME_TYPES, MIME_TEXT / 1024);
    }
    size_t need = pl_http_mime_pack(text, len, NULL, 0);
    pl_ref overlay = cfg->mime;
    pl_ref_set(cx, overlay, NULL, need);
    if (need == 0 || pl_http_mime_pack(text, len, pl_ref_mut(cx, overlay, NULL), need) != need)
        pl_ref_set(cx, overlay, NULL, 0);
    pl_ref_set(cx, m->text, NULL, 0);
    serve_open_root(cx, &m->refs);
}

static pl_verdict on_mime(pl_ctx *cx, void *mem, const pl_answer *a)
{
    mime_mem *m = mem;
    if (a->err != 0) {                      /* no file, or unreadable: no overlay */
        m->len = 0;
        m->cut = false;
        loaded(cx, m);
        return PL_DONE;
    }
    size_t room = MIME_TEXT - m->len, n = a->len < room ? a->len : room;
    memcpy((char *)pl_ref_mut(cx, m->text, NULL) + m->len, a->data, n);
    m->len += (uint32_t)n;
    m->cut = m->cut || n < a->len;
    if (!a->eof)
        return PL_KEEP;
    loaded(cx, m);
    return PL_DONE;
}
PL_HANDLER(serve_h_mime, on_mime);

void serve_mime_load(pl_ctx *cx, const serve_refs *refs)
{
    mime_mem m = { .refs = *refs, .text = pl_ref_new(cx, NULL, MIME_TEXT) };
    pl_cmd read = pl_cmd_read_file(PL_DIR_CWD, MIME_TYPES);
    pl_send(cx, &read, &serve_h_mime, &m, sizeof m);
}

const char *serve_mime(pl_ctx *cx, const serve_refs *refs, const char *path)
{
    size_t len = strlen(path), size;
    const char *type = pl_http_mime(path, len);
    if (strcmp(type, "application/octet-stream") != 0)
        return type;
    const void *overlay = pl_ref_get(cx, serve_cfg_of(cx, refs)->mime, &size);
    const char *more = size > 0 ? pl_http_mime_packed(overlay, size, path, len) : NULL;
    return more != NULL ? more : type;
}
