/*
 * report_test.c - the incident report on a constructed incident: every
 * Markdown section with the numbers of its timeline, audit rows and samples;
 * names that are Markdown and XML syntax escaped; the SVG chart well-formed
 * XML (checked by a small checker here, and by xmllint when installed); the
 * JSON report and the incident JSON valid; an empty incident still complete.
 */
#include <jansson.h>
#include <unistd.h>

#include "render/report.h"
#include "unit.h"
#include "xmlcheck.h"

#define T0 1800000000.0

/* An application name that is Markdown, HTML/XML and table syntax at once. */
#define NASTY_APP "bill|ing<x>&\\\\\\\"'*_`\\u0001"

static const char *const entry_data[] = {
    /* open */
    "{\"via\":\"pgmedic incident open\"}",
    /* check */
    "{\"target\":\"db@h:5432\",\"reachable\":true,\"failure\":null,\"clients\":17,\"usable\":20,"
    "\"active\":4,\"idle\":12,\"idle_in_transaction\":1,\"waiting_lock\":2,\"longest_query_s\":2.6,"
    "\"longest_query_application\":\"checkout\",\"alerts\":[{\"name\":\"DatabaseHighConnections\","
    "\"severity\":\"warning\",\"value\":0.85,\"threshold\":0.8,\"summary\":\"17 of 20\"},"
    "{\"name\":\"DatabaseSlowQueries\",\"severity\":\"warning\",\"value\":2.6,\"threshold\":2,"
    "\"summary\":\"slow\"}]}",
    /* ack */
    "",
    /* triage */
    "{\"target\":\"db@h:5432\",\"reachable\":true,\"clients\":18,\"usable\":20,\"active\":5,"
    "\"idle\":12,\"idle_in_transaction\":1,\"waiting_lock\":2,\"longest_query_s\":3.1,"
    "\"longest_query_application\":\"checkout\",\"longest_lock_wait_s\":2.9,"
    "\"has_statements\":false,\"applications\":[{\"name\":\"" NASTY_APP "\",\"sessions\":12},"
    "{\"name\":\"checkout\",\"sessions\":3}],\"alerts\":[{\"name\":\"DatabaseHighConnections\","
    "\"severity\":\"warning\",\"value\":0.9,\"threshold\":0.8}],\"findings\":["
    "{\"kind\":\"connection_leak\",\"alert\":\"DatabaseHighConnections\",\"severity\":\"warning\","
    "\"summary\":\"12 sessions of application \\\"" NASTY_APP "\\\" idle\",\"evidence\":{},"
    "\"actions\":[\"pgmedic fix terminate-idle --application 'x' --idle-for 1h\"],"
    "\"advice\":[\"Pool connections with PgBouncer.\"]},"
    "{\"kind\":\"missing_index\",\"alert\":null,\"severity\":\"warning\",\"summary\":\"seq scans "
    "on public.orders\",\"actions\":[\"pgmedic fix create-index 'public.orders(customer_id)'\"]},"
    "{\"kind\":\"table_bloat\",\"alert\":null,\"summary\":\"dead tuples\",\"actions\":"
    "[\"pgmedic fix vacuum public.orders\"]}]}",
    /* fix */
    "{\"target\":\"db@h:5432\",\"reachable\":true,\"clients\":18,\"usable\":20,\"active\":5,"
    "\"idle\":12,\"idle_in_transaction\":1,\"waiting_lock\":0,\"longest_query_s\":1.0,"
    "\"alerts\":[],\"run\":{\"action\":\"terminate-idle\",\"audit_id\":4,\"applied\":true,"
    "\"status\":\"done\",\"done\":12,\"skipped\":0,\"failed\":0}}",
    /* escalate */
    "{\"rule\":\"persists_after_fix\",\"runbook\":\"Performance issues persist after "
    "optimization\",\"reason\":\"DatabaseHighConnections still fires (85%, threshold 80%) 6min "
    "00s after the last remediation (verify_window 5min)\",\"contacts\":\"DBA: dba@example.com\"}",
    /* page */
    "{\"rule\":\"persists_after_fix\",\"exit_status\":0,\"output\":\"paged\"}",
    /* verify */
    "{\"target\":\"db@h:5432\",\"reachable\":true,\"clients\":4,\"usable\":20,\"active\":1,"
    "\"idle\":3,\"idle_in_transaction\":0,\"waiting_lock\":0,\"longest_query_s\":0,"
    "\"alerts\":[],\"run\":{\"recovered\":true,\"attempts\":2,\"checks\":["
    "{\"name\":\"connections\",\"passed\":true,\"detail\":\"4 of 20 usable (warning at 80%)\"},"
    "{\"name\":\"alerts\",\"passed\":true,\"detail\":\"none firing\"}]}}",
    /* note: not JSON at all, must be ignored */
    "not json {",
    /* resolve */
    "",
};

