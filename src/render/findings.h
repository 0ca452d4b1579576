/*
 * findings.h - `pgmedic triage` output: the firing alerts, then the ranked
 * findings with their evidence, advice and the commands that treat them, as
 * text (for a person at 3 a.m.), JSON (DESIGN.md §4) and Markdown (for a
 * ticket).
 *
 * Like render.h: append to a StrBuf and never print; the caller checks
 * strbuf_ok() once.  Text from the server (queries, application names, log
 * lines) is made safe for each format: control characters become spaces in
 * text and Markdown, Markdown-significant characters are escaped, and JSON
 * strings go through jsonw (invalid UTF-8 becomes U+FFFD).
 */
#ifndef PGMEDIC_RENDER_FINDINGS_H
#define PGMEDIC_RENDER_FINDINGS_H

#include "core/finding.h"
#include "core/rules.h"
#include "core/snapshot.h"
#include "core/thresholds.h"
#include "render/render.h"
#include "util/jsonw.h"
#include "util/strbuf.h"

/*
 * A header line (target, version, probe time, connections in use of the
 * usable slots), the alerts one per line, the findings numbered with their
 * severity, kind, summary, evidence, advice and "$ " commands, and last
 * "treat first: COMMAND" when any finding has a command.  Colour only when
 * style->color.  Lists longer than a screen end in "and N more".
 */
void render_triage_text(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                        const FindingList *findings, const Thresholds *th, const TextStyle *style);

/*
 * { pgmedic, target, taken_at, status, alerts, findings: [ { kind, alert
 * (null when latent), severity, impact, summary, evidence: {...},
 * actions: [...], advice: [...] } ], treat_first (null when none), notes }.
 */
void render_triage_json(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                        const FindingList *findings);

/* Headings, a table of alerts, each finding with evidence bullets and its commands in code blocks.
 */
void render_triage_markdown(StrBuf *out, const Snapshot *snap, const AlertList *alerts,
                            const FindingList *findings);

/*
 * Writes the key "alerts" and its array of { name, severity, value,
 * threshold, summary }: the shape `check --format json` prints.
 */
void render_json_alerts(JsonW *w, const AlertList *alerts);

/* One evidence item as a key and its JSON value (inside an open object). */
void render_json_evidence(JsonW *w, const Evidence *e);

/* The first command of the first finding that has one, or NULL. */
const char *render_treat_first(const FindingList *findings);

#endif
