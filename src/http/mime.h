/* mime.h — an optional /etc/mime.types overlay for pl_http_mime (mime.c).
 *
 * Kept apart from http.h so the core table needs no configuration. The server
 * reads the file once at start (an effect, outside this layer), hands its bytes
 * to pl_http_mime_overlay with a table it owns, and keeps both alive; lookups
 * then go through pl_http_mime_find. No allocation: the entries are slices of
 * the text.
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

#endif
