/*
 * incident_test.c - pgmedic incident on real throwaway servers: the CLI
 * lifecycle and its errors; timeline entries written by real check, triage,
 * fix and verify runs; --open-incident; each escalation rule of runbook §11
 * firing in its constructed case and not in the cases next to it (a
 * restart_command that does not bring the server back, a corruption line in
 * the server log, an alert persisting after a fix, an unexplained alert with
 * escalate_after lowered); the [escalation] command paged with the incident
 * JSON; and the report of a full incident, Markdown with every section and
 * its numbers, the SVG well-formed, the JSON valid.
 *
 * One cluster for most tests; the corruption and restart cases get their
 * own (a corruption line stays in a log; a stopped cluster stays stopped).
 * Every test has a store of its own, named in a configuration file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

static int
group_setup(void **state)
{
    (void) state;
    return h_cluster_start(&cl, NULL);
}

static int
group_teardown(void **state)
{
    (void) state;
    h_cluster_stop(&cl);
    return 0;
}

static int
cleanup(void **state)
{
    (void) state;
    return h_sessions_close(&cl);
}

/* ------------------------------------------------------------- helpers */

/* A configuration file with a fresh store plus extra (INI text); caller frees. */
static char *
conf_with(const char *tag, const char *extra)
{
    static int n;
    char text[4096];
    char *path;

    snprintf(text, sizeof(text), "[pgmedic]\nstore = %s/incident-%s-%d.db\n%s", h_tmproot(), tag,
             ++n, extra ? extra : "");
    path = h_write_tmpfile("pgmedic-incident-conf", text);
    assert_non_null(path);
    return path;
}

/* The id printed alone on the first line of `incident open`. */
static long long
opened_id(HRun *r)
{
    char *end;
    long long id;

    H_ASSERT_EXIT(r, 0);
    id = strtoll(r->out, &end, 10);
    if (id <= 0 || *end != '\n')
        h_run_dump(r, "no id on the first line");
    assert_true(id > 0);
    assert_true(*end == '\n');
    return id;
}

static long long
open_incident(const char *conf, HCluster *c, const char *alert)
{
    HRun r;
    long long id;

    if (alert != NULL)
        H_RUN(&r, c, "incident", "open", "-c", conf, "--alert", alert);
    else
        H_RUN(&r, c, "incident", "open", "-c", conf);
    id = opened_id(&r);
    h_run_free(&r);
    return id;
}

/* `incident show ID --format json`; the caller frees the HRun. */
static json_t *
show(HRun *r, const char *conf, long long id)
{
    char ids[32];

    snprintf(ids, sizeof(ids), "%lld", id);
    H_RUN(r, NULL, "incident", "show", ids, "-c", conf, "--format", "json");
    H_ASSERT_EXIT(r, 0);
    return H_JSON(r);
}

static size_t
count_kind(json_t *j, const char *kind)
{
    json_t *tl = json_object_get(j, "timeline"), *e;
    size_t i, n = 0;

    json_array_foreach(tl, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0)
            n++;
    }
    return n;
}

/* The nth (0-based) timeline entry of kind, or NULL. */
static json_t *
entry_of(json_t *j, const char *kind, size_t nth)
{
    json_t *tl = json_object_get(j, "timeline"), *e;
    size_t i;

    json_array_foreach(tl, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 && nth-- == 0)
            return e;
    }
    return NULL;
}

/* Asserts the number of entries of kind in incident id's timeline. */
static void
assert_kind_count(const char *conf, long long id, const char *kind, size_t want)
{
    HRun r;
    json_t *j = show(&r, conf, id);
    size_t got = count_kind(j, kind);

    if (got != want)
    {
        fprintf(stderr, "harness: %zu \"%s\" entries, expected %zu\n", got, kind, want);
        h_run_dump(&r, "timeline");
    }
    assert_int_equal(got, want);
    h_run_free(&r);
}

