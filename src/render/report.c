/*
 * report.c - the incident report (Markdown, JSON), its SVG chart, and the
 * incident as `incident show` and `incident list` print it.  See report.h.
 *
 * Everything the report says is computed here from the timeline data the
 * incident hook wrote (the snapshot's numbers, alerts, findings, what fix and
 * verify did), the audit rows and the samples: nothing is typed in by hand
 * except the title, notes and the root cause.
 */
#include "render/report.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/svgchart.h"
#include "util/clock.h"
#include "util/jsonw.h"
#include "util/utf8.h"
#include "util/parse.h"

/* --- text made safe --- */

typedef enum
{
    SAFE_TEXT,    /* control characters become spaces, invalid UTF-8 '?' */
    SAFE_MARKDOWN /* the same, and Markdown syntax backslash-escaped */
} SafeMode;

/* The characters that make Markdown emphasis, code, links, HTML, entities and table cells. */
static bool
markdown_escape(StrBuf *out, unsigned char c)
{
    if (strchr("\\`*_[]<>|~&#!", c) == NULL)
        return false;
    strbuf_append_char(out, '\\');
    strbuf_append_char(out, (char) c);
    return true;
}

/* Each mode as a policy; U+FFFE and U+FFFF are invalid here too, as in the SVG. */
static const Utf8Policy safe_policies[] = {
    [SAFE_TEXT] = {.invalid = "?", .refuse_nonchars = true, .cut_mark = "..."},
    [SAFE_MARKDOWN] = {.invalid = "?",
                       .refuse_nonchars = true,
                       .cut_mark = "...",
                       .escape = markdown_escape},
};

/* Appends s made safe for mode; at most max bytes of it (0: all), "..." after. */
static void
safe(StrBuf *out, const char *s, SafeMode mode, size_t max)
{
    pm_utf8_append_escaped(out, s, max, &safe_policies[mode]);
}

static void
md(StrBuf *out, const char *s)
{
    safe(out, s, SAFE_MARKDOWN, 0);
}