static const char *const entry_kinds[] = {"open",     "check", "ack",    "triage", "fix",
                                          "escalate", "page",  "verify", "note",   "resolve"};
static const double entry_at[] = {0, 1, 12.5, 20, 40, 400, 401, 420, 430, 300 * 2};
static const char *const entry_summary[] = {
    "Connections near the limit",
    "DatabaseHighConnections warning; 17 of 20 usable",
    "acknowledged by alice",
    "2 findings",
    "fix terminate-idle applied: audit #4 done",
    "escalate (Performance issues persist after optimization): ...",
    "escalation command exited with status 0: paged",
    "recovered: all 2 checks pass",
    "note with | pipe and <tag> and *stars*",
    "root cause: " NASTY_APP " leaked",
};

typedef struct
{
    Incident inc;
    TimelineEntry entries[10];
    AuditRow audits[2];
    Sample samples[5];
    Thresholds th;
    ReportInput in;
} Fixture;

static void
build(Fixture *f)
{
    size_t i;

    memset(f, 0, sizeof(*f));
    f->inc.id = 7;
    f->inc.target = "db@h:5432";
    f->inc.alert = "DatabaseHighConnections";
    f->inc.title = "Connections <near> the *limit*";
    f->inc.severity = "warning";
    f->inc.opened_at = T0;
    f->inc.acked_at = T0 + 12.5;
    f->inc.acked_by = "alice";
    f->inc.resolved_at = T0 + 600;
    f->inc.root_cause = "billing-worker leaked connections";
    for (i = 0; i < 10; i++)
    {
        f->entries[i].id = (int64_t) i + 1;
        f->entries[i].incident_id = 7;
        f->entries[i].at = T0 + entry_at[i];
        f->entries[i].kind = entry_kinds[i];
        f->entries[i].summary = entry_summary[i];
        f->entries[i].data = entry_data[i];
    }
    f->audits[0] = (AuditRow){4,
                              T0 + 39,
                              T0 + 39.5,
                              "db@h:5432",
                              "terminate-idle",
                              "--application billing-worker",
                              "{}",
                              "root",
                              "postgres",
                              "done",
                              "[{\"item\":\"pid 1\",\"outcome\":\"signalled\"},"
                              "{\"item\":\"pid 2\",\"outcome\":\"skipped: no longer idle\"}]",
                              ""};
    f->audits[1] = (AuditRow){5,
                              T0 + 60,
                              T0 + 61,
                              "db@h:5432",
                              "create-index",
                              "public.orders(customer_id)",
                              "{}",
                              "root",
                              "postgres",
                              "done",
                              "[{\"item\":\"CREATE INDEX\",\"outcome\":\"done in 1.0s\"}]",
                              ""};
    for (i = 0; i < 5; i++)
    {
        Sample *s = &f->samples[i];

        s->target = "db@h:5432";
        s->taken_at = T0 - 30 + 100.0 * (double) i;
        s->clients = i < 3 ? 17 - (int64_t) i : 4;
        s->active = 4;
        s->idle = s->clients - 5 > 0 ? s->clients - 5 : 0;
        s->idle_in_transaction = 1;
        s->waiting_lock = i < 2 ? 2 : 0;
        s->usable = 20;
        s->longest_query_s = i < 3 ? 2.5 + (double) i : 0;
    }
    f->th = unit_default_thresholds();
    f->in.incident = &f->inc;
    f->in.entries = f->entries;
    f->in.n_entries = 10;
    f->in.audits = f->audits;
    f->in.n_audits = 2;
    f->in.samples = f->samples;
    f->in.n_samples = 5;
    f->in.thresholds = &f->th;
    f->in.contacts = "DBA: dba@example.com | DevOps: #ops";
    f->in.now = T0 + 3600;
    f->in.chart_href = "incident-7.svg";
}

