/*
 * jsonw.c - JSON writer.
 */
#include "util/jsonw.h"
#include "util/utf8.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void
jsonw_init(JsonW *w, StrBuf *buf, bool pretty)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->pretty = pretty;
}

static void
newline(JsonW *w)
{
    int i;

    if (!w->pretty)
        return;
    strbuf_append_char(w->buf, '\n');
    for (i = 0; i < w->depth; i++)
        strbuf_append(w->buf, "  ");
}

/* Before any value: the comma and indentation it needs. */
static void
value_prefix(JsonW *w)
{
    if (w->after_key)
    {
        w->after_key = false;
        return;
    }
    if (w->depth > 0)
    {
        if (w->need_comma[w->depth])
            strbuf_append_char(w->buf, ',');
        w->need_comma[w->depth] = true;
        newline(w);
    }
}

static void
open_container(JsonW *w, char c)
{
    value_prefix(w);
    strbuf_append_char(w->buf, c);
    if (w->depth + 1 < JSONW_MAX_DEPTH)
        w->depth++;
    w->need_comma[w->depth] = false;
}

static void
close_container(JsonW *w, char c)
{
    bool had_items = w->need_comma[w->depth];

    if (w->depth > 0)
        w->depth--;
    if (had_items)
        newline(w);
    strbuf_append_char(w->buf, c);
    if (w->depth == 0 && w->pretty)
        strbuf_append_char(w->buf, '\n');
}

void
jsonw_object_begin(JsonW *w)
{
    open_container(w, '{');
}

void
jsonw_object_end(JsonW *w)
{
    close_container(w, '}');
}

void
jsonw_array_begin(JsonW *w)
{
    open_container(w, '[');
}

void
jsonw_array_end(JsonW *w)
{
    close_container(w, ']');
}

void
jsonw_escape(StrBuf *buf, const char *s)
{
    const unsigned char *p = (const unsigned char *) s;

    while (*p)
    {
        const unsigned char *run = p;
        size_t n;

        /* Copy the longest run that needs no escaping in one go. */
        while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p > run)
            strbuf_append_len(buf, (const char *) run, (size_t) (p - run));
        if (*p == '\0')
            break;
        switch (*p)
        {
        case '"':
            strbuf_append(buf, "\\\"");
            p++;
            continue;
        case '\\':
            strbuf_append(buf, "\\\\");
            p++;
            continue;
        case '\n':
            strbuf_append(buf, "\\n");
            p++;
            continue;
        case '\r':
            strbuf_append(buf, "\\r");
            p++;
            continue;
        case '\t':
            strbuf_append(buf, "\\t");
            p++;
            continue;
        default:
            break;
        }
        if (*p < 0x20)
        {
            strbuf_printf(buf, "\\u%04x", *p);
            p++;
            continue;
        }
        n = pm_utf8_len(p);
        if (n == 0)
        {
            strbuf_append(buf, "\xEF\xBF\xBD"); /* U+FFFD */
            p++;
        }
        else
        {
            strbuf_append_len(buf, (const char *) p, n);
            p += n;
        }
    }
}

void
jsonw_key(JsonW *w, const char *key)
{
    value_prefix(w);
    strbuf_append_char(w->buf, '"');
    jsonw_escape(w->buf, key);
    strbuf_append(w->buf, w->pretty ? "\": " : "\":");
    w->after_key = true;
}

void
jsonw_string(JsonW *w, const char *s)
{
    value_prefix(w);
    if (s == NULL)
    {
        strbuf_append(w->buf, "null");
        return;
    }
    strbuf_append_char(w->buf, '"');
    jsonw_escape(w->buf, s);
    strbuf_append_char(w->buf, '"');
}

void
jsonw_int(JsonW *w, int64_t v)
{
    value_prefix(w);
    strbuf_printf(w->buf, "%lld", (long long) v);
}

void
jsonw_double(JsonW *w, double v)
{
    char text[64];
    size_t len;

    value_prefix(w);
    if (!isfinite(v))
    {
        strbuf_append(w->buf, "null");
        return;
    }
    if (fabs(v) >= 1e15)
    {
        strbuf_printf(w->buf, "%.17g", v);
        return;
    }
    snprintf(text, sizeof(text), "%.6f", v);
    len = strlen(text);
    while (len > 1 && text[len - 1] == '0')
        len--;
    if (text[len - 1] == '.')
        len--;
    text[len] = '\0';
    strbuf_append(w->buf, strcmp(text, "-0") == 0 ? "0" : text);
}

void
jsonw_bool(JsonW *w, bool v)
{
    value_prefix(w);
    strbuf_append(w->buf, v ? "true" : "false");
}

void
jsonw_null(JsonW *w)
{
    value_prefix(w);
    strbuf_append(w->buf, "null");
}

void
jsonw_raw(JsonW *w, const char *json)
{
    value_prefix(w);
    strbuf_append(w->buf, json);
}

void
jsonw_kv_string(JsonW *w, const char *key, const char *s)
{
    jsonw_key(w, key);
    jsonw_string(w, s);
}

void
jsonw_kv_int(JsonW *w, const char *key, int64_t v)
{
    jsonw_key(w, key);
    jsonw_int(w, v);
}

void
jsonw_kv_double(JsonW *w, const char *key, double v)
{
    jsonw_key(w, key);
    jsonw_double(w, v);
}

void
jsonw_kv_bool(JsonW *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_bool(w, v);
}
