/*
 * sessions_test.c - sessions worth a look: a slow query (DatabaseSlowQueries
 * with lowered thresholds, from --set and from a config file), idle in
 * transaction (plain and aborted), a 3-session lock chain, an active blocker,
 * and replaying a saved snapshot with --from.  One cluster for all; every
 * test's sessions are ended in its teardown.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

static const char *const dead_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", "PGPORT=55399",
                                       NULL};

static int
group_setup(void **state)
{
    (void)state;
    return h_cluster_start(&cl, NULL);
}

static int
group_teardown(void **state)
{
    (void)state;
    h_cluster_stop(&cl);
    return 0;
}

static int
close_sessions(void **state)
{
    (void)state;
    return h_sessions_close(&cl);
}

/* Waits until pid's current query has run longer than seconds. */
static void
wait_query_age(int pid, double seconds)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND state = 'active' "
             "AND clock_timestamp() - query_start > interval '%.3f s'",
             pid, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

/* The session of pid in a snapshot, asserted present. */
static json_t *
session_of(HRun *r, int pid)
{
    json_t *s = h_json_find_int(H_JSON(r), "sessions", "pid", pid);

    if (s == NULL)
    {
        fprintf(stderr, "harness: no session with pid %d\n", pid);
        h_run_dump(r, "session missing");
    }
    assert_non_null(s);
    return s;
}

static void
assert_blocked_by(json_t *s, const int *pids, size_t n)
{
    long long got[8];
    long len = h_json_ints(s, "blocked_by", got, 8);

    if (len != (long)n)
    {
        char *dump = json_dumps(s, JSON_INDENT(2));

        fprintf(stderr, "harness: blocked_by has %ld entries, want %zu in:\n%s\n", len, n,
                dump ? dump : "?");
        free(dump);
    }
    assert_int_equal(len, (long)n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], pids[i]);
}

/* ------------------------------------------------------------ slow queries */

static void
test_slow_query_warning_then_critical(void **state)
{
    HRun r;
    json_t *a;
    PGconn *slow;
    int pid;
    char *conf;

    (void)state;
    slow = h_session_send(&cl, "slowpoke", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    pid = PQbackendPID(slow);
    wait_query_age(pid, 1.1);

    /* Default thresholds (5 s): nothing yet. */
    H_RUN(&r, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 0);
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "json", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 1);
    a = h_assert_alert(&r, "DatabaseSlowQueries", "warning");
    assert_true(h_json_num(a, "value") >= 1.1);
    assert_true(h_json_num(a, "value") < 30);
    H_ASSERT_NEAR(h_json_num(a, "threshold"), 1.0, 1e-9);
    assert_true(strlen(h_json_str(a, "summary")) > 0);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "nagios", "--set", "thresholds.slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    h_assert_first_line(&r, "PGMEDIC WARNING");
    H_ASSERT_CONTAINS(r.out, "DatabaseSlowQueries");
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "text", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "DatabaseSlowQueries");
    h_run_free(&r);

    /* The same threshold from a config file; the command line wins over it. */
    conf = h_write_tmpfile("pgmedic-conf", "[thresholds]\nslow_query_warning = 1s\n");
    assert_non_null(conf);
    H_RUN(&r, &cl, "check", "-c", conf, "--format", "json");
    H_ASSERT_EXIT(&r, 1);
    h_assert_alert(&r, "DatabaseSlowQueries", "warning");
    h_run_free(&r);
    H_RUN(&r, &cl, "check", "-c", conf, "--set", "slow_query_warning=1h", "--set",
          "slow_query_critical=2h", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    free(conf);

    wait_query_age(pid, 2.1);
    H_RUN(&r, &cl, "check", "--format", "json", "--set", "slow_query_warning=1s", "--set",
          "slow_query_critical=2s");
    H_ASSERT_EXIT(&r, 2);
    a = h_assert_alert(&r, "DatabaseSlowQueries", "critical");
    assert_true(h_json_num(a, "value") >= 2.1);
    H_ASSERT_NEAR(h_json_num(a, "threshold"), 2.0, 1e-9);
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "nagios", "--set", "slow_query_warning=1s", "--set",
          "slow_query_critical=2s");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    h_run_free(&r);
}

