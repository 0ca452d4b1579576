/*
 * findings.c - triage output: text, JSON and Markdown.
 */
#include "render/findings.h"
#include "util/utf8.h"

#include <stdio.h>
#include <string.h>

#include "core/snapshot_json.h"
#include "util/clock.h"
#include "util/parse.h"

#define RED    "\033[1;31m"
#define YELLOW "\033[1;33m"
#define GREEN  "\033[1;32m"
#define BOLD   "\033[1m"
#define DIM    "\033[2m"
#define RESET  "\033[0m"

enum
{
    MAX_PIDS_SHOWN = 10,  /* then "and N more" */
    MAX_ITEMS_SHOWN = 5,  /* of a string list */
    MAX_VALUE_BYTES = 300 /* of one evidence string in text */
};

static const char *
paint(const TextStyle *style, const char *code)
{
    return style->color ? code : "";
}

const char *
render_treat_first(const FindingList *findings)
{
    size_t i;

    for (i = 0; i < findings->n_findings; i++)
        if (findings->findings[i].n_actions > 0)
            return findings->findings[i].actions[0];
    return NULL;
}

static size_t
at_most(size_t n, size_t max)
{
    return n < max ? n : max;
}

static bool
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Appends s for a terminal or a Markdown file: control characters (C0, DEL
 * and C1, which a terminal could take for escape sequences) become spaces,
 * invalid UTF-8 becomes '?', and with markdown the characters that make
 * emphasis, code, links, HTML, entities and table cells are backslash-escaped
 * (line-start syntax such as "#" or "1." cannot occur: the callers never
 * start a line with a value).  At most max bytes of s ("..." after); max 0
 * is no limit.
 */