static void
assert_svg_ok(const char *svg)
{
    assert_xml_ok(svg, NULL);
    assert_contains(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
}

/* --- the tests --- */

static void
test_checker_rejects_broken_xml(void **state)
{
    const char *why;

    (void) state;
    assert_true(xml_well_formed("<a x=\"1\"><b/>t &amp; u</a>", NULL, &why));
    assert_false(xml_well_formed("<a><b></a></b>", NULL, &why));
    assert_false(xml_well_formed("<a>x & y</a>", NULL, &why));
    assert_false(xml_well_formed("<a t=\"<\"/>", NULL, &why));
    assert_false(xml_well_formed("<a>\x01</a>", NULL, &why));
    assert_false(xml_well_formed("<a>\xff</a>", NULL, &why));
    assert_false(xml_well_formed("<a/><b/>", NULL, &why));
    assert_false(xml_well_formed("<a>", NULL, &why));
}

static void
test_render_incident_markdown_every_section(void **state)
{
    Fixture f;
    StrBuf out = STRBUF_INIT;
    const char *md;
    static const char *const headings[] = {"# Incident 7: ",
                                           "\n## Summary\n",
                                           "\n## Impact\n",
                                           "\n## Chart\n",
                                           "\n## Timeline\n",
                                           "\n## Root cause\n",
                                           "\n## Actions taken\n",
                                           "\n## Verification\n",
                                           "\n## Escalations\n",
                                           "\n## Post-incident checklist\n",
                                           "\n### Documentation (runbook §13)\n",
                                           "\n### Prevention (runbook §14)\n"};
    const char *prev = NULL;
    size_t i;

    (void) state;
    build(&f);
    render_incident_markdown(&out, &f.in);
    assert_true(strbuf_ok(&out));
    md = strbuf_str(&out);
    for (i = 0; i < PM_LENGTHOF(headings); i++)
    {
        const char *at = strstr(md, headings[i]);

        if (at == NULL)
            fail_msg("section \"%s\" missing in:\n%s", headings[i], md);
        if (prev != NULL && at < prev)
            fail_msg("section \"%s\" out of order", headings[i]);
        prev = at;
    }
    /* Title escaped, times and durations. */
    assert_contains(md, "# Incident 7: Connections \\<near\\> the \\*limit\\*\n");
    assert_contains(md, "| Target | db@h:5432 |");
    assert_contains(md, "| Severity | warning |");
    assert_contains(md, "| Status | resolved |");
    assert_contains(md, "| Opened | 2027-01-15T08:00:00.000Z |");
    assert_contains(md, "| Acknowledged | 2027-01-15T08:00:12.500Z by alice |");
    assert_contains(md, "| Time to acknowledge | 12.5s |");
    assert_contains(md, "| Time to resolve | 10min 00s |");
    /* Impact, with the peak from runs and samples. */
    assert_contains(md, "at most 18 client sessions at once (18 of 20 usable slots, 90%");
    assert_contains(md, "**Headroom at worst**: 2 free connection slots");
    assert_contains(md, "at most 2 sessions waiting on a lock at once; 1 idle in transaction");
    assert_contains(md, "**Longest lock wait**: 2.9s");
    assert_contains(md, "**Longest active query**: 4.5s");
    assert_contains(md,
                    "bill\\|ing\\<x\\>\\&\\\\\"'\\*\\_\\`  (12 sessions), checkout (3 sessions)");
    assert_contains(md, "the server answered every one of the 4 runs");
    /* Chart link. */
    assert_contains(md, "](incident-7.svg)");
    assert_contains(md, "from 5 samples");
    /* Timeline rows: time, offset, kind, escaped summary. */
    assert_contains(md, "| 08:00:00 | +0ms | open | Connections near the limit |");
    assert_contains(md, "| 08:00:12 | +12.5s | ack | acknowledged by alice |");
    assert_contains(md, "note with \\| pipe and \\<tag\\> and \\*stars\\*");
    /* Root cause: given, and from the findings. */
    assert_contains(md, "Given at resolve: billing-worker leaked connections");
    assert_contains(md, "- **connection\\_leak** (explains DatabaseHighConnections): 12 sessions");
    assert_contains(md, "- missing\\_index (latent): seq scans on public.orders");
    /* Actions with their audit results. */
    assert_contains(md,
                    "| #4 | 08:00:39 | terminate-idle --application billing-worker | done | 1 | "
                    "1 | 0 | root |");
    assert_contains(md, "- #4 pid 2: skipped: no longer idle");
    /* Verification before/after with numbers. */
    assert_contains(md, "| connections in use | 17 of 20 | 18 of 20 | 4 of 20 |");
    assert_contains(md, "| waiting on a lock | 2 | 2 | 0 |");
    assert_contains(md, "| longest active query | 2.6s | 4.5s | none |");
    assert_contains(md, "- verify at 08:07:00 UTC: **recovered**");
    assert_contains(md, "  - [pass] connections: 4 of 20 usable (warning at 80%)");
    /* Escalations with contacts. */
    assert_contains(md,
                    "**Performance issues persist after optimization** (persists\\_after\\_fix): "
                    "DatabaseHighConnections still fires");
    assert_contains(md, "escalation command: escalation command exited with status 0: paged");
    assert_contains(md, "Contacts (runbook §12): DBA: dba@example.com \\| DevOps: \\#ops");
    /* The checklist made concrete. */
    assert_contains(md, "- [x] **Document root cause**: billing-worker leaked connections");
    assert_contains(md, "DatabaseHighConnections fired in 2 of 4 runs, at worst 90%");
    assert_contains(md, "connections_warning 80%, connections_critical 90%");
    assert_contains(md, "it caught a real cause (connection\\_leak): keep it");
    assert_contains(md, "  - created (audit #5, done): public.orders(customer\\_id)");
    assert_contains(md, "  - suggested: ` pgmedic fix create-index 'public.orders(customer_id)' `");
    assert_contains(md, "  - maintenance to schedule: ` pgmedic fix vacuum public.orders `");
    assert_contains(md, "pg_stat_statements was not available");
    assert_contains(md, "    - Pool connections with PgBouncer.");
    assert_contains(md, "peak 18 of 20 usable slots");
    /* Control characters never reach the file. */
    assert_not_contains(md, "\x01");
    strbuf_free(&out);
}

static void
test_render_incident_markdown_open_and_empty(void **state)
{
    Fixture f;
    StrBuf out = STRBUF_INIT;
    const char *md;

    (void) state;
    build(&f);
    f.inc.acked_at = 0;
    f.inc.acked_by = NULL;
    f.inc.resolved_at = 0;
    f.inc.root_cause = NULL;
    f.in.n_entries = 0;
    f.in.n_audits = 0;
    f.in.n_samples = 0;
    f.in.chart_href = NULL;
    f.in.contacts = NULL;
    render_incident_markdown(&out, &f.in);
    assert_true(strbuf_ok(&out));
    md = strbuf_str(&out);
    assert_contains(md, "| Status | open |");
    assert_contains(md, "| Resolved | not yet |");
    assert_contains(md, "| Time to acknowledge | not acknowledged |");
    assert_contains(md, "| Time to resolve | open for 1h 00min |");
    assert_contains(md, "No run or sample measured the server during the incident.");
    assert_contains(md, "Not written: `pgmedic incident report ID --output DIR`");
    assert_contains(md, "| - | - | - | nothing recorded |");
    assert_contains(md, "No root cause was given at resolve");
    assert_contains(md, "None: no `pgmedic fix --apply` ran");
    assert_contains(md, "`pgmedic verify` was not run during the incident");
    assert_contains(md, "None: no rule of runbook §11 fired");
    assert_contains(md, "not configured (set `[escalation] contacts`)");
    assert_contains(md, "- [ ] **Document root cause**: not documented yet");
    assert_contains(md, "## Post-incident checklist");
    strbuf_free(&out);
}

static void
test_render_incident_svg_well_formed(void **state)
{
    Fixture f;
    StrBuf out = STRBUF_INIT;
    const char *svg;

    (void) state;
    build(&f);
    /* A target label with XML syntax and bytes that are not UTF-8. */
    f.inc.target = "db<&>\"'@h\xff\x01:5432";
    render_incident_svg(&out, &f.in);
    assert_true(strbuf_ok(&out));
    svg = strbuf_str(&out);
    assert_svg_ok(svg);
    assert_contains(svg, "<title>Incident 7: connections by state and longest query</title>");
    assert_contains(svg, "db&lt;&amp;&gt;&quot;&apos;@h\xEF\xBF\xBD :5432");
    assert_contains(svg, "fill=\"#4e79a7\""); /* active */
    assert_contains(svg, ">opened</text>");
    assert_contains(svg, ">acknowledged</text>");
    assert_contains(svg, ">resolved</text>");
    assert_contains(svg, ">fix terminate-idle</text>");
    assert_contains(svg, ">escalate</text>");
    assert_contains(svg, "longest query (right axis)");
    assert_int_equal(count_substr(svg, "<circle "), 5);
    strbuf_free(&out);

    /* Without samples: still a valid document that says so. */
    f.in.n_samples = 0;
    f.in.n_entries = 0;
    render_incident_svg(&out, &f.in);
    assert_true(strbuf_ok(&out));
    assert_svg_ok(strbuf_str(&out));
    assert_contains(strbuf_str(&out), "no samples were recorded");
    strbuf_free(&out);
}

static void
test_render_incident_report_json(void **state)
{
    Fixture f;
    StrBuf out = STRBUF_INIT;
    json_error_t jerr;
    json_t *j;

    (void) state;
    build(&f);
    render_incident_report_json(&out, &f.in);
    assert_true(strbuf_ok(&out));
    j = json_loads(strbuf_str(&out), 0, &jerr);
    if (j == NULL)
        fail_msg("invalid JSON (%s):\n%s", jerr.text, strbuf_str(&out));
    assert_int_equal(json_integer_value(json_object_get(j, "pgmedic")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "incident"), "status")), "resolved");
    assert_true(json_real_value(json_object_get(json_object_get(j, "incident"), "time_to_ack_s")) ==
                12.5);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "impact"), "peak_clients")), 18);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "impact"), "min_headroom")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "timeline")), 10);
    assert_true(
        json_is_null(json_object_get(json_array_get(json_object_get(j, "timeline"), 8), "data")));
    assert_int_equal(json_array_size(json_object_get(j, "actions")), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(j, "actions"), 0), "skipped")),
                     1);
    assert_int_equal(json_array_size(json_object_get(j, "escalations")), 2);
    assert_true(json_is_true(json_object_get(
        json_array_get(json_object_get(json_object_get(j, "verification"), "runs"), 0),
        "recovered")));
    assert_string_equal(json_string_value(json_object_get(j, "chart")), "incident-7.svg");
    json_decref(j);
    strbuf_free(&out);
}

