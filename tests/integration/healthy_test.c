/*
 * healthy_test.c - a healthy server: check in every format, status, the
 * snapshot's shape, ways of naming the target, a pg_monitor-only role, a
 * missing database, and replaying a saved snapshot.  One cluster for all.
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

/* No server at the environment's address: only the options reach the cluster. */
static const char *const dead_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", "PGPORT=55399",
                                       "PGUSER=nobody", "PGDATABASE=nodb", NULL};

static int
group_setup(void **state)
{
    const char *const sets[] = {"log_connections=on", NULL};

    (void)state;
    if (h_cluster_start(&cl, sets) != 0)
        return -1;
    return h_sql(&cl, "CREATE ROLE medic_mon LOGIN; GRANT pg_monitor TO medic_mon;"
                      "CREATE TABLE medic_t (id int PRIMARY KEY, note text);"
                      "INSERT INTO medic_t SELECT g, 'n' || g FROM generate_series(1, 1000) g;"
                      "ANALYZE medic_t");
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
assert_no_alert_names(const char *text)
{
    H_ASSERT_NOT_CONTAINS(text, "DatabaseConnectionFailure");
    H_ASSERT_NOT_CONTAINS(text, "DatabaseHighConnections");
    H_ASSERT_NOT_CONTAINS(text, "DatabaseSlowQueries");
}

/* The "status" object of a reachable server. */
static void
assert_status_up(json_t *j)
{
    const char *version = h_json_str(j, "status.version");
    double version_num = h_json_num(j, "status.version_num");

    assert_int_equal(h_json_bool(j, "status.reachable"), 1);
    assert_true(h_json_is_null(j, "status.failure"));
    assert_true(h_json_is_null(j, "status.message"));
    assert_non_null(version);
    assert_memory_equal(version, "15.", 3);
    assert_true(version_num >= 150000 && version_num < 160000);
    assert_true(json_is_integer(h_json_get(j, "status.version_num")));
    assert_int_equal(h_json_bool(j, "status.in_recovery"), 0);
    assert_true(h_json_num(j, "status.uptime_s") > 0);
    assert_true(h_json_num(j, "status.uptime_s") < 3600);
    assert_true(h_json_num(j, "status.connect_s") >= 0);
    assert_true(h_json_num(j, "status.connect_s") < 5);
    assert_true(h_json_num(j, "status.probe_s") >= 0);
    assert_true(h_json_num(j, "status.probe_s") < 5);
}

/* ------------------------------------------------------------------ check */

static void
test_check_json_healthy(void **state)
{
    HRun r;
    json_t *j;

    (void)state;
    H_RUN(&r, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_status_up(j);
    assert_int_equal(h_json_len(j, "alerts"), 0);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
}

static void
test_check_text_healthy(void **state)
{
    HRun r;
    char target[2 * H_PATH_MAX];

    (void)state;
    snprintf(target, sizeof(target), "postgres@%s:%s", cl.host, cl.port);
    H_RUN(&r, &cl, "check", "--format", "text");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, target);
    H_ASSERT_CONTAINS(r.out, "15.");
    assert_no_alert_names(r.out);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
}

static void
test_check_nagios_healthy(void **state)
{
    HRun r;

    (void)state;
    H_RUN(&r, &cl, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 0);
    h_assert_first_line(&r, "PGMEDIC OK");
    assert_no_alert_names(r.out);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
}

/* The server log: one connection, named pgmedic, and no error caused. */
static void
test_check_uses_one_named_connection(void **state)
{
    HRun r;
    size_t off;
    char *log;

    (void)state;
    off = h_log_size(&cl);
    H_RUN(&r, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    log = h_log_since(&cl, off);
    if (h_count_substr(log, "application_name=pgmedic") != 1)
        fprintf(stderr, "harness: server log:\n%s\n", log);
    assert_int_equal(h_count_substr(log, "connection authorized"), 1);
    assert_int_equal(h_count_substr(log, "application_name=pgmedic"), 1);
    H_ASSERT_NOT_CONTAINS(log, "ERROR:");
    H_ASSERT_NOT_CONTAINS(log, "FATAL:");
    free(log);
    h_run_free(&r);
}

/* ----------------------------------------------------------------- status */

static void
test_status_json_healthy(void **state)
{
    HRun r;
    json_t *j;

    (void)state;
    H_RUN(&r, &cl, "status", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_status_up(j);
    assert_null(json_object_get(j, "alerts"));
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
}

static void
test_status_text_healthy(void **state)
{
    HRun r, rj;
    const char *version;

    (void)state;
    H_RUN(&rj, &cl, "status", "--format", "json");
    H_ASSERT_EXIT(&rj, 0);
    version = h_json_str(H_JSON(&rj), "status.version");
    assert_non_null(version);
    H_RUN(&r, &cl, "status", "--format", "text");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, version);
    H_ASSERT_CONTAINS(r.out, cl.port);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
    h_run_free(&rj);
}

/* --------------------------------------------------------------- snapshot */

static void
test_snapshot_healthy_shape(void **state)
{
    HRun r;
    json_t *j, *t, *s;
    long long pid;

    (void)state;
    assert_int_equal(h_sql(&cl, "SELECT count(*) FROM medic_t"), 0);
    assert_true(h_wait_clients(&cl, 0, 5.0)); /* earlier runs' backends are gone */
    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_status_up(j);
    assert_null(json_object_get(j, "alerts"));

    assert_string_equal(h_json_str(j, "server.database"), "postgres");
    assert_string_equal(h_json_str(j, "server.role"), "postgres");
    assert_int_equal(h_json_bool(j, "server.superuser"), 1);
    assert_true(h_json_bool(j, "server.pg_monitor") >= 0);
    pid = h_json_int(j, "server.pid");
    assert_true(pid > 0);

    assert_int_equal(h_json_int(j, "connections.max_connections"), 100);
    assert_int_equal(h_json_int(j, "connections.superuser_reserved"), 3);
    assert_int_equal(h_json_int(j, "connections.reserved"), 0);
    assert_int_equal(h_json_int(j, "connections.usable"), 97);
    /* pgmedic's own backend is not a client of the server it examines. */
    assert_int_equal(h_json_int(j, "connections.clients"), 0);
    assert_int_equal(h_json_int(j, "connections.active"), 0);
    assert_int_equal(h_json_int(j, "connections.idle"), 0);
    assert_int_equal(h_json_int(j, "connections.idle_in_transaction"), 0);
    assert_int_equal(h_json_int(j, "connections.waiting_lock"), 0);
    assert_int_equal(h_json_len(j, "groups"), 0);
    assert_int_equal(h_json_len(j, "sessions"), 0);
    assert_null(h_json_find_int(j, "sessions", "pid", pid));

    t = h_json_find_str(j, "tables", "name", "medic_t");
    assert_non_null(t);
    assert_string_equal(h_json_str(t, "schema"), "public");
    assert_true(h_json_num(t, "oid") > 0);
    assert_int_equal(h_json_int(t, "n_live_tup"), 1000);
    assert_int_equal(h_json_int(t, "n_dead_tup"), 0);
    assert_true(h_json_num(t, "seq_scan") >= 1);
    assert_true(h_json_num(t, "size_bytes") >= 8192);
    assert_true(h_json_num(t, "last_analyze_age_s") >= 0);
    assert_true(h_json_num(t, "last_analyze_age_s") < 600);

    s = h_json_find_str(j, "settings", "name", "max_connections");
    assert_non_null(s);
    assert_string_equal(h_json_str(s, "value"), "100");
    s = h_json_find_str(j, "settings", "name", "superuser_reserved_connections");
    assert_non_null(s);
    assert_string_equal(h_json_str(s, "value"), "3");

    /* A superuser may list the WAL directory. */
    assert_true(json_is_object(h_json_get(j, "wal")));
    assert_true(h_json_num(j, "wal.bytes") > 0);
    assert_true(h_json_num(j, "wal.files") >= 1);
    assert_true(h_json_len(j, "notes") >= 0);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);
}

static void
test_snapshot_uses_one_connection(void **state)
{
    HRun r;
    size_t off;
    char *log;

    (void)state;
    off = h_log_size(&cl);
    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    log = h_log_since(&cl, off);
    assert_int_equal(h_count_substr(log, "connection authorized"), 1);
    H_ASSERT_NOT_CONTAINS(log, "ERROR:");
    free(log);
    h_run_free(&r);
}

/* ------------------------------------------------------- naming the target */

static void
test_check_with_connection_options(void **state)
{
    HRun r;

    (void)state;
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "-h", cl.host, "-p", cl.port, "-U", "postgres",
              "-d", "postgres", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 0);
    h_run_free(&r);
}

