/*
 * statuspage.c - serve's status page (GET /).  See statuspage.h.
 *
 * Every string that is not a literal of this file goes through esc(); the
 * literals hold no markup characters of their own beyond the tags.
 */
#include "render/statuspage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rules.h"
#include "render/svgchart.h"
#include "util/clock.h"
#include "util/compiler.h"
#include "util/parse.h"
#include "version.h"

/* Findings shown per target at most; the rest are counted. */
#define MAX_FINDINGS 20
/* Incidents marked on a chart at most. */
#define MAX_MARKERS 8

typedef enum
{
    ST_PENDING = 0,
    ST_OK,
    ST_WARNING,
    ST_CRITICAL,
    ST_DOWN
} TargetState;

static const char *const state_names[] = {"pending", "ok", "warning", "critical", "down"};

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#222;"
    "background:#f6f6f6;margin:0 auto;max-width:1120px;padding:0 16px 32px}\n"
    "h1{font-size:1.5em;margin:16px 0 4px}h2{font-size:1.25em;margin:4px 0}"
    "h3{font-size:1.05em;margin:14px 0 4px}\n"
    "table{border-collapse:collapse;margin:4px 0;background:#fff}\n"
    "th,td{border:1px solid #d8d8d8;padding:3px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#efefef;font-weight:600}\n"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "section{background:#fff;border:1px solid #d8d8d8;border-radius:6px;padding:8px 16px;"
    "margin:16px 0}\n"
    ".meta,.none{color:#666}.none{font-style:italic}\n"
    ".badge{display:inline-block;min-width:4.5em;text-align:center;padding:1px 8px;"
    "border-radius:10px;color:#fff;font-size:.85em;font-weight:700}\n"
    ".s-ok{background:#3d8b37}.s-warning{background:#d9770e}.s-critical{background:#d03b3b}"
    ".s-down{background:#7b1e1e}.s-firing{background:#d03b3b}"
    ".s-pending,.s-inactive{background:#8a8a8a}\n"
    "tr.p-firing td{background:#fdeaea}tr.p-pending td{background:#fff4e0}"
    "tr.p-inactive td{color:#777}\n"
    ".failure{background:#fdeaea;border-left:4px solid #7b1e1e;padding:6px 10px}\n"
    ".error{background:#fff4e0;border-left:4px solid #d9770e;padding:6px 10px}\n"
    "ol.findings{padding-left:1.4em}ol.findings>li{margin:8px 0}\n"
    ".kind{font-family:ui-monospace,monospace;font-weight:700}\n"
    "code{font-family:ui-monospace,monospace;background:#f1f1f1;padding:0 3px;"
    "overflow-wrap:anywhere}\n"
    "ul.actions,ul.advice{margin:2px 0;padding-left:1.4em}\n"
    "svg{max-width:100%;height:auto;border:1px solid #e4e4e4}\n";

static void
esc(StrBuf *out, const char *s)
{
    render_xml_escape(out, s, 0);
}

/* To the second: "2030-03-17T17:46:40Z". */
static void
iso(double t, char *buf, size_t size)
{
    char full[40];

    if (t <= 0)
    {
        snprintf(buf, size, "-");
        return;
    }
    pm_format_iso8601(t, full, sizeof(full));
    snprintf(buf, size, "%.19sZ", full);
}

/* "2030-01-15T08:00:00Z (5min 00s ago)" */
static void
when(StrBuf *out, double t, double now)
{
    char at[40], age[40];

    if (t <= 0)
    {
        strbuf_append(out, "-");
        return;
    }
    iso(t, at, sizeof(at));
    format_age(now - t, age, sizeof(age));
    strbuf_printf(out, "%s (%s ago)", at, age);
}

static TargetState
target_state(const StatusTarget *t)
{
    TargetState st = ST_OK;
    size_t i;

    if (t->snap == NULL)
        return ST_PENDING;
    if (t->snap->failure != CONN_OK)
        return ST_DOWN;
    for (i = 0; t->alerts != NULL && i < ALERT_RULES; i++)
    {
        const AlertState *s = &t->alerts->alerts[i];

        if (s->phase != PHASE_FIRING)
            continue;
        if (s->severity == SEV_CRITICAL)
            st = ST_CRITICAL;
        else if (st == ST_OK)
            st = ST_WARNING;
    }
    return st;
}

static void
badge(StrBuf *out, const char *word)
{
    strbuf_append(out, "<span class=\"badge s-");
    esc(out, word);
    strbuf_append(out, "\">");
    esc(out, word);
    strbuf_append(out, "</span>");
}

