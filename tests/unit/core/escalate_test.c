/*
 * escalate_test.c - the runbook's four reasons to escalate (§11), table-driven:
 * each rule firing in the case it is about, and not firing in the cases next
 * to it (inside the wait, a server that answers, another alert, an explained
 * alert, a rule already escalated).
 */
#include "core/escalate.h"
#include "unit.h"

#define NOW    1800000000.0
#define MIN_MS (60LL * 1000)

/* -1 in a policy field: the default ([escalation] in conf.c). */
typedef struct
{
    const char *name;
    ConnFailure failure;
    int64_t checksum_failures;
    const char *log_line;    /* one server log line, NULL for none */
    const char *alerts[3];   /* firing now: "Name" (severity warning) */
    bool diagnosed;          /* this run has findings (triage) */
    const char *findings[3]; /* "kind:Alert" or "kind" (latent) */
    double open_for_s;       /* how long the incident has been open */
    const char *incident_alert;
    double restart_ago_s; /* 0: no restart; negative: after the snapshot */
    double fix_ago_s;     /* 0: no fix */
    const char *before_fix[3];
    const char *unexplained[3]; /* left unexplained by the latest triage on the timeline */
    unsigned escalated;
    int64_t escalate_after_ms, restart_wait_ms, verify_window_ms;
    unsigned expect; /* bit per rule */
    const char *reason;
} Case;

#define BIT(r)  (1u << (r))
#define RESTART BIT(ESCALATE_UNRESPONSIVE_AFTER_RESTART)
#define CORRUPT BIT(ESCALATE_CORRUPTION)
#define PERSIST BIT(ESCALATE_PERSISTS_AFTER_FIX)
#define UNCLEAR BIT(ESCALATE_ROOT_CAUSE_UNCLEAR)
#define DEF     -1, -1, -1

