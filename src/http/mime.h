/* mime.h — an optional /etc/mime.types overlay for pl_http_mime (mime.c).
 *
 * Kept apart from http.h so the core table needs no configuration. The server
 * reads the file once at start (an effect, outside this layer) and packs it
 * with pl_http_mime_pack into a flat table it keeps in a shared ref; lookups
 * then go through pl_http_mime_packed. pl_http_mime_overlay and
 * pl_http_mime_find are the same parse as slices of the text, for callers
 * that keep the text alive. No allocation.
 *
 * Policy of the packed table: the built-in table wins. Its types are the ones
 * browsers need (text/javascript, font/woff2, application/manifest+json, with
 * a charset on text), while mime.types on many systems still lists older ones
 * (application/javascript, application/font-woff, no charset); so the overlay
 * only names extensions the built-in table does not know.
 */
#ifndef PLUTO_HTTP_MIME_H
#define PLUTO_HTTP_MIME_H

#include "http/http.h"

typedef struct pl_http_mime_entry { pl_str ext, type; } pl_http_mime_entry;

/* Parse mime.types text ("type ext ext ...", blank lines and '#' comments
 * ignored) into tab[0..cap), sorted by extension (case-insensitive); when an
 * extension appears twice the first line wins. Slices point into text.
 * Returns the number of entries, or -1 when there are more than cap. */
int pl_http_mime_overlay(const char *text, size_t len, pl_http_mime_entry *tab, size_t cap);

/* The overlay's type for path's extension, or an empty slice. A caller that
 * wants the overlay to override the built-in table asks it first; one that
 * wants it only to fill gaps asks it when pl_http_mime gives
 * "application/octet-stream". Overlay types carry no charset: append
 * "; charset=utf-8" to "text/..." types as the built-in table does. */
pl_str pl_http_mime_find(const pl_http_mime_entry *tab, size_t n, const char *path, size_t len);

/* True when the last segment of path has an extension, as pl_http_mime sees
 * one ("app.js", "a/v1.2"; not ".env", "a.d/readme", "a."). */
bool pl_http_has_extension(const char *path, size_t len);

/* Pack mime.types text into out[0..cap): the pairs whose extension the
 * built-in table does not know, with a plain extension (a token without '.')
 * and a type/subtype of tokens; "; charset=utf-8" is appended to text/ types;
 * when an extension appears twice the first line wins. Flat and pointer-free:
 *
 *   uint32_t n; n records { uint32_t ext, type; } sorted by extension;
 *   then NUL-terminated strings (extensions in lower case) the records point
 *   to, as offsets from the start of out.
 *
 * Returns the size the table needs: written only when that is at most cap
 * (call with cap 0 to size it). 0 for text over 64 MiB. */
size_t pl_http_mime_pack(const char *text, size_t len, void *out, size_t cap);

/* The packed table's type for path's extension (case-insensitive), or NULL.
 * The string lives in packed. */
const char *pl_http_mime_packed(const void *packed, size_t size, const char *path, size_t len);

#endif