static void
resolve(const char *conf, long long id)
{
    HRun r;
    char ids[32];

    snprintf(ids, sizeof(ids), "%lld", id);
    H_RUN(&r, NULL, "incident", "resolve", ids, "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
}

/* --------------------------------------------------------- the lifecycle */

static void
test_incident_lifecycle_and_errors(void **state)
{
    char *conf = conf_with("life", NULL);
    HRun r;
    json_t *j;
    long long id;
    char ids[32], target[2 * H_PATH_MAX];

    (void) state;
    H_RUN(&r, &cl, "incident", "list", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "no incidents in ");
    h_run_free(&r);

    H_RUN(&r, &cl, "incident", "open", "-c", conf, "--alert", "DatabaseHighConnections", "--title",
          "slots | <running> out");
    id = opened_id(&r);
    snprintf(ids, sizeof(ids), "%lld", id);
    snprintf(target, sizeof(target), "postgres@%s:%s", cl.host, cl.port);
    H_ASSERT_CONTAINS(r.out, "\nopened incident ");
    H_ASSERT_CONTAINS(r.out, target);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);

    /* A second open for the same target is refused: runs join the open one. */
    H_RUN(&r, &cl, "incident", "open", "-c", conf);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "is already open for");
    h_run_free(&r);

    j = show(&r, conf, id);
    assert_int_equal(h_json_int(j, "incident.id"), id);
    assert_string_equal(h_json_str(j, "incident.target"), target);
    assert_string_equal(h_json_str(j, "incident.alert"), "DatabaseHighConnections");
    assert_string_equal(h_json_str(j, "incident.title"), "slots | <running> out");
    assert_string_equal(h_json_str(j, "incident.status"), "open");
    assert_string_equal(h_json_str(j, "timeline.0.kind"), "open");
    /* What was seen at opening: a check entry with the numbers. */
    assert_string_equal(h_json_str(j, "timeline.1.kind"), "check");
    assert_int_equal(h_json_int(j, "timeline.1.data.clients"), 0);
    assert_true(h_json_int(j, "timeline.1.data.usable") > 0);
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "ack", ids, "--by", "alice", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "acknowledged by alice");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "ack", ids, "-c", conf);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "pgmedic: error: incident ");
    H_ASSERT_CONTAINS(r.err, " was already acknowledged by alice at ");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "note", ids, "deploy", "of", "billing-worker", "at", "15:40", "-c",
          conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "list", "-c", conf, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_len(H_JSON(&r), ""), 1);
    assert_string_equal(h_json_str(H_JSON(&r), "0.status"), "acknowledged");
    assert_string_equal(h_json_str(H_JSON(&r), "0.acked_by"), "alice");
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "resolve", ids, "--root-cause", "a leak", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "resolved");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "resolve", ids, "-c", conf);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, " was already resolved at ");
    h_run_free(&r);

    j = show(&r, conf, id);
    assert_string_equal(h_json_str(j, "incident.status"), "resolved");
    assert_string_equal(h_json_str(j, "incident.root_cause"), "a leak");
    assert_int_equal(count_kind(j, "ack"), 1);
    assert_int_equal(count_kind(j, "note"), 1);
    assert_int_equal(count_kind(j, "resolve"), 1);
    assert_string_equal(h_json_str(entry_of(j, "note", 0), "summary"),
                        "deploy of billing-worker at 15:40");
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "list", "--open-only", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "no open incidents");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "show", ids, "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "status        resolved");
    H_ASSERT_CONTAINS(r.out, "root cause    a leak");
    h_run_free(&r);

    /* Bad ids and bad usage: one clear error each, exit 3. */
    H_RUN(&r, NULL, "incident", "show", "abc", "-c", conf);
    h_assert_usage_error(&r, "invalid value \"abc\" for \"incident ID\"");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "show", "0", "-c", conf);
    h_assert_usage_error(&r, "value \"0\" for \"incident ID\" is out of range");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "ack", "999", "-c", conf);
    h_assert_usage_error(&r, "incident 999 does not exist in store ");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "note", "999", "x", "-c", conf);
    h_assert_usage_error(&r, "incident 999 does not exist in store ");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "ack", "-c", conf);
    h_assert_usage_error(&r, "missing incident ID");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "note", ids, "-c", conf);
    h_assert_usage_error(&r, "missing note text");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "-c", conf);
    h_assert_usage_error(&r, "missing subcommand");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "frobnicate", "-c", conf);
    h_assert_usage_error(&r, "unrecognized subcommand \"frobnicate\"");
    h_assert_usage_hint(&r);
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "show", ids, "--by", "bob", "-c", conf);
    h_assert_usage_error(&r, "option \"--by\" does not apply to \"show\"");
    h_run_free(&r);
    H_RUN(&r, &cl, "incident", "open", "--alert", "DatabaseOnFire", "-c", conf);
    h_assert_usage_error(&r, "unrecognized alert \"DatabaseOnFire\"");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "show", ids, "extra", "-c", conf);
    h_assert_usage_error(&r, "too many command-line arguments (first is \"extra\")");
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "list", "--format", "markdown", "-c", conf);
    h_assert_usage_error(&r, "only \"report\" has --format markdown");
    h_run_free(&r);
    H_RUN(&r, &cl, "status", "--incident", ids, "-c", conf);
    h_assert_usage_error(&r, "command \"status\" has no --incident option");
    h_run_free(&r);
    H_RUN(&r, &cl, "check", "--incident", "x1", "-c", conf);
    h_assert_usage_error(&r, "invalid value \"x1\" for \"--incident\"");
    h_run_free(&r);

    /* A named incident that cannot be used: the check still works, with a warning. */
    H_RUN(&r, &cl, "check", "--incident", "999", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.err, "pgmedic: warning: run not added to an incident: incident 999 does "
                             "not exist");
    h_run_free(&r);
    H_RUN(&r, &cl, "check", "--incident", ids, "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.err, "it is resolved");
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "--help");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "pgmedic incident report ID");
    h_run_free(&r);
    free(conf);
}