/* clang-format off */
static const Case cases[] = {
    /* 1. unresponsive after restart */
    {"down 130s after a restart, wait 2min", CONN_SERVER_DOWN, 0, NULL, {"DatabaseConnectionFailure"},
     false, {NULL}, 600, NULL, 130, 130, {NULL}, {NULL}, 0, DEF, RESTART,
     "still not accepting connections (server_down: refused) 2min 10s after pgmedic fix restart "
     "(restart_wait 2min)"},
    {"hung 130s after a restart", CONN_TIMEOUT, 0, NULL, {"DatabaseConnectionFailure"}, false,
     {NULL}, 600, NULL, 130, 130, {NULL}, {NULL}, 0, DEF, RESTART, "timeout"},
    {"still starting up after the wait", CONN_STARTING_UP, 0, NULL, {"DatabaseConnectionFailure"},
     false, {NULL}, 600, NULL, 130, 130, {NULL}, {NULL}, 0, DEF, RESTART, "starting_up"},
    {"down, but inside restart_wait", CONN_SERVER_DOWN, 0, NULL, {"DatabaseConnectionFailure"},
     false, {NULL}, 600, NULL, 60, 60, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"down, restart_wait lowered to 0", CONN_SERVER_DOWN, 0, NULL, {"DatabaseConnectionFailure"},
     false, {NULL}, 600, NULL, 0.5, 0.5, {NULL}, {NULL}, 0, -1, 0, -1, RESTART, "restart_wait 0"},
    {"back up after the restart", CONN_OK, 0, NULL, {NULL}, false, {NULL}, 600, NULL, 130, 130,
     {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"answers with a bad password after the restart", CONN_AUTH_FAILURE, 0, NULL,
     {"DatabaseConnectionFailure"}, false, {NULL}, 600, NULL, 130, 130, {NULL}, {NULL}, 0, DEF,
     0, NULL},
    {"full of clients after the restart", CONN_TOO_MANY_CLIENTS, 0, NULL,
     {"DatabaseConnectionFailure"}, false, {NULL}, 600, NULL, 130, 130, {NULL}, {NULL}, 0, DEF,
     0, NULL},
    {"down, never restarted", CONN_SERVER_DOWN, 0, NULL, {"DatabaseConnectionFailure"}, false,
     {NULL}, 600, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"the snapshot was taken before the restart", CONN_SERVER_DOWN, 0, NULL,
     {"DatabaseConnectionFailure"}, false, {NULL}, 600, NULL, -2, -2, {NULL}, {NULL}, 0, -1, 0,
     -1, 0, NULL},
    {"already escalated", CONN_SERVER_DOWN, 0, NULL, {"DatabaseConnectionFailure"}, false, {NULL},
     600, NULL, 130, 130, {NULL}, {NULL}, RESTART, DEF, 0, NULL},

    /* 2. corruption */
    {"checksum failures counted", CONN_OK, 3, NULL, {NULL}, false, {NULL}, 10, NULL, 0, 0, {NULL},
     {NULL}, 0, DEF, CORRUPT, "pg_stat_database counts 3 data checksum failures"},
    {"one checksum failure", CONN_OK, 1, NULL, {NULL}, false, {NULL}, 10, NULL, 0, 0, {NULL},
     {NULL}, 0, DEF, CORRUPT, "counts 1 data checksum failure"},
    {"invalid page in the log", CONN_OK, 0,
     "2026-11-29 16:00:00 UTC [123] ERROR:  invalid page in block 1 of relation base/5/16384",
     {NULL}, false, {NULL}, 10, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, CORRUPT,
     "says: 2026-11-29 16:00:00 UTC [123] ERROR:  invalid page in block 1 of relation "
     "base/5/16384"},
    {"could not read block in the log, server down", CONN_SERVER_DOWN, 0,
     "PANIC:  could not read block 7 in file \"base/5/16384\": read only 0 of 8192 bytes",
     {"DatabaseConnectionFailure"}, false, {NULL}, 10, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, CORRUPT,
     "could not read block 7"},
    {"checksum verification failed in the log", CONN_OK, 0,
     "WARNING:  page verification failed, calculated checksum 1 but expected 2; "
     "checksum verification failed",
     {NULL}, false, {NULL}, 10, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, CORRUPT, "checksum"},
    {"an ordinary FATAL line", CONN_OK, 0,
     "FATAL:  password authentication failed for user \"app\"", {NULL}, false, {NULL}, 10, NULL, 0,
     0, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"corruption already escalated", CONN_OK, 2, NULL, {NULL}, false, {NULL}, 10, NULL, 0, 0,
     {NULL}, {NULL}, CORRUPT, DEF, 0, NULL},

    /* 3. persists after a fix */
    {"the incident's alert 6min after a fix", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, false,
     {NULL}, 900, "DatabaseHighConnections", 0, 360, {NULL}, {NULL}, 0, DEF, PERSIST,
     "DatabaseHighConnections still fires (85%, threshold 80%) 6min 00s after the last "
     "remediation (verify_window 5min)"},
    {"an alert seen before the fix, no incident alert", CONN_OK, 0, NULL, {"DatabaseSlowQueries"},
     false, {NULL}, 900, NULL, 0, 360, {"DatabaseSlowQueries"}, {NULL}, 0, DEF, PERSIST,
     "DatabaseSlowQueries still fires (10.0s, threshold 5.0s)"},
    {"inside the verify window", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, false, {NULL}, 900,
     "DatabaseHighConnections", 0, 120, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"a new alert, not the one fixed", CONN_OK, 0, NULL, {"DatabaseSlowQueries"}, false, {NULL},
     900, "DatabaseHighConnections", 0, 360, {"DatabaseHighConnections"}, {NULL}, 0, DEF, 0, NULL},
    {"recovered after the fix", CONN_OK, 0, NULL, {NULL}, false, {NULL}, 900,
     "DatabaseHighConnections", 0, 360, {"DatabaseHighConnections"}, {NULL}, 0, DEF, 0, NULL},
    {"firing, but nothing was fixed", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, false, {NULL},
     900, "DatabaseHighConnections", 0, 0, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"verify_window lowered", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, false, {NULL}, 900,
     "DatabaseHighConnections", 0, 2, {NULL}, {NULL}, 0, -1, -1, 1000, PERSIST,
     "verify_window 1s"},

    /* 4. root cause unclear */
    {"unexplained for 2h", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, true,
     {"unexplained:DatabaseHighConnections"}, 7200, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, UNCLEAR,
     "no finding explains DatabaseHighConnections and the incident has been open for 2h 00min "
     "(escalate_after 1h)"},
    {"unexplained for 30min", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, true,
     {"unexplained:DatabaseHighConnections"}, 1800, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"explained (a leak) for 2h", CONN_OK, 0, NULL, {"DatabaseHighConnections"}, true,
     {"connection_leak:DatabaseHighConnections", "missing_index"}, 7200, NULL, 0, 0, {NULL},
     {NULL}, 0, DEF, 0, NULL},
    {"another alert unexplained", CONN_OK, 0, NULL, {"DatabaseHighConnections", "DatabaseSlowQueries"},
     true, {"connection_leak:DatabaseHighConnections", "unexplained:DatabaseSlowQueries"}, 7200,
     NULL, 0, 0, {NULL}, {NULL}, 0, DEF, UNCLEAR, "no finding explains DatabaseSlowQueries"},
    {"escalate_after lowered to 1s", CONN_OK, 0, NULL, {"DatabaseSlowQueries"}, true,
     {"unexplained:DatabaseSlowQueries"}, 2, NULL, 0, 0, {NULL}, {NULL}, 0, 1000, -1, -1, UNCLEAR,
     "(escalate_after 1s)"},
    {"a check after an unexplained triage", CONN_OK, 0, NULL, {"DatabaseSlowQueries"}, false,
     {NULL}, 7200, NULL, 0, 0, {NULL}, {"DatabaseSlowQueries"}, 0, DEF, UNCLEAR,
     "no finding explains DatabaseSlowQueries"},
    {"a check, the last triage explained it", CONN_OK, 0, NULL, {"DatabaseSlowQueries"}, false,
     {NULL}, 7200, NULL, 0, 0, {NULL}, {NULL}, 0, DEF, 0, NULL},
    {"unexplained alert no longer firing", CONN_OK, 0, NULL, {NULL}, false, {NULL}, 7200, NULL, 0,
     0, {NULL}, {"DatabaseSlowQueries"}, 0, DEF, 0, NULL},

    /* several at once, in rule order */
    {"corruption and persisting", CONN_OK, 5, NULL, {"DatabaseHighConnections"}, false, {NULL},
     900, "DatabaseHighConnections", 0, 400, {NULL}, {NULL}, 0, DEF, CORRUPT | PERSIST, NULL},
    {"a healthy run", CONN_OK, 0, NULL, {NULL}, true, {NULL}, 7200, "DatabaseHighConnections", 0,
     0, {NULL}, {NULL}, 0, DEF, 0, NULL},
};

/* clang-format on */

static size_t
count(const char *const *list, size_t max)
{
    size_t n = 0;

    while (n < max && list[n] != NULL)
        n++;
    return n;
}

static void
run_case(const Case *c)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertList alerts;
    FindingList findings = {NULL, 0};
    Alert alert_items[3];
    Finding finding_items[3];
    EscalateHistory h;
    EscalatePolicy p = {60 * MIN_MS, 2 * MIN_MS, 5 * MIN_MS};
    EscalateList out;
    const char *log_lines[1];
    char kinds[3][64];
    size_t i;
    unsigned got = 0;

    assert_non_null(arena);
    memset(&snap, 0, sizeof(snap));
    snap.target = "postgres@/tmp:5432";
    snap.taken_at = NOW;
    snap.failure = c->failure;
    snap.failure_message = c->failure == CONN_OK ? NULL : "refused";
    snap.checksum_failures = c->checksum_failures;
    if (c->log_line != NULL)
    {
        log_lines[0] = c->log_line;
        snap.host.available = true;
        snap.host.log_file = "/var/log/postgresql/postgresql-15-main.log";
        snap.host.log_lines = log_lines;
        snap.host.n_log_lines = 1;
    }
    memset(alert_items, 0, sizeof(alert_items));
    alerts.alerts = alert_items;
    alerts.n_alerts = count(c->alerts, 3);
    for (i = 0; i < alerts.n_alerts; i++)
    {
        alert_items[i].name = c->alerts[i];
        alert_items[i].severity = SEV_WARNING;
        alert_items[i].value = strcmp(c->alerts[i], "DatabaseHighConnections") == 0 ? 0.85 : 10.0;
        alert_items[i].threshold =
            strcmp(c->alerts[i], "DatabaseHighConnections") == 0 ? 0.80 : 5.0;
    }
    memset(finding_items, 0, sizeof(finding_items));
    findings.findings = finding_items;
    findings.n_findings = count(c->findings, 3);
    for (i = 0; i < findings.n_findings; i++)
    {
        const char *colon = strchr(c->findings[i], ':');

        snprintf(kinds[i], sizeof(kinds[i]), "%.*s",
                 (int) (colon ? (size_t) (colon - c->findings[i]) : strlen(c->findings[i])),
                 c->findings[i]);
        finding_items[i].kind = kinds[i];
        finding_items[i].alert = colon ? colon + 1 : NULL;
    }
    memset(&h, 0, sizeof(h));
    h.opened_at = NOW - c->open_for_s;
    h.alert = c->incident_alert;
    h.last_restart_at = c->restart_ago_s != 0 ? NOW - c->restart_ago_s : 0;
    h.last_fix_at = c->fix_ago_s != 0 ? NOW - c->fix_ago_s : 0;
    h.alerts_before_fix = c->before_fix;
    h.n_alerts_before_fix = count(c->before_fix, 3);
    h.unexplained = c->unexplained;
    h.n_unexplained = count(c->unexplained, 3);
    h.escalated = c->escalated;
    if (c->escalate_after_ms >= 0)
        p.escalate_after_ms = c->escalate_after_ms;
    if (c->restart_wait_ms >= 0)
        p.restart_wait_ms = c->restart_wait_ms;
    if (c->verify_window_ms >= 0)
        p.verify_window_ms = c->verify_window_ms;

    assert_int_equal(
        escalate_eval(&snap, &alerts, c->diagnosed ? &findings : NULL, &h, &p, arena, &out), 0);
    for (i = 0; i < out.n_items; i++)
    {
        got |= 1u << out.items[i].rule;
        assert_string_equal(out.items[i].name, escalate_rule_name(out.items[i].rule));
        assert_non_null(out.items[i].reason);
        if (i > 0)
            assert_true(out.items[i].rule > out.items[i - 1].rule);
    }
    if (got != c->expect)
        fail_msg("case \"%s\": rules 0x%x fired, expected 0x%x (first reason: %s)", c->name, got,
                 c->expect, out.n_items ? out.items[0].reason : "none");
    if (c->reason != NULL && (out.n_items == 0 || strstr(out.items[0].reason, c->reason) == NULL))
        fail_msg("case \"%s\": reason \"%s\" does not contain \"%s\"", c->name,
                 out.n_items ? out.items[0].reason : "(none)", c->reason);
    arena_free(arena);
}

