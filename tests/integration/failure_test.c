/*
 * failure_test.c - DatabaseConnectionFailure and its causes, each on a
 * cluster of its own because each breaks it: stopped (server_down), hung by
 * SIGSTOP (timeout, bounded by connect_timeout), all slots taken
 * (too_many_clients), refused logins (auth_failure, with the password never
 * echoed), and a server shutting down (shutting_down).
 */
#include <setjmp.h>
#include <signal.h>
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
start_plain(void **state)
{
    (void)state;
    return h_cluster_start(&cl, NULL);
}

static int
start_small(void **state)
{
    const char *const sets[] = {"max_connections=5", "superuser_reserved_connections=3", NULL};

    (void)state;
    if (h_cluster_start(&cl, sets) != 0)
        return -1;
    return h_sql(&cl, "CREATE ROLE medic_mon LOGIN; GRANT pg_monitor TO medic_mon");
}

static int
stop_cluster(void **state)
{
    pid_t pid = h_cluster_pid(&cl);

    (void)state;
    if (pid > 0)
        kill(pid, SIGCONT); /* before anything else: a hung test must not hang teardown */
    h_cluster_stop(&cl);
    return 0;
}

/* --------------------------------------------------------------- stopped */

static void
test_server_stopped(void **state)
{
    HRun r;
    json_t *j;
    const char *const stop[] = {"stop", "-m", "fast", "-w", "-s", NULL};
    const char *const tcp_env[] = {"PGHOST=127.0.0.1", NULL};

    (void)state;
    assert_int_equal(h_cluster_ctl(&cl, stop), 0);
    assert_true(h_cluster_pid(&cl) <= 0);

    /* Unix socket: the socket file is gone. */
    H_RUN(&r, &cl, "check", "--format", "json");
    j = h_assert_unreachable(&r, "server_down");
    h_assert_header(&r, "postgres", cl.host, cl.port);
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "No such file or directory");
    assert_true(r.wall_s < 5.0 * h_slowdown());
    h_run_free(&r);

    /* TCP: refused. */
    H_RUN_ENV(&r, &cl, tcp_env, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&r, "server_down");
    h_assert_header(&r, "postgres", "127.0.0.1", cl.port);
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "Connection refused");
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    H_ASSERT_CONTAINS(r.out, "DatabaseConnectionFailure");
    H_ASSERT_NOT_CONTAINS(r.err, "pgmedic: error:");
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "text");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "DatabaseConnectionFailure");
    H_ASSERT_NOT_CONTAINS(r.err, "pgmedic: error:");
    h_run_free(&r);

    H_RUN(&r, &cl, "status", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_string_equal(h_json_str(j, "status.failure"), "server_down");
    assert_null(json_object_get(j, "alerts"));
    h_run_free(&r);
}

/* ------------------------------------------------------------------ hung */

static void
test_server_hung_times_out(void **state)
{
    HRun r;
    json_t *j;
    pid_t pid = h_cluster_pid(&cl);

    (void)state;
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGSTOP), 0);

    H_RUN_ENV(&r, &cl, NULL, 15.0, "check", "--format", "json", "--set", "connect_timeout=2s");
    if (r.wall_s > 2.0 + 1.5 * h_slowdown())
        h_run_dump(&r, "took longer than connect_timeout + 1.5 s");
    assert_false(r.timed_out);
    assert_true(r.wall_s <= 2.0 + 1.5 * h_slowdown());
    j = h_assert_unreachable(&r, "timeout");
    assert_non_null(h_json_str(j, "status.message"));
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, NULL, 15.0, "status", "--format", "json", "--set", "connect_timeout=2s");
    assert_false(r.timed_out);
    assert_true(r.wall_s <= 2.0 + 1.5 * h_slowdown());
    H_ASSERT_EXIT(&r, 2);
    assert_string_equal(h_json_str(H_JSON(&r), "status.failure"), "timeout");
    h_run_free(&r);

    kill(pid, SIGCONT);
}

/* ------------------------------------------------------------ slots full */