/* ----------------------------------------------- runs join the incident */

static void
test_runs_join_the_open_incident(void **state)
{
    char *conf = conf_with("join", "[thresholds]\nconnections_warning = 1%\n"
                                   "connections_critical = 60%\n");
    HRun r;
    json_t *j, *e;
    long long id;
    size_t n_entries;

    (void) state;
    assert_int_equal(h_sessions_open_idle(&cl, 4, "idler", false, NULL), 4);
    id = open_incident(conf, &cl, "DatabaseHighConnections");

    H_RUN(&r, &cl, "check", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    h_run_free(&r);
    H_RUN(&r, &cl, "triage", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    h_run_free(&r);
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "idler", "--idle-for", "0", "-c",
          conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "idler", "--idle-for", "0", "--apply",
          "--yes", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    assert_true(h_wait_clients(&cl, 0, 10.0));
    H_RUN(&r, &cl, "verify", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    /* Another database of the same server is another target: not joined. */
    H_RUN(&r, &cl, "check", "-d", "template1", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    j = show(&r, conf, id);
    n_entries = json_array_size(json_object_get(j, "timeline"));
    assert_int_equal(n_entries, 7); /* open, check (at open), check, triage, fix, fix, verify */
    assert_int_equal(count_kind(j, "check"), 2);

    e = entry_of(j, "check", 1);
    assert_non_null(e);
    assert_int_equal(h_json_int(e, "data.clients"), 4);
    assert_int_equal(h_json_int(e, "data.idle"), 4);
    assert_string_equal(h_json_str(e, "data.alerts.0.name"), "DatabaseHighConnections");
    H_ASSERT_CONTAINS(h_json_str(e, "summary"), "DatabaseHighConnections warning; 4 of ");

    e = entry_of(j, "triage", 0);
    assert_non_null(e);
    assert_true(h_json_len(e, "data.findings") >= 1);
    assert_non_null(h_json_find_str(e, "data.findings", "kind", "unexplained"));
    assert_non_null(h_json_find_str(e, "data.applications", "name", "idler"));
    assert_int_equal(
        h_json_int(h_json_find_str(e, "data.applications", "name", "idler"), "sessions"), 4);

    e = entry_of(j, "fix", 0);
    assert_int_equal(h_json_int(e, "data.run.audit_id"), 0);
    assert_string_equal(h_json_str(e, "data.run.status"), "dry run");
    e = entry_of(j, "fix", 1);
    assert_true(h_json_int(e, "data.run.audit_id") > 0);
    assert_string_equal(h_json_str(e, "data.run.action"), "terminate-idle");
    assert_string_equal(h_json_str(e, "data.run.status"), "done");
    assert_int_equal(h_json_int(e, "data.run.done"), 4);
    H_ASSERT_CONTAINS(h_json_str(e, "summary"), "fix terminate-idle applied: audit #");

    e = entry_of(j, "verify", 0);
    assert_int_equal(h_json_bool(e, "data.run.recovered"), 1);
    assert_int_equal(h_json_len(e, "data.run.checks"), 5);
    assert_int_equal(h_json_int(e, "data.clients"), 0);
    assert_int_equal(count_kind(j, "escalate"), 0);
    h_run_free(&r);

    /* --incident names it explicitly, from any target. */
    {
        char ids[32];

        snprintf(ids, sizeof(ids), "%lld", id);
        H_RUN(&r, &cl, "check", "-d", "template1", "--incident", ids, "-c", conf);
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
    }
    assert_kind_count(conf, id, "check", 3);
    resolve(conf, id);
    /* Resolved: runs no longer join anything. */
    H_RUN(&r, &cl, "check", "-c", conf);
    h_run_free(&r);
    assert_kind_count(conf, id, "check", 3);
    free(conf);
}

static void
test_open_incident_when_an_alert_fires(void **state)
{
    char *conf = conf_with("openflag", "[thresholds]\nconnections_warning = 1%\n"
                                       "connections_critical = 60%\n");
    HRun r;
    json_t *j;

    (void) state;
    /* No alert: nothing is opened. */
    H_RUN(&r, &cl, "check", "--open-incident", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "list", "--format", "json", "-c", conf);
    assert_int_equal(h_json_len(H_JSON(&r), ""), 0);
    h_run_free(&r);

    assert_int_equal(h_sessions_open_idle(&cl, 3, "idler", false, NULL), 3);
    H_RUN(&r, &cl, "check", "--open-incident", "--format", "nagios", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    h_assert_first_line(&r, "PGMEDIC WARNING");
    H_ASSERT_CONTAINS(r.err, "pgmedic: warning: opened incident ");
    H_ASSERT_CONTAINS(r.err, "DatabaseHighConnections");
    h_run_free(&r);
    /* An incident is open: the next one joins it. */
    H_RUN(&r, &cl, "triage", "--open-incident", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_NOT_CONTAINS(r.err, "opened incident");
    h_run_free(&r);

    H_RUN(&r, NULL, "incident", "list", "--format", "json", "-c", conf);
    j = H_JSON(&r);
    assert_int_equal(h_json_len(j, ""), 1);
    assert_string_equal(h_json_str(j, "0.alert"), "DatabaseHighConnections");
    assert_string_equal(h_json_str(j, "0.severity"), "warning");
    assert_string_equal(h_json_str(j, "0.status"), "open");
    {
        long long id = h_json_int(j, "0.id");
        HRun s;
        json_t *t = show(&s, conf, id);

        /* open, the check that opened it, the triage that joined. */
        assert_int_equal(json_array_size(json_object_get(t, "timeline")), 3);
        assert_string_equal(h_json_str(t, "timeline.1.kind"), "check");
        assert_string_equal(h_json_str(t, "timeline.2.kind"), "triage");
        h_run_free(&s);
    }
    h_run_free(&r);
    free(conf);
}

/* --------------------------------------------------------- escalation */

/* Rule 4: no finding explains the alert and the incident is older than escalate_after. */
static void
test_escalate_root_cause_unclear(void **state)
{
    char *conf = conf_with("unclear", "[thresholds]\nconnections_warning = 1%\n"
                                      "connections_critical = 60%\n"
                                      "[escalation]\ncontacts = DBA on call\n");
    HRun r;
    json_t *j, *e;
    long long id;

    (void) state;
    assert_int_equal(h_sessions_open_idle(&cl, 4, "young", false, NULL), 4);
    id = open_incident(conf, &cl, "DatabaseHighConnections");

    /* Unexplained, but younger than escalate_after (1h): no escalation. */
    H_RUN(&r, &cl, "triage", "-c", conf, "--format", "json");
    H_ASSERT_EXIT(&r, 1);
    assert_non_null(h_json_find_str(H_JSON(&r), "findings", "kind", "unexplained"));
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    assert_kind_count(conf, id, "escalate", 0);

    H_RUN(&r, &cl, "triage", "-c", conf, "--set", "escalate_after=0");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.err, "pgmedic: warning: escalate incident ");
    H_ASSERT_CONTAINS(r.err, "no finding explains DatabaseHighConnections and the incident has "
                             "been open for ");
    H_ASSERT_CONTAINS(r.err, "pgmedic: detail: Root cause is unclear after 1 hour.  Contacts "
                             "(runbook §12): DBA on call.");
    h_run_free(&r);
    /* A check after it (no findings of its own) does not escalate twice. */
    H_RUN(&r, &cl, "check", "-c", conf, "--set", "escalate_after=0");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);

    j = show(&r, conf, id);
    assert_int_equal(count_kind(j, "escalate"), 1);
    e = entry_of(j, "escalate", 0);
    assert_string_equal(h_json_str(e, "data.rule"), "root_cause_unclear");
    assert_string_equal(h_json_str(e, "data.contacts"), "DBA on call");
    assert_string_equal(h_json_str(e, "data.seen_by"), "triage");
    h_run_free(&r);
    resolve(conf, id);

    /* Explained (a leak past idle_connection): no escalation, however old. */
    assert_int_equal(h_sessions_open_idle(&cl, 2, "young", false, NULL), 2);
    id = open_incident(conf, &cl, "DatabaseHighConnections");
    H_RUN(&r, &cl, "triage", "-c", conf, "--set", "escalate_after=0", "--set",
          "idle_connection=1ms", "--format", "json");
    H_ASSERT_EXIT(&r, 1);
    assert_non_null(h_json_find_str(H_JSON(&r), "findings", "kind", "connection_leak"));
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    assert_kind_count(conf, id, "escalate", 0);
    free(conf);
}

/* Rule 3: the alert still fires verify_window after a remediation. */
static void
test_escalate_persists_after_fix(void **state)
{
    char *conf = conf_with("persist", "[thresholds]\nconnections_warning = 1%\n"
                                      "connections_critical = 60%\n");
    HRun r;
    json_t *j, *e;
    long long id;

    (void) state;
    assert_int_equal(h_sql(&cl, "SET client_min_messages = warning; DROP TABLE IF EXISTS inc_t; "
                                "CREATE TABLE inc_t (id int)"),
                     0);
    assert_int_equal(h_sessions_open_idle(&cl, 4, "stubborn", false, NULL), 4);
    id = open_incident(conf, &cl, "DatabaseHighConnections");
    /* A remediation that does not touch the cause. */
    H_RUN(&r, &cl, "fix", "analyze", "public.inc_t", "--apply", "--yes", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);

    /* Inside the verify window (5min): no escalation yet. */
    H_RUN(&r, &cl, "check", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    H_RUN(&r, &cl, "check", "-c", conf, "--set", "verify_window=0");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.err, "escalate incident ");
    H_ASSERT_CONTAINS(r.err, "DatabaseHighConnections still fires (");
    H_ASSERT_CONTAINS(r.err, "after the last remediation (verify_window 0ms)");
    h_run_free(&r);
    H_RUN(&r, &cl, "verify", "-c", conf, "--set", "verify_window=0");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    j = show(&r, conf, id);
    assert_int_equal(count_kind(j, "escalate"), 1);
    e = entry_of(j, "escalate", 0);
    assert_string_equal(h_json_str(e, "data.rule"), "persists_after_fix");
    assert_string_equal(h_json_str(e, "data.runbook"),
                        "Performance issues persist after optimization");
    h_run_free(&r);
    resolve(conf, id);

    /* A fix that cures it: no escalation after the window. */
    id = open_incident(conf, &cl, "DatabaseHighConnections");
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "stubborn", "--idle-for", "0",
          "--apply", "--yes", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    assert_true(h_wait_clients(&cl, 0, 10.0));
    H_RUN(&r, &cl, "check", "-c", conf, "--set", "verify_window=0");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    assert_kind_count(conf, id, "escalate", 0);
    assert_int_equal(h_sql(&cl, "DROP TABLE inc_t"), 0);
    free(conf);
}

/* Rule 2: a corruption line in the server log; the [escalation] command is paged. */
static void
test_escalate_corruption_and_page(void **state)
{
    HCluster c2;
    HRun r;
    json_t *j, *e, *paged;
    char extra[2048], out_path[H_PATH_MAX], *conf, *text;
    long long id;
    FILE *log;

    (void) state;
    memset(&c2, 0, sizeof(c2));
    assert_int_equal(h_cluster_start(&c2, NULL), 0);
    snprintf(out_path, sizeof(out_path), "%s/paged-%d.json", h_tmproot(), (int) getpid());
    snprintf(extra, sizeof(extra),
             "[escalation]\ncontacts = DBA: +1 555 0100\n"
             "command = cat > '%s' && echo paged-ok\n",
             out_path);
    conf = conf_with("corrupt", extra);
    id = open_incident(conf, &c2, NULL);

    /* A clean log: nothing to escalate. */
    H_RUN(&r, &c2, "triage", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);

    log = fopen(c2.log, "a");
    assert_non_null(log);
    fprintf(log, "2026-11-29 16:00:00.000 UTC [4242] app ERROR:  invalid page in block 1 of "
                 "relation base/5/16384\n");
    fclose(log);
    H_RUN(&r, &c2, "triage", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.err, "pgmedic: warning: escalate incident ");
    H_ASSERT_CONTAINS(r.err, "says: 2026-11-29 16:00:00.000 UTC [4242] app ERROR:  invalid page "
                             "in block 1 of relation base/5/16384");
    H_ASSERT_CONTAINS(r.err, "Data corruption is suspected.  Contacts (runbook §12): DBA: +1 555 "
                             "0100.");
    h_run_free(&r);
    /* Once per incident. */
    H_RUN(&r, &c2, "triage", "-c", conf);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);

    j = show(&r, conf, id);
    assert_int_equal(count_kind(j, "escalate"), 1);
    e = entry_of(j, "escalate", 0);
    assert_string_equal(h_json_str(e, "data.rule"), "corruption");
    assert_string_equal(h_json_str(e, "data.runbook"), "Data corruption is suspected");
    H_ASSERT_CONTAINS(h_json_str(e, "data.reason"), "invalid page in block 1");
    assert_int_equal(count_kind(j, "page"), 1);
    e = entry_of(j, "page", 0);
    assert_string_equal(h_json_str(e, "summary"),
                        "escalation command exited with status 0: paged-ok");
    assert_int_equal(h_json_int(e, "data.exit_status"), 0);
    assert_int_equal(h_json_bool(e, "data.timed_out"), 0);
    h_run_free(&r);

    /* The command read the incident JSON on its stdin. */
    text = h_read_file(out_path, NULL);
    assert_non_null(text);
    paged = json_loads(text, 0, NULL);
    if (paged == NULL)
        fprintf(stderr, "harness: the command got:\n%s\n", text);
    assert_non_null(paged);
    assert_int_equal(h_json_int(paged, "incident.id"), id);
    assert_string_equal(h_json_str(paged, "escalation.rule"), "corruption");
    assert_string_equal(h_json_str(paged, "escalation.contacts"), "DBA: +1 555 0100");
    assert_true(h_json_len(paged, "timeline") >= 4);
    json_decref(paged);
    free(text);
    unlink(out_path);
    h_cluster_stop(&c2);
    free(conf);
}

/* Rule 1: still unresponsive restart_wait after a restart. */
static void
test_escalate_unresponsive_after_restart(void **state)
{
    HCluster c3;
    HRun r;
    json_t *j, *e;
    char target[4 * H_PATH_MAX], *conf, *conf_up;
    long long id;
    const char *const stop[] = {"stop", "-m", "fast", "-w", "-s", NULL};

    (void) state;
    memset(&c3, 0, sizeof(c3));
    assert_int_equal(h_cluster_start(&c3, NULL), 0);
    /* A restart_command that does not bring the server back. */
    snprintf(target, sizeof(target),
             "[target db]\nconninfo = host=%s port=%s user=%s dbname=postgres\n"
             "restart_command = true\nrestart_timeout = 1s\n",
             c3.host, c3.port, c3.user);
    conf = conf_with("restart", target);
    id = open_incident(conf, NULL, NULL);
    assert_int_equal(h_cluster_ctl(&c3, stop), 0);

    H_RUN(&r, NULL, "fix", "restart", "--apply", "--yes", "-c", conf);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "still not accepting connections");
    /* Its snapshot was taken before the restart: no escalation from it. */
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    /* Inside restart_wait (2min): not yet. */
    H_RUN(&r, NULL, "check", "-c", conf);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    H_RUN(&r, NULL, "check", "-c", conf, "--set", "restart_wait=0");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.err, "escalate incident ");
    H_ASSERT_CONTAINS(r.err, "the server is still not accepting connections (server_down: ");
    H_ASSERT_CONTAINS(r.err, "after pgmedic fix restart (restart_wait 0ms)");
    H_ASSERT_CONTAINS(r.err, "Database remains unresponsive after restart.");
    h_run_free(&r);
    j = show(&r, conf, id);
    e = entry_of(j, "fix", 0);
    assert_non_null(e);
    assert_string_equal(h_json_str(e, "data.run.action"), "restart");
    assert_string_equal(h_json_str(e, "data.run.status"), "failed");
    assert_int_equal(h_json_bool(e, "data.reachable"), 0);
    assert_int_equal(count_kind(j, "escalate"), 1);
    assert_string_equal(h_json_str(entry_of(j, "escalate", 0), "data.rule"),
                        "unresponsive_after_restart");
    h_run_free(&r);
    resolve(conf, id);

    /* A restart_command that brings it back: no escalation. */
    snprintf(target, sizeof(target),
             "[target db]\nconninfo = host=%s port=%s user=%s dbname=postgres\n"
             "restart_command = '%s/scripts/tmp-pg' ctl '%s' -l '%s' -w -t 30 -s start\n"
             "restart_timeout = 30s\n",
             c3.host, c3.port, c3.user, h_srcdir(), c3.dir, c3.log);
    free(conf);
    conf_up = conf_with("restart-up", target);
    id = open_incident(conf_up, NULL, NULL);
    H_RUN_ENV(&r, NULL, NULL, 60.0, "fix", "restart", "--apply", "--yes", "-c", conf_up);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "accepting connections after");
    h_run_free(&r);
    H_RUN(&r, NULL, "check", "-c", conf_up, "--set", "restart_wait=0");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.err, "escalate");
    h_run_free(&r);
    assert_kind_count(conf_up, id, "escalate", 0);
    h_cluster_stop(&c3);
    free(conf_up);
}

