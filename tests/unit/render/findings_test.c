/*
 * findings_test.c - triage output: the JSON parses and has the contract's
 * keys, Markdown escapes what tickets would misread, text has colour only
 * when asked and never passes on control characters from the server.
 */
#include <jansson.h>

#include "core/diagnose.h"
#include "core/rules.h"
#include "core/snapshot_json.h"
#include "render/findings.h"
#include "unit.h"

/* Snapshot → alerts → findings, all in arena. */
static void
triage(const char *fixture, Arena *arena, Snapshot *snap, AlertList *alerts, FindingList *list)
{
    Thresholds th = unit_default_thresholds();

    unit_load_snapshot(fixture, arena, snap);
    assert_int_equal(rules_eval(snap, &th, arena, alerts), 0);
    assert_int_equal(diagnose_run(snap, &th, alerts, arena, list), 0);
}

static json_t *
parse(const StrBuf *buf)
{
    json_error_t jerr;
    json_t *root;

    assert_true(strbuf_ok(buf));
    root = json_loads(strbuf_str(buf), JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        fail_msg("invalid JSON: line %d: %s\n%s", jerr.line, jerr.text, strbuf_str(buf));
    return root;
}

static void
assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("expected to find\n  \"%s\"\nin\n%s", needle, haystack);
}

static void
assert_lacks(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        fail_msg("did not expect\n  \"%s\"\nin\n%s", needle, haystack);
}

