/*
 * report.h - an incident as people and programs read it: the post-incident
 * report (Markdown and JSON), its chart (SVG), the incident for `incident
 * show` (text and JSON) and the list of incidents.
 *
 * Pure, like every renderer: the inputs are the incident, its timeline, the
 * audit rows of its window and the samples already loaded; the output is
 * appended to a StrBuf (the caller checks strbuf_ok() once).  Timeline data
 * is the JSON the incident hook writes (see src/cmd/incident_hook.c); data
 * that does not parse is ignored, never trusted.
 *
 * Text from servers and users (application names, titles, notes, log lines)
 * is made safe for each format: Markdown-significant characters are
 * backslash-escaped and control characters become spaces; in SVG the XML
 * special characters become entities, control characters spaces and invalid
 * UTF-8 U+FFFD, so the chart is well-formed XML whatever a name contains.
 *
 * The report's sections, in order: title; summary (target, alert, severity,
 * status, opened, acknowledged, resolved, time to acknowledge, time to
 * resolve); impact; chart; timeline; root cause; actions taken; verification;
 * escalations; post-incident checklist (runbook §13-14).
 */
#ifndef PGMEDIC_RENDER_REPORT_H
#define PGMEDIC_RENDER_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/thresholds.h"
#include "store/incident.h"
#include "store/store.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

typedef struct
{
    const Incident *incident;
    const TimelineEntry *entries; /* oldest first */
    size_t n_entries;
    const AuditRow *audits; /* the target's fix --apply rows in the window, oldest first */
    size_t n_audits;
    const Sample *samples; /* the target's samples in the window, oldest first */
    size_t n_samples;
    const Thresholds *thresholds;
    const char *contacts;   /* [escalation] contacts; "" or NULL when unset */
    double now;             /* the end of the window while the incident is open */
    const char *chart_href; /* the SVG next to the report, NULL when not written */
} ReportInput;

/* The end of an incident's window: resolved_at, or now while open. */
double render_incident_window_end(const Incident *inc, double now);

/* The post-incident report in Markdown: every section, always (with "none" where empty). */
void render_incident_markdown(StrBuf *out, const ReportInput *in);

/* The same report as one JSON object (pretty-printed). */
void render_incident_report_json(StrBuf *out, const ReportInput *in);

/*
 * The chart: connections by state (active, idle in transaction, idle, other;
 * stacked, each sample held until the next) and usable slots on the left
 * axis, the longest active query on the right axis, with the incident's
 * opened/acknowledged/resolved times and each fix and escalation marked.  A
 * standalone SVG 1.1 document.
 */
void render_incident_svg(StrBuf *out, const ReportInput *in);

/*
 * { "pgmedic": 1, "incident": {...}, "timeline": [ {at, kind, summary,
 * data} ] }: what `incident show --format json` prints and what an
 * [escalation] command reads on stdin (extra_key/extra_json, when not NULL,
 * adds one more key whose value is the JSON text extra_json).
 */
void render_incident_json(StrBuf *out, const Incident *inc, const TimelineEntry *entries,
                          size_t n_entries, const char *extra_key, const char *extra_json,
                          bool pretty);

/* `incident show`: the incident's fields, then its timeline one entry per line. */
void render_incident_text(StrBuf *out, const Incident *inc, const TimelineEntry *entries,
                          size_t n_entries, double now);

/* One line of `incident list` (text). */
void render_incident_list_line(StrBuf *out, const Incident *inc, double now);

/* One incident as a JSON object: the "incident" of render_incident_json (lists, serve's API). */
void render_incident_object(JsonW *w, const Incident *inc, double now);

/* "open", "acknowledged" or "resolved". */
const char *render_incident_status(const Incident *inc);

#endif