static void
test_too_many_clients(void **state)
{
    HRun r;
    json_t *j;

    (void)state;
    /* 2 of 5 taken: the 3 left are reserved for superusers. */
    assert_int_equal(h_sessions_open_idle(&cl, 2, "filler", false, NULL), 2);
    assert_true(h_wait_clients(&cl, 2, 5.0));
    H_RUN(&r, &cl, "check", "-U", "medic_mon", "--format", "json");
    j = h_assert_unreachable(&r, "too_many_clients");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "reserved");
    h_run_free(&r);

    /* All 5 taken: even a superuser is refused. */
    assert_int_equal(h_sessions_open_idle(&cl, 3, "filler", false, NULL), 3);
    H_RUN(&r, &cl, "check", "--format", "json");
    j = h_assert_unreachable(&r, "too_many_clients");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "too many clients");
    h_run_free(&r);

    H_RUN(&r, &cl, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    h_run_free(&r);

    /* Unlike pg_isready, status does not call this "up". */
    H_RUN(&r, &cl, "status", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_string_equal(h_json_str(j, "status.failure"), "too_many_clients");
    h_run_free(&r);
}

/*
 * A role or database at its own CONNECTION LIMIT: the same SQLSTATE as a
 * full server (53300), but the server has slots, so it is connection_limit,
 * not too_many_clients, and triage says which limit and not to restart.
 */
static void
test_connection_limit(void **state)
{
    HRun r;
    json_t *j, *f;
    HConnOpts capped = {.user = "capped", .application_name = "capped-app"};

    (void) state;
    assert_int_equal(h_sql(&cl, "CREATE ROLE capped LOGIN CONNECTION LIMIT 1"), 0);
    assert_int_equal(h_sql(&cl, "CREATE ROLE plain LOGIN"), 0);
    assert_int_equal(h_sql(&cl, "CREATE DATABASE capdb CONNECTION LIMIT 0"), 0);
    assert_non_null(h_session_open(&cl, &capped));

    H_RUN(&r, &cl, "check", "-U", "capped", "--format", "json");
    j = h_assert_unreachable(&r, "connection_limit");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "too many connections for role");
    h_run_free(&r);

    H_RUN(&r, &cl, "triage", "-U", "capped", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    f = h_json_find_str(j, "findings", "kind", "connection_limit");
    assert_non_null(f);
    assert_string_equal(h_json_str(f, "evidence.limit_of"), "role");
    H_ASSERT_CONTAINS(h_json_str(f, "summary"), "CONNECTION LIMIT");
    h_run_free(&r);

    /* The database's limit, for a role that has none. */
    H_RUN(&r, &cl, "triage", "-U", "plain", "-d", "capdb");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "connection_limit");
    H_ASSERT_CONTAINS(r.out, "ALTER DATABASE name CONNECTION LIMIT");
    H_ASSERT_NOT_CONTAINS(r.out, "fix restart");
    h_run_free(&r);

    /* The superuser is not held to either limit: the server is fine. */
    H_RUN(&r, &cl, "status", "-d", "capdb");
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
}

/* -------------------------------------------------------- authentication */

#define GOOD_PASSWORD "Correct-Horse-42"
#define BAD_PASSWORD  "Wrong-Secret-77"

/* TCP logins need a password (scram) for database postgres and have no
 * pg_hba.conf entry for any other database; the socket stays trust. */