static void
append_clean(StrBuf *out, const char *s, size_t max, bool markdown)
{
    const unsigned char *p = (const unsigned char *) (s ? s : "");
    const unsigned char *start = p;

    while (*p)
    {
        size_t n = pm_utf8_len(p);

        if (max > 0 && (size_t) (p - start) + (n ? n : 1) > max)
        {
            strbuf_append(out, "...");
            return;
        }
        if (n == 0)
        {
            strbuf_append_char(out, '?');
            p++;
        }
        else if (*p < 0x20 || *p == 0x7F || (n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
        {
            strbuf_append_char(out, ' ');
            p += n;
        }
        else if (markdown && n == 1 && strchr("\\`*_[]<>|~&", *p) != NULL)
        {
            strbuf_append_char(out, '\\');
            strbuf_append_char(out, (char) *p++);
        }
        else
        {
            strbuf_append_len(out, (const char *) p, n);
            p += n;
        }
    }
}

static void
format_bytes(int64_t v, char *buf, size_t size)
{
    if (v >= 1024LL * 1024 * 1024)
        snprintf(buf, size, "%.1f GiB", (double) v / (1024.0 * 1024 * 1024));
    else if (v >= 1024 * 1024)
        snprintf(buf, size, "%.1f MiB", (double) v / (1024.0 * 1024));
    else
        snprintf(buf, size, "%lld bytes", (long long) v);
}

/* "1,234,567"; pids and small numbers as they are. */
static void
format_count(const char *key, int64_t v, char *buf, size_t size)
{
    char digits[32];
    size_t n, i, o = 0;

    snprintf(digits, sizeof(digits), "%lld", (long long) v);
    if (v < 10000 || ends_with(key, "pid"))
    {
        snprintf(buf, size, "%s", digits);
        return;
    }
    n = strlen(digits);
    for (i = 0; i < n && o + 2 < size; i++)
    {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

/* A scalar evidence value as people read it: ages, sizes, counts, yes/no. */
static void
scalar_text(const Evidence *e, char *buf, size_t size)
{
    switch (e->type)
    {
        case EV_INT:
            if (ends_with(e->key, "_bytes") && e->num >= 0)
                format_bytes(e->num, buf, size);
            else
                format_count(e->key, e->num, buf, size);
            break;
        case EV_DOUBLE:
            if (ends_with(e->key, "_s"))
                format_age(e->real, buf, size);
            else if (ends_with(e->key, "_ms") && e->real >= 1000)
                format_age(e->real / 1000.0, buf, size);
            else if (ends_with(e->key, "_ms"))
                snprintf(buf, size, "%.1f ms", e->real);
            else
                snprintf(buf, size, "%g", e->real);
            break;
        case EV_BOOL:
            snprintf(buf, size, "%s", e->num ? "yes" : "no");
            break;
        case EV_STRING:
        case EV_PIDS:
        case EV_STRINGS:
            buf[0] = '\0';
            break;
    }
}

static void
append_pids(StrBuf *out, const Evidence *e)
{
    size_t i, shown = at_most(e->n, MAX_PIDS_SHOWN);

    for (i = 0; i < shown; i++)
        strbuf_printf(out, "%s%d", i ? ", " : "", (int) e->ints[i]);
    if (e->n > shown)
        strbuf_printf(out, " and %zu more", e->n - shown);
    if (e->n == 0)
        strbuf_append(out, "none");
}

/* --- text --- */

static void
severity_tag(StrBuf *out, Severity severity, const TextStyle *style)
{
    switch (severity)
    {
        case SEV_CRITICAL:
            strbuf_printf(out, "%sCRITICAL%s", paint(style, RED), paint(style, RESET));
            break;
        case SEV_WARNING:
            strbuf_printf(out, "%sWARNING %s", paint(style, YELLOW), paint(style, RESET));
            break;
        case SEV_OK:
            strbuf_printf(out, "%sOK      %s", paint(style, GREEN), paint(style, RESET));
            break;
    }
}

static void
text_evidence(StrBuf *out, const Evidence *e)
{
    char buf[64];
    size_t i, shown;

    strbuf_printf(out, "      %s:%s", e->key, e->type == EV_STRINGS && e->n > 1 ? "" : " ");
    switch (e->type)
    {
        case EV_STRING:
            append_clean(out, e->str ? e->str : "-", MAX_VALUE_BYTES, false);
            break;
        case EV_PIDS:
            append_pids(out, e);
            break;
        case EV_STRINGS:
            shown = at_most(e->n, MAX_ITEMS_SHOWN);
            if (e->n == 0)
                strbuf_append(out, "none");
            else if (e->n == 1)
                append_clean(out, e->strs[0], MAX_VALUE_BYTES, false);
            for (i = 0; e->n > 1 && i < shown; i++)
            {
                strbuf_append(out, "\n        - ");
                append_clean(out, e->strs[i], MAX_VALUE_BYTES, false);
            }
            if (e->n > shown)
                strbuf_printf(out, "\n        and %zu more", e->n - shown);
            break;
        case EV_INT:
        case EV_DOUBLE:
        case EV_BOOL:
            scalar_text(e, buf, sizeof(buf));
            strbuf_append(out, buf);
            break;
    }
    strbuf_append_char(out, '\n');
}

static void
text_header(StrBuf *out, const Snapshot *snap, const Thresholds *th, const TextStyle *style)
{
    char when[40];

    pm_format_iso8601(snap->taken_at, when, sizeof(when));
    strbuf_printf(out, "%s", paint(style, BOLD));
    append_clean(out, snap->target ? snap->target : "?", 0, false);
    strbuf_printf(out, "%s", paint(style, RESET));
    if (snap->failure == CONN_OK)
    {
        int64_t usable = snapshot_usable_slots(snap);

        strbuf_append(out, "  PostgreSQL ");
        append_clean(out, snap->version ? snap->version : "?", 0, false);
        strbuf_printf(out, ", taken %s, connections %lld/%lld usable", when,
                      (long long) snap->n_clients, (long long) usable);
        if (usable > 0)
            strbuf_printf(out, " (%.0f%%; warning %.0f%%, critical %.0f%%)",
                          100.0 * (double) snap->n_clients / (double) usable,
                          th->connections_warning * 100, th->connections_critical * 100);
        if (snap->via_reserved_slot)
            strbuf_append(out, ", through a reserved slot");
        strbuf_append_char(out, '\n');
    }
    else
        strbuf_printf(out, "  unreachable (%s), taken %s\n", snapshot_failure_name(snap->failure),
                      when);
}

void
render_triage_text(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                   const FindingList *findings, const Thresholds *th, const TextStyle *style)
{
    const char *first = render_treat_first(findings);
    size_t i, j;

    text_header(out, snap, th, style);
    strbuf_append_char(out, '\n');
    if (alerts->n_alerts == 0)
    {
        severity_tag(out, SEV_OK, style);
        strbuf_append(out, "  no alert firing\n");
    }
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        severity_tag(out, a->severity, style);
        strbuf_printf(out, "  %s%s%s: ", paint(style, BOLD), a->name, paint(style, RESET));
        append_clean(out, a->summary, 0, false);
        strbuf_append_char(out, '\n');
    }

    if (findings->n_findings == 0)
        strbuf_printf(out, "\nno cause found: nothing to treat\n");
    for (i = 0; i < findings->n_findings; i++)
    {
        const Finding *f = &findings->findings[i];

        strbuf_printf(out, "\n%zu. ", i + 1);
        severity_tag(out, f->severity, style);
        strbuf_printf(out, "  %s%s%s", paint(style, BOLD), f->kind, paint(style, RESET));
        if (f->alert != NULL)
            strbuf_printf(out, " (explains %s)\n", f->alert);
        else
            strbuf_printf(out, " %s(latent: no alert yet)%s\n", paint(style, DIM),
                          paint(style, RESET));
        strbuf_append(out, "   ");
        append_clean(out, f->summary, 0, false);
        strbuf_append_char(out, '\n');
        for (j = 0; j < f->n_evidence; j++)
            text_evidence(out, &f->evidence[j]);
        for (j = 0; j < f->n_advice; j++)
        {
            strbuf_append(out, "   advice: ");
            append_clean(out, f->advice[j], 0, false);
            strbuf_append_char(out, '\n');
        }
        for (j = 0; j < f->n_actions; j++)
        {
            strbuf_printf(out, "   %s$ ", paint(style, BOLD));
            append_clean(out, f->actions[j], 0, false);
            strbuf_printf(out, "%s\n", paint(style, RESET));
        }
    }
    for (i = 0; i < snap->n_notes; i++)
    {
        strbuf_append(out, "\nnote: ");
        append_clean(out, snap->notes[i], 0, false);
        strbuf_append_char(out, '\n');
    }
    if (first != NULL)
    {
        strbuf_printf(out, "\n%streat first:%s ", paint(style, BOLD), paint(style, RESET));
        append_clean(out, first, 0, false);
        strbuf_append_char(out, '\n');
    }
}

/* --- JSON --- */

void
render_json_alerts(JsonW *w, const AlertList *alerts)
{
    size_t i;

    jsonw_key(w, "alerts");
    jsonw_array_begin(w);
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        jsonw_object_begin(w);
        jsonw_kv_string(w, "name", a->name);
        jsonw_kv_string(w, "severity", rules_severity_name(a->severity));
        jsonw_kv_double(w, "value", a->value);
        jsonw_kv_double(w, "threshold", a->threshold);
        jsonw_kv_string(w, "summary", a->summary);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

void
render_json_evidence(JsonW *w, const Evidence *e)
{
    size_t i;

    jsonw_key(w, e->key);
    switch (e->type)
    {
        case EV_STRING:
            jsonw_string(w, e->str);
            break;
        case EV_INT:
            jsonw_int(w, e->num);
            break;
        case EV_DOUBLE:
            jsonw_double(w, e->real);
            break;
        case EV_BOOL:
            jsonw_bool(w, e->num != 0);
            break;
        case EV_PIDS:
            jsonw_array_begin(w);
            for (i = 0; i < e->n; i++)
                jsonw_int(w, e->ints[i]);
            jsonw_array_end(w);
            break;
        case EV_STRINGS:
            jsonw_array_begin(w);
            for (i = 0; i < e->n; i++)
                jsonw_string(w, e->strs[i]);
            jsonw_array_end(w);
            break;
    }
}

static void
json_strings(JsonW *w, const char *key, const char *const *strs, size_t n)
{
    size_t i;

    jsonw_key(w, key);
    jsonw_array_begin(w);
    for (i = 0; i < n; i++)
        jsonw_string(w, strs[i]);
    jsonw_array_end(w);
}

void
render_triage_json(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                   const FindingList *findings)
{
    JsonW w;
    size_t i, j;

    jsonw_init(&w, out, true);
    jsonw_object_begin(&w);
    snapshot_json_write_header(&w, snap);
    render_json_alerts(&w, alerts);
    jsonw_key(&w, "findings");
    jsonw_array_begin(&w);
    for (i = 0; i < findings->n_findings; i++)
    {
        const Finding *f = &findings->findings[i];

        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "kind", f->kind);
        jsonw_kv_string(&w, "alert", f->alert);
        jsonw_kv_string(&w, "severity", rules_severity_name(f->severity));
        jsonw_kv_double(&w, "impact", f->impact);
        jsonw_kv_string(&w, "summary", f->summary);
        jsonw_key(&w, "evidence");
        jsonw_object_begin(&w);
        for (j = 0; j < f->n_evidence; j++)
            render_json_evidence(&w, &f->evidence[j]);
        jsonw_object_end(&w);
        json_strings(&w, "actions", f->actions, f->n_actions);
        json_strings(&w, "advice", f->advice, f->n_advice);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_kv_string(&w, "treat_first", render_treat_first(findings));
    json_strings(&w, "notes", snap->notes, snap->n_notes);
    jsonw_object_end(&w);
}

/* --- Markdown --- */

/* A fenced code block whose fence is longer than any backtick run inside. */
static void
md_code(StrBuf *out, const char *code)
{
    size_t run = 0, longest = 0, i;
    const char *p;

    for (p = code; *p; p++)
    {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    for (i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
        strbuf_append_char(out, '`');
    strbuf_append(out, "sh\n");
    append_clean(out, code, 0, false);
    strbuf_append_char(out, '\n');
    for (i = 0; i < (longest < 3 ? 3 : longest + 1); i++)
        strbuf_append_char(out, '`');
    strbuf_append(out, "\n\n");
}

static void
md_evidence(StrBuf *out, const Evidence *e)
{
    char buf[64];
    size_t i;

    strbuf_append(out, "- ");
    append_clean(out, e->key, 0, true);
    strbuf_append(out, e->type == EV_STRINGS && e->n > 0 ? ":" : ": ");
    switch (e->type)
    {
        case EV_STRING:
            append_clean(out, e->str ? e->str : "-", 0, true);
            break;
        case EV_PIDS:
            for (i = 0; i < e->n; i++)
                strbuf_printf(out, "%s%d", i ? ", " : "", (int) e->ints[i]);
            if (e->n == 0)
                strbuf_append(out, "none");
            break;
        case EV_STRINGS:
            if (e->n == 0)
                strbuf_append(out, "none");
            for (i = 0; i < e->n; i++)
            {
                strbuf_append(out, "\n  - ");
                append_clean(out, e->strs[i], 0, true);
            }
            break;
        case EV_INT:
        case EV_DOUBLE:
        case EV_BOOL:
            scalar_text(e, buf, sizeof(buf));
            append_clean(out, buf, 0, true);
            break;
    }
    strbuf_append_char(out, '\n');
}

void
render_triage_markdown(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                       const FindingList *findings)
{
    const char *first = render_treat_first(findings);
    char when[40];
    size_t i, j;

    pm_format_iso8601(snap->taken_at, when, sizeof(when));
    strbuf_append(out, "# Triage of ");
    append_clean(out, snap->target ? snap->target : "?", 0, true);
    strbuf_append(out, "\n\n");
    if (snap->failure == CONN_OK)
    {
        strbuf_append(out, "PostgreSQL ");
        append_clean(out, snap->version ? snap->version : "?", 0, true);
        strbuf_printf(out, ", taken %s, connections %lld/%lld usable\n\n", when,
                      (long long) snap->n_clients, (long long) snapshot_usable_slots(snap));
    }
    else
        strbuf_printf(out, "Unreachable (%s), taken %s\n\n", snapshot_failure_name(snap->failure),
                      when);

    strbuf_append(out, "## Alerts\n\n");
    if (alerts->n_alerts == 0)
        strbuf_append(out, "No alert is firing.\n\n");
    else
        strbuf_append(out, "| Alert | Severity | Summary |\n|---|---|---|\n");
    for (i = 0; i < alerts->n_alerts; i++)
    {
        const Alert *a = &alerts->alerts[i];

        strbuf_append(out, "| ");
        append_clean(out, a->name, 0, true);
        strbuf_printf(out, " | %s | ", rules_severity_name(a->severity));
        append_clean(out, a->summary, 0, true);
        strbuf_append(out, " |\n");
    }
    if (alerts->n_alerts > 0)
        strbuf_append_char(out, '\n');

    strbuf_append(out, "## Findings\n\n");
    if (findings->n_findings == 0)
        strbuf_append(out, "No cause found: nothing to treat.\n\n");
    for (i = 0; i < findings->n_findings; i++)
    {
        const Finding *f = &findings->findings[i];

        strbuf_printf(out, "### %zu. ", i + 1);
        append_clean(out, f->kind, 0, true);
        strbuf_printf(out, " (%s, ", rules_severity_name(f->severity));
        if (f->alert != NULL)
        {
            strbuf_append(out, "explains ");
            append_clean(out, f->alert, 0, true);
        }
        else
            strbuf_append(out, "latent");
        strbuf_append(out, ")\n\n**Summary:** ");
        append_clean(out, f->summary, 0, true);
        strbuf_append(out, "\n\n");
        if (f->n_evidence > 0)
            strbuf_append(out, "**Evidence**\n\n");
        for (j = 0; j < f->n_evidence; j++)
            md_evidence(out, &f->evidence[j]);
        if (f->n_evidence > 0)
            strbuf_append_char(out, '\n');
        if (f->n_advice > 0)
            strbuf_append(out, "**Advice**\n\n");
        for (j = 0; j < f->n_advice; j++)
        {
            strbuf_append(out, "- ");
            append_clean(out, f->advice[j], 0, true);
            strbuf_append_char(out, '\n');
        }
        if (f->n_advice > 0)
            strbuf_append_char(out, '\n');
        if (f->n_actions > 0)
            strbuf_append(out, "**Commands**\n\n");
        for (j = 0; j < f->n_actions; j++)
            md_code(out, f->actions[j]);
    }
    if (first != NULL)
    {
        strbuf_append(out, "## Treat first\n\n");
        md_code(out, first);
    }
    if (snap->n_notes > 0)
        strbuf_append(out, "## Notes\n\n");
    for (i = 0; i < snap->n_notes; i++)
    {
        strbuf_append(out, "- ");
        append_clean(out, snap->notes[i], 0, true);
        strbuf_append_char(out, '\n');
    }
}