/* A finding built by hand, with what the renderers must cope with. */
static void
odd_finding(Arena *arena, FindingList *list)
{
    static const int32_t pids[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    static const char *const lines[7] = {"a", "b", "c", "d", "e", "f", "g"};
    FindingBuilder b;

    finding_begin(&b, arena, "connection_leak", NULL, SEV_WARNING, 3.5);
    finding_summary(&b, "app \"x|y*z_w\" leaks \033[31mred\033[0m, bad byte \xff here");
    finding_str(&b, "application", "x|y*z_w <b>&amp;");
    finding_pids(&b, "pids", pids, 12);
    finding_strs(&b, "lines", lines, 7);
    finding_int(&b, "wal_bytes", 3LL * 1024 * 1024 * 1024);
    finding_real(&b, "oldest_idle_s", 7300);
    finding_real(&b, "mean_exec_ms", 45.25);
    finding_bool(&b, "autovacuum_disabled", true);
    finding_int(&b, "seq_tup_read", 1000000000);
    finding_int(&b, "longest_waiter_pid", 123456);
    finding_real(&b, "total_exec_ms", 2250000);
    finding_int(&b, "size_bytes", 50LL * 1024 * 1024);
    finding_int(&b, "tiny_bytes", 100);
    finding_real(&b, "ratio", 0.25);
    finding_pids(&b, "no_pids", pids, 0);
    finding_strs(&b, "no_lines", lines, 0);
    finding_str(&b, "query",
                "SELECT '0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789'");
    finding_advice(
        &b, "pool with `PgBouncer` \xE2\x86\x92 \xF0\x9F\x98\x80, not \xE2\x86 or \xF0\x9F\x98");
    finding_action(&b, "pgmedic fix terminate-idle --application 'a```b' --idle-for 1h");
    assert_int_equal(finding_finish(&b, list), 0);
}

static void
test_render_triage_json_shape(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertList alerts;
    FindingList list;
    StrBuf buf = STRBUF_INIT;
    json_t *root, *f, *ev;

    (void) state;
    triage("diagnose/leak_and_lock.json", arena, &snap, &alerts, &list);
    render_triage_json(&buf, &snap, &alerts, &list);
    root = parse(&buf);
    assert_int_equal(json_integer_value(json_object_get(root, "pgmedic")), 1);
    assert_string_equal(json_string_value(json_object_get(root, "target")), "app@/tmp/sock:5432");
    assert_string_equal(json_string_value(json_object_get(root, "taken_at")),
                        "2026-11-29T15:00:00.000Z");
    assert_true(json_is_true(json_object_get(json_object_get(root, "status"), "reachable")));
    /* alerts: the shape of check --format json. */
    assert_int_equal(json_array_size(json_object_get(root, "alerts")), 2);
    f = json_array_get(json_object_get(root, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "name")), "DatabaseSlowQueries");
    assert_string_equal(json_string_value(json_object_get(f, "severity")), "critical");
    assert_true(json_is_number(json_object_get(f, "value")));
    assert_true(json_is_number(json_object_get(f, "threshold")));
    assert_true(json_is_string(json_object_get(f, "summary")));
    /* findings, ranked. */
    assert_int_equal(json_array_size(json_object_get(root, "findings")), 2);
    f = json_array_get(json_object_get(root, "findings"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "kind")), "lock_contention");
    assert_string_equal(json_string_value(json_object_get(f, "alert")), "DatabaseSlowQueries");
    assert_string_equal(json_string_value(json_object_get(f, "severity")), "critical");
    assert_true(json_number_value(json_object_get(f, "impact")) > 412.9);
    assert_string_equal(json_string_value(json_object_get(f, "summary")),
                        "2 root blockers block 3 sessions, deepest chain 2, longest wait 6min 40s");
    ev = json_object_get(f, "evidence");
    assert_true(json_is_object(ev));
    assert_int_equal(json_array_size(json_object_get(ev, "root_pids")), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(ev, "root_pids"), 0)), 1001);
    assert_int_equal(json_integer_value(json_object_get(ev, "depth")), 2);
    assert_true(json_number_value(json_object_get(ev, "longest_lock_wait_s")) == 400.0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(f, "actions"), 0)),
                        "pgmedic fix terminate-blockers --lock-wait 5s");
    assert_true(json_array_size(json_object_get(f, "advice")) >= 1);
    f = json_array_get(json_object_get(root, "findings"), 1);
    assert_string_equal(json_string_value(json_object_get(f, "kind")), "connection_leak");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(f, "evidence"), "application")), "web");
    assert_string_equal(json_string_value(json_object_get(root, "treat_first")),
                        "pgmedic fix terminate-blockers --lock-wait 5s");
    assert_true(json_is_array(json_object_get(root, "notes")));
    json_decref(root);

    /* A latent finding has "alert": null; a hand-made one keeps valid JSON. */
    strbuf_reset(&buf);
    triage("diagnose/lock_root_idle_in_xact.json", arena, &snap, &alerts, &list);
    odd_finding(arena, &list);
    render_triage_json(&buf, &snap, &alerts, &list);
    root = parse(&buf);
    f = json_array_get(json_object_get(root, "findings"), 1);
    assert_string_equal(json_string_value(json_object_get(f, "kind")), "idle_in_transaction");
    assert_true(json_is_null(json_object_get(f, "alert")));
    f = json_array_get(json_object_get(root, "findings"), 2);
    assert_string_equal(json_string_value(json_object_get(f, "summary")),
                        "app \"x|y*z_w\" leaks \033[31mred\033[0m, bad byte \xEF\xBF\xBD here");
    assert_true(
        json_is_true(json_object_get(json_object_get(f, "evidence"), "autovacuum_disabled")));
    assert_int_equal(json_array_size(json_object_get(json_object_get(f, "evidence"), "pids")), 12);
    json_decref(root);

    /* Unreachable: status says so, no action, treat_first is the restart. */
    strbuf_reset(&buf);
    triage("snapshots/server_down.json", arena, &snap, &alerts, &list);
    render_triage_json(&buf, &snap, &alerts, &list);
    root = parse(&buf);
    assert_true(json_is_false(json_object_get(json_object_get(root, "status"), "reachable")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(root, "status"), "failure")),
        "server_down");
    f = json_array_get(json_object_get(root, "findings"), 0);
    assert_string_equal(json_string_value(json_object_get(f, "kind")), "server_down");
    assert_string_equal(json_string_value(json_object_get(root, "treat_first")),
                        "pgmedic fix restart");
    json_decref(root);

    /* Nothing found: empty findings, treat_first null. */
    strbuf_reset(&buf);
    triage("snapshots/healthy.json", arena, &snap, &alerts, &list);
    render_triage_json(&buf, &snap, &alerts, &list);
    root = parse(&buf);
    assert_int_equal(json_array_size(json_object_get(root, "findings")), 0);
    assert_int_equal(json_array_size(json_object_get(root, "alerts")), 0);
    assert_true(json_is_null(json_object_get(root, "treat_first")));
    json_decref(root);
    strbuf_free(&buf);
    arena_free(arena);
}

static void
test_render_json_alerts_alone(void **state)
{
    Alert fired[1] = {{"DatabaseHighConnections", SEV_WARNING, 0.85, 0.8, "17 of 20"}};
    AlertList alerts = {fired, 1};
    StrBuf buf = STRBUF_INIT;
    JsonW w;
    json_t *root, *a;

    (void) state;
    jsonw_init(&w, &buf, false);
    jsonw_object_begin(&w);
    render_json_alerts(&w, &alerts);
    jsonw_object_end(&w);
    root = parse(&buf);
    a = json_array_get(json_object_get(root, "alerts"), 0);
    assert_string_equal(json_string_value(json_object_get(a, "name")), "DatabaseHighConnections");
    assert_string_equal(json_string_value(json_object_get(a, "severity")), "warning");
    assert_true(json_real_value(json_object_get(a, "value")) == 0.85);
    assert_true(json_real_value(json_object_get(a, "threshold")) == 0.8);
    assert_string_equal(json_string_value(json_object_get(a, "summary")), "17 of 20");
    json_decref(root);
    strbuf_free(&buf);
}

