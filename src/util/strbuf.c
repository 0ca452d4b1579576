/*
 * strbuf.c - growable strings.
 */
#include "util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum
{
    DEFAULT_MAX = 64 * 1024 * 1024
};

static bool
reserve(StrBuf *buf, size_t extra)
{
    size_t max = buf->max ? buf->max : DEFAULT_MAX;
    size_t need, cap;
    char *data;

    if (buf->broken)
        return false;
    if (extra > max || buf->len > max - extra)
    {
        buf->broken = true;
        return false;
    }
    need = buf->len + extra + 1;
    if (need <= buf->cap)
        return true;
    cap = buf->cap ? buf->cap : 256;
    while (cap < need)
        cap *= 2;
    data = realloc(buf->data, cap);
    if (data == NULL)
    {
        buf->broken = true;
        return false;
    }
    buf->data = data;
    buf->cap = cap;
    return true;
}

void
strbuf_append_len(StrBuf *buf, const char *s, size_t len)
{
    if (!reserve(buf, len))
        return;
    memcpy(buf->data + buf->len, s, len);
    buf->len += len;
    buf->data[buf->len] = '\0';
}

void
strbuf_append(StrBuf *buf, const char *s)
{
    strbuf_append_len(buf, s, strlen(s));
}

void
strbuf_append_char(StrBuf *buf, char c)
{
    strbuf_append_len(buf, &c, 1);
}

void
strbuf_printf(StrBuf *buf, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
    {
        buf->broken = true;
        return;
    }
    if (!reserve(buf, (size_t) n))
        return;
    va_start(ap, fmt);
    vsnprintf(buf->data + buf->len, (size_t) n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t) n;
}

bool
strbuf_ok(const StrBuf *buf)
{
    return !buf->broken;
}

const char *
strbuf_str(const StrBuf *buf)
{
    return buf->data ? buf->data : "";
}

void
strbuf_reset(StrBuf *buf)
{
    buf->len = 0;
    buf->broken = false;
    if (buf->data)
        buf->data[0] = '\0';
}

void
strbuf_free(StrBuf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
    buf->broken = false;
}
