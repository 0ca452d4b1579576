/*
 * utf8.h - validating UTF-8, one character at a time.  Servers hand us
 * bytes (application names, queries) that need not be valid UTF-8; every
 * writer that must emit valid text (JSON, Markdown, XML, a terminal) asks here.
 */
#ifndef PGMEDIC_UTIL_UTF8_H
#define PGMEDIC_UTIL_UTF8_H

#include <stddef.h>

#include "util/strbuf.h"

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid:
 * a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate or a code point past U+10FFFF.  s must be NUL-terminated.
 */
size_t pm_utf8_len(const unsigned char *s);

/*
 * Appends at most max bytes of s (0: all of it; NULL is "") made safe for a
 * terminal: control characters (C0, DEL and C1, which a terminal takes for
 * escape sequences) become spaces and invalid UTF-8 '?'; a cut never splits
 * a character.  For text that comes from a server (names, query texts) and
 * is printed as it is, outside the renderers (which clean their own).
 */
void pm_utf8_append_printable(StrBuf *out, const char *s, size_t max);

#endif