static void
test_render_triage_markdown_escapes(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertList alerts;
    FindingList list;
    StrBuf buf = STRBUF_INIT;
    Alert fired[1] = {{"DatabaseHighConnections", SEV_CRITICAL, 1, 0.9, "a | b *c* <x>"}};
    const char *note[1] = {"_private_ | not a table"};
    const char *md;

    (void) state;
    triage("diagnose/leak_and_lock.json", arena, &snap, &alerts, &list);
    alerts.alerts = fired;
    alerts.n_alerts = 1;
    odd_finding(arena, &list);
    render_triage_markdown(&buf, &snap, &alerts, &list);
    assert_true(strbuf_ok(&buf));
    md = strbuf_str(&buf);
    assert_contains(md, "# Triage of app@/tmp/sock:5432\n");
    assert_contains(md, "| Alert | Severity | Summary |\n|---|---|---|\n");
    assert_contains(md, "| DatabaseHighConnections | critical | a \\| b \\*c\\* \\<x\\> |\n");
    assert_lacks(md, "a | b");
    assert_contains(md, "### 1. lock\\_contention (critical, explains DatabaseSlowQueries)\n");
    assert_contains(md, "- root\\_pids: 1001, 1010\n");
    assert_contains(md, "```sh\npgmedic fix terminate-blockers --lock-wait 5s\n```\n");
    /* The hand-made finding: escaped, controls gone, a fence longer than its backticks. */
    assert_contains(md, "### 3. connection\\_leak (warning, latent)\n");
    assert_contains(md,
                    "**Summary:** app \"x\\|y\\*z\\_w\" leaks  \\[31mred \\[0m, bad byte ? here");
    assert_contains(md, "- application: x\\|y\\*z\\_w \\<b\\>\\&amp;\n");
    assert_contains(md, "- lines:\n  - a\n  - b\n");
    assert_contains(md,
                    "- pool with \\`PgBouncer\\` \xE2\x86\x92 \xF0\x9F\x98\x80, not ?? or ???\n");
    assert_contains(md, "- no\\_pids: none\n- no\\_lines: none\n");
    assert_contains(md, "````sh\npgmedic fix terminate-idle --application 'a```b' --idle-for 1h\n"
                        "````\n");
    assert_lacks(md, "\033");
    assert_contains(md, "## Treat first\n\n```sh\npgmedic fix terminate-blockers --lock-wait 5s\n");
    strbuf_free(&buf);

    /* Unreachable, with notes. */
    strbuf_reset(&buf);
    triage("snapshots/server_down.json", arena, &snap, &alerts, &list);
    snap.notes = note;
    snap.n_notes = 1;
    render_triage_markdown(&buf, &snap, &alerts, &list);
    assert_contains(strbuf_str(&buf),
                    "Unreachable (server_down), taken 2026-11-29T15:00:00.000Z\n");
    assert_contains(strbuf_str(&buf), "## Notes\n\n- \\_private\\_ \\| not a table\n");
    strbuf_reset(&buf);

    /* No alert, no finding. */
    triage("snapshots/healthy.json", arena, &snap, &alerts, &list);
    render_triage_markdown(&buf, &snap, &alerts, &list);
    assert_contains(strbuf_str(&buf), "No alert is firing.");
    assert_contains(strbuf_str(&buf), "No cause found: nothing to treat.");
    assert_lacks(strbuf_str(&buf), "Treat first");
    strbuf_free(&buf);
    arena_free(arena);
}

