/*
 * alloc.c - exiting allocators for start-up code.
 */
#include "util/alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *
checked(void *p)
{
    if (p == NULL)
    {
        fputs("pgmedic: error: out of memory\n", stderr);
        exit(3);
    }
    return p;
}

void *
pm_xmalloc(size_t size)
{
    return checked(malloc(size ? size : 1));
}

void *
pm_xrealloc(void *p, size_t size)
{
    return checked(realloc(p, size ? size : 1));
}

char *
pm_xstrdup(const char *s)
{
    return checked(strdup(s));
}

void *
pm_xcalloc(size_t n, size_t size)
{
    return checked(calloc(n ? n : 1, size ? size : 1));
}
