/*
 * error.c - PmError helpers.
 */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
pm_error_clear(PmError *err)
{
    if (err != NULL)
        memset(err, 0, sizeof(*err));
}

static void
vset(char *dst, size_t size, const char *fmt, va_list ap)
{
    char buf[1024];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    pm_strlcpy_trim(dst, buf, size);
}

void
pm_error_set(PmError *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    pm_error_clear(err);
    va_start(ap, fmt);
    vset(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void
pm_error_detail(PmError *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vset(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

void
pm_error_hint(PmError *err, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL)
        return;
    va_start(ap, fmt);
    vset(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void
pm_strlcpy_trim(char *dst, const char *src, unsigned long size)
{
    size_t len;

    if (size == 0)
        return;
    len = strlen(src);
    while (len > 0 && (src[len - 1] == '\n' || src[len - 1] == '\r' || src[len - 1] == ' '))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}
