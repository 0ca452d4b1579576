/*
 * xmlcheck.h - for the render tests (report_test, statuspage_test): text
 * assertions that show the whole text, and a small XML well-formedness
 * checker (elements, attributes, entities, UTF-8), backed by xmllint(1) when
 * it is installed.  Static functions: each test file includes it once.
 */
#ifndef PGMEDIC_TESTS_UNIT_RENDER_XMLCHECK_H
#define PGMEDIC_TESTS_UNIT_RENDER_XMLCHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static void
assert_contains(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL)
    {
        fprintf(stderr, "%s\n", text); /* whole: cmocka cuts its messages short */
        fail_msg("expected \"%s\" in the text above", needle);
    }
}

static void
assert_not_contains(const char *text, const char *needle)
{
    if (strstr(text, needle) != NULL)
    {
        fprintf(stderr, "%s\n", text);
        fail_msg("did not expect \"%s\" in the text above", needle);
    }
}

static size_t
count_substr(const char *text, const char *needle)
{
    size_t n = 0;

    for (text = strstr(text, needle); text != NULL; text = strstr(text + 1, needle))
        n++;
    return n;
}

/* --- a small XML well-formedness checker (elements, attributes, entities, UTF-8) --- */

static bool
name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == ':' || c == '.';
}

/* Text and attribute values: no '<', '&' only as a known entity, no control characters. */
static const char *
check_chars(const char *p, char stop, const char **why)
{
    while (*p && *p != stop)
    {
        unsigned char c = (unsigned char) *p;

        if (c == '<')
            return *why = "'<' in text", NULL;
        if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
            return *why = "control character", NULL;
        if (c == '&')
        {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
            size_t i;
            bool ok = false;

            for (i = 0; i < 5; i++)
                ok = ok || strncmp(p, ents[i], strlen(ents[i])) == 0;
            if (!ok)
                return *why = "bad entity", NULL;
        }
        if (c >= 0x80)
        {
            size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0, i;

            if (n == 0)
                return *why = "invalid UTF-8", NULL;
            for (i = 1; i < n; i++)
                if (((unsigned char) p[i] & 0xC0) != 0x80)
                    return *why = "invalid UTF-8", NULL;
            p += n;
            continue;
        }
        p++;
    }
    return p;
}

/*
 * What a document may hold beyond well-formed XML: known_element (NULL: any
 * element), and whether on... attributes (event handlers) are refused.
 */
typedef struct
{
    bool (*known_element)(const char *name, size_t n);
    bool no_event_handlers;
} XmlRules;

/*
 * One root element, nested properly, within rules (NULL: none); a leading
 * <?xml ...?> declaration or <!DOCTYPE html> is skipped.
 */
static bool
xml_well_formed(const char *doc, const XmlRules *rules, const char **why)
{
    char stack[64][32];
    int depth = 0, roots = 0;
    const char *p = doc;

    *why = "ok";
    if (strncmp(p, "<?xml ", 6) == 0)
    {
        p = strstr(p, "?>");
        if (p == NULL)
            return *why = "unterminated declaration", false;
        p += 2;
    }
    else if (strncmp(p, "<!DOCTYPE html>", 15) == 0)
        p += 15;
    while (*p)
    {
        if (*p != '<')
        {
            p = check_chars(p, '<', why);
            if (p == NULL)
                return false;
            continue;
        }
        if (p[1] == '/')
        {
            size_t n = 0;

            p += 2;
            while (name_char(p[n]))
                n++;
            if (depth == 0 || strlen(stack[depth - 1]) != n || strncmp(stack[depth - 1], p, n))
                return *why = "mismatched end tag", false;
            depth--;
            p += n;
            while (*p == ' ' || *p == '\n')
                p++;
            if (*p++ != '>')
                return *why = "bad end tag", false;
            continue;
        }
        {
            size_t n = 0;
            bool empty = false;

            p++;
            while (name_char(p[n]))
                n++;
            if (n == 0 || n >= 32)
                return *why = "bad element name", false;
            if (rules != NULL && rules->known_element != NULL && !rules->known_element(p, n))
                return *why = "unknown element", false;
            if (depth == 0 && ++roots > 1)
                return *why = "more than one root", false;
            if (depth == 64)
                return *why = "too deep", false;
            memcpy(stack[depth], p, n);
            stack[depth][n] = '\0';
            p += n;
            for (;;)
            {
                size_t an = 0;
                char q;

                while (*p == ' ' || *p == '\n' || *p == '\t')
                    p++;
                if (*p == '>' || (p[0] == '/' && p[1] == '>'))
                    break;
                while (name_char(p[an]))
                    an++;
                if (an == 0 || p[an] != '=' || (p[an + 1] != '"' && p[an + 1] != '\''))
                    return *why = "bad attribute", false;
                if (rules != NULL && rules->no_event_handlers && an > 2 && strncmp(p, "on", 2) == 0)
                    return *why = "event handler attribute", false;
                q = p[an + 1];
                p = check_chars(p + an + 2, q, why);
                if (p == NULL)
                    return false;
                if (*p != q)
                    return *why = "unterminated attribute", false;
                p++;
            }
            if (*p == '/')
            {
                empty = true;
                p++;
            }
            p++;
            if (!empty)
                depth++;
        }
    }
    if (depth != 0)
        return *why = "unclosed element", false;
    if (roots != 1)
        return *why = "no root element", false;
    return true;
}

/* xmllint's verdict when it is installed: 1 well-formed, 0 not, -1 not available. */
static int
xmllint_verdict(const char *doc)
{
    char path[] = "/tmp/pgmedic-xmlcheck-XXXXXX", cmd[256];
    int fd, rc;
    FILE *f;

    if (system("command -v xmllint >/dev/null 2>&1") != 0)
        return -1;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(doc, f);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet '%s' 2>&1", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    {
        char line[512];

        while (fgets(line, sizeof(line), f) != NULL)
            fprintf(stderr, "xmllint: %s", line);
    }
    rc = pclose(f);
    unlink(path);
    return rc == 0 ? 1 : 0;
}

static void
assert_xml_ok(const char *doc, const XmlRules *rules)
{
    const char *why;

    if (!xml_well_formed(doc, rules, &why))
        fail_msg("not well-formed (%s):\n%s", why, doc);
    assert_int_not_equal(xmllint_verdict(doc), 0);
}

#endif