static void
test_render_incident_json_and_text(void **state)
{
    Fixture f;
    StrBuf out = STRBUF_INIT;
    json_t *j;

    (void) state;
    build(&f);
    render_incident_json(&out, &f.inc, f.entries, 10, "escalation", "{\"rule\":\"corruption\"}",
                         false);
    j = json_loads(strbuf_str(&out), 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "incident"), "id")), 7);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(j, "escalation"), "rule")), "corruption");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "timeline"), 2), "kind")),
                        "ack");
    json_decref(j);
    strbuf_free(&out);

    render_incident_text(&out, &f.inc, f.entries, 10, T0 + 3600);
    assert_contains(strbuf_str(&out), "incident 7: Connections <near> the *limit*\n");
    assert_contains(strbuf_str(&out), "  status        resolved\n");
    assert_contains(strbuf_str(&out), "  acknowledged  2027-01-15T08:00:12.500Z by alice (after "
                                      "12.5s)\n");
    assert_contains(strbuf_str(&out), "timeline (10 entries):\n");
    assert_contains(strbuf_str(&out), " +12.5s     ack      acknowledged by alice\n");
    assert_not_contains(strbuf_str(&out), "\x01");
    strbuf_free(&out);

    render_incident_list_line(&out, &f.inc, T0 + 3600);
    assert_contains(strbuf_str(&out), "#7    resolved     warning  2027-01-15T08:00:00.000Z");
    strbuf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker_rejects_broken_xml),
        cmocka_unit_test(test_render_incident_markdown_every_section),
        cmocka_unit_test(test_render_incident_markdown_open_and_empty),
        cmocka_unit_test(test_render_incident_svg_well_formed),
        cmocka_unit_test(test_render_incident_report_json),
        cmocka_unit_test(test_render_incident_json_and_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