static void
test_slow_query_in_snapshot_and_replayed(void **state)
{
    HRun r, snap;
    json_t *s, *a;
    PGconn *slow;
    int pid;
    char *path;
    double age;

    (void)state;
    slow = h_session_send(&cl, "slowpoke", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    pid = PQbackendPID(slow);
    wait_query_age(pid, 1.1);

    /* Under the lowest slow threshold (5 s by default) it is not listed. */
    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    assert_null(h_json_find_int(H_JSON(&r), "sessions", "pid", pid));
    assert_int_equal(h_json_int(H_JSON(&r), "connections.active"), 1);
    h_run_free(&r);

    H_RUN(&snap, &cl, "snapshot", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(&snap, 0);
    s = session_of(&snap, pid);
    assert_string_equal(h_json_str(s, "state"), "active");
    assert_string_equal(h_json_str(s, "application"), "slowpoke");
    assert_string_equal(h_json_str(s, "user"), "postgres");
    assert_string_equal(h_json_str(s, "database"), "postgres");
    assert_string_equal(h_json_str(s, "wait_event_type"), "Timeout");
    assert_string_equal(h_json_str(s, "wait_event"), "PgSleep");
    H_ASSERT_CONTAINS(h_json_str(s, "query"), "pg_sleep(60)");
    age = h_json_num(s, "query_age_s");
    assert_true(age >= 1.1 && age < 30);
    assert_true(h_json_num(s, "state_age_s") >= 1.1);
    assert_true(h_json_num(s, "backend_age_s") >= age);
    assert_true(h_json_num(s, "xact_age_s") >= 1.1);
    assert_non_null(h_json_str(s, "backend_start"));
    assert_int_equal(h_json_len(s, "blocked_by"), 0);

    /* Replayed later and without a server, the alert is computed from the
     * snapshot as it was seen. */
    path = h_write_tmpfile("pgmedic-snap", snap.out);
    assert_non_null(path);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "--from", path, "--format", "json", "--set",
              "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    a = h_assert_alert(&r, "DatabaseSlowQueries", "warning");
    H_ASSERT_NEAR(h_json_num(a, "value"), age, 0.01);
    H_ASSERT_NEAR(h_json_num(a, "threshold"), 1.0, 1e-9);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 1);
    assert_string_equal(h_json_str(H_JSON(&r), "taken_at"), h_json_str(H_JSON(&snap), "taken_at"));
    h_run_free(&r);

    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "--from", path, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 0);
    h_run_free(&r);
    h_run_free(&snap);
    free(path);
}

/* ---------------------------------------------------- idle in transaction */

static void
test_idle_in_transaction_in_snapshot(void **state)
{
    HRun r;
    json_t *j, *s, *g;
    PGconn *plain, *aborted;

    (void)state;
    plain = h_session_idle_in_transaction(&cl, "iit-app", false);
    aborted = h_session_idle_in_transaction(&cl, "iit-app", true);
    assert_non_null(plain);
    assert_non_null(aborted);
    assert_true(h_wait_clients(&cl, 2, 5.0));

    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_int(j, "connections.clients"), 2);
    assert_int_equal(h_json_int(j, "connections.idle_in_transaction"), 2);
    assert_int_equal(h_json_int(j, "connections.idle"), 0);
    assert_int_equal(h_json_int(j, "connections.active"), 0);

    s = session_of(&r, PQbackendPID(plain));
    assert_string_equal(h_json_str(s, "state"), "idle in transaction");
    assert_string_equal(h_json_str(s, "application"), "iit-app");
    assert_true(h_json_num(s, "xact_age_s") >= 0);
    assert_true(h_json_num(s, "state_age_s") >= 0);
    H_ASSERT_CONTAINS(h_json_str(s, "query"), "txid_current");
    assert_int_equal(h_json_len(s, "blocked_by"), 0);

    s = session_of(&r, PQbackendPID(aborted));
    assert_string_equal(h_json_str(s, "state"), "idle in transaction (aborted)");
    assert_int_equal(h_json_len(s, "blocked_by"), 0);

    g = h_json_find_str(j, "groups", "state", "idle in transaction");
    assert_non_null(g);
    assert_string_equal(h_json_str(g, "application"), "iit-app");
    assert_string_equal(h_json_str(g, "user"), "postgres");
    assert_int_equal(h_json_int(g, "count"), 1);
    assert_true(h_json_num(g, "oldest_state_age_s") >= 0);
    h_run_free(&r);

    /* Not an alert on its own. */
    H_RUN(&r, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
}