static void
test_check_with_conninfo_string(void **state)
{
    HRun r;
    char conninfo[2 * H_PATH_MAX];

    (void)state;
    snprintf(conninfo, sizeof(conninfo), "host=%s port=%s user=postgres dbname=postgres", cl.host,
             cl.port);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "-d", conninfo, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    h_run_free(&r);
}

static void
test_check_with_uri_over_tcp(void **state)
{
    HRun r;
    char uri[256];

    (void)state;
    snprintf(uri, sizeof(uri), "postgresql://postgres@127.0.0.1:%s/postgres", cl.port);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "-d", uri, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", "127.0.0.1", cl.port);
    h_run_free(&r);
}

static void
test_check_with_config_target(void **state)
{
    HRun r;
    char text[3 * H_PATH_MAX];
    char *path;

    (void)state;
    snprintf(text, sizeof(text),
             "[pgmedic]\nconnect_timeout = 5s\n\n"
             "[target other]\nconninfo = host=/nonexistent port=1\n\n"
             "[target local]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n",
             cl.host, cl.port);
    path = h_write_tmpfile("pgmedic-conf", text);
    assert_non_null(path);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "-c", path, "-t", "local", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    h_run_free(&r);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "status", "-c", path, "--target", "local", "--format",
              "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    h_run_free(&r);
    free(path);
}