/* Inline code whose fence is longer than any backtick run inside (CommonMark). */
static void
md_code(StrBuf *out, const char *s)
{
    size_t run = 0, longest = 0, i;
    const char *p;

    for (p = s; *p; p++)
    {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    for (i = 0; i <= longest; i++)
        strbuf_append_char(out, '`');
    strbuf_append_char(out, ' ');
    safe(out, s, SAFE_TEXT, 0);
    strbuf_append_char(out, ' ');
    for (i = 0; i <= longest; i++)
        strbuf_append_char(out, '`');
}

static void
iso(double t, char *buf, size_t size)
{
    if (t <= 0)
        snprintf(buf, size, "-");
    else
        pm_format_iso8601(t, buf, size);
}

/* "15:49:37" (UTC). */
static void
clock_of(double t, char *buf, size_t size)
{
    char full[40];

    pm_format_iso8601(t, full, sizeof(full));
    snprintf(buf, size, "%.8s", full + 11);
}

/* "+1min 02s" since the incident opened; "-3.0s" before. */
static void
since_open(double t, double opened, char *buf, size_t size)
{
    char age[32];
    double d = t - opened;

    format_age(d < 0 ? -d : d, age, sizeof(age));
    snprintf(buf, size, "%s%s", d < 0 ? "-" : "+", age);
}

/* --- JSON helpers --- */

static json_t *
jget(json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_object_get(obj, key) : NULL;
}

static const char *
jstr(json_t *obj, const char *key)
{
    json_t *v = jget(obj, key);

    return json_is_string(v) ? json_string_value(v) : NULL;
}

static double
jnum(json_t *obj, const char *key, double fallback)
{
    json_t *v = jget(obj, key);

    return json_is_number(v) ? json_number_value(v) : fallback;
}

static int64_t
jint(json_t *obj, const char *key, int64_t fallback)
{
    json_t *v = jget(obj, key);

    if (json_is_integer(v))
        return (int64_t) json_integer_value(v);
    if (json_is_real(v))
        return (int64_t) json_real_value(v);
    return fallback;
}

static bool
jbool(json_t *obj, const char *key)
{
    return json_is_true(jget(obj, key));
}

/* --- what the timeline says, computed once --- */

enum
{
    MAX_ALERTS = 8,
    MAX_APPS = 32
};

typedef struct
{
    const char *name;
    size_t runs;              /* runs in which it fired */
    double peak;              /* its highest value */
    double first_at;          /* first seen firing */
    double last_at;           /* last seen firing */
    const char *worst;        /* "warning" / "critical" */
    const char *explained_by; /* a finding kind that explained it, NULL when none */
    bool unexplained;         /* an unexplained finding was reported for it */
} AlertSeen;

typedef struct
{
    const char *name;
    int64_t sessions; /* the most seen at once */
} AppSeen;

/* A numbers point: the snapshot numbers of one run (or sample). */
typedef struct
{
    bool valid;
    double at;
    bool reachable;
    const char *failure;
    int64_t clients, usable, active, idle, idle_in_transaction, waiting_lock;
    double longest_query_s;
    const char *longest_query_application;
    json_t *alerts; /* array, or NULL */
    const char *kind;
} Point;

typedef struct
{
    json_t **data; /* parsed data per entry; NULL when none */
    size_t n;
    size_t n_runs;        /* check/triage/fix/verify entries with numbers */
    size_t n_unreachable; /* of those, how many could not reach the server */
    const char *last_failure;
    /* peaks (over runs and samples) */
    bool have_peak;
    int64_t peak_clients, peak_usable;
    double peak_at;
    int64_t min_headroom;
    int64_t peak_waiting, peak_iit;
    double longest_query_s;
    const char *longest_query_app;
    double longest_lock_wait_s;
    AlertSeen alerts[MAX_ALERTS];
    size_t n_alerts;
    AppSeen apps[MAX_APPS];
    size_t n_apps;
    json_t *findings; /* unique by kind + alert, first seen first */
    Point before, after;
    bool has_statements_known, has_statements;
} Analysis;

static bool
is_run(const char *kind)
{
    return strcmp(kind, "check") == 0 || strcmp(kind, "triage") == 0 || strcmp(kind, "fix") == 0 ||
           strcmp(kind, "verify") == 0 || strcmp(kind, "open") == 0;
}

static void
point_from(Point *p, json_t *d, double at, const char *kind)
{
    memset(p, 0, sizeof(*p));
    if (!json_is_object(d) || jget(d, "reachable") == NULL)
        return;
    p->valid = true;
    p->at = at;
    p->kind = kind;
    p->reachable = jbool(d, "reachable");
    p->failure = jstr(d, "failure");
    p->clients = jint(d, "clients", 0);
    p->usable = jint(d, "usable", 0);
    p->active = jint(d, "active", 0);
    p->idle = jint(d, "idle", 0);
    p->idle_in_transaction = jint(d, "idle_in_transaction", 0);
    p->waiting_lock = jint(d, "waiting_lock", 0);
    p->longest_query_s = jnum(d, "longest_query_s", 0);
    p->longest_query_application = jstr(d, "longest_query_application");
    p->alerts = json_is_array(jget(d, "alerts")) ? jget(d, "alerts") : NULL;
}

static void
peak_numbers(Analysis *a, double at, int64_t clients, int64_t usable, int64_t waiting, int64_t iit,
             double longest, const char *app)
{
    if (usable > 0 && (!a->have_peak || usable - clients < a->min_headroom))
        a->min_headroom = usable - clients;
    if (!a->have_peak || clients > a->peak_clients)
    {
        a->peak_clients = clients;
        a->peak_usable = usable;
        a->peak_at = at;
    }
    a->have_peak = true;
    if (waiting > a->peak_waiting)
        a->peak_waiting = waiting;
    if (iit > a->peak_iit)
        a->peak_iit = iit;
    if (longest > a->longest_query_s)
    {
        a->longest_query_s = longest;
        a->longest_query_app = app;
    }
}

static AlertSeen *
alert_seen(Analysis *a, const char *name)
{
    size_t i;

    for (i = 0; i < a->n_alerts; i++)
        if (strcmp(a->alerts[i].name, name) == 0)
            return &a->alerts[i];
    if (a->n_alerts == MAX_ALERTS)
        return NULL;
    memset(&a->alerts[a->n_alerts], 0, sizeof(AlertSeen));
    a->alerts[a->n_alerts].name = name;
    return &a->alerts[a->n_alerts++];
}

static void
app_seen(Analysis *a, const char *name, int64_t sessions)
{
    size_t i;

    for (i = 0; i < a->n_apps; i++)
        if (strcmp(a->apps[i].name, name) == 0)
        {
            if (sessions > a->apps[i].sessions)
                a->apps[i].sessions = sessions;
            return;
        }
    if (a->n_apps < MAX_APPS)
    {
        a->apps[a->n_apps].name = name;
        a->apps[a->n_apps].sessions = sessions;
        a->n_apps++;
    }
}

static void
analyze_findings(Analysis *a, json_t *findings)
{
    size_t i, j;
    json_t *f;

    json_array_foreach(findings, i, f)
    {
        const char *kind = jstr(f, "kind"), *alert = jstr(f, "alert");
        bool known = false;
        json_t *g;

        if (kind == NULL)
            continue;
        if (alert != NULL)
        {
            AlertSeen *s = alert_seen(a, alert);

            if (s != NULL && strcmp(kind, "unexplained") == 0)
                s->unexplained = true;
            else if (s != NULL && s->explained_by == NULL)
                s->explained_by = kind;
        }
        json_array_foreach(a->findings, j, g)
        {
            const char *k2 = jstr(g, "kind"), *a2 = jstr(g, "alert");

            if (k2 && strcmp(k2, kind) == 0 &&
                ((a2 == NULL && alert == NULL) || (a2 && alert && strcmp(a2, alert) == 0)))
                known = true;
        }
        if (!known)
            json_array_append(a->findings, f);
    }
}

static void
analyze(const ReportInput *in, Analysis *a)
{
    size_t i, j;

    memset(a, 0, sizeof(*a));
    a->findings = json_array();
    a->data = calloc(in->n_entries ? in->n_entries : 1, sizeof(json_t *));
    a->n = a->data ? in->n_entries : 0;
    for (i = 0; i < a->n; i++)
    {
        const TimelineEntry *e = &in->entries[i];
        json_t *d = e->data && e->data[0] ? json_loads(e->data, 0, NULL) : NULL;
        json_t *alerts, *al, *apps, *ap;
        Point p;

        a->data[i] = d;
        if (!is_run(e->kind))
            continue;
        point_from(&p, d, e->at, e->kind);
        if (!p.valid)
            continue;
        a->n_runs++;
        if (!a->before.valid)
            a->before = p;
        a->after = p;
        if (!p.reachable)
        {
            a->n_unreachable++;
            a->last_failure = p.failure;
        }
        else
            peak_numbers(a, e->at, p.clients, p.usable, p.waiting_lock, p.idle_in_transaction,
                         p.longest_query_s, p.longest_query_application);
        if (jnum(d, "longest_lock_wait_s", 0) > a->longest_lock_wait_s)
            a->longest_lock_wait_s = jnum(d, "longest_lock_wait_s", 0);
        if (json_is_boolean(jget(d, "has_statements")))
        {
            a->has_statements_known = true;
            a->has_statements = jbool(d, "has_statements");
        }
        alerts = jget(d, "alerts");
        json_array_foreach(alerts, j, al)
        {
            const char *name = jstr(al, "name");
            AlertSeen *s = name ? alert_seen(a, name) : NULL;
            double v = jnum(al, "value", 0);

            if (s == NULL)
                continue;
            if (s->runs == 0 || v > s->peak)
                s->peak = v;
            if (s->runs == 0)
                s->first_at = e->at;
            s->last_at = e->at;
            s->runs++;
            if (s->worst == NULL ||
                strcmp(jstr(al, "severity") ? jstr(al, "severity") : "", "critical") == 0)
                s->worst = jstr(al, "severity");
        }
        apps = jget(d, "applications");
        json_array_foreach(apps, j, ap)
        {
            const char *name = jstr(ap, "name");

            if (name != NULL)
                app_seen(a, name, jint(ap, "sessions", 0));
        }
        if (json_is_array(jget(d, "findings")))
            analyze_findings(a, jget(d, "findings"));
    }
    for (i = 0; i < in->n_samples; i++)
    {
        const Sample *s = &in->samples[i];

        if (s->taken_at < in->incident->opened_at)
            continue; /* lead-in of the chart, not the incident */
        peak_numbers(a, s->taken_at, s->clients, s->usable, s->waiting_lock, s->idle_in_transaction,
                     s->longest_query_s, NULL);
    }
}

static void
analysis_free(Analysis *a)
{
    size_t i;

    for (i = 0; i < a->n; i++)
        json_decref(a->data[i]);
    free(a->data);
    json_decref(a->findings);
}

/* --- shared wording --- */

const char *
render_incident_status(const Incident *inc)
{
    if (inc->resolved_at > 0)
        return "resolved";
    if (inc->acked_at > 0)
        return "acknowledged";
    return "open";
}

double
render_incident_window_end(const Incident *inc, double now)
{
    return inc->resolved_at > 0 ? inc->resolved_at : now;
}

/* An alert's value as people read it. */
static void
alert_value_text(const char *name, double v, char *buf, size_t size)
{
    if (strcmp(name, "DatabaseHighConnections") == 0)
        snprintf(buf, size, "%.0f%%", v * 100.0);
    else if (strcmp(name, "DatabaseSlowQueries") == 0)
        format_age(v, buf, size);
    else
        snprintf(buf, size, "down");
}

static void
thresholds_text(const char *name, const Thresholds *th, char *buf, size_t size)
{
    char w[32], c[32];

    if (th == NULL)
        snprintf(buf, size, "the configured thresholds");
    else if (strcmp(name, "DatabaseHighConnections") == 0)
        snprintf(buf, size, "connections_warning %.0f%%, connections_critical %.0f%%",
                 th->connections_warning * 100.0, th->connections_critical * 100.0);
    else if (strcmp(name, "DatabaseSlowQueries") == 0)
    {
        format_duration_ms(th->slow_query_warning_ms, w, sizeof(w));
        format_duration_ms(th->slow_query_critical_ms, c, sizeof(c));
        snprintf(buf, size, "slow_query_warning %s, slow_query_critical %s", w, c);
    }
    else
        snprintf(buf, size, "connect_timeout");
}

/* True when the alert fired in some run. */
static bool
fired(const Analysis *a, const char *name)
{
    size_t i;

    for (i = 0; i < a->n_alerts; i++)
        if (strcmp(a->alerts[i].name, name) == 0 && a->alerts[i].runs > 0)
            return true;
    return false;
}

/* The findings (first seen) of a given kind. */
static bool
has_finding(const Analysis *a, const char *kind)
{
    size_t i;
    json_t *f;

    json_array_foreach(a->findings, i, f)
    {
        if (jstr(f, "kind") && strcmp(jstr(f, "kind"), kind) == 0)
            return true;
    }
    return false;
}

/* The actions ("pgmedic fix ...") of findings of kind whose text contains needle. */
static size_t
finding_actions(const Analysis *a, const char *kind, const char *needle, const char **out,
                size_t max)
{
    size_t i, j, n = 0;
    json_t *f, *act;

    json_array_foreach(a->findings, i, f)
    {
        if (jstr(f, "kind") == NULL || strcmp(jstr(f, "kind"), kind) != 0)
            continue;
        json_array_foreach(jget(f, "actions"), j, act)
        {
            if (json_is_string(act) && strstr(json_string_value(act), needle) && n < max)
                out[n++] = json_string_value(act);
        }
    }
    return n;
}

/* "12 done, 0 skipped, 1 failed" from an audit result array. */
static void
audit_counts(const char *result, int *done, int *skipped, int *failed)
{
    json_t *v = result && result[0] ? json_loads(result, 0, NULL) : NULL;
    size_t i;
    json_t *e;

    *done = *skipped = *failed = 0;
    json_array_foreach(v, i, e)
    {
        const char *o = jstr(e, "outcome");

        if (o == NULL)
            continue;
        if (strncmp(o, "signalled", 9) == 0 || strncmp(o, "done", 4) == 0)
            (*done)++;
        else if (strncmp(o, "failed", 6) == 0)
            (*failed)++;
        else
            (*skipped)++;
    }
    json_decref(v);
}

/* --- Markdown --- */

static void
md_summary(StrBuf *out, const ReportInput *in)
{
    const Incident *inc = in->incident;
    char t[40], age[32];

    strbuf_append(out, "## Summary\n\n| | |\n|---|---|\n| Target | ");
    md(out, inc->target);
    strbuf_append(out, " |\n| Alert | ");
    md(out, inc->alert ? inc->alert : "none named");
    strbuf_append(out, " |\n| Severity | ");
    md(out, inc->severity);
    strbuf_printf(out, " |\n| Status | %s |\n", render_incident_status(inc));
    iso(inc->opened_at, t, sizeof(t));
    strbuf_printf(out, "| Opened | %s |\n", t);
    iso(inc->acked_at, t, sizeof(t));
    strbuf_printf(out, "| Acknowledged | %s", t);
    if (inc->acked_at > 0)
    {
        strbuf_append(out, " by ");
        md(out, inc->acked_by ? inc->acked_by : "?");
    }
    iso(inc->resolved_at, t, sizeof(t));
    strbuf_printf(out, " |\n| Resolved | %s |\n", inc->resolved_at > 0 ? t : "not yet");
    if (inc->acked_at > 0)
        format_age(inc->acked_at - inc->opened_at, age, sizeof(age));
    strbuf_printf(out, "| Time to acknowledge | %s |\n",
                  inc->acked_at > 0 ? age : "not acknowledged");
    if (inc->resolved_at > 0)
        format_age(inc->resolved_at - inc->opened_at, age, sizeof(age));
    else
        format_age(in->now - inc->opened_at, age, sizeof(age));
    strbuf_printf(out, "| Time to resolve | %s%s |\n\n", inc->resolved_at > 0 ? "" : "open for ",
                  age);
}

static void
md_impact(StrBuf *out, const ReportInput *in, const Analysis *a)
{
    size_t i;

    strbuf_append(out, "## Impact\n\n");
    if (!a->have_peak && a->n_unreachable == 0)
    {
        strbuf_append(out, "No run or sample measured the server during the incident.\n\n");
        return;
    }
    if (a->have_peak)
    {
        char t[16], age[32];

        clock_of(a->peak_at, t, sizeof(t));
        strbuf_printf(
            out,
            "- **Sessions**: at most %lld client sessions at once (%lld of %lld usable "
            "slots, %.0f%%, at %s UTC)\n",
            (long long) a->peak_clients, (long long) a->peak_clients, (long long) a->peak_usable,
            a->peak_usable > 0 ? 100.0 * (double) a->peak_clients / (double) a->peak_usable : 0.0,
            t);
        strbuf_printf(out, "- **Headroom at worst**: %lld free connection slot%s\n",
                      (long long) a->min_headroom, a->min_headroom == 1 ? "" : "s");
        strbuf_printf(out,
                      "- **Waiting**: at most %lld session%s waiting on a lock at once; "
                      "%lld idle in transaction\n",
                      (long long) a->peak_waiting, a->peak_waiting == 1 ? "" : "s",
                      (long long) a->peak_iit);
        if (a->longest_lock_wait_s > 0)
        {
            format_age(a->longest_lock_wait_s, age, sizeof(age));
            strbuf_printf(out, "- **Longest lock wait**: %s\n", age);
        }
        format_age(a->longest_query_s, age, sizeof(age));
        strbuf_printf(out, "- **Longest active query**: %s", a->longest_query_s > 0 ? age : "none");
        if (a->longest_query_app != NULL && a->longest_query_app[0])
        {
            strbuf_append(out, " (application ");
            md(out, a->longest_query_app);
            strbuf_append(out, ")");
        }
        strbuf_append(out, "\n");
    }
    strbuf_append(out, "- **Applications affected**: ");
    if (a->n_apps == 0)
        strbuf_append(out, "not known (no triage or fix ran during the incident)");
    for (i = 0; i < a->n_apps; i++)
    {
        if (i > 0)
            strbuf_append(out, ", ");
        md(out, a->apps[i].name[0] ? a->apps[i].name : "(no application_name)");
        strbuf_printf(out, " (%lld session%s)", (long long) a->apps[i].sessions,
                      a->apps[i].sessions == 1 ? "" : "s");
    }
    strbuf_append(out, "\n");
    strbuf_printf(out, "- **Reachability**: ");
    if (a->n_unreachable == 0)
        strbuf_printf(out, "the server answered every one of the %zu runs\n", a->n_runs);
    else
    {
        strbuf_printf(out, "%zu of %zu runs could not reach the server (last: ", a->n_unreachable,
                      a->n_runs);
        md(out, a->last_failure ? a->last_failure : "?");
        strbuf_append(out, ")\n");
    }
    (void) in;
    strbuf_append(out, "\n");
}

static void
md_timeline(StrBuf *out, const ReportInput *in)
{
    size_t i;

    strbuf_append(out,
                  "## Timeline\n\n| time (UTC) | since open | kind | what |\n|---|---|---|---|\n");
    for (i = 0; i < in->n_entries; i++)
    {
        const TimelineEntry *e = &in->entries[i];
        char t[16], rel[40];

        clock_of(e->at, t, sizeof(t));
        since_open(e->at, in->incident->opened_at, rel, sizeof(rel));
        strbuf_printf(out, "| %s | %s | ", t, rel);
        md(out, e->kind);
        strbuf_append(out, " | ");
        safe(out, e->summary, SAFE_MARKDOWN, 400);
        strbuf_append(out, " |\n");
    }
    if (in->n_entries == 0)
        strbuf_append(out, "| - | - | - | nothing recorded |\n");
    strbuf_append(out, "\n");
}

static void
md_root_cause(StrBuf *out, const ReportInput *in, const Analysis *a)
{
    size_t i, n = 0;
    json_t *f;

    strbuf_append(out, "## Root cause\n\n");
    if (in->incident->root_cause && in->incident->root_cause[0])
    {
        strbuf_append(out, "Given at resolve: ");
        md(out, in->incident->root_cause);
        strbuf_append(out, "\n\n");
    }
    else
        strbuf_append(out, "No root cause was given at resolve "
                           "(`pgmedic incident resolve ID --root-cause TEXT`).\n\n");
    strbuf_append(out, "From the findings:\n\n");
    json_array_foreach(a->findings, i, f)
    {
        const char *alert = jstr(f, "alert");

        if (alert == NULL)
            continue;
        strbuf_append(out, "- **");
        md(out, jstr(f, "kind") ? jstr(f, "kind") : "?");
        strbuf_append(out, "** (explains ");
        md(out, alert);
        strbuf_append(out, "): ");
        safe(out, jstr(f, "summary"), SAFE_MARKDOWN, 400);
        strbuf_append(out, "\n");
        n++;
    }
    json_array_foreach(a->findings, i, f)
    {
        if (jstr(f, "alert") != NULL)
            continue;
        strbuf_append(out, "- ");
        md(out, jstr(f, "kind") ? jstr(f, "kind") : "?");
        strbuf_append(out, " (latent): ");
        safe(out, jstr(f, "summary"), SAFE_MARKDOWN, 400);
        strbuf_append(out, "\n");
        n++;
    }
    if (n == 0)
        strbuf_append(out, "- none: no triage ran during the incident\n");
    strbuf_append(out, "\n");
}

static void
md_actions(StrBuf *out, const ReportInput *in)
{
    size_t i;

    strbuf_append(out, "## Actions taken\n\n");
    if (in->n_audits == 0)
    {
        strbuf_append(out, "None: no `pgmedic fix --apply` ran on this target during the "
                           "incident.\n\n");
        return;
    }
    strbuf_append(out, "| audit | time (UTC) | action | status | done | skipped | failed | by |\n"
                       "|---|---|---|---|---|---|---|---|\n");
    for (i = 0; i < in->n_audits; i++)
    {
        const AuditRow *r = &in->audits[i];
        int done, skipped, failed;
        char t[16];

        audit_counts(r->result, &done, &skipped, &failed);
        clock_of(r->started_at, t, sizeof(t));
        strbuf_printf(out, "| #%lld | %s | ", (long long) r->id, t);
        md(out, r->action);
        if (r->options && r->options[0])
        {
            strbuf_append(out, " ");
            safe(out, r->options, SAFE_MARKDOWN, 200);
        }
        strbuf_printf(out, " | %s | %d | %d | %d | ", r->finished_at > 0 ? r->status : "UNFINISHED",
                      done, skipped, failed);
        md(out, r->os_user ? r->os_user : "?");
        strbuf_append(out, " |\n");
    }
    strbuf_append(out, "\n");
    for (i = 0; i < in->n_audits; i++)
    {
        const AuditRow *r = &in->audits[i];
        json_t *v = r->result && r->result[0] ? json_loads(r->result, 0, NULL) : NULL;
        size_t j;
        json_t *e;

        json_array_foreach(v, j, e)
        {
            const char *o = jstr(e, "outcome");

            if (o == NULL || strncmp(o, "signalled", 9) == 0 || strncmp(o, "done", 4) == 0)
                continue;
            strbuf_printf(out, "- #%lld ", (long long) r->id);
            safe(out, jstr(e, "item"), SAFE_MARKDOWN, 200);
            strbuf_append(out, ": ");
            safe(out, o, SAFE_MARKDOWN, 300);
            strbuf_append(out, "\n");
        }
        json_decref(v);
    }
}

static void
md_point_cell(StrBuf *out, const Point *p, int which)
{
    char age[32];

    if (!p->valid)
    {
        strbuf_append(out, " - |");
        return;
    }
    if (!p->reachable)
    {
        strbuf_append(out, " unreachable (");
        md(out, p->failure ? p->failure : "?");
        strbuf_append(out, ") |");
        return;
    }
    switch (which)
    {
        case 0:
            strbuf_printf(out, " %lld of %lld |", (long long) p->clients, (long long) p->usable);
            break;
        case 1:
            strbuf_printf(out, " %lld |", (long long) p->waiting_lock);
            break;
        case 2:
            strbuf_printf(out, " %lld |", (long long) p->idle_in_transaction);
            break;
        case 3:
            format_age(p->longest_query_s, age, sizeof(age));
            strbuf_printf(out, " %s |", p->longest_query_s > 0 ? age : "none");
            break;
        default:
        {
            size_t i;
            json_t *al;

            if (p->alerts == NULL || json_array_size(p->alerts) == 0)
                strbuf_append(out, " none");
            json_array_foreach(p->alerts, i, al)
            {
                char v[32];
                const char *name = jstr(al, "name");

                if (name == NULL)
                    continue;
                alert_value_text(name, jnum(al, "value", 0), v, sizeof(v));
                strbuf_append(out, i ? ", " : " ");
                md(out, name);
                strbuf_printf(out, " %s", v);
            }
            strbuf_append(out, " |");
        }
    }
}

static void
md_verification(StrBuf *out, const ReportInput *in, const Analysis *a)
{
    static const char *const rows[] = {"connections in use", "waiting on a lock",
                                       "idle in transaction", "longest active query",
                                       "alerts firing"};
    size_t i, n_verify = 0;

    strbuf_append(out, "## Verification\n\n");
    if (a->before.valid)
    {
        char tb[16], ta[16], age[32];

        clock_of(a->before.at, tb, sizeof(tb));
        clock_of(a->after.at, ta, sizeof(ta));
        strbuf_printf(out, "| | before (%s, %s) | worst | after (%s, %s) |\n|---|---|---|---|\n",
                      a->before.kind, tb, a->after.kind, ta);
        for (i = 0; i < PM_LENGTHOF(rows); i++)
        {
            strbuf_printf(out, "| %s |", rows[i]);
            md_point_cell(out, &a->before, (int) i);
            switch (i)
            {
                case 0:
                    if (a->have_peak)
                        strbuf_printf(out, " %lld of %lld |", (long long) a->peak_clients,
                                      (long long) a->peak_usable);
                    else
                        strbuf_append(out, " - |");
                    break;
                case 1:
                    strbuf_printf(out, " %lld |", (long long) a->peak_waiting);
                    break;
                case 2:
                    strbuf_printf(out, " %lld |", (long long) a->peak_iit);
                    break;
                case 3:
                    format_age(a->longest_query_s, age, sizeof(age));
                    strbuf_printf(out, " %s |", a->longest_query_s > 0 ? age : "none");
                    break;
                default:
                {
                    size_t j;

                    for (j = 0; j < a->n_alerts; j++)
                    {
                        char v[32];

                        alert_value_text(a->alerts[j].name, a->alerts[j].peak, v, sizeof(v));
                        strbuf_append(out, j ? ", " : " ");
                        md(out, a->alerts[j].name);
                        strbuf_printf(out, " %s", v);
                    }
                    strbuf_append(out, a->n_alerts == 0 ? " none |" : " |");
                }
            }
            md_point_cell(out, &a->after, (int) i);
            strbuf_append(out, "\n");
        }
        strbuf_append(out, "\n");
    }
    for (i = 0; i < in->n_entries && i < a->n; i++)
    {
        json_t *run = jget(a->data[i], "run"), *checks, *c;
        char t[16];
        size_t j;

        if (strcmp(in->entries[i].kind, "verify") != 0 || !json_is_object(run))
            continue;
        n_verify++;
        clock_of(in->entries[i].at, t, sizeof(t));
        strbuf_printf(out, "- verify at %s UTC: **%s**\n", t,
                      jbool(run, "recovered") ? "recovered" : "NOT recovered");
        checks = jget(run, "checks");
        json_array_foreach(checks, j, c)
        {
            strbuf_printf(out, "  - [%s] ", jbool(c, "passed") ? "pass" : "FAIL");
            md(out, jstr(c, "name") ? jstr(c, "name") : "?");
            strbuf_append(out, ": ");
            safe(out, jstr(c, "detail"), SAFE_MARKDOWN, 300);
            strbuf_append(out, "\n");
        }
    }
    if (n_verify == 0)
        strbuf_append(out, "- `pgmedic verify` was not run during the incident\n");
    strbuf_append(out, "\n");
}

static void
md_escalations(StrBuf *out, const ReportInput *in, const Analysis *a)
{
    size_t i, n = 0;

    strbuf_append(out, "## Escalations\n\n");
    for (i = 0; i < in->n_entries && i < a->n; i++)
    {
        const TimelineEntry *e = &in->entries[i];
        json_t *d = a->data[i];
        char t[16];

        clock_of(e->at, t, sizeof(t));
        if (strcmp(e->kind, "escalate") == 0)
        {
            n++;
            strbuf_printf(out, "- %s UTC, **", t);
            md(out, jstr(d, "runbook") ? jstr(d, "runbook") : e->kind);
            strbuf_append(out, "** (");
            md(out, jstr(d, "rule") ? jstr(d, "rule") : "?");
            strbuf_append(out, "): ");
            safe(out, jstr(d, "reason") ? jstr(d, "reason") : e->summary, SAFE_MARKDOWN, 500);
            strbuf_append(out, "\n");
        }
        else if (strcmp(e->kind, "page") == 0)
        {
            strbuf_printf(out, "  - %s UTC, escalation command: ", t);
            safe(out, e->summary, SAFE_MARKDOWN, 400);
            strbuf_append(out, "\n");
        }
    }
    if (n == 0)
        strbuf_append(out, "None: no rule of runbook §11 fired (unresponsive after restart, "
                           "corruption suspected, alert persisting after a fix, root cause "
                           "unclear past escalate_after).\n");
    strbuf_append(out, "\nContacts (runbook §12): ");
    if (in->contacts && in->contacts[0])
        md(out, in->contacts);
    else
        strbuf_append(out, "not configured (set `[escalation] contacts`)");
    strbuf_append(out, "\n\n");
}

static void
check_item(StrBuf *out, bool done, const char *text)
{
    strbuf_printf(out, "- [%c] **%s**", done ? 'x' : ' ', text);
}

static void
md_checklist(StrBuf *out, const ReportInput *in, const Analysis *a)
{
    const char *acts[16];
    size_t i, n;
    bool any;

    strbuf_append(out, "## Post-incident checklist\n\n### Documentation (runbook §13)\n\n");

    check_item(out, in->incident->root_cause && in->incident->root_cause[0], "Document root cause");
    if (in->incident->root_cause && in->incident->root_cause[0])
    {
        strbuf_append(out, ": ");
        md(out, in->incident->root_cause);
    }
    else
        strbuf_append(out, ": not documented yet");
    strbuf_append(out, "\n");

    check_item(out, false, "Update monitoring thresholds");
    strbuf_append(out, "\n");
    for (i = 0; i < a->n_alerts; i++)
    {
        const AlertSeen *s = &a->alerts[i];
        char v[32], th[128];

        if (s->runs == 0)
            continue;
        alert_value_text(s->name, s->peak, v, sizeof(v));
        thresholds_text(s->name, in->thresholds, th, sizeof(th));
        strbuf_append(out, "  - ");
        md(out, s->name);
        strbuf_printf(out, " fired in %zu of %zu runs, at worst %s (%s, %s): ", s->runs, a->n_runs,
                      v, s->worst ? s->worst : "warning", th);
        if (s->explained_by && strcmp(s->explained_by, "connection_surge") == 0)
            strbuf_append(out, "real load reached it; keep the threshold and plan capacity or "
                               "pooling instead\n");
        else if (s->explained_by)
        {
            strbuf_append(out, "it caught a real cause (");
            md(out, s->explained_by);
            strbuf_append(out, "): keep it\n");
        }
        else if (s->unexplained)
            strbuf_append(out, "no finding explained it: compare with the usual load "
                               "(`pgmedic verify` shows the baseline) and raise it if this is "
                               "normal for the server\n");
        else
            strbuf_append(out, "no triage ran to name its cause: run `pgmedic triage` when it "
                               "fires next\n");
    }
    if (a->n_alerts == 0)
        strbuf_append(out, "  - no alert was seen firing by pgmedic during the incident: check "
                           "whether the thresholds are too high to catch it\n");

    check_item(out, false, "Review and update indexes");
    strbuf_append(out, "\n");
    any = false;
    for (i = 0; i < in->n_audits; i++)
        if (strcmp(in->audits[i].action, "create-index") == 0)
        {
            strbuf_printf(out, "  - created (audit #%lld, %s): ", (long long) in->audits[i].id,
                          in->audits[i].status);
            safe(out, in->audits[i].options, SAFE_MARKDOWN, 300);
            strbuf_append(out, "\n");
            any = true;
        }
    n = finding_actions(a, "missing_index", "create-index", acts, PM_LENGTHOF(acts));
    for (i = 0; i < n; i++)
    {
        strbuf_append(out, "  - suggested: ");
        md_code(out, acts[i]);
        strbuf_append(out, "\n");
        any = true;
    }
    if (!any)
        strbuf_append(out, "  - no index was created or suggested during the incident\n");

    check_item(out, false, "Schedule performance review");
    strbuf_append(out, "\n");
    any = false;
    n = finding_actions(a, "table_bloat", "vacuum", acts, PM_LENGTHOF(acts));
    n += finding_actions(a, "stale_statistics", "analyze", acts + n, PM_LENGTHOF(acts) - n);
    for (i = 0; i < n; i++)
    {
        strbuf_append(out, "  - maintenance to schedule: ");
        md_code(out, acts[i]);
        strbuf_append(out, "\n");
        any = true;
    }
    if (a->longest_query_s > 0)
    {
        char age[32];

        format_age(a->longest_query_s, age, sizeof(age));
        strbuf_printf(out, "  - review the queries that ran longest (up to %s)%s\n", age,
                      a->has_statements_known && !a->has_statements
                          ? "; pg_stat_statements was not available to name them"
                          : " in pg_stat_statements");
        any = true;
    }
    if (!any)
        strbuf_append(out, "  - nothing specific came up; keep the runbook's §10 schedule "
                           "(daily VACUUM, weekly ANALYZE)\n");

    strbuf_append(out, "\n### Prevention (runbook §14)\n\n");

    check_item(out, false, "Implement query monitoring");
    strbuf_append(out, "\n");
    if (fired(a, "DatabaseSlowQueries") || has_finding(a, "long_running_query"))
        strbuf_append(out, "  - log slow statements (runbook §9): `pgmedic fix slow-log on "
                           "--min-duration 1s --apply`\n");
    if (a->has_statements_known && !a->has_statements)
        strbuf_append(out, "  - install pg_stat_statements (shared_preload_libraries, then "
                           "`CREATE EXTENSION pg_stat_statements`) so slow statements are named\n");
    strbuf_append(out, "  - keep `pgmedic check --format nagios` (or `pgmedic serve`) running "
                       "every minute so the alerts page before users notice\n");

    check_item(out, false, "Set up automated maintenance");
    strbuf_append(out, "\n");
    if (has_finding(a, "table_bloat") || has_finding(a, "stale_statistics"))
        strbuf_append(out, "  - autovacuum did not keep up with the tables listed above: lower "
                           "their autovacuum_vacuum_scale_factor / analyze_scale_factor\n");
    else
        strbuf_append(out, "  - no bloat or stale statistics were found; keep autovacuum on\n");

    check_item(out, false, "Review connection pooling");
    strbuf_append(out, "\n");
    any = false;
    {
        static const char *const kinds[] = {"connection_leak", "idle_in_transaction",
                                            "connection_surge", "too_many_clients"};
        json_t *f, *adv;
        size_t j, k;

        json_array_foreach(a->findings, i, f)
        {
            const char *kind = jstr(f, "kind");
            bool pooling = false;

            for (k = 0; kind && k < PM_LENGTHOF(kinds); k++)
                pooling = pooling || strcmp(kind, kinds[k]) == 0;
            if (!pooling)
                continue;
            strbuf_append(out, "  - ");
            md(out, kind);
            strbuf_append(out, ": ");
            safe(out, jstr(f, "summary"), SAFE_MARKDOWN, 300);
            strbuf_append(out, "\n");
            json_array_foreach(jget(f, "advice"), j, adv)
            {
                strbuf_append(out, "    - ");
                safe(out, json_string_value(adv), SAFE_MARKDOWN, 400);
                strbuf_append(out, "\n");
            }
            any = true;
        }
    }
    if (a->have_peak)
        strbuf_printf(out,
                      "  - peak %lld of %lld usable slots: size the pools so that their sum "
                      "stays under connections_warning\n",
                      (long long) a->peak_clients, (long long) a->peak_usable);
    else if (!any)
        strbuf_append(out, "  - no connection numbers were recorded\n");

    check_item(out, false, "Update alerting rules");
    strbuf_append(out, "\n");
    if (has_finding(a, "lock_contention"))
        strbuf_append(out, "  - sessions waited on locks: alert on lock waits past lock_wait, "
                           "not only on the oldest query\n");
    if (has_finding(a, "idle_in_transaction"))
        strbuf_append(out, "  - sessions sat idle in transaction: set "
                           "idle_in_transaction_session_timeout and alert on it\n");
    if (a->n_unreachable > 0)
        strbuf_append(out, "  - the server was unreachable: alert on DatabaseConnectionFailure "
                           "from a second host too\n");
    strbuf_append(out, "  - generate the Prometheus rules for the three runbook alerts from the "
                       "same thresholds (`pgmedic rules`, issue 7)\n\n");
}

void
render_incident_markdown(StrBuf *out, const ReportInput *in)
{
    Analysis a;

    analyze(in, &a);
    strbuf_printf(out, "# Incident %lld: ", (long long) in->incident->id);
    md(out, in->incident->title);
    strbuf_append(out, "\n\n");
    md_summary(out, in);
    md_impact(out, in, &a);
    strbuf_append(out, "## Chart\n\n");
    if (in->chart_href != NULL)
    {
        strbuf_append(out, "![connections by state and longest query over the incident](");
        safe(out, in->chart_href, SAFE_TEXT, 0);
        strbuf_printf(out,
                      ")\n\nConnections by state (stacked) and the longest active query, "
                      "from %zu sample%s.\n\n",
                      in->n_samples, in->n_samples == 1 ? "" : "s");
    }
    else
        strbuf_append(out, "Not written: `pgmedic incident report ID --output DIR` writes it "
                           "next to the report.\n\n");
    md_timeline(out, in);
    md_root_cause(out, in, &a);
    md_actions(out, in);
    md_verification(out, in, &a);
    md_escalations(out, in, &a);
    md_checklist(out, in, &a);
    strbuf_append(out, "---\nWritten by pgmedic from its store: the timeline, audit log and "
                       "samples of this incident.\n");
    analysis_free(&a);
}

/* --- JSON --- */

static void
json_time(JsonW *w, const char *key, double t)
{
    char buf[40];

    if (t <= 0)
    {
        jsonw_key(w, key);
        jsonw_null(w);
        return;
    }
    pm_format_iso8601(t, buf, sizeof(buf));
    jsonw_kv_string(w, key, buf);
}

/* A stored JSON text written as a value (re-encoded by jansson; null when invalid). */
static void
json_embed(JsonW *w, json_t *v)
{
    char *text;

    if (v == NULL)
    {
        jsonw_null(w);
        return;
    }
    text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        jsonw_null(w);
    else
        jsonw_raw(w, text);
    free(text);
}

static void
json_incident_fields(JsonW *w, const Incident *inc, double now)
{
    jsonw_kv_int(w, "id", inc->id);
    jsonw_kv_string(w, "target", inc->target);
    jsonw_kv_string(w, "alert", inc->alert);
    jsonw_kv_string(w, "title", inc->title);
    jsonw_kv_string(w, "severity", inc->severity);
    jsonw_kv_string(w, "status", render_incident_status(inc));
    json_time(w, "opened_at", inc->opened_at);
    json_time(w, "acked_at", inc->acked_at);
    jsonw_kv_string(w, "acked_by", inc->acked_by);
    json_time(w, "resolved_at", inc->resolved_at);
    jsonw_kv_string(w, "root_cause", inc->root_cause);
    jsonw_key(w, "time_to_ack_s");
    if (inc->acked_at > 0)
        jsonw_double(w, inc->acked_at - inc->opened_at);
    else
        jsonw_null(w);
    jsonw_key(w, "time_to_resolve_s");
    if (inc->resolved_at > 0)
        jsonw_double(w, inc->resolved_at - inc->opened_at);
    else
        jsonw_null(w);
    jsonw_kv_double(w, "open_for_s", render_incident_window_end(inc, now) - inc->opened_at);
}

static void
json_timeline(JsonW *w, const TimelineEntry *entries, size_t n)
{
    size_t i;

    jsonw_key(w, "timeline");
    jsonw_array_begin(w);
    for (i = 0; i < n; i++)
    {
        json_t *d = entries[i].data[0] ? json_loads(entries[i].data, 0, NULL) : NULL;

        jsonw_object_begin(w);
        jsonw_kv_int(w, "id", entries[i].id);
        json_time(w, "at", entries[i].at);
        jsonw_kv_string(w, "kind", entries[i].kind);
        jsonw_kv_string(w, "summary", entries[i].summary);
        jsonw_key(w, "data");
        json_embed(w, d);
        json_decref(d);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

void
render_incident_json(StrBuf *out, const Incident *inc, const TimelineEntry *entries,
                     size_t n_entries, const char *extra_key, const char *extra_json, bool pretty)
{
    JsonW w;
    double end = n_entries > 0 ? entries[n_entries - 1].at : inc->opened_at;

    jsonw_init(&w, out, pretty);
    jsonw_object_begin(&w);
    jsonw_kv_int(&w, "pgmedic", 1);
    jsonw_key(&w, "incident");
    jsonw_object_begin(&w);
    json_incident_fields(&w, inc, end);
    jsonw_object_end(&w);
    json_timeline(&w, entries, n_entries);
    if (extra_key != NULL && extra_json != NULL)
    {
        jsonw_key(&w, extra_key);
        jsonw_raw(&w, extra_json);
    }
    jsonw_object_end(&w);
    if (pretty)
        strbuf_append_char(out, '\n');
}

static void
json_point(JsonW *w, const char *key, const Point *p)
{
    jsonw_key(w, key);
    if (!p->valid)
    {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    json_time(w, "at", p->at);
    jsonw_kv_string(w, "kind", p->kind);
    jsonw_kv_bool(w, "reachable", p->reachable);
    jsonw_kv_string(w, "failure", p->failure);
    jsonw_kv_int(w, "clients", p->clients);
    jsonw_kv_int(w, "usable", p->usable);
    jsonw_kv_int(w, "waiting_lock", p->waiting_lock);
    jsonw_kv_int(w, "idle_in_transaction", p->idle_in_transaction);
    jsonw_kv_double(w, "longest_query_s", p->longest_query_s);
    jsonw_key(w, "alerts");
    json_embed(w, p->alerts ? p->alerts : NULL);
    jsonw_object_end(w);
}

void
render_incident_report_json(StrBuf *out, const ReportInput *in)
{
    const Incident *inc = in->incident;
    Analysis a;
    JsonW w;
    size_t i;

    analyze(in, &a);
    jsonw_init(&w, out, true);
    jsonw_object_begin(&w);
    jsonw_kv_int(&w, "pgmedic", 1);
    jsonw_key(&w, "incident");
    jsonw_object_begin(&w);
    json_incident_fields(&w, inc, in->now);
    jsonw_object_end(&w);

    jsonw_key(&w, "impact");
    jsonw_object_begin(&w);
    jsonw_kv_int(&w, "runs", (int64_t) a.n_runs);
    jsonw_kv_int(&w, "unreachable_runs", (int64_t) a.n_unreachable);
    jsonw_key(&w, "peak_clients");
    if (a.have_peak)
        jsonw_int(&w, a.peak_clients);
    else
        jsonw_null(&w);
    jsonw_kv_int(&w, "usable_at_peak", a.peak_usable);
    json_time(&w, "peak_at", a.have_peak ? a.peak_at : 0);
    jsonw_key(&w, "min_headroom");
    if (a.have_peak)
        jsonw_int(&w, a.min_headroom);
    else
        jsonw_null(&w);
    jsonw_kv_int(&w, "peak_waiting_lock", a.peak_waiting);
    jsonw_kv_int(&w, "peak_idle_in_transaction", a.peak_iit);
    jsonw_kv_double(&w, "longest_query_s", a.longest_query_s);
    jsonw_kv_string(&w, "longest_query_application", a.longest_query_app);
    jsonw_kv_double(&w, "longest_lock_wait_s", a.longest_lock_wait_s);
    jsonw_key(&w, "applications");
    jsonw_array_begin(&w);
    for (i = 0; i < a.n_apps; i++)
    {
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "name", a.apps[i].name);
        jsonw_kv_int(&w, "sessions", a.apps[i].sessions);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_key(&w, "alerts");
    jsonw_array_begin(&w);
    for (i = 0; i < a.n_alerts; i++)
    {
        jsonw_object_begin(&w);
        jsonw_kv_string(&w, "name", a.alerts[i].name);
        jsonw_kv_int(&w, "runs", (int64_t) a.alerts[i].runs);
        jsonw_kv_double(&w, "peak", a.alerts[i].peak);
        jsonw_kv_string(&w, "worst_severity", a.alerts[i].worst);
        jsonw_kv_string(&w, "explained_by", a.alerts[i].explained_by);
        jsonw_kv_bool(&w, "unexplained", a.alerts[i].unexplained);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_object_end(&w);

    json_timeline(&w, in->entries, in->n_entries);

    jsonw_key(&w, "root_cause");
    jsonw_object_begin(&w);
    jsonw_kv_string(&w, "text", inc->root_cause);
    jsonw_key(&w, "findings");
    json_embed(&w, a.findings);
    jsonw_object_end(&w);

    jsonw_key(&w, "actions");
    jsonw_array_begin(&w);
    for (i = 0; i < in->n_audits; i++)
    {
        const AuditRow *r = &in->audits[i];
        json_t *res = r->result && r->result[0] ? json_loads(r->result, 0, NULL) : NULL;
        int done, skipped, failed;

        audit_counts(r->result, &done, &skipped, &failed);
        jsonw_object_begin(&w);
        jsonw_kv_int(&w, "audit_id", r->id);
        json_time(&w, "started_at", r->started_at);
        json_time(&w, "finished_at", r->finished_at);
        jsonw_kv_string(&w, "action", r->action);
        jsonw_kv_string(&w, "options", r->options);
        jsonw_kv_string(&w, "status", r->finished_at > 0 ? r->status : "unfinished");
        jsonw_kv_int(&w, "done", done);
        jsonw_kv_int(&w, "skipped", skipped);
        jsonw_kv_int(&w, "failed", failed);
        jsonw_key(&w, "result");
        json_embed(&w, res);
        json_decref(res);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);

    jsonw_key(&w, "verification");
    jsonw_object_begin(&w);
    json_point(&w, "before", &a.before);
    json_point(&w, "after", &a.after);
    jsonw_key(&w, "runs");
    jsonw_array_begin(&w);
    for (i = 0; i < in->n_entries && i < a.n; i++)
    {
        json_t *run = jget(a.data[i], "run");

        if (strcmp(in->entries[i].kind, "verify") != 0 || !json_is_object(run))
            continue;
        jsonw_object_begin(&w);
        json_time(&w, "at", in->entries[i].at);
        jsonw_kv_bool(&w, "recovered", jbool(run, "recovered"));
        jsonw_key(&w, "checks");
        json_embed(&w, jget(run, "checks"));
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_object_end(&w);

    jsonw_key(&w, "escalations");
    jsonw_array_begin(&w);
    for (i = 0; i < in->n_entries && i < a.n; i++)
    {
        if (strcmp(in->entries[i].kind, "escalate") != 0 &&
            strcmp(in->entries[i].kind, "page") != 0)
            continue;
        jsonw_object_begin(&w);
        json_time(&w, "at", in->entries[i].at);
        jsonw_kv_string(&w, "kind", in->entries[i].kind);
        jsonw_kv_string(&w, "summary", in->entries[i].summary);
        jsonw_key(&w, "data");
        json_embed(&w, a.data[i]);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_kv_string(&w, "contacts", in->contacts && in->contacts[0] ? in->contacts : NULL);
    jsonw_kv_string(&w, "chart", in->chart_href);
    jsonw_kv_int(&w, "samples", (int64_t) in->n_samples);
    jsonw_object_end(&w);
    strbuf_append_char(out, '\n');
    analysis_free(&a);
}

/* --- SVG --- */

void
render_incident_svg(StrBuf *out, const ReportInput *in)
{
    const Incident *inc = in->incident;
    ChartMarker *markers = calloc(in->n_entries + 3, sizeof(ChartMarker));
    size_t n = 0, i;
    SvgChart chart;
    char title[512];

    if (markers == NULL)
    {
        out->broken = true; /* renderers report memory through the buffer */
        return;
    }
    /* The incident's moments, in the order their labels are staggered. */
    markers[n++] = (ChartMarker){inc->opened_at, "opened", "#000000", false};
    if (inc->acked_at > 0)
        markers[n++] = (ChartMarker){inc->acked_at, "acknowledged", "#000000", true};
    for (i = 0; i < in->n_entries; i++)
    {
        const TimelineEntry *e = &in->entries[i];
        json_t *d, *run;

        if (strcmp(e->kind, "escalate") == 0)
            markers[n++] = (ChartMarker){e->at, "escalate", "#b07aa1", true};
        if (strcmp(e->kind, "fix") != 0)
            continue;
        d = json_loads(e->data, 0, NULL);
        run = jget(d, "run");
        if (jint(run, "audit_id", 0) > 0)
        {
            markers[n] = (ChartMarker){e->at, "", "#9c755f", true};
            snprintf(markers[n].label, sizeof(markers[n].label), "fix %s",
                     jstr(run, "action") ? jstr(run, "action") : "");
            n++;
        }
        json_decref(d);
    }
    if (inc->resolved_at > 0)
        markers[n++] = (ChartMarker){inc->resolved_at, "resolved", "#59a14f", false};

    snprintf(title, sizeof(title), "Incident %lld: connections by state and longest query",
             (long long) inc->id);
    memset(&chart, 0, sizeof(chart));
    chart.title = title;
    chart.subtitle = inc->target ? inc->target : "?";
    chart.samples = in->samples;
    chart.n_samples = in->n_samples;
    chart.t0 = inc->opened_at;
    chart.t1 = render_incident_window_end(inc, in->now);
    chart.markers = markers;
    chart.n_markers = n;
    chart.empty_text = "no samples were recorded for this target during the incident";
    svgchart_render(out, &chart);
    free(markers);
}

/* --- show and list --- */

void
render_incident_text(StrBuf *out, const Incident *inc, const TimelineEntry *entries,
                     size_t n_entries, double now)
{
    char t[40], age[32];
    size_t i;

    strbuf_printf(out, "incident %lld: ", (long long) inc->id);
    safe(out, inc->title, SAFE_TEXT, 0);
    strbuf_append(out, "\n  target        ");
    safe(out, inc->target, SAFE_TEXT, 0);
    strbuf_append(out, "\n  alert         ");
    safe(out, inc->alert ? inc->alert : "-", SAFE_TEXT, 0);
    strbuf_printf(out, "\n  severity      %s\n  status        %s\n", inc->severity,
                  render_incident_status(inc));
    iso(inc->opened_at, t, sizeof(t));
    format_age(render_incident_window_end(inc, now) - inc->opened_at, age, sizeof(age));
    strbuf_printf(out, "  opened        %s (%s %s)\n", t,
                  inc->resolved_at > 0 ? "lasted" : "open for", age);
    if (inc->acked_at > 0)
    {
        iso(inc->acked_at, t, sizeof(t));
        format_age(inc->acked_at - inc->opened_at, age, sizeof(age));
        strbuf_printf(out, "  acknowledged  %s by ", t);
        safe(out, inc->acked_by, SAFE_TEXT, 0);
        strbuf_printf(out, " (after %s)\n", age);
    }
    if (inc->resolved_at > 0)
    {
        iso(inc->resolved_at, t, sizeof(t));
        strbuf_printf(out, "  resolved      %s\n", t);
    }
    if (inc->root_cause)
    {
        strbuf_append(out, "  root cause    ");
        safe(out, inc->root_cause, SAFE_TEXT, 0);
        strbuf_append(out, "\n");
    }
    strbuf_printf(out, "timeline (%zu entr%s):\n", n_entries, n_entries == 1 ? "y" : "ies");
    for (i = 0; i < n_entries; i++)
    {
        char rel[40];

        iso(entries[i].at, t, sizeof(t));
        since_open(entries[i].at, inc->opened_at, rel, sizeof(rel));
        strbuf_printf(out, "  %s %-10s %-8s ", t, rel, entries[i].kind);
        safe(out, entries[i].summary, SAFE_TEXT, 300);
        strbuf_append(out, "\n");
    }
}

void
render_incident_list_line(StrBuf *out, const Incident *inc, double now)
{
    char t[40], age[32];

    iso(inc->opened_at, t, sizeof(t));
    format_age(render_incident_window_end(inc, now) - inc->opened_at, age, sizeof(age));
    strbuf_printf(out, "#%-4lld %-12s %-8s %s  %-10s ", (long long) inc->id,
                  render_incident_status(inc), inc->severity, t, age);
    safe(out, inc->alert ? inc->alert : "-", SAFE_TEXT, 0);
    strbuf_append(out, "\n      on ");
    safe(out, inc->target, SAFE_TEXT, 0);
    strbuf_append(out, ": ");
    safe(out, inc->title, SAFE_TEXT, 200);
    strbuf_append(out, "\n");
}

void
render_incident_object(JsonW *w, const Incident *inc, double now)
{
    jsonw_object_begin(w);
    json_incident_fields(w, inc, now);
    jsonw_object_end(w);
}