static size_t
firing_count(const StatusTarget *t)
{
    size_t i, n = 0;

    for (i = 0; t->alerts != NULL && i < ALERT_RULES; i++)
        if (t->alerts->alerts[i].phase == PHASE_FIRING)
            n++;
    return n;
}

/* The incident belongs to the target: same server label. */
static bool
incident_of(const Incident *inc, const StatusTarget *t)
{
    return t->snap != NULL && t->snap->target != NULL && inc->target != NULL &&
           strcmp(inc->target, t->snap->target) == 0;
}

/* --- the top of the page --------------------------------------------------- */

static void
head(StrBuf *out, const StatusPage *page)
{
    size_t counts[PM_LENGTHOF(state_names)] = {0}, i;
    int k;
    bool first = true;

    for (i = 0; i < page->n_targets; i++)
        counts[target_state(&page->targets[i])]++;
    strbuf_append(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n");
    /* No script, no load of any kind: only the inline style and the inline charts. */
    strbuf_append(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                       "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                       "form-action 'none'\"/>\n");
    if (page->refresh_s > 0)
        strbuf_printf(out, "<meta http-equiv=\"refresh\" content=\"%d\"/>\n", page->refresh_s);
    strbuf_append(out, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
                       "<title>pgmedic: ");
    /* Worst first, as the tab shows it. */
    for (k = (int) PM_LENGTHOF(state_names) - 1; k >= 0; k--)
    {
        if (counts[k] == 0)
            continue;
        strbuf_printf(out, "%s%zu %s", first ? "" : ", ", counts[k], state_names[k]);
        first = false;
    }
    if (first)
        strbuf_append(out, "no targets");
    strbuf_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
}

static void
header(StrBuf *out, const StatusPage *page)
{
    size_t i, firing = 0, down = 0;

    for (i = 0; i < page->n_targets; i++)
    {
        firing += firing_count(&page->targets[i]);
        if (target_state(&page->targets[i]) == ST_DOWN)
            down++;
    }
    strbuf_append(out, "<header>\n<h1>pgmedic status</h1>\n<p class=\"meta\">");
    strbuf_printf(out,
                  "%zu target%s, %zu down, %zu alert%s firing, %zu open incident%s. "
                  "Generated at ",
                  page->n_targets, page->n_targets == 1 ? "" : "s", down, firing,
                  firing == 1 ? "" : "s", page->n_incidents, page->n_incidents == 1 ? "" : "s");
    {
        char at[40];

        iso(page->now, at, sizeof(at));
        strbuf_append(out, at);
    }
    strbuf_append(out, " by pgmedic " PGMEDIC_VERSION);
    if (page->refresh_s > 0)
        strbuf_printf(out, "; reloads every %d s", page->refresh_s);
    strbuf_append(out, ". Also: <a href=\"/metrics\">/metrics</a>, "
                       "<a href=\"/api/v1/status\">/api/v1/status</a>, "
                       "<a href=\"/api/v1/incidents\">/api/v1/incidents</a>.</p>\n");
    if (page->store_error != NULL)
    {
        strbuf_append(out, "<p class=\"error\">Incidents and samples could not be read: ");
        esc(out, page->store_error);
        strbuf_append(out, "</p>\n");
    }
    strbuf_append(out, "</header>\n");
}

static void
summary_table(StrBuf *out, const StatusPage *page)
{
    size_t i, k;

    strbuf_append(out, "<section id=\"summary\">\n<h2>Targets</h2>\n");
    if (page->n_targets == 0)
    {
        strbuf_append(out, "<p class=\"none\">No target is configured.</p>\n</section>\n");
        return;
    }
    strbuf_append(out, "<table>\n<tr><th>target</th><th>state</th><th>server</th>"
                       "<th>alerts firing</th><th>connections</th><th>longest query</th></tr>\n");
    for (i = 0; i < page->n_targets; i++)
    {
        const StatusTarget *t = &page->targets[i];
        const Snapshot *snap = t->snap;
        bool any = false;

        strbuf_printf(out, "<tr><td><a href=\"#target-%zu\">", i + 1);
        esc(out, t->name);
        strbuf_append(out, "</a></td><td>");
        badge(out, state_names[target_state(t)]);
        strbuf_append(out, "</td><td>");
        esc(out, snap && snap->target ? snap->target : "-");
        strbuf_append(out, "</td><td>");
        for (k = 0; t->alerts != NULL && k < ALERT_RULES; k++)
        {
            const AlertState *s = &t->alerts->alerts[k];

            if (s->phase != PHASE_FIRING)
                continue;
            strbuf_append(out, any ? ", " : "");
            esc(out, s->name);
            any = true;
        }
        strbuf_append(out, any ? "" : "none");
        if (snap != NULL && snap->failure == CONN_OK)
        {
            char age[40];

            format_age(snap->longest_query_s, age, sizeof(age));
            strbuf_printf(out, "</td><td class=\"num\">%lld / %lld</td><td class=\"num\">%s",
                          (long long) snap->n_clients, (long long) snapshot_usable_slots(snap),
                          snap->longest_query_s > 0 ? age : "none");
        }
        else
            strbuf_append(out, "</td><td class=\"num\">-</td><td class=\"num\">-");
        strbuf_append(out, "</td></tr>\n");
    }
    strbuf_append(out, "</table>\n</section>\n");
}

static void
incident_row(StrBuf *out, const Incident *inc, double now)
{
    strbuf_printf(out, "<tr data-incident=\"%lld\"><td class=\"num\">%lld</td><td>",
                  (long long) inc->id, (long long) inc->id);
    esc(out, inc->target);
    strbuf_append(out, "</td><td>");
    esc(out, inc->alert ? inc->alert : "-");
    strbuf_append(out, "</td><td>");
    badge(out, inc->severity && strcmp(inc->severity, "critical") == 0 ? "critical" : "warning");
    strbuf_append(out, "</td><td>");
    if (inc->acked_at > 0)
    {
        strbuf_append(out, "acknowledged by ");
        esc(out, inc->acked_by ? inc->acked_by : "?");
    }
    else
        strbuf_append(out, "open");
    strbuf_append(out, "</td><td>");
    esc(out, inc->title);
    strbuf_append(out, "</td><td>");
    when(out, inc->opened_at, now);
    strbuf_append(out, "</td></tr>\n");
}

static void
incidents_table(StrBuf *out, const StatusPage *page)
{
    size_t i;

    strbuf_append(out, "<section id=\"incidents\">\n<h2>Open incidents</h2>\n");
    if (page->n_incidents == 0)
    {
        strbuf_append(out, page->store_error ? "<p class=\"none\">Unknown: the store could not be "
                                               "read.</p>\n"
                                             : "<p class=\"none\">None.</p>\n");
        strbuf_append(out, "</section>\n");
        return;
    }
    strbuf_append(out, "<table>\n<tr><th>id</th><th>server</th><th>alert</th><th>severity</th>"
                       "<th>state</th><th>title</th><th>opened</th></tr>\n");
    for (i = 0; i < page->n_incidents; i++)
        incident_row(out, &page->incidents[i], page->now);
    strbuf_append(out, "</table>\n<p class=\"meta\">Work on them with <code>pgmedic incident "
                       "show ID</code>, <code>ack</code>, <code>resolve</code> and "
                       "<code>report</code>.</p>\n</section>\n");
}

/* --- one target -------------------------------------------------------------- */

static void
target_facts(StrBuf *out, const StatusTarget *t, double now)
{
    const Snapshot *snap = t->snap;
    char age[40];

    strbuf_append(out, "<p class=\"meta\">");
    esc(out, snap->target ? snap->target : "?");
    if (snap->failure == CONN_OK)
    {
        strbuf_append(out, " · PostgreSQL ");
        esc(out, snap->version ? snap->version : "?");
        strbuf_append(out, snap->in_recovery ? " (standby)" : " (primary)");
        format_age(snap->uptime_s, age, sizeof(age));
        strbuf_printf(out, ", up %s", age);
    }
    strbuf_append(out, " · probed at ");
    when(out, snap->taken_at, now);
    strbuf_printf(out, " · %llu probes, %llu failed</p>\n", (unsigned long long) t->probes_total,
                  (unsigned long long) t->probe_errors_total);
    if (snap->failure != CONN_OK)
    {
        strbuf_append(out, "<p class=\"failure\"><strong>");
        esc(out, snapshot_failure_name(snap->failure));
        strbuf_append(out, "</strong>: ");
        esc(out, snap->failure_message ? snap->failure_message : "no answer");
        strbuf_append(out, "</p>\n");
        return;
    }
    if (snap->via_reserved_slot)
    {
        strbuf_append(out, "<p class=\"failure\">Ordinary logins are refused (");
        esc(out, snap->refused_message ? snap->refused_message : "?");
        strbuf_append(out, "); seen through reserved_conninfo.</p>\n");
    }
    strbuf_append(out, "<table class=\"connections\">\n<tr><th>clients</th><th>usable slots</th>"
                       "<th>active</th><th>idle</th><th>idle in transaction</th>"
                       "<th>waiting on a lock</th><th>longest query</th>"
                       "<th>longest transaction</th></tr>\n");
    strbuf_printf(
        out,
        "<tr><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
        "<td class=\"num\">%lld</td><td class=\"num\">%lld</td><td class=\"num\">%lld</td>"
        "<td class=\"num\">%lld</td><td>",
        (long long) snap->n_clients, (long long) snapshot_usable_slots(snap),
        (long long) snap->n_active, (long long) snap->n_idle,
        (long long) snap->n_idle_in_transaction, (long long) snap->n_waiting_lock);
    if (snap->longest_query_s > 0)
    {
        format_age(snap->longest_query_s, age, sizeof(age));
        strbuf_append(out, age);
        if (snap->longest_query_pid > 0)
        {
            strbuf_printf(out, " (pid %d", (int) snap->longest_query_pid);
            if (snap->longest_query_application && snap->longest_query_application[0])
            {
                strbuf_append(out, ", ");
                esc(out, snap->longest_query_application);
            }
            strbuf_append(out, snap->longest_query_waiting ? ", waiting on a lock)" : ")");
        }
    }
    else
        strbuf_append(out, "none");
    strbuf_append(out, "</td><td>");
    format_age(snap->longest_xact_s, age, sizeof(age));
    strbuf_append(out, snap->longest_xact_s > 0 ? age : "none");
    strbuf_append(out, "</td></tr>\n</table>\n");
}

static void
alerts_table(StrBuf *out, const AlertTracker *tracker, double now)
{
    static const AlertPhase order[] = {PHASE_FIRING, PHASE_PENDING, PHASE_INACTIVE};
    size_t o, i;

    strbuf_append(out, "<h3>Alerts</h3>\n<table class=\"alerts\">\n<tr><th>alert</th><th>state</th>"
                       "<th>severity</th><th>since</th><th>summary</th></tr>\n");
    for (o = 0; o < PM_LENGTHOF(order); o++)
        for (i = 0; i < ALERT_RULES; i++)
        {
            const AlertState *s = &tracker->alerts[i];
            const char *phase = alertstate_phase_name(s->phase);

            if (s->phase != order[o])
                continue;
            strbuf_printf(out, "<tr class=\"p-%s\" data-alert=\"", phase);
            esc(out, s->name);
            strbuf_printf(out, "\" data-state=\"%s\"><td>", phase);
            esc(out, s->name);
            strbuf_append(out, "</td><td>");
            badge(out, phase);
            strbuf_append(out, "</td><td>");
            if (s->phase == PHASE_INACTIVE)
            {
                strbuf_append(out, "-</td><td>");
                if (s->resolved_at > 0)
                {
                    strbuf_append(out, "resolved at ");
                    when(out, s->resolved_at, now);
                }
                else
                    strbuf_append(out, "-");
                strbuf_append(out, "</td><td></td></tr>\n");
                continue;
            }
            esc(out, rules_severity_name(s->severity));
            strbuf_append(out, "</td><td>");
            when(out, s->phase == PHASE_FIRING ? s->fired_at : s->active_since, now);
            strbuf_append(out, "</td><td>");
            esc(out, s->summary);
            strbuf_append(out, "</td></tr>\n");
        }
    strbuf_append(out, "</table>\n");
}

static void
findings_list(StrBuf *out, const FindingList *findings)
{
    size_t n = findings ? findings->n_findings : 0, i, k;

    strbuf_append(out, "<h3>Findings</h3>\n");
    if (n == 0)
    {
        strbuf_append(out, "<p class=\"none\">None: nothing in the latest probe needs a "
                           "hand.</p>\n");
        return;
    }
    strbuf_append(out, "<ol class=\"findings\">\n");
    for (i = 0; i < n && i < MAX_FINDINGS; i++)
    {
        const Finding *f = &findings->findings[i];

        strbuf_append(out, "<li class=\"finding\" data-kind=\"");
        esc(out, f->kind);
        strbuf_append(out, "\">");
        badge(out, rules_severity_name(f->severity));
        strbuf_append(out, " <span class=\"kind\">");
        esc(out, f->kind);
        strbuf_append(out, "</span> ");
        if (f->alert != NULL)
        {
            strbuf_append(out, "<span class=\"meta\">explains ");
            esc(out, f->alert);
            strbuf_append(out, "</span>");
        }
        else
            strbuf_append(out, "<span class=\"meta\">latent: no alert fires for it</span>");
        strbuf_append(out, "\n<div class=\"summary\">");
        esc(out, f->summary);
        strbuf_append(out, "</div>\n");
        if (f->n_actions > 0)
        {
            strbuf_append(out, "<ul class=\"actions\">\n");
            for (k = 0; k < f->n_actions; k++)
            {
                strbuf_append(out, "<li><code>");
                esc(out, f->actions[k]);
                strbuf_append(out, "</code></li>\n");
            }
            strbuf_append(out, "</ul>\n");
        }
        if (f->n_advice > 0)
        {
            strbuf_append(out, "<ul class=\"advice\">\n");
            for (k = 0; k < f->n_advice; k++)
            {
                strbuf_append(out, "<li>");
                esc(out, f->advice[k]);
                strbuf_append(out, "</li>\n");
            }
            strbuf_append(out, "</ul>\n");
        }
        strbuf_append(out, "</li>\n");
    }
    strbuf_append(out, "</ol>\n");
    if (n > MAX_FINDINGS)
        strbuf_printf(out, "<p class=\"meta\">and %zu more: see <code>pgmedic triage</code>.</p>\n",
                      n - MAX_FINDINGS);
}

static void
target_incidents(StrBuf *out, const StatusPage *page, const StatusTarget *t)
{
    size_t i;
    bool any = false;

    strbuf_append(out, "<h3>Open incidents</h3>\n");
    for (i = 0; i < page->n_incidents; i++)
    {
        const Incident *inc = &page->incidents[i];

        if (!incident_of(inc, t))
            continue;
        if (!any)
            strbuf_append(out, "<table class=\"incidents\">\n<tr><th>id</th><th>server</th>"
                               "<th>alert</th><th>severity</th><th>state</th><th>title</th>"
                               "<th>opened</th></tr>\n");
        incident_row(out, inc, page->now);
        any = true;
    }
    if (any)
        strbuf_append(out, "</table>\n");
    else
        strbuf_append(out, "<p class=\"none\">None.</p>\n");
}

static void
target_chart(StrBuf *out, const StatusPage *page, const StatusTarget *t, double window)
{
    ChartMarker markers[MAX_MARKERS];
    SvgChart chart;
    char title[256], span[40], empty[96];
    double lo = page->now - window, t0 = page->now;
    size_t i, n = 0;

    if (t->n_samples > 0 && t->samples[0].taken_at < t0)
        t0 = t->samples[0].taken_at;
    /* The incidents opened in the window, and the chart back to the oldest of them. */
    for (i = 0; i < page->n_incidents && n < MAX_MARKERS; i++)
    {
        const Incident *inc = &page->incidents[i];

        if (!incident_of(inc, t) || inc->opened_at < lo || inc->opened_at > page->now)
            continue;
        markers[n].at = inc->opened_at;
        snprintf(markers[n].label, sizeof(markers[n].label), "incident %lld opened",
                 (long long) inc->id);
        markers[n].color = "#000000";
        markers[n].dashed = false;
        n++;
        if (inc->opened_at < t0)
            t0 = inc->opened_at;
    }
    /* Without any sample, the whole window says there was none. */
    if (t->n_samples == 0 || t0 < lo)
        t0 = lo;
    format_age(window, span, sizeof(span));
    strbuf_printf(out, "<h3>Connections by state and longest query, last %s</h3>\n<figure>\n",
                  span);
    snprintf(title, sizeof(title), "%s: connections by state and longest query", t->name);
    snprintf(empty, sizeof(empty), "no samples in the last %s", span);
    memset(&chart, 0, sizeof(chart));
    chart.title = title;
    chart.subtitle = t->snap->target;
    chart.samples = t->samples;
    chart.n_samples = t->n_samples;
    chart.t0 = t0;
    chart.t1 = page->now;
    chart.markers = markers;
    chart.n_markers = n;
    chart.empty_text = empty;
    chart.inline_svg = true;
    svgchart_render(out, &chart);
    strbuf_append(out, "</figure>\n");
}

static void
target_section(StrBuf *out, const StatusPage *page, size_t index, double window)
{
    const StatusTarget *t = &page->targets[index];
    TargetState st = target_state(t);

    strbuf_printf(out, "<section class=\"target\" id=\"target-%zu\" data-state=\"%s\">\n<h2>",
                  index + 1, state_names[st]);
    esc(out, t->name);
    strbuf_append(out, " ");
    badge(out, state_names[st]);
    strbuf_append(out, "</h2>\n");
    if (t->snap == NULL)
    {
        strbuf_append(out, "<p class=\"none\">Waiting for the first probe.</p>\n</section>\n");
        return;
    }
    target_facts(out, t, page->now);
    if (t->alerts != NULL)
        alerts_table(out, t->alerts, page->now);
    findings_list(out, t->findings);
    target_incidents(out, page, t);
    target_chart(out, page, t, window);
    strbuf_append(out, "</section>\n");
}

void
statuspage_render(StrBuf *out, const StatusPage *page)
{
    double window = page->window_s > 0 ? page->window_s : STATUSPAGE_WINDOW_S;
    size_t i;

    head(out, page);
    header(out, page);
    summary_table(out, page);
    incidents_table(out, page);
    for (i = 0; i < page->n_targets; i++)
        target_section(out, page, i, window);
    strbuf_append(out, "</body>\n</html>\n");
}

/* --- collectors ------------------------------------------------------------- */

/* The sample a chart would rather show: more clients, or a much longer query (as svgchart). */
static bool
busier(const Sample *a, const Sample *b)
{
    return a->clients > b->clients || a->longest_query_s > b->longest_query_s * 2;
}

int
statuspage_collect_sample(const Sample *sample, void *arg)
{
    StatusSamples *s = arg;
    Sample copy = *sample;

    copy.target = NULL; /* valid only during the call */
    if (s->samples == NULL)
    {
        s->samples = malloc(STATUSPAGE_MAX_SAMPLES * sizeof(Sample));
        if (s->samples == NULL)
        {
            s->failed = true;
            return 1;
        }
        s->stride = 1;
    }
    /* Part of the group the last kept sample stands for. */
    if (s->n > 0 && s->in_group < s->stride)
    {
        if (busier(&copy, &s->samples[s->n - 1]))
            s->samples[s->n - 1] = copy;
        s->in_group++;
        return 0;
    }
    if (s->n == STATUSPAGE_MAX_SAMPLES)
    {
        size_t i;

        /* Full: halve the resolution; the groups so far are complete, so pairs stay even. */
        for (i = 0; i < STATUSPAGE_MAX_SAMPLES / 2; i++)
            s->samples[i] = busier(&s->samples[2 * i + 1], &s->samples[2 * i])
                                ? s->samples[2 * i + 1]
                                : s->samples[2 * i];
        s->n = STATUSPAGE_MAX_SAMPLES / 2;
        s->stride *= 2;
    }
    s->samples[s->n++] = copy;
    s->in_group = 1;
    return 0;
}

void
statuspage_samples_free(StatusSamples *s)
{
    free(s->samples);
    memset(s, 0, sizeof(*s));
}

int
statuspage_collect_incident(const Incident *inc, void *arg)
{
    StatusIncidents *s = arg;
    Incident *items, *c;

    if (s->arena == NULL && (s->arena = arena_new()) == NULL)
    {
        s->failed = true;
        return 1;
    }
    items = arena_grow(s->arena, s->incidents, s->n, &s->cap, sizeof(Incident), 16);
    if (items == NULL)
    {
        s->failed = true;
        return 1;
    }
    s->incidents = items;
    c = &s->incidents[s->n];
    *c = *inc;
    c->target = arena_strdup(s->arena, inc->target);
    c->alert = arena_strdup(s->arena, inc->alert);
    c->title = arena_strdup(s->arena, inc->title);
    c->severity = arena_strdup(s->arena, inc->severity);
    c->acked_by = arena_strdup(s->arena, inc->acked_by);
    c->root_cause = arena_strdup(s->arena, inc->root_cause);
    if ((inc->target && !c->target) || (inc->alert && !c->alert) || (inc->title && !c->title) ||
        (inc->severity && !c->severity) || (inc->acked_by && !c->acked_by) ||
        (inc->root_cause && !c->root_cause))
    {
        s->failed = true;
        return 1;
    }
    s->n++;
    return 0;
}

void
statuspage_incidents_free(StatusIncidents *s)
{
    arena_free(s->arena);
    memset(s, 0, sizeof(*s));
}
