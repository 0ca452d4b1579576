/*
 * utf8.c - UTF-8 validation (RFC 3629), and text written one character at
 * a time for the outputs that must stay valid.
 */
#include "util/utf8.h"

size_t
pm_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (s[0] >= 0xE0 && s[0] <= 0xEF)
    {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F))
            return 0; /* overlong, surrogate */
        return 3;
    }
    if (s[0] >= 0xF0 && s[0] <= 0xF4)
    {
        if ((s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
            return 0; /* overlong, past U+10FFFF */
        return 4;
    }
    return 0;
}

void
pm_utf8_append_escaped(StrBuf *out, const char *s, size_t max, const Utf8Policy *policy)
{
    const unsigned char *p = (const unsigned char *) (s != NULL ? s : "");
    const unsigned char *start = p;

    while (*p != '\0')
    {
        size_t n = pm_utf8_len(p);

        if (n == 3 && policy->refuse_nonchars && p[0] == 0xEF && p[1] == 0xBF &&
            (p[2] == 0xBE || p[2] == 0xBF))
            n = 0;
        if (max > 0 && (size_t) (p - start) + (n ? n : 1) > max)
        {
            if (policy->cut_mark != NULL)
                strbuf_append(out, policy->cut_mark);
            return;
        }
        if (n == 0)
            strbuf_append(out, policy->invalid);
        else if (*p < 0x20 || *p == 0x7F || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
            strbuf_append_char(out, ' ');
        else if (n > 1 || policy->escape == NULL || !policy->escape(out, *p))
            strbuf_append_len(out, (const char *) p, n);
        p += n ? n : 1;
    }
}

void
pm_utf8_append_printable(StrBuf *out, const char *s, size_t max)
{
    static const Utf8Policy terminal = {.invalid = "?"};

    pm_utf8_append_escaped(out, s, max, &terminal);
}
