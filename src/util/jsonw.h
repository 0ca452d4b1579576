/*
 * jsonw.h - a streaming JSON writer into a StrBuf.
 *
 * Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
 * U+FFFD, so the output is valid JSON whatever a server sent.  Doubles that
 * are not finite are written as null.  Errors (out of memory, size cap) are
 * reported by strbuf_ok() on the buffer.
 */
#ifndef PGMEDIC_UTIL_JSONW_H
#define PGMEDIC_UTIL_JSONW_H

#include <stdbool.h>
#include <stdint.h>

#include "util/strbuf.h"

enum
{
    JSONW_MAX_DEPTH = 32
};

typedef struct
{
    StrBuf *buf;
    bool pretty;
    int depth;
    bool need_comma[JSONW_MAX_DEPTH];
    bool after_key;
} JsonW;

void jsonw_init(JsonW *w, StrBuf *buf, bool pretty);
void jsonw_object_begin(JsonW *w);
void jsonw_object_end(JsonW *w);
void jsonw_array_begin(JsonW *w);
void jsonw_array_end(JsonW *w);
void jsonw_key(JsonW *w, const char *key);
void jsonw_string(JsonW *w, const char *s); /* NULL writes null */
void jsonw_int(JsonW *w, int64_t v);
void jsonw_double(JsonW *w, double v);
void jsonw_bool(JsonW *w, bool v);
void jsonw_null(JsonW *w);
/* A value that is already JSON text; the caller guarantees it is valid. */
void jsonw_raw(JsonW *w, const char *json);

/* key + value in one call. */
void jsonw_kv_string(JsonW *w, const char *key, const char *s);
void jsonw_kv_int(JsonW *w, const char *key, int64_t v);
void jsonw_kv_double(JsonW *w, const char *key, double v);
void jsonw_kv_bool(JsonW *w, const char *key, bool v);

/* Appends s to buf as a JSON string body (no quotes), escaped. */
void jsonw_escape(StrBuf *buf, const char *s);

#endif
