/*
 * utf8.h - validating UTF-8, one character at a time.  Servers hand us
 * bytes (application names, queries) that need not be valid UTF-8; every
 * writer that must emit valid text (JSON, Markdown, XML, a terminal) asks here.
 */
#ifndef PGMEDIC_UTIL_UTF8_H
#define PGMEDIC_UTIL_UTF8_H

#include <stddef.h>

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid:
 * a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate or a code point past U+10FFFF.  s must be NUL-terminated.
 */
size_t pm_utf8_len(const unsigned char *s);

#endif