/* ------------------------------------------------------ least privilege */

static void
test_pg_monitor_role_is_enough(void **state)
{
    HRun r;
    json_t *j, *s;
    PGconn *iit;

    (void)state;
    H_RUN(&r, &cl, "check", "-U", "medic_mon", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_int_equal(h_json_len(j, "alerts"), 0);
    h_run_free(&r);

    /* A superuser's session stays visible, query text included. */
    iit = h_session_idle_in_transaction(&cl, "su-app", false);
    assert_non_null(iit);
    assert_true(h_wait_clients(&cl, 1, 5.0));
    H_RUN(&r, &cl, "snapshot", "-U", "medic_mon");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_string_equal(h_json_str(j, "server.role"), "medic_mon");
    assert_int_equal(h_json_bool(j, "server.superuser"), 0);
    assert_int_equal(h_json_bool(j, "server.pg_monitor"), 1);
    assert_int_equal(h_json_int(j, "connections.clients"), 1);
    s = h_json_find_int(j, "sessions", "pid", PQbackendPID(iit));
    assert_non_null(s);
    assert_string_equal(h_json_str(s, "user"), "postgres");
    H_ASSERT_CONTAINS(h_json_str(s, "query"), "txid_current");
    h_run_free(&r);
}

/* ---------------------------------------------------------- wrong database */

static void
test_missing_database(void **state)
{
    HRun r;
    json_t *j;

    (void)state;
    H_RUN(&r, &cl, "check", "-d", "pgmedic_no_such_db", "--format", "json");
    j = h_assert_unreachable(&r, "database_missing");
    h_assert_header(&r, "pgmedic_no_such_db", cl.host, cl.port);
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "pgmedic_no_such_db");
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "-d", "pgmedic_no_such_db", "--format", "nagios");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    H_ASSERT_NOT_CONTAINS(r.err, "pgmedic: error:");
    h_run_free(&r);

    H_RUN(&r, &cl, "status", "-d", "pgmedic_no_such_db", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_string_equal(h_json_str(j, "status.failure"), "database_missing");
    h_run_free(&r);
}

/* -------------------------------------------------------------- replaying */

static void
test_check_from_healthy_snapshot(void **state)
{
    HRun snap, r;
    char *path;
    json_t *j;

    (void)state;
    H_RUN(&snap, &cl, "snapshot");
    H_ASSERT_EXIT(&snap, 0);
    path = h_write_tmpfile("pgmedic-snap", snap.out);
    assert_non_null(path);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "--from", path, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_len(j, "alerts"), 0);
    assert_string_equal(h_json_str(j, "target"), h_json_str(H_JSON(&snap), "target"));
    assert_string_equal(h_json_str(j, "taken_at"), h_json_str(H_JSON(&snap), "taken_at"));
    assert_string_equal(h_json_str(j, "status.version"),
                        h_json_str(H_JSON(&snap), "status.version"));
    h_run_free(&r);

    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "--from", path, "--format", "nagios");
    H_ASSERT_EXIT(&r, 0);
    h_assert_first_line(&r, "PGMEDIC OK");
    h_run_free(&r);
    h_run_free(&snap);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_json_healthy),
        cmocka_unit_test(test_check_text_healthy),
        cmocka_unit_test(test_check_nagios_healthy),
        cmocka_unit_test(test_check_uses_one_named_connection),
        cmocka_unit_test(test_status_json_healthy),
        cmocka_unit_test(test_status_text_healthy),
        cmocka_unit_test(test_snapshot_healthy_shape),
        cmocka_unit_test(test_snapshot_uses_one_connection),
        cmocka_unit_test(test_check_with_connection_options),
        cmocka_unit_test(test_check_with_conninfo_string),
        cmocka_unit_test(test_check_with_uri_over_tcp),
        cmocka_unit_test(test_check_with_config_target),
        cmocka_unit_test_teardown(test_pg_monitor_role_is_enough, close_sessions),
        cmocka_unit_test(test_missing_database),
        cmocka_unit_test(test_check_from_healthy_snapshot),
    };

    return cmocka_run_group_tests_name("healthy", tests, group_setup, group_teardown);
}
