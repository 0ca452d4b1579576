/*
 * alloc.h - start-up allocation that exits on failure, like pg_malloc.
 * Only start-up code (options, configuration) may use these; inside a cycle
 * allocation failure is an ordinary error (see arena.h).
 */
#ifndef PGMEDIC_UTIL_ALLOC_H
#define PGMEDIC_UTIL_ALLOC_H

#include <stddef.h>

void *pm_xmalloc(size_t size);
void *pm_xrealloc(void *p, size_t size);
void *pm_xcalloc(size_t n, size_t size); /* zeroed */
char *pm_xstrdup(const char *s);

#endif
