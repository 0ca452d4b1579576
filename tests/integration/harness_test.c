/*
 * harness_test.c - the integration harness checked on its own, so that a
 * failing pgmedic test is about pgmedic and not about its scaffolding.
 */
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

static void
test_h_exec_captures_both_streams_and_exit_code(void **state)
{
    HRun r;
    const char *const argv[] = {"/bin/sh", "-c",
                                "head -c 300000 /dev/zero | tr '\\0' x; echo; "
                                "echo to-stderr >&2; exit 7",
                                NULL};

    (void)state;
    assert_int_equal(h_exec(&r, NULL, argv, NULL, 20.0), 0);
    assert_int_equal(r.exit_code, 7);
    assert_false(r.timed_out);
    assert_int_equal(r.out_len, 300001);
    assert_string_equal(r.err, "to-stderr\n");
    h_run_free(&r);
}

static void
test_h_exec_kills_at_deadline(void **state)
{
    HRun r;
    /* The grandchild "sleep" shares the group and the pipes: it must die too. */
    const char *const argv[] = {"/bin/sh", "-c", "echo started; sleep 30; echo never", NULL};

    (void)state;
    assert_int_equal(h_exec(&r, NULL, argv, NULL, 0.5), 0);
    assert_true(r.timed_out);
    assert_int_equal(r.term_signal, 9);
    assert_true(r.wall_s >= 0.5);
    assert_true(r.wall_s < 2.0);
    assert_string_equal(r.out, "started\n");
    h_run_free(&r);
}

static void
test_h_exec_environment(void **state)
{
    HRun r;
    const char *const argv[] = {
        "/bin/sh", "-c", "echo \"$PGHOST|$PGPORT|$PGUSER|$PGDATABASE|$PGPASSWORD|$LC_ALL|$X\"",
        NULL};
    const char *const env[] = {"X=1", "PGDATABASE", NULL};
    char want[2 * H_PATH_MAX];

    (void)state;
    setenv("PGPASSWORD", "leaked", 1);
    assert_int_equal(h_exec(&r, &cl, argv, env, 10.0), 0);
    unsetenv("PGPASSWORD");
    snprintf(want, sizeof(want), "%s|%s|postgres|||C|1\n", cl.host, cl.port);
    assert_string_equal(r.out, want);
    h_run_free(&r);
}

static void
test_h_sessions_counted_and_closed(void **state)
{
    (void)state;
    assert_int_equal(h_sessions_open_idle(&cl, 4, "leaky", false, NULL), 4);
    assert_int_equal(h_sessions_open_idle(&cl, 2, "leaky-tcp", true, NULL), 2);
    assert_true(h_wait_sql(&cl,
                           "SELECT count(*) FILTER (WHERE application_name = 'leaky' "
                           "AND client_addr IS NULL) = 4 AND count(*) FILTER (WHERE "
                           "application_name = 'leaky-tcp' AND client_addr = '127.0.0.1') = 2 "
                           "FROM pg_stat_activity",
                           5.0));
    assert_true(h_wait_clients(&cl, 6, 5.0));
    assert_int_equal(h_sessions_close(&cl), 0);
    assert_true(h_wait_clients(&cl, 0, 0.1));
}

static void
test_h_session_send_and_idle_in_transaction(void **state)
{
    PGconn *busy, *iit, *aborted;
    char sql[512];

    (void)state;
    busy = h_session_send(&cl, "sleeper", "SELECT pg_sleep(60)");
    iit = h_session_idle_in_transaction(&cl, "iit", false);
    aborted = h_session_idle_in_transaction(&cl, "iit", true);
    assert_non_null(busy);
    assert_non_null(iit);
    assert_non_null(aborted);
    snprintf(sql, sizeof(sql),
             "SELECT bool_and(CASE pid WHEN %d THEN state = 'active' AND wait_event = 'PgSleep' "
             "WHEN %d THEN state = 'idle in transaction' "
             "ELSE state = 'idle in transaction (aborted)' END) AND count(*) = 3 "
             "FROM pg_stat_activity WHERE pid IN (%d, %d, %d)",
             PQbackendPID(busy), PQbackendPID(iit), PQbackendPID(busy), PQbackendPID(iit),
             PQbackendPID(aborted));
    assert_true(h_wait_sql(&cl, sql, 5.0));
    /* Closing must not leave the sleeping backend behind. */
    assert_int_equal(h_sessions_close(&cl), 0);
}

