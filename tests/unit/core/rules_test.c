/*
 * rules_test.c - the three alerts on snapshot fixtures, table-driven:
 * fixture → expected alerts (name and severity, in order) and exit status.
 */
#include "core/rules.h"
#include "core/snapshot_json.h"
#include "unit.h"

typedef struct
{
    const char *fixture;
    const char *set; /* a threshold to change first, "" for none */
    Severity worst;
    const char *alerts[3]; /* "Name:severity" in order */
} RuleCase;

static const RuleCase cases[] = {
    {"healthy.json", "", SEV_OK, {NULL}},
    {"connections_85.json", "", SEV_WARNING, {"DatabaseHighConnections:warning"}},
    {"connections_95.json", "", SEV_CRITICAL, {"DatabaseHighConnections:critical"}},
    /* Exactly at the threshold fires: 16/20 = 80 %. */
    {"connections_80_exact.json", "", SEV_WARNING, {"DatabaseHighConnections:warning"}},
    {"connections_95.json", "connections_critical", SEV_WARNING,
     {"DatabaseHighConnections:warning"}},
    {"slow_warning.json", "", SEV_WARNING, {"DatabaseSlowQueries:warning"}},
    {"slow_critical.json", "", SEV_CRITICAL, {"DatabaseSlowQueries:critical"}},
    {"slow_lock_waiter.json", "", SEV_WARNING, {"DatabaseSlowQueries:warning"}},
    {"full_and_slow.json", "", SEV_CRITICAL,
     {"DatabaseHighConnections:critical", "DatabaseSlowQueries:critical"}},
    {"server_down.json", "", SEV_CRITICAL, {"DatabaseConnectionFailure:critical"}},
    {"too_many_clients.json", "", SEV_CRITICAL, {"DatabaseConnectionFailure:critical"}},
};

static void
load(const char *fixture, Arena *arena, Snapshot *snap)
{
    char path[64];

    snprintf(path, sizeof(path), "snapshots/%s", fixture);
    unit_load_snapshot(path, arena, snap);
}

static void
test_rules_eval_table(void **state)
{
    size_t i, j;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        const RuleCase *c = &cases[i];
        Arena *arena = arena_new();
        Thresholds th = unit_default_thresholds();
        Snapshot snap;
        AlertList alerts;
        size_t expected = 0;

        assert_non_null(arena);
        if (strcmp(c->set, "connections_critical") == 0)
            th.connections_critical = 0.99;
        load(c->fixture, arena, &snap);
        assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
        while (expected < 3 && c->alerts[expected] != NULL)
            expected++;
        if (alerts.n_alerts != expected)
            fail_msg("%s: %zu alerts, expected %zu", c->fixture, alerts.n_alerts, expected);
        for (j = 0; j < expected; j++)
        {
            char got[128];

            snprintf(got, sizeof(got), "%s:%s", alerts.alerts[j].name,
                     rules_severity_name(alerts.alerts[j].severity));
            if (strcmp(got, c->alerts[j]) != 0)
                fail_msg("%s: alert %zu is %s, expected %s", c->fixture, j, got, c->alerts[j]);
            assert_non_null(alerts.alerts[j].summary);
        }
        if (rules_worst(&alerts) != c->worst)
            fail_msg("%s: worst %d, expected %d", c->fixture, rules_worst(&alerts), c->worst);
        arena_free(arena);
    }
}

static void
test_rules_eval_values_and_summaries(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    AlertList alerts;

    (void) state;
    load("connections_85.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_true(alerts.alerts[0].value > 0.849 && alerts.alerts[0].value < 0.851);
    assert_true(alerts.alerts[0].threshold > 0.799 && alerts.alerts[0].threshold < 0.801);
    assert_string_equal(alerts.alerts[0].summary,
                        "17 of 20 usable connection slots in use (85%): 2 active, 15 idle, "
                        "0 idle in transaction");

    load("slow_lock_waiter.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_string_equal(alerts.alerts[0].summary,
                        "the oldest active query has run for 12.0s (pid 4244, application "
                        "\"api\", waiting on a lock)");

    load("server_down.json", arena, &snap);
    assert_int_equal(rules_eval(&snap, &th, arena, &alerts), 0);
    assert_string_equal(alerts.alerts[0].summary,
                        "cannot reach app@/tmp/sock:5432: server_down (Connection refused)");
    arena_free(arena);
}

static void
test_snapshot_usable_slots(void **state)
{
    Snapshot snap;

    (void) state;
    memset(&snap, 0, sizeof(snap));
    snap.max_connections = 100;
    snap.superuser_reserved = 3;
    snap.reserved = 2;
    assert_int_equal(snapshot_usable_slots(&snap), 95);
    snap.max_connections = 2;
    assert_int_equal(snapshot_usable_slots(&snap), 0);
    assert_true(snapshot_state_is_idle_in_xact("idle in transaction (aborted)"));
    assert_true(snapshot_state_is_idle_in_xact("idle in transaction"));
    assert_false(snapshot_state_is_idle_in_xact("idle"));
    assert_false(snapshot_state_is_idle_in_xact(NULL));
    assert_string_equal(snapshot_failure_name(CONN_TOO_MANY_CLIENTS), "too_many_clients");
    assert_int_equal(snapshot_failure_from_name("timeout"), CONN_TIMEOUT);
    assert_int_equal(snapshot_failure_from_name("bogus"), -1);
    assert_string_equal(snapshot_failure_name(CONN_CONNECTION_LIMIT), "connection_limit");
    /* Superusers' sessions: only for a superuser pgmedic, never through reserved_conninfo. */
    snap.is_superuser = false;
    assert_false(snapshot_may_signal_superuser(&snap));
    snap.is_superuser = true;
    assert_true(snapshot_may_signal_superuser(&snap));
    snap.via_reserved_slot = true;
    assert_false(snapshot_may_signal_superuser(&snap));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_eval_table),
        cmocka_unit_test(test_rules_eval_values_and_summaries),
        cmocka_unit_test(test_snapshot_usable_slots),
    };

    return cmocka_run_group_tests_name("core/rules", tests, NULL, NULL);
}