/* ------------------------------------------------------------------ locks */

static void
test_lock_chain_in_snapshot(void **state)
{
    HRun r;
    json_t *j, *s;
    int pids[3];

    (void)state;
    assert_int_equal(h_lock_chain(&cl, "chain-app", pids), 0);

    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_int(j, "connections.clients"), 3);
    assert_int_equal(h_json_int(j, "connections.waiting_lock"), 2);
    assert_int_equal(h_json_int(j, "connections.idle_in_transaction"), 1);

    /* The root blocker: idle in transaction, blocked by nobody. */
    s = session_of(&r, pids[0]);
    assert_string_equal(h_json_str(s, "state"), "idle in transaction");
    assert_int_equal(h_json_len(s, "blocked_by"), 0);

    /* Waits on the root's row lock (a transactionid lock). */
    s = session_of(&r, pids[1]);
    assert_string_equal(h_json_str(s, "state"), "active");
    assert_string_equal(h_json_str(s, "wait_event_type"), "Lock");
    assert_string_equal(h_json_str(s, "wait_event"), "transactionid");
    assert_true(h_json_num(s, "lock_wait_s") >= 0);
    assert_true(h_json_num(s, "lock_wait_s") < 30);
    assert_blocked_by(s, &pids[0], 1);

    /* Waits on the second one's table lock, not on the root. */
    s = session_of(&r, pids[2]);
    assert_string_equal(h_json_str(s, "wait_event_type"), "Lock");
    assert_string_equal(h_json_str(s, "wait_event"), "relation");
    assert_true(h_json_num(s, "lock_wait_s") >= 0);
    H_ASSERT_CONTAINS(h_json_str(s, "query"), "pgmedic_chain_b");
    assert_blocked_by(s, &pids[1], 1);

    assert_int_equal(h_json_len(j, "sessions"), 3);
    h_run_free(&r);
}

static void
test_active_blocker_in_snapshot(void **state)
{
    HRun r;
    json_t *s;
    PGconn *blocker, *waiter;
    char sql[256];
    int bpid;

    (void)state;
    assert_int_equal(h_sql(&cl, "CREATE TABLE IF NOT EXISTS pgmedic_blk (id int)"), 0);
    /* Active for under a second, neither waiting nor idle: listed only
     * because someone waits for it. */
    blocker = h_session_send(&cl, "blocker-app",
                             "BEGIN; LOCK TABLE pgmedic_blk IN ACCESS EXCLUSIVE MODE; "
                             "SELECT pg_sleep(60)");
    assert_non_null(blocker);
    bpid = PQbackendPID(blocker);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND wait_event = 'PgSleep'",
             bpid);
    assert_true(h_wait_sql(&cl, sql, 10.0));
    waiter = h_session_send(&cl, "waiter-app", "SELECT count(*) FROM pgmedic_blk");
    assert_non_null(waiter);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND wait_event_type = "
             "'Lock'",
             PQbackendPID(waiter));
    assert_true(h_wait_sql(&cl, sql, 10.0));

    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    s = session_of(&r, bpid);
    assert_string_equal(h_json_str(s, "state"), "active");
    assert_string_equal(h_json_str(s, "application"), "blocker-app");
    assert_int_equal(h_json_len(s, "blocked_by"), 0);
    s = session_of(&r, PQbackendPID(waiter));
    assert_string_equal(h_json_str(s, "application"), "waiter-app");
    assert_blocked_by(s, &bpid, 1);
    assert_int_equal(h_json_len(H_JSON(&r), "sessions"), 2);
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_slow_query_warning_then_critical, close_sessions),
        cmocka_unit_test_teardown(test_slow_query_in_snapshot_and_replayed, close_sessions),
        cmocka_unit_test_teardown(test_idle_in_transaction_in_snapshot, close_sessions),
        cmocka_unit_test_teardown(test_lock_chain_in_snapshot, close_sessions),
        cmocka_unit_test_teardown(test_active_blocker_in_snapshot, close_sessions),
    };

    return cmocka_run_group_tests_name("sessions", tests, group_setup, group_teardown);
}
