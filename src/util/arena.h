/*
 * arena.h - one region per probe → rules → render cycle, freed at once.
 *
 * Allocation failure is an ordinary error: arena_alloc() returns NULL and the
 * cycle fails with "out of memory".  Memory is zeroed.
 */
#ifndef PGMEDIC_UTIL_ARENA_H
#define PGMEDIC_UTIL_ARENA_H

#include <stddef.h>

#include "util/compiler.h"

typedef struct Arena Arena;

/* A new empty arena; NULL when out of memory. */
Arena *arena_new(void) PM_MUST_CHECK;

/* Frees every allocation of the arena and the arena; NULL is a no-op. */
void arena_free(Arena *arena);

/* size zeroed bytes aligned for any type; NULL when out of memory. */
void *arena_alloc(Arena *arena, size_t size) PM_MUST_CHECK;

/* n elements of size bytes, with overflow checked; NULL on failure. */
void *arena_array(Arena *arena, size_t n, size_t size) PM_MUST_CHECK;

/*
 * Room for one more element in an array that lives in the arena: returns
 * items when n < *cap, else a copy with twice the room (first when empty) and
 * *cap updated; the old block stays in the arena until it is freed.  NULL
 * when out of memory (items and *cap unchanged).
 */
void *arena_grow(Arena *arena, void *items, size_t n, size_t *cap, size_t elem_size,
                 size_t first) PM_MUST_CHECK;

/* A copy of s (NULL gives NULL, which is not an error). */
char *arena_strdup(Arena *arena, const char *s);

/* A copy of the first len bytes of s, NUL-terminated. */
char *arena_strndup(Arena *arena, const char *s, size_t len);

/* Bytes handed out so far (for tests and the memory budget). */
size_t arena_used(const Arena *arena);

#endif
