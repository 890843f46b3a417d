/* uring_select.h — what the runtime needs to know of the io_uring backend
 * to choose it: the table, and whether this kernel and process allow it.
 */
#ifndef PLUTO_BACKEND_URING_SELECT_H
#define PLUTO_BACKEND_URING_SELECT_H

#include "runtime/internal.h"

#include <stddef.h>

extern const pl__backend pl__backend_uring;

/* io_uring can run here: a ring sets up, and the kernel has every operation
 * and feature the backend uses. When not, why holds the reason (for the one
 * log line of a fallback to epoll). Checked once per process. */
bool pl__uring_usable(char *why, size_t why_len);

#endif
