/*
 * utf8.h - validating UTF-8, one character at a time.  Servers hand us
 * bytes (application names, queries) that need not be valid UTF-8; every
 * writer that must emit valid text (JSON, Markdown, XML, a terminal) asks here.
 */
#ifndef PGMEDIC_UTIL_UTF8_H
#define PGMEDIC_UTIL_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include "util/strbuf.h"

/*
 * Length of the valid UTF-8 sequence at s (1-4), or 0 when it is invalid:
 * a stray continuation byte, a truncated sequence, an overlong form, a
 * surrogate or a code point past U+10FFFF.  s must be NUL-terminated.
 */
size_t pm_utf8_len(const unsigned char *s);

/*
 * How pm_utf8_append_escaped() writes text for one kind of output.  What
 * every output shares is fixed: control characters (C0, DEL and C1, which a
 * terminal takes for escape sequences and XML 1.0 mostly refuses) become
 * spaces, and valid characters are copied; the rest is the writer's.
 */
typedef struct
{
    const char *invalid;  /* written for each byte of invalid UTF-8: "?", U+FFFD */
    bool refuse_nonchars; /* U+FFFE and U+FFFF are invalid too (XML refuses them) */
    const char *cut_mark; /* written where max cuts the text short ("..."); NULL: none */
    /*
     * Appends its own form of c, a printable ASCII character, and returns
     * true; false keeps c as it is.  NULL keeps every character.
     */
    bool (*escape)(StrBuf *out, unsigned char c);
} Utf8Policy;

/*
 * Appends at most max bytes of s (0: all of it; NULL is "") written as
 * policy says; a cut never splits a character, and an invalid byte counts
 * as one.  The renderers' escapers (Markdown, XML) are policies.
 */
void pm_utf8_append_escaped(StrBuf *out, const char *s, size_t max, const Utf8Policy *policy);

/*
 * Appends at most max bytes of s (0: all of it; NULL is "") made safe for a
 * terminal: control characters (C0, DEL and C1, which a terminal takes for
 * escape sequences) become spaces and invalid UTF-8 '?'; a cut never splits
 * a character.  For text that comes from a server (names, query texts) and
 * is printed as it is, outside the renderers (which have policies of their own).
 */
void pm_utf8_append_printable(StrBuf *out, const char *s, size_t max);

#endif
