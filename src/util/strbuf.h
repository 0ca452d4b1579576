/*
 * strbuf.h - a growable string with a size cap.
 *
 * Appends never fail loudly: on allocation failure or when the cap is hit
 * the buffer is marked broken, later appends are ignored and strbuf_ok()
 * says false, so writers check once at the end.
 */
#ifndef PGMEDIC_UTIL_STRBUF_H
#define PGMEDIC_UTIL_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

#include "util/compiler.h"

typedef struct
{
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    size_t max; /* 0: the default cap of 64 MiB */
    bool broken;
} StrBuf;

#define STRBUF_INIT {NULL, 0, 0, 0, false}

void strbuf_append(StrBuf *buf, const char *s);
void strbuf_append_len(StrBuf *buf, const char *s, size_t len);
void strbuf_append_char(StrBuf *buf, char c);
void strbuf_printf(StrBuf *buf, const char *fmt, ...) PM_PRINTF(2, 3);

/* True when every append so far succeeded. */
bool strbuf_ok(const StrBuf *buf);

/* The text, "" when empty; valid until the next append or strbuf_free(). */
const char *strbuf_str(const StrBuf *buf);

/* Empties the buffer, keeping its memory. */
void strbuf_reset(StrBuf *buf);

void strbuf_free(StrBuf *buf);

#endif
