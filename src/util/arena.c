/*
 * arena.c - a chain of blocks; big requests get a block of their own.
 */
#include "util/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum
{
    BLOCK_SIZE = 32 * 1024,
    ALIGN = 16
};

typedef struct Block
{
    struct Block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    _Alignas(16) unsigned char data[];
} Block;

struct Arena
{
    Block *head;
    size_t total;
};

Arena *
arena_new(void)
{
    return calloc(1, sizeof(Arena));
}

void
arena_free(Arena *arena)
{
    Block *block;

    if (arena == NULL)
        return;
    block = arena->head;
    while (block != NULL)
    {
        Block *next = block->next;

        free(block);
        block = next;
    }
    free(arena);
}

void *
arena_alloc(Arena *arena, size_t size)
{
    Block *block = arena->head;
    size_t need = (size + (ALIGN - 1)) & ~(size_t) (ALIGN - 1);
    void *p;

    if (need < size)
        return NULL; /* overflow */
    if (block == NULL || block->size - block->used < need)
    {
        size_t bsize = need > BLOCK_SIZE / 4 ? need : BLOCK_SIZE;

        if (bsize > SIZE_MAX - sizeof(Block))
            return NULL;
        block = malloc(sizeof(Block) + bsize);
        if (block == NULL)
            return NULL;
        block->size = bsize;
        block->used = 0;
        if (arena->head != NULL && need > BLOCK_SIZE / 4)
        {
            /* Keep the current block in front: it still has room. */
            block->next = arena->head->next;
            arena->head->next = block;
        }
        else
        {
            block->next = arena->head;
            arena->head = block;
        }
    }
    p = block->data + block->used;
    block->used += need;
    arena->total += need;
    memset(p, 0, size);
    return p;
}

void *
arena_array(Arena *arena, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    return arena_alloc(arena, n * size == 0 ? 1 : n * size);
}

void *
arena_grow(Arena *arena, void *items, size_t n, size_t *cap, size_t elem_size, size_t first)
{
    size_t new_cap;
    void *grown;

    if (n < *cap)
        return items;
    new_cap = *cap ? *cap * 2 : first;
    if (new_cap <= n)
        new_cap = n + 1;
    grown = arena_array(arena, new_cap, elem_size);
    if (grown == NULL)
        return NULL;
    if (n > 0)
        memcpy(grown, items, n * elem_size);
    *cap = new_cap;
    return grown;
}

char *
arena_strndup(Arena *arena, const char *s, size_t len)
{
    char *copy;

    if (s == NULL)
        return NULL;
    copy = arena_alloc(arena, len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *
arena_strdup(Arena *arena, const char *s)
{
    return s == NULL ? NULL : arena_strndup(arena, s, strlen(s));
}

size_t
arena_used(const Arena *arena)
{
    return arena->total;
}