static void
test_escalate_eval_table(void **state)
{
    size_t i;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(cases); i++)
        run_case(&cases[i]);
}

static void
test_escalate_rule_names_round_trip(void **state)
{
    int r;

    (void) state;
    for (r = 0; r < ESCALATE_N_RULES; r++)
    {
        assert_int_equal(escalate_rule_from_name(escalate_rule_name((EscalateRule) r)), r);
        assert_true(strlen(escalate_rule_runbook((EscalateRule) r)) > 10);
    }
    assert_string_equal(escalate_rule_name(ESCALATE_CORRUPTION), "corruption");
    assert_string_equal(escalate_rule_runbook(ESCALATE_ROOT_CAUSE_UNCLEAR),
                        "Root cause is unclear after 1 hour");
    assert_int_equal(escalate_rule_from_name("nope"), -1);
    assert_int_equal(escalate_rule_from_name(NULL), -1);
    assert_string_equal(escalate_rule_name(ESCALATE_N_RULES), "?");
}

static void
test_escalate_is_corruption_line(void **state)
{
    (void) state;
    assert_true(escalate_is_corruption_line("ERROR:  invalid page in block 1 of relation x"));
    assert_true(escalate_is_corruption_line("could not read block 3 in file \"base/1/2\""));
    assert_true(escalate_is_corruption_line("checksum verification failed"));
    assert_false(escalate_is_corruption_line("FATAL:  the database system is starting up"));
    assert_false(escalate_is_corruption_line(""));
    assert_false(escalate_is_corruption_line(NULL));
}