static void
test_render_triage_text(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    TextStyle plain = {false}, color = {true};
    const char *note[1] = {"GRANT pg_monitor TO pgmedic to see other roles' queries\n"};
    Snapshot snap;
    AlertList alerts;
    FindingList list;
    StrBuf buf = STRBUF_INIT;
    const char *text;

    (void) state;
    triage("diagnose/leak_and_lock.json", arena, &snap, &alerts, &list);
    odd_finding(arena, &list);
    render_triage_text(&buf, &snap, &alerts, &list, &th, &plain);
    assert_true(strbuf_ok(&buf));
    text = strbuf_str(&buf);
    assert_lacks(text, "\033");
    assert_contains(text, "app@/tmp/sock:5432  PostgreSQL 15.18, taken 2026-11-29T15:00:00.000Z, "
                          "connections 17/20 usable (85%; warning 80%, critical 90%)\n");
    assert_contains(text, "\nCRITICAL  DatabaseSlowQueries: the oldest active query");
    assert_contains(text, "\n1. CRITICAL  lock_contention (explains DatabaseSlowQueries)\n"
                          "   2 root blockers block 3 sessions, deepest chain 2, longest wait "
                          "6min 40s\n"
                          "      root_pids: 1001, 1010\n");
    assert_contains(text, "      longest_lock_wait_s: 6min 40s\n");
    assert_contains(text, "   $ pgmedic fix terminate-blockers --lock-wait 5s\n");
    assert_contains(text, "\n2. WARNING   connection_leak (explains DatabaseHighConnections)\n");
    /* The hand-made finding: latent, lists cut, units, controls gone. */
    assert_contains(text, "\n3. WARNING   connection_leak (latent: no alert yet)\n");
    assert_contains(text, "   app \"x|y*z_w\" leaks  [31mred [0m, bad byte ? here\n");
    assert_contains(text, "      pids: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 2 more\n");
    assert_contains(text, "      lines:\n        - a\n        - b\n        - c\n        - d\n"
                          "        - e\n        and 2 more\n");
    assert_contains(text, "      wal_bytes: 3.0 GiB\n");
    assert_contains(text, "      oldest_idle_s: 2h 01min\n");
    assert_contains(text, "      mean_exec_ms: 45.2 ms\n");
    assert_contains(text, "      autovacuum_disabled: yes\n");
    assert_contains(text, "      seq_tup_read: 1,000,000,000\n");
    assert_contains(text, "      longest_waiter_pid: 123456\n");
    assert_contains(text, "      total_exec_ms: 37min 30s\n");
    assert_contains(
        text, "   advice: pool with `PgBouncer` \xE2\x86\x92 \xF0\x9F\x98\x80, not ?? or ???\n");
    assert_contains(text,
                    "      size_bytes: 50.0 MiB\n      tiny_bytes: 100 bytes\n      ratio: 0.25\n"
                    "      no_pids: none\n      no_lines: none\n");
    /* Long values are cut in text (not in JSON), ending in "...". */
    assert_contains(text, "      query: SELECT '0123456789");
    assert_contains(text, "5678901234567890123456789012345678901...\n");
    /* Ends with the first command. */
    assert_true(strlen(text) > 60);
    assert_string_equal(
        text + strlen(text) -
            strlen("\ntreat first: pgmedic fix terminate-blockers --lock-wait 5s\n"),
        "\ntreat first: pgmedic fix terminate-blockers --lock-wait 5s\n");

    /* With colour: escape codes, but still none from the server's text. */
    strbuf_reset(&buf);
    render_triage_text(&buf, &snap, &alerts, &list, &th, &color);
    text = strbuf_str(&buf);
    assert_contains(text, "\033[1;31mCRITICAL\033[0m");
    assert_lacks(text, "\033[31mred");

    /* Through a reserved slot, with notes. */
    strbuf_reset(&buf);
    triage("diagnose/full_and_leaking.json", arena, &snap, &alerts, &list);
    snap.notes = note;
    snap.n_notes = 1;
    render_triage_text(&buf, &snap, &alerts, &list, &th, &plain);
    assert_contains(strbuf_str(&buf), "connections 20/20 usable (100%; warning 80%, critical 90%), "
                                      "through a reserved slot\n");
    assert_contains(strbuf_str(&buf), "\nnote: GRANT pg_monitor TO pgmedic to see other roles' "
                                      "queries \n");

    /* Unreachable, and a healthy server. */
    strbuf_reset(&buf);
    triage("snapshots/server_down.json", arena, &snap, &alerts, &list);
    render_triage_text(&buf, &snap, &alerts, &list, &th, &plain);
    assert_contains(strbuf_str(&buf), "app@/tmp/sock:5432  unreachable (server_down), taken "
                                      "2026-11-29T15:00:00.000Z\n");
    assert_contains(strbuf_str(&buf), "treat first: pgmedic fix restart\n");
    strbuf_reset(&buf);
    triage("snapshots/healthy.json", arena, &snap, &alerts, &list);
    render_triage_text(&buf, &snap, &alerts, &list, &th, &plain);
    assert_contains(strbuf_str(&buf), "OK        no alert firing\n");
    assert_contains(strbuf_str(&buf), "no cause found: nothing to treat\n");
    assert_lacks(strbuf_str(&buf), "treat first");
    assert_null(render_treat_first(&list));
    strbuf_free(&buf);
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_triage_json_shape),
        cmocka_unit_test(test_render_json_alerts_alone),
        cmocka_unit_test(test_render_triage_markdown_escapes),
        cmocka_unit_test(test_render_triage_text),
    };

    return cmocka_run_group_tests_name("render/findings", tests, NULL, NULL);
}
