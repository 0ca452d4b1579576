/*
 * connections_test.c - DatabaseHighConnections on a cluster with
 * max_connections = 23 and superuser_reserved_connections = 3, so 20 usable
 * slots: 17 clients are 85 % (warning), 19 are 95 % (critical).  pgmedic's
 * own backend does not count.
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
    const char *const sets[] = {"max_connections=23", "superuser_reserved_connections=3", NULL};

    (void)state;
    return h_cluster_start(&cl, sets);
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

/* n idle clients of "leaky-app": local ones over the socket, the rest TCP. */
static void
open_clients(int local, int tcp)
{
    assert_int_equal(h_sessions_open_idle(&cl, local, "leaky-app", false, NULL), local);
    assert_int_equal(h_sessions_open_idle(&cl, tcp, "leaky-app", true, NULL), tcp);
    assert_true(h_wait_clients(&cl, local + tcp, 5.0));
}

/* Before each run: exactly n clients, so a previous pgmedic backend still on
 * its way out is not counted. */
#define RUN_AT(n, r, ...)                                                                          \
    do                                                                                             \
    {                                                                                              \
        assert_true(h_wait_clients(&cl, (n), 5.0));                                                \
        H_RUN((r), &cl, __VA_ARGS__);                                                              \
    } while (0)

static json_t *
assert_high_connections(HRun *r, const char *severity, double value, double threshold)
{
    json_t *a = h_assert_alert(r, "DatabaseHighConnections", severity);

    H_ASSERT_NEAR(h_json_num(a, "value"), value, 1e-9);
    H_ASSERT_NEAR(h_json_num(a, "threshold"), threshold, 1e-9);
    assert_true(strlen(h_json_str(a, "summary")) > 0);
    assert_int_equal(h_json_len(H_JSON(r), "alerts"), 1);
    return a;
}

static void
test_connections_below_warning(void **state)
{
    HRun r;

    (void)state;
    open_clients(15, 0); /* 75 % */
    RUN_AT(15, &r, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 0);
    h_run_free(&r);
}

static void
test_connections_warning_at_85_percent(void **state)
{
    HRun r, snap;
    json_t *j, *g;
    char *path;

    (void)state;
    open_clients(10, 7);

    RUN_AT(17, &r, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 1);
    assert_high_connections(&r, "warning", 17.0 / 20.0, 0.8);
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);

    RUN_AT(17, &r, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 1);
    h_assert_first_line(&r, "PGMEDIC WARNING");
    H_ASSERT_CONTAINS(r.out, "DatabaseHighConnections");
    h_run_free(&r);

    RUN_AT(17, &r, "check");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "DatabaseHighConnections");
    h_run_free(&r);

    /* Thresholds from the command line, bare and with their section. */
    RUN_AT(17, &r, "check", "--format", "json", "--set", "thresholds.connections_critical=84%");
    H_ASSERT_EXIT(&r, 2);
    assert_high_connections(&r, "critical", 0.85, 0.84);
    h_run_free(&r);
    RUN_AT(17, &r, "check", "--format", "json", "--set", "connections_warning=90%", "--set",
           "connections_critical=95%");
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    /* The snapshot's counts and groups. */
    RUN_AT(17, &snap, "snapshot");
    H_ASSERT_EXIT(&snap, 0);
    j = H_JSON(&snap);
    assert_int_equal(h_json_int(j, "connections.max_connections"), 23);
    assert_int_equal(h_json_int(j, "connections.superuser_reserved"), 3);
    assert_int_equal(h_json_int(j, "connections.reserved"), 0);
    assert_int_equal(h_json_int(j, "connections.usable"), 20);
    assert_int_equal(h_json_int(j, "connections.clients"), 17);
    assert_int_equal(h_json_int(j, "connections.idle"), 17);
    assert_int_equal(h_json_int(j, "connections.active"), 0);
    assert_int_equal(h_json_len(j, "groups"), 2);
    g = h_json_find_str(j, "groups", "client", "127.0.0.1");
    assert_non_null(g);
    assert_string_equal(h_json_str(g, "application"), "leaky-app");
    assert_string_equal(h_json_str(g, "state"), "idle");
    assert_string_equal(h_json_str(g, "user"), "postgres");
    assert_int_equal(h_json_int(g, "count"), 7);
    g = h_json_find_str(j, "groups", "client", "local");
    assert_non_null(g);
    assert_string_equal(h_json_str(g, "application"), "leaky-app");
    assert_int_equal(h_json_int(g, "count"), 10);
    assert_true(h_json_num(g, "oldest_state_age_s") >= 0);
    /* Idle sessions are not "worth a look" on their own. */
    assert_int_equal(h_json_len(j, "sessions"), 0);

    /* Replayed from the file: the same alert. */
    path = h_write_tmpfile("pgmedic-snap", snap.out);
    assert_non_null(path);
    H_RUN_ENV(&r, NULL, dead_env, 30.0, "check", "--from", path, "--format", "json");
    H_ASSERT_EXIT(&r, 1);
    assert_high_connections(&r, "warning", 0.85, 0.8);
    h_run_free(&r);
    h_run_free(&snap);
    free(path);
}

static void
test_connections_critical_at_95_percent(void **state)
{
    HRun r;

    (void)state;
    open_clients(19, 0);
    RUN_AT(19, &r, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    assert_high_connections(&r, "critical", 19.0 / 20.0, 0.9);
    h_run_free(&r);

    RUN_AT(19, &r, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_connections_below_warning, close_sessions),
        cmocka_unit_test_teardown(test_connections_warning_at_85_percent, close_sessions),
        cmocka_unit_test_teardown(test_connections_critical_at_95_percent, close_sessions),
    };

    return cmocka_run_group_tests_name("connections", tests, group_setup, group_teardown);
}