/* The newest corruption line is quoted when several are in the log. */
static void
test_escalate_quotes_newest_line(void **state)
{
    Arena *arena = arena_new();
    const char *lines[] = {"ERROR:  invalid page in block 1 of relation base/5/1",
                           "FATAL:  terminating connection",
                           "ERROR:  invalid page in block 9 of relation base/5/2"};
    Snapshot snap;
    AlertList alerts = {NULL, 0};
    EscalateHistory h;
    EscalatePolicy p = {3600000, 120000, 300000};
    EscalateList out;

    (void) state;
    assert_non_null(arena);
    memset(&snap, 0, sizeof(snap));
    memset(&h, 0, sizeof(h));
    snap.taken_at = NOW;
    snap.host.available = true;
    snap.host.log_lines = lines;
    snap.host.n_log_lines = 3;
    h.opened_at = NOW - 5;
    assert_int_equal(escalate_eval(&snap, &alerts, NULL, &h, &p, arena, &out), 0);
    assert_int_equal(out.n_items, 1);
    assert_non_null(strstr(out.items[0].reason, "block 9"));
    assert_non_null(strstr(out.items[0].reason, "server log (?)"));
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escalate_eval_table),
        cmocka_unit_test(test_escalate_rule_names_round_trip),
        cmocka_unit_test(test_escalate_is_corruption_line),
        cmocka_unit_test(test_escalate_quotes_newest_line),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
