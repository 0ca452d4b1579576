/*
 * finding.c - the finding builder.
 */
#include "core/finding.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
finding_begin(FindingBuilder *b, Arena *arena, const char *kind, const char *alert,
              Severity severity, double impact)
{
    memset(b, 0, sizeof(*b));
    b->arena = arena;
    b->finding.kind = kind;
    b->finding.alert = alert;
    b->finding.severity = severity;
    b->finding.impact = impact;
}

static const char *
vformat(Arena *arena, const char *fmt, va_list ap)
{
    char buf[1024];

    vsnprintf(buf, sizeof(buf), fmt, ap);
    return arena_strdup(arena, buf);
}

void
finding_summary(FindingBuilder *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    b->finding.summary = vformat(b->arena, fmt, ap);
    va_end(ap);
    if (b->finding.summary == NULL)
        b->failed = true;
}

static Evidence *
next_evidence(FindingBuilder *b, const char *key, EvidenceType type)
{
    Evidence *e;

    if (b->finding.n_evidence >= FINDING_MAX_EVIDENCE)
    {
        b->failed = true;
        return NULL;
    }
    e = &b->evidence[b->finding.n_evidence++];
    memset(e, 0, sizeof(*e));
    e->key = key;
    e->type = type;
    return e;
}

void
finding_str(FindingBuilder *b, const char *key, const char *value)
{
    Evidence *e = next_evidence(b, key, EV_STRING);

    if (e != NULL)
    {
        e->str = arena_strdup(b->arena, value);
        if (value != NULL && e->str == NULL)
            b->failed = true;
    }
}

void
finding_int(FindingBuilder *b, const char *key, int64_t value)
{
    Evidence *e = next_evidence(b, key, EV_INT);

    if (e != NULL)
        e->num = value;
}

void
finding_real(FindingBuilder *b, const char *key, double value)
{
    Evidence *e = next_evidence(b, key, EV_DOUBLE);

    if (e != NULL)
        e->real = value;
}

void
finding_bool(FindingBuilder *b, const char *key, bool value)
{
    Evidence *e = next_evidence(b, key, EV_BOOL);

    if (e != NULL)
        e->num = value ? 1 : 0;
}

void
finding_pids(FindingBuilder *b, const char *key, const int32_t *pids, size_t n)
{
    Evidence *e = next_evidence(b, key, EV_PIDS);
    int32_t *copy;

    if (e == NULL)
        return;
    copy = arena_array(b->arena, n ? n : 1, sizeof(int32_t));
    if (copy == NULL)
    {
        b->failed = true;
        return;
    }
    if (n > 0)
        memcpy(copy, pids, n * sizeof(int32_t));
    e->ints = copy;
    e->n = n;
}

void
finding_strs(FindingBuilder *b, const char *key, const char *const *strs, size_t n)
{
    Evidence *e = next_evidence(b, key, EV_STRINGS);
    const char **copy;
    size_t i;

    if (e == NULL)
        return;
    copy = arena_array(b->arena, n ? n : 1, sizeof(char *));
    if (copy == NULL)
    {
        b->failed = true;
        return;
    }
    for (i = 0; i < n; i++)
    {
        copy[i] = arena_strdup(b->arena, strs[i]);
        if (strs[i] != NULL && copy[i] == NULL)
            b->failed = true;
    }
    e->strs = copy;
    e->n = n;
}

void
finding_action(FindingBuilder *b, const char *fmt, ...)
{
    va_list ap;
    const char *s;

    va_start(ap, fmt);
    s = vformat(b->arena, fmt, ap);
    va_end(ap);
    if (s == NULL || b->finding.n_actions >= FINDING_MAX_ACTIONS)
    {
        b->failed = true;
        return;
    }
    b->actions[b->finding.n_actions++] = s;
}

void
finding_advice(FindingBuilder *b, const char *fmt, ...)
{
    va_list ap;
    const char *s;

    va_start(ap, fmt);
    s = vformat(b->arena, fmt, ap);
    va_end(ap);
    if (s == NULL || b->finding.n_advice >= FINDING_MAX_ADVICE)
    {
        b->failed = true;
        return;
    }
    b->advice[b->finding.n_advice++] = s;
}

int
finding_finish(FindingBuilder *b, FindingList *list)
{
    Finding *grown;
    Finding *f = &b->finding;

    if (b->failed || f->summary == NULL)
        return -1;
    f->evidence = arena_array(b->arena, f->n_evidence ? f->n_evidence : 1, sizeof(Evidence));
    f->actions = arena_array(b->arena, f->n_actions ? f->n_actions : 1, sizeof(char *));
    f->advice = arena_array(b->arena, f->n_advice ? f->n_advice : 1, sizeof(char *));
    grown = arena_array(b->arena, list->n_findings + 1, sizeof(Finding));
    if (f->evidence == NULL || f->actions == NULL || f->advice == NULL || grown == NULL)
        return -1;
    memcpy(f->evidence, b->evidence, f->n_evidence * sizeof(Evidence));
    memcpy(f->actions, b->actions, f->n_actions * sizeof(char *));
    memcpy(f->advice, b->advice, f->n_advice * sizeof(char *));
    if (list->n_findings > 0)
        memcpy(grown, list->findings, list->n_findings * sizeof(Finding));
    grown[list->n_findings] = *f;
    list->findings = grown;
    list->n_findings++;
    return 0;
}

const char *
finding_shell_quote(Arena *arena, const char *s)
{
    const char *p;
    size_t extra = 0, len = strlen(s);
    bool plain = len > 0;
    char *out, *o;

    for (p = s; *p; p++)
    {
        char c = *p;

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("_-.,:/@%+=", c) != NULL))
            plain = false;
        if (c == '\'')
            extra += 3;
    }
    if (plain)
        return arena_strdup(arena, s);
    out = arena_alloc(arena, len + extra + 3);
    if (out == NULL)
        return NULL;
    o = out;
    *o++ = '\'';
    for (p = s; *p; p++)
    {
        if (*p == '\'')
        {
            memcpy(o, "'\\''", 4);
            o += 4;
        }
        else
            *o++ = *p;
    }
    *o++ = '\'';
    *o = '\0';
    return out;
}

int
finding_split_action(const char *action, Arena *arena, const char ***argv, size_t *argc)
{
    size_t len = strlen(action), n = 0, cap = len / 2 + 2;
    const char **words = arena_alloc(arena, cap * sizeof(char *));
    char *buf = arena_alloc(arena, len + 1);
    const char *p = action;

    if (words == NULL || buf == NULL)
        return -1;
    for (;;)
    {
        char *word = buf;

        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        while (*p != '\0' && *p != ' ' && *p != '\t')
        {
            if (*p == '\'')
            {
                const char *close = strchr(p + 1, '\'');

                if (close == NULL)
                    return -1;
                memcpy(buf, p + 1, (size_t) (close - p - 1));
                buf += close - p - 1;
                p = close + 1;
            }
            else if (*p == '\\')
            {
                if (p[1] == '\0')
                    return -1;
                *buf++ = p[1];
                p += 2;
            }
            else if (strchr("\"$`;&|<>(){}*?[]~#!", *p) != NULL)
                return -1; /* never produced by finding_shell_quote */
            else
                *buf++ = *p++;
        }
        *buf++ = '\0';
        if (n + 1 >= cap)
            return -1;
        words[n++] = word;
    }
    words[n] = NULL;
    *argv = words;
    *argc = n;
    return 0;
}