static int
start_auth(void **state)
{
    char path[H_PATH_MAX + 16];
    FILE *f;

    if (start_plain(state) != 0)
        return -1;
    if (h_sql(&cl, "CREATE ROLE medic_pw LOGIN PASSWORD '" GOOD_PASSWORD "'") != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/pg_hba.conf", cl.data);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs("local all all trust\nhost postgres all 127.0.0.1/32 scram-sha-256\n", f);
    if (fclose(f) != 0)
        return -1;
    {
        const char *const reload[] = {"reload", "-s", NULL};
        if (h_cluster_ctl(&cl, reload) != 0)
            return -1;
    }
    /* Reloading is asynchronous: wait until TCP asks for a password. */
    {
        HConnOpts o = {.user = "medic_pw", .tcp = true};
        return h_wait_conn_error(&cl, &o, "password", 10.0) ? 0 : -1;
    }
}

static void
assert_no_password(HRun *r, const char *password)
{
    if (strstr(r->out, password) != NULL || strstr(r->err, password) != NULL)
        h_run_dump(r, "the password was printed");
    assert_null(strstr(r->out, password));
    assert_null(strstr(r->err, password));
}

static void
test_auth_failure_wrong_password(void **state)
{
    HRun r;
    json_t *j;
    const char *const env[] = {"PGHOST=127.0.0.1", "PGUSER=medic_pw", "PGPASSWORD=" BAD_PASSWORD,
                               NULL};
    const char *const good_env[] = {"PGHOST=127.0.0.1", "PGUSER=medic_pw",
                                    "PGPASSWORD=" GOOD_PASSWORD, NULL};
    const char *const formats[] = {"json", "text", "nagios"};
    char conninfo[256];

    (void)state;
    /* The right password works: the setup is sound. */
    H_RUN_ENV(&r, &cl, good_env, 30.0, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    h_assert_header(&r, "postgres", "127.0.0.1", cl.port);
    assert_no_password(&r, GOOD_PASSWORD);
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, env, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&r, "auth_failure");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "password authentication failed");
    assert_no_password(&r, BAD_PASSWORD);
    h_run_free(&r);

    /* In a conninfo string, in every format, verbose or not. */
    snprintf(conninfo, sizeof(conninfo),
             "host=127.0.0.1 port=%s user=medic_pw dbname=postgres password=%s", cl.port,
             BAD_PASSWORD "-x");
    for (size_t i = 0; i < 3; i++)
    {
        H_RUN(&r, &cl, "check", "-v", "-d", conninfo, "--format", formats[i]);
        H_ASSERT_EXIT(&r, 2);
        assert_no_password(&r, BAD_PASSWORD);
        h_run_free(&r);
    }
    H_RUN(&r, &cl, "check", "-d", conninfo, "--format", "json");
    h_assert_unreachable(&r, "auth_failure");
    h_assert_header(&r, "postgres", "127.0.0.1", cl.port);
    h_run_free(&r);
    {
        char uri[256];

        snprintf(uri, sizeof(uri), "postgresql://medic_pw:%s@127.0.0.1:%s/postgres",
                 BAD_PASSWORD "-u", cl.port);
        H_RUN(&r, &cl, "snapshot", "-d", uri);
        H_ASSERT_EXIT(&r, 2);
        j = H_JSON(&r);
        assert_int_equal(h_json_bool(j, "status.reachable"), 0);
        assert_string_equal(h_json_str(j, "status.failure"), "auth_failure");
        assert_no_password(&r, BAD_PASSWORD);
        h_run_free(&r);
    }
}

static void
test_auth_failure_no_password_or_no_hba_entry(void **state)
{
    HRun r;
    json_t *j;
    const char *const env[] = {"PGHOST=127.0.0.1", "PGUSER=medic_pw", "PGPASSFILE=/nonexistent",
                               NULL};

    (void)state;
    H_RUN_ENV(&r, &cl, env, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&r, "auth_failure");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "password");
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, env, 30.0, "check", "-d", "template1", "--format", "json");
    j = h_assert_unreachable(&r, "auth_failure");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "no pg_hba.conf entry");
    h_run_free(&r);
}

/* ----------------------------------------------------------- shutting down */

static void
test_shutting_down(void **state)
{
    HRun r;
    const char *const stop[] = {"stop", "-m", "smart", "-W", "-s", NULL};

    (void)state;
    /* A smart shutdown waits for this client and refuses new ones meanwhile. */
    assert_int_equal(h_sessions_open_idle(&cl, 1, "lingering", false, NULL), 1);
    assert_int_equal(h_cluster_ctl(&cl, stop), 0);
    assert_true(h_wait_conn_error(&cl, NULL, "shutting down", 10.0));
    H_RUN(&r, &cl, "check", "--format", "json");
    h_assert_unreachable(&r, "shutting_down");
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_server_stopped, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_server_hung_times_out, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_too_many_clients, start_small, stop_cluster),
        cmocka_unit_test_setup_teardown(test_connection_limit, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_auth_failure_wrong_password, start_auth, stop_cluster),
        cmocka_unit_test_setup_teardown(test_auth_failure_no_password_or_no_hba_entry, start_auth,
                                        stop_cluster),
        cmocka_unit_test_setup_teardown(test_shutting_down, start_plain, stop_cluster),
    };

    return cmocka_run_group_tests_name("failure", tests, NULL, NULL);
}