static void
test_h_lock_chain_edges(void **state)
{
    int pids[3];
    char sql[512];
    char *v;

    (void)state;
    assert_int_equal(h_lock_chain(&cl, "chain", pids), 0);
    snprintf(sql, sizeof(sql),
             "SELECT pg_blocking_pids(%d)::text || pg_blocking_pids(%d)::text || "
             "pg_blocking_pids(%d)::text",
             pids[0], pids[1], pids[2]);
    v = h_sql_value(&cl, sql);
    assert_non_null(v);
    snprintf(sql, sizeof(sql), "{}{%d}{%d}", pids[0], pids[1]);
    assert_string_equal(v, sql);
    free(v);
    v = h_sql_value(&cl, "SELECT string_agg(state, ',' ORDER BY backend_start) "
                         "FROM pg_stat_activity WHERE application_name = 'chain'");
    assert_non_null(v);
    assert_string_equal(v, "idle in transaction,active,active");
    free(v);
}

static void
test_h_cluster_pid_and_log(void **state)
{
    pid_t pid;
    size_t off;
    char *log;

    (void)state;
    pid = h_cluster_pid(&cl);
    assert_true(pid > 1);
    off = h_log_size(&cl);
    assert_int_equal(h_sql(&cl, "SELECT 'harness-log-marker'"), 0);
    log = h_log_since(&cl, off);
    H_ASSERT_CONTAINS(log, "harness-log-marker");
    free(log);
}

static void
test_h_json_paths(void **state)
{
    HRun r;
    json_t *j;
    long long ints[4];
    const char *const argv[] = {
        "/bin/echo",
        "{\"a\":{\"b\":[{\"n\":\"x\",\"v\":1.5},{\"n\":\"y\",\"p\":[3,4]}]},\"t\":true,\"z\":null}",
        NULL};

    (void)state;
    assert_int_equal(h_exec(&r, NULL, argv, NULL, 5.0), 0);
    j = H_JSON(&r);
    assert_string_equal(h_json_str(j, "a.b.1.n"), "y");
    H_ASSERT_NEAR(h_json_num(j, "a.b.0.v"), 1.5, 0);
    assert_int_equal(h_json_bool(j, "t"), 1);
    assert_int_equal(h_json_bool(j, "z"), -1);
    assert_true(h_json_is_null(j, "z"));
    assert_false(h_json_is_null(j, "missing"));
    assert_int_equal(h_json_len(j, "a.b"), 2);
    assert_non_null(h_json_find_str(j, "a.b", "n", "x"));
    assert_null(h_json_find_str(j, "a.b", "n", "w"));
    assert_int_equal(h_json_ints(j, "a.b.1.p", ints, 4), 2);
    assert_int_equal(ints[1], 4);
    assert_null(h_json_get(j, "a.b.7"));
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h_exec_captures_both_streams_and_exit_code),
        cmocka_unit_test(test_h_exec_kills_at_deadline),
        cmocka_unit_test(test_h_exec_environment),
        cmocka_unit_test_teardown(test_h_sessions_counted_and_closed, close_sessions),
        cmocka_unit_test_teardown(test_h_session_send_and_idle_in_transaction, close_sessions),
        cmocka_unit_test_teardown(test_h_lock_chain_edges, close_sessions),
        cmocka_unit_test(test_h_cluster_pid_and_log),
        cmocka_unit_test(test_h_json_paths),
    };

    return cmocka_run_group_tests_name("harness", tests, group_setup, group_teardown);
}
