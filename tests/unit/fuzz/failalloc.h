/*
 * failalloc.h - allocation failure on demand, for the tests named
 * tests/unit/DIR/alloc*_test.c (include it in exactly one file per binary).
 *
 * Mechanism: link-time wrapping.  The Makefile links those tests with
 *   -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free
 *   -Wl,--wrap=strdup,--wrap=strndup
 * so every call to these from the test and from everything linked
 * statically (libpgmedic.a; libpq.a when libpq is linked statically) goes to
 * __wrap_X below, which counts it, may refuse it (NULL, errno ENOMEM), and
 * otherwise calls the real one (__real_X: libc's, or ASan's in the ASan
 * build, so ASan still checks every block).  jansson is a shared library,
 * which --wrap cannot reach: it gets the same accounting through
 * json_set_alloc_funcs() (failalloc_jansson()).  Not reached: what libc
 * allocates inside its own functions (fopen()'s FILE, stdio buffers) and
 * inih's line buffer (Debian's inih keeps it on the stack).
 *
 * A test arms a failure with failalloc_arm(N, mode): the Nth allocation
 * counted from then (0-based) fails, and with FAIL_FROM_N every later one
 * too (memory stays short), with FAIL_ONLY_N only that one (the code must
 * not go on as if it had the memory).  FAIL_ONLY_N spares jansson's own
 * allocations: jansson cannot take a lone failure (its lexer drops the
 * failed byte and goes on, then reads a string with a byte missing or
 * abort()s in an assert: akheron/jansson#362, see tests/fuzz/README.md), so
 * that mode tests pgmedic's allocations only.  failalloc_live() counts the blocks
 * allocated through these functions and not yet freed, so a test sees a
 * leak on an error path without ASan; the ASan build checks again at exit.
 * Single-threaded tests only.
 */
#ifndef PGMEDIC_TESTS_UNIT_FUZZ_FAILALLOC_H
#define PGMEDIC_TESTS_UNIT_FUZZ_FAILALLOC_H

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef enum
{
    FAIL_ONLY_N,
    FAIL_FROM_N
} FailMode;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

static long failalloc_at = -1; /* the allocation to refuse, counted from arming; -1: none */
static FailMode failalloc_mode;
static long failalloc_seen;        /* allocations since arming */
static long failalloc_refused;     /* refused since arming */
static bool failalloc_json_spared; /* jansson's allocations never fail (FAIL_ONLY_N) */
static long failalloc_blocks;      /* live blocks */

/* Refuses the nth allocation from now on (n < 0: none), per mode. */
static inline void
failalloc_arm(long n, FailMode mode)
{
    failalloc_at = n;
    failalloc_mode = mode;
    failalloc_seen = 0;
    failalloc_refused = 0;
    failalloc_json_spared = mode == FAIL_ONLY_N;
}

static inline void
failalloc_disarm(void)
{
    failalloc_at = -1;
}

/* How many allocations were refused since arming. */
static inline long
failalloc_refusals(void)
{
    return failalloc_refused;
}

/* How many allocations were asked for since arming. */
static inline long
failalloc_calls(void)
{
    return failalloc_seen;
}

static inline long
failalloc_live(void)
{
    return failalloc_blocks;
}

static bool
failalloc_refuse(void)
{
    long i;

    if (failalloc_at < 0)
        return false;
    i = failalloc_seen++;
    if (i == failalloc_at || (failalloc_mode == FAIL_FROM_N && i > failalloc_at))
    {
        failalloc_refused++;
        errno = ENOMEM;
        return true;
    }
    return false;
}

void *
__wrap_malloc(size_t size)
{
    void *p;

    if (failalloc_refuse())
        return NULL;
    p = __real_malloc(size);
    if (p != NULL)
        failalloc_blocks++;
    return p;
}

void *
__wrap_calloc(size_t n, size_t size)
{
    void *p;

    if (failalloc_refuse())
        return NULL;
    p = __real_calloc(n, size);
    if (p != NULL)
        failalloc_blocks++;
    return p;
}

void *
__wrap_realloc(void *p, size_t size)
{
    void *q;

    if (failalloc_refuse())
        return NULL;
    q = __real_realloc(p, size);
    if (p == NULL && q != NULL)
        failalloc_blocks++;
    else if (p != NULL && q == NULL && size == 0)
        failalloc_blocks--; /* glibc frees it */
    return q;
}

void
__wrap_free(void *p)
{
    if (p != NULL)
        failalloc_blocks--;
    __real_free(p);
}

char *
__wrap_strdup(const char *s)
{
    char *p;

    if (failalloc_refuse())
        return NULL;
    p = __real_strdup(s);
    if (p != NULL)
        failalloc_blocks++;
    return p;
}

char *
__wrap_strndup(const char *s, size_t n)
{
    char *p;

    if (failalloc_refuse())
        return NULL;
    p = __real_strndup(s, n);
    if (p != NULL)
        failalloc_blocks++;
    return p;
}

static void *
failalloc_json_malloc(size_t size)
{
    void *p;

    if (!failalloc_json_spared)
        return __wrap_malloc(size);
    p = __real_malloc(size);
    if (p != NULL)
        failalloc_blocks++;
    return p;
}

static void
failalloc_json_free(void *p)
{
    __wrap_free(p);
}

/* Routes jansson's allocations through the same counting (call once, first). */
static inline void
failalloc_jansson(void)
{
    json_set_alloc_funcs(failalloc_json_malloc, failalloc_json_free);
}

#endif