/* ------------------------------------------------------------- the report */

static void
assert_svg_well_formed(const char *path)
{
    HRun r;
    char *svg = h_read_file(path, NULL);

    assert_non_null(svg);
    assert_memory_equal(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 43);
    H_ASSERT_CONTAINS(svg, "</svg>\n");
    free(svg);
    if (access("/usr/bin/xmllint", X_OK) == 0)
    {
        const char *const argv[] = {"/usr/bin/xmllint", "--noout", path, NULL};

        assert_int_equal(h_exec(&r, NULL, argv, NULL, 30.0), 0);
        if (r.exit_code != 0)
            h_run_dump(&r, "xmllint");
        assert_int_equal(r.exit_code, 0);
        h_run_free(&r);
    }
}

static void
test_report_of_a_full_incident(void **state)
{
    char *conf = conf_with("report", "[thresholds]\nconnections_warning = 1%\n"
                                     "connections_critical = 60%\nlock_wait = 1ms\n"
                                     "slow_query_warning = 1ms\nidle_connection = 1ms\n"
                                     "[escalation]\ncontacts = DBA: dba@example.com\n");
    char dir[H_PATH_MAX], ids[32], report_path[3 * H_PATH_MAX], *md;
    HRun r;
    int pids[3];
    long long id;
    json_t *j;

    (void) state;
    assert_int_equal(h_sessions_open_idle(&cl, 5, "billing-worker", false, NULL), 5);
    assert_int_equal(h_lock_chain(&cl, "checkout", pids), 0);
    id = open_incident(conf, &cl, "DatabaseHighConnections");
    snprintf(ids, sizeof(ids), "%lld", id);
    H_RUN(&r, NULL, "incident", "ack", ids, "--by", "on-call", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    H_RUN(&r, &cl, "check", "-c", conf);
    h_run_free(&r);
    H_RUN(&r, &cl, "triage", "-c", conf);
    H_ASSERT_EXIT(&r, 1);
    h_run_free(&r);
    H_RUN(&r, &cl, "verify", "-c", conf);
    H_ASSERT_EXIT(&r, 2);
    h_run_free(&r);
    H_RUN(&r, &cl, "fix", "terminate-blockers", "--apply", "--yes", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "billing-worker", "--apply", "--yes",
          "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    assert_int_equal(h_sessions_close(&cl), 0);
    H_RUN(&r, &cl, "verify", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    H_RUN(&r, NULL, "incident", "resolve", ids, "--root-cause",
          "billing-worker leaked connections; checkout held a row lock", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    snprintf(dir, sizeof(dir), "%s/report-%d", h_tmproot(), (int) getpid());
    H_RUN(&r, NULL, "incident", "report", ids, "--output", dir, "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    snprintf(report_path, sizeof(report_path), "%s/incident-%lld.md\n%s/incident-%lld.svg\n", dir,
             id, dir, id);
    assert_string_equal(r.out, report_path);
    h_run_free(&r);

    snprintf(report_path, sizeof(report_path), "%s/incident-%lld.md", dir, id);
    md = h_read_file(report_path, NULL);
    assert_non_null(md);
    {
        static const char *const sections[] = {"# Incident ",
                                               "\n## Summary\n",
                                               "\n## Impact\n",
                                               "\n## Chart\n",
                                               "\n## Timeline\n",
                                               "\n## Root cause\n",
                                               "\n## Actions taken\n",
                                               "\n## Verification\n",
                                               "\n## Escalations\n",
                                               "\n## Post-incident checklist\n",
                                               "### Documentation (runbook §13)",
                                               "### Prevention (runbook §14)"};
        size_t i;

        for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
            H_ASSERT_CONTAINS(md, sections[i]);
    }
    /* Real numbers: 8 clients (5 idle, 3 in the lock chain), 2 waiting. */
    H_ASSERT_CONTAINS(md, "| Status | resolved |");
    H_ASSERT_CONTAINS(md, "by on-call |");
    H_ASSERT_CONTAINS(md, "| Time to acknowledge | ");
    H_ASSERT_CONTAINS(md, "**Sessions**: at most 8 client sessions at once (8 of ");
    H_ASSERT_CONTAINS(md, "at most 2 sessions waiting on a lock at once; 1 idle in transaction");
    H_ASSERT_CONTAINS(md, "billing-worker (5 sessions)");
    H_ASSERT_CONTAINS(md, "checkout (3 sessions)");
    H_ASSERT_CONTAINS(md, "](incident-");
    H_ASSERT_CONTAINS(md, "Given at resolve: billing-worker leaked connections; checkout held a "
                          "row lock");
    H_ASSERT_CONTAINS(md, "- **connection\\_leak** (explains DatabaseHighConnections)");
    H_ASSERT_CONTAINS(md, "- **lock\\_contention** (explains DatabaseSlowQueries)");
    H_ASSERT_CONTAINS(md, "| terminate-blockers | done | 1 | 0 | 0 |");
    H_ASSERT_CONTAINS(md, "| terminate-idle --application billing-worker | done | 5 | 0 | 0 |");
    H_ASSERT_CONTAINS(md, "| connections in use | 8 of ");
    H_ASSERT_CONTAINS(md, "| waiting on a lock | 2 | 2 | 0 |");
    H_ASSERT_CONTAINS(md, "**NOT recovered**");
    H_ASSERT_CONTAINS(md, "**recovered**");
    H_ASSERT_CONTAINS(md, "Contacts (runbook §12): DBA: dba@example.com");
    H_ASSERT_CONTAINS(md, "- [x] **Document root cause**");
    H_ASSERT_CONTAINS(md, "it caught a real cause (connection\\_leak): keep it");
    H_ASSERT_CONTAINS(md, "sessions waited on locks");
    free(md);
    snprintf(report_path, sizeof(report_path), "%s/incident-%lld.svg", dir, id);
    assert_svg_well_formed(report_path);

    /* The same report as JSON, on stdout. */
    H_RUN(&r, NULL, "incident", "report", ids, "--format", "json", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_int(j, "impact.peak_clients"), 8);
    assert_int_equal(h_json_len(j, "actions"), 2);
    assert_string_equal(h_json_str(j, "incident.root_cause"),
                        "billing-worker leaked connections; checkout held a row lock");
    assert_true(h_json_int(j, "samples") >= 4);
    h_run_free(&r);
    /* And as Markdown on stdout. */
    H_RUN(&r, NULL, "incident", "report", ids, "--format", "markdown", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "## Post-incident checklist");
    H_ASSERT_CONTAINS(r.out, "Not written: `pgmedic incident report ID --output DIR`");
    h_run_free(&r);
    free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_incident_lifecycle_and_errors, cleanup),
        cmocka_unit_test_teardown(test_runs_join_the_open_incident, cleanup),
        cmocka_unit_test_teardown(test_open_incident_when_an_alert_fires, cleanup),
        cmocka_unit_test_teardown(test_escalate_root_cause_unclear, cleanup),
        cmocka_unit_test_teardown(test_escalate_persists_after_fix, cleanup),
        cmocka_unit_test_teardown(test_escalate_corruption_and_page, cleanup),
        cmocka_unit_test_teardown(test_escalate_unresponsive_after_restart, cleanup),
        cmocka_unit_test_teardown(test_report_of_a_full_incident, cleanup),
    };

    return cmocka_run_group_tests_name("incident", tests, group_setup, group_teardown);
}
