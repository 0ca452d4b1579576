/*
 * fix_test.c - pgmedic fix on a real server: every action as a dry run that
 * changes nothing, then with --apply --yes, asserting on the server state
 * afterwards (pg_stat_activity, pg_stat_user_tables, pg_index, SHOW), the
 * exit code, stdout and the audit log; and the safety rules of DESIGN.md §5:
 * superusers' sessions when pgmedic is not one, protected roles and
 * applications, pgmedic's own backend and autovacuum workers, the re-check in
 * sql/act_signal.sql run directly, and the max_terminations budget.
 *
 * One cluster for the group; every test ends its sessions and drops its
 * tables in its teardown.  The autovacuum test starts a cluster of its own
 * (a fast autovacuum naptime would disturb the table tests).  Each test that
 * looks at the audit log has a store of its own.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

/* "store=PATH" of the running test, for --set. */
static char store_set[H_PATH_MAX + 16];

static int
group_setup(void **state)
{
    (void)state;
    if (h_cluster_start(&cl, NULL) != 0)
        return -1;
    /* A least-privilege pgmedic role (DESIGN.md §5) and an application role. */
    return h_sql(&cl, "CREATE ROLE medic LOGIN; GRANT pg_monitor, pg_signal_backend TO medic;"
                      "CREATE ROLE appuser LOGIN;"
                      "CREATE EXTENSION IF NOT EXISTS amcheck");
}

static int
group_teardown(void **state)
{
    (void)state;
    h_cluster_stop(&cl);
    return 0;
}

/* Ends the test's sessions and drops what it created. */
static int
cleanup(void **state)
{
    int rc;

    (void)state;
    rc = h_sessions_close(&cl);
    if (h_sql(&cl, "SET client_min_messages = warning; DROP TABLE IF EXISTS fix_chain_a, "
                   "fix_chain_b, fix_an, fix_vac, fix_bloat, orders, fix_other") != 0)
        rc = -1;
    return rc;
}

/* A fresh store for this test: fills store_set. */
static void
new_store(const char *tag)
{
    static int n;

    snprintf(store_set, sizeof(store_set), "store=%s/store-%s-%d.db", h_tmproot(), tag, ++n);
}

/* ------------------------------------------------------------- helpers */

static PGconn *
open_as(const char *app, const char *user)
{
    HConnOpts o = {.application_name = app, .user = user};
    PGconn *c = h_session_open(&cl, &o);

    assert_non_null(c);
    return c;
}

/* Whether a backend with this pid exists (any state). */
static bool
backend_exists(int pid)
{
    char sql[160], *v;
    bool yes;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = %d",
             pid);
    v = h_sql_value(&cl, sql);
    assert_non_null(v);
    yes = strcmp(v, "1") == 0;
    free(v);
    return yes;
}

static void
assert_alive(int pid)
{
    if (!backend_exists(pid))
        fprintf(stderr, "harness: backend %d is gone, expected it alive\n", pid);
    assert_true(backend_exists(pid));
}

/* Waits (with a deadline) until the backend has exited. */
static void
assert_gone(int pid)
{
    char sql[160];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 0 FROM pg_catalog.pg_stat_activity WHERE pid = %d", pid);
    assert_true(h_wait_sql(&cl, sql, 10.0));
}

/* Waits until pid has been in a state LIKE state for more than seconds. */
static void
wait_state_age(int pid, const char *state, double seconds)
{
    char sql[320];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d AND state LIKE "
             "'%s' AND clock_timestamp() - state_change > interval '%.3f s'",
             pid, state, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

/* Waits until pid's active query has run for more than seconds. */
static void
wait_query_age(int pid, double seconds)
{
    char sql[320];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d AND state = "
             "'active' AND clock_timestamp() - query_start > interval '%.3f s'",
             pid, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

/* "pid N " appears in text: a planned or signalled session (the rows pad the pid). */
static bool
lists_pid(const char *text, int pid)
{
    char needle[32];

    snprintf(needle, sizeof(needle), "pid %d ", pid);
    return text != NULL && strstr(text, needle) != NULL;
}

static void
assert_lists(HRun *r, int pid)
{
    if (!lists_pid(r->out, pid))
    {
        fprintf(stderr, "harness: pid %d not listed\n", pid);
        h_run_dump(r, "pid missing");
    }
    assert_true(lists_pid(r->out, pid));
}

static void
assert_not_lists(HRun *r, int pid)
{
    if (lists_pid(r->out, pid))
    {
        fprintf(stderr, "harness: pid %d listed, it must not be\n", pid);
        h_run_dump(r, "pid listed");
    }
    assert_false(lists_pid(r->out, pid));
}

/* One value from the server as a string compared with want. */
static void
assert_value(const char *sql, const char *want)
{
    char *v = h_sql_value(&cl, sql);

    if (v == NULL || strcmp(v, want) != 0)
        fprintf(stderr, "harness: %s\n  gave \"%s\", want \"%s\"\n", sql, v ? v : "(null)", want);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void
wait_true(const char *sql)
{
    assert_true(h_wait_sql(&cl, sql, 15.0));
}

/* The audit log of store_set as JSON; the HRun is the caller's to free. */
static json_t *
audit_json(HRun *r)
{
    H_RUN(r, NULL, "audit", "--format", "json", "--limit", "0", "--set", store_set);
    H_ASSERT_EXIT(r, 0);
    assert_true(json_is_array(H_JSON(r)));
    return H_JSON(r);
}

static void
assert_audit_empty(void)
{
    HRun r;

    assert_int_equal(json_array_size(audit_json(&r)), 0);
    h_run_free(&r);
}

/* The newest audit row, asserted to exist, with this action and status. */
static json_t *
audit_newest(HRun *r, const char *action, const char *status)
{
    json_t *j = audit_json(r), *row;

    if (json_array_size(j) == 0)
        h_run_dump(r, "audit log empty");
    assert_true(json_array_size(j) >= 1);
    row = json_array_get(j, 0);
    assert_string_equal(h_json_str(row, "action"), action);
    if (h_json_str(row, "status") == NULL || strcmp(h_json_str(row, "status"), status) != 0)
        h_run_dump(r, "unexpected audit status");
    assert_string_equal(h_json_str(row, "status"), status);
    assert_int_equal(h_json_bool(row, "unfinished"), 0);
    return row;
}

static const char *
my_os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());

    assert_non_null(pw);
    return pw->pw_name;
}

/* The SQLSTATE of the next result of an async session, consuming the rest. */
static char *
next_sqlstate(PGconn *c)
{
    PGresult *res;
    char *state = NULL;

    while ((res = PQgetResult(c)) != NULL)
    {
        const char *s = PQresultErrorField(res, PG_DIAG_SQLSTATE);

        if (state == NULL)
            state = strdup(s ? s : "00000");
        PQclear(res);
    }
    return state;
}

static void
assert_conn_works(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT 1");

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        fprintf(stderr, "harness: session broken: %s\n", PQerrorMessage(c));
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
}

static void
assert_conn_broken(PGconn *c)
{
    PGresult *res = PQexec(c, "SELECT 1");

    assert_int_not_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
}

/* ------------------------------------------------------- terminate-idle */

static void
test_terminate_idle_application(void **state)
{
    HRun r;
    PGconn *leak[3], *other[2];
    int p_leak[3];
    json_t *row;
    int i;

    (void)state;
    new_store("tidle");
    for (i = 0; i < 3; i++)
        leak[i] = open_as("leaky-app", NULL);
    for (i = 0; i < 2; i++)
        other[i] = open_as("other-app", NULL);
    for (i = 0; i < 3; i++)
        p_leak[i] = PQbackendPID(leak[i]);
    for (i = 0; i < 3; i++)
        wait_state_age(p_leak[i], "idle", 1.1);
    for (i = 0; i < 2; i++)
        wait_state_age(PQbackendPID(other[i]), "idle", 1.1);

    /* Dry run: lists the three, changes nothing, writes no audit row. */
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "leaky-app", "--idle-for", "1s",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(dry run)");
    H_ASSERT_CONTAINS(r.out, "would terminate 3 sessions (threshold 1s)");
    H_ASSERT_CONTAINS(r.out, "dry run: nothing was done");
    for (i = 0; i < 3; i++)
        assert_lists(&r, p_leak[i]);
    for (i = 0; i < 2; i++)
        assert_not_lists(&r, PQbackendPID(other[i]));
    H_ASSERT_NOT_CONTAINS(r.out, "signalled");
    h_run_free(&r);
    for (i = 0; i < 3; i++)
        assert_alive(p_leak[i]); /* no query: that would end their idle time */
    assert_audit_empty();

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "leaky-app", "--idle-for", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.out, "(dry run)");
    H_ASSERT_CONTAINS(r.out, "will terminate 3 sessions");
    assert_int_equal(h_count_substr(r.out, "  signalled"), 3);
    H_ASSERT_CONTAINS(r.out, "3 signalled, 0 skipped, 0 failed");
    H_ASSERT_CONTAINS(r.out, "audit #1: done");
    for (i = 0; i < 2; i++)
        assert_not_lists(&r, PQbackendPID(other[i]));
    h_run_free(&r);

    for (i = 0; i < 3; i++)
        assert_gone(p_leak[i]);
    for (i = 0; i < 2; i++)
    {
        assert_alive(PQbackendPID(other[i]));
        assert_conn_works(other[i]);
    }
    for (i = 0; i < 3; i++)
        assert_conn_broken(leak[i]);

    row = audit_newest(&r, "terminate-idle", "done");
    assert_int_equal(h_json_len(row, "plan.sessions"), 3);
    assert_int_equal(h_json_len(row, "result"), 3);
    for (i = 0; i < 3; i++)
    {
        char item[32];
        json_t *res;

        snprintf(item, sizeof(item), "pid %d", p_leak[i]);
        res = h_json_find_str(row, "result", "item", item);
        assert_non_null(res);
        assert_string_equal(h_json_str(res, "outcome"), "signalled");
        assert_non_null(h_json_find_int(row, "plan.sessions", "pid", p_leak[i]));
    }
    assert_string_equal(h_json_str(row, "options"), "--application leaky-app");
    assert_string_equal(h_json_str(row, "os_user"), my_os_user());
    assert_string_equal(h_json_str(row, "db_role"), "postgres");
    assert_string_equal(h_json_str(row, "plan.signal"), "terminate");
    h_run_free(&r);
}

/* ------------------------------------------- terminate-idle-in-transaction */

static void
test_terminate_idle_in_transaction(void **state)
{
    HRun r;
    PGconn *plain, *aborted, *idle, *busy;
    int p_plain, p_aborted, p_idle, p_busy;

    (void)state;
    new_store("tiit");
    plain = h_session_idle_in_transaction(&cl, "iit-app", false);
    aborted = h_session_idle_in_transaction(&cl, "iit-app", true);
    idle = open_as("iit-app", NULL);
    busy = h_session_send(&cl, "iit-app", "SELECT pg_sleep(60)");
    assert_non_null(plain);
    assert_non_null(aborted);
    assert_non_null(busy);
    p_plain = PQbackendPID(plain);
    p_aborted = PQbackendPID(aborted);
    p_idle = PQbackendPID(idle);
    p_busy = PQbackendPID(busy);
    wait_state_age(p_plain, "idle in transaction", 1.1);
    wait_state_age(p_aborted, "idle in transaction (aborted)", 1.1);
    wait_state_age(p_idle, "idle", 1.1);
    wait_query_age(p_busy, 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle-in-transaction", "--idle-for", "1s", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 2 sessions");
    H_ASSERT_CONTAINS(r.out, "idle in transaction (aborted)");
    assert_lists(&r, p_plain);
    assert_lists(&r, p_aborted);
    assert_not_lists(&r, p_idle);
    assert_not_lists(&r, p_busy);
    h_run_free(&r);
    assert_alive(p_plain);
    assert_alive(p_aborted);
    assert_audit_empty();

    H_RUN(&r, &cl, "fix", "terminate-idle-in-transaction", "--idle-for", "1s", "--apply", "--yes",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "2 signalled, 0 skipped, 0 failed");
    assert_lists(&r, p_plain);
    assert_lists(&r, p_aborted);
    assert_not_lists(&r, p_idle);
    assert_not_lists(&r, p_busy);
    h_run_free(&r);

    assert_gone(p_plain);
    assert_gone(p_aborted);
    assert_alive(p_idle);
    assert_alive(p_busy);
    assert_conn_works(idle);
    /* The busy one still runs its query. */
    {
        char sql[200];

        snprintf(sql, sizeof(sql),
                 "SELECT state FROM pg_catalog.pg_stat_activity WHERE pid = %d", p_busy);
        assert_value(sql, "active");
    }
    h_run_free(&r);
    audit_newest(&r, "terminate-idle-in-transaction", "done");
    h_run_free(&r);
}

/* ---------------------------------------------------------- cancel-long */

static void
test_cancel_long(void **state)
{
    HRun r;
    PGconn *slow, *other;
    int p_slow, p_other;
    char sql[256], *sqlstate;

    (void)state;
    new_store("cancel");
    slow = h_session_send(&cl, "sleeper", "SELECT pg_sleep(60)");
    other = h_session_send(&cl, "other-sleeper", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    assert_non_null(other);
    p_slow = PQbackendPID(slow);
    p_other = PQbackendPID(other);
    wait_query_age(p_slow, 1.1);
    wait_query_age(p_other, 1.1);

    H_RUN(&r, &cl, "fix", "cancel-long", "--application", "sleeper", "--running-for", "1s",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would cancel 1 session");
    H_ASSERT_CONTAINS(r.out, "pg_sleep(60)");
    assert_lists(&r, p_slow);
    assert_not_lists(&r, p_other);
    h_run_free(&r);
    wait_query_age(p_slow, 1.1); /* still running */

    H_RUN(&r, &cl, "fix", "cancel-long", "--application", "sleeper", "--running-for", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "will cancel 1 session");
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    H_ASSERT_NOT_CONTAINS(r.out, "terminate");
    h_run_free(&r);

    /* Cancelled, not terminated: still connected, idle, the client got 57014. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d AND state = "
             "'idle'",
             p_slow);
    wait_true(sql);
    sqlstate = next_sqlstate(slow);
    assert_non_null(sqlstate);
    assert_string_equal(sqlstate, "57014");
    free(sqlstate);
    assert_conn_works(slow);
    /* The other application's query is untouched. */
    wait_query_age(p_other, 1.1);
    audit_newest(&r, "cancel-long", "done");
    h_run_free(&r);
}

/* pg_sleep honours the cancel: the escalation is not needed, nothing is terminated. */
static void
test_cancel_long_terminate_not_needed(void **state)
{
    HRun r;
    PGconn *slow;
    int p_slow;
    char sql[256], *sqlstate;
    json_t *row;

    (void)state;
    new_store("cancelterm");
    slow = h_session_send(&cl, "sleeper", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    p_slow = PQbackendPID(slow);
    wait_query_age(p_slow, 1.1);

    H_RUN(&r, &cl, "fix", "cancel-long", "--running-for", "1s", "--terminate", "--grace", "1s",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(dry run)");
    H_ASSERT_CONTAINS(r.out, " 1 session (threshold 1s)");
    assert_lists(&r, p_slow);
    h_run_free(&r);
    wait_query_age(p_slow, 1.1);

    H_RUN(&r, &cl, "fix", "cancel-long", "--running-for", "1s", "--terminate", "--grace", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "waiting 1.0s before terminating");
    H_ASSERT_CONTAINS(r.out, "(terminate)");
    H_ASSERT_CONTAINS(r.out, "not needed: the cancel ended the query");
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    assert_true(r.wall_s >= 1.0);
    h_run_free(&r);

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d AND state = "
             "'idle'",
             p_slow);
    wait_true(sql);
    sqlstate = next_sqlstate(slow);
    assert_non_null(sqlstate);
    assert_string_equal(sqlstate, "57014");
    free(sqlstate);
    assert_alive(p_slow);
    assert_conn_works(slow);

    row = audit_newest(&r, "cancel-long", "done");
    assert_string_equal(h_json_str(row, "options"), "--terminate");
    assert_int_equal(h_json_len(row, "result"), 1); /* "not needed" is not an action */
    h_run_free(&r);
}

/* A query that swallows cancels (it catches query_canceled): the escalation terminates it. */
static void
test_cancel_long_terminate_escalates(void **state)
{
    HRun r;
    PGconn *stubborn;
    int pid;
    char item[48];
    json_t *row, *res;

    (void)state;
    new_store("escalate");
    stubborn = h_session_send(&cl, "stubborn",
                              "DO $$ BEGIN LOOP BEGIN PERFORM pg_sleep(60); "
                              "EXCEPTION WHEN query_canceled THEN NULL; END; END LOOP; END $$");
    assert_non_null(stubborn);
    pid = PQbackendPID(stubborn);
    wait_query_age(pid, 1.1);

    H_RUN(&r, &cl, "fix", "cancel-long", "--running-for", "1s", "--terminate", "--grace", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "waiting 1.0s before terminating");
    H_ASSERT_NOT_CONTAINS(r.out, "not needed");
    snprintf(item, sizeof(item), "pid %d (terminate)", pid);
    H_ASSERT_CONTAINS(r.out, item);
    H_ASSERT_CONTAINS(r.out, "2 signalled, 0 skipped, 0 failed");
    h_run_free(&r);
    assert_gone(pid);
    assert_conn_broken(stubborn);

    row = audit_newest(&r, "cancel-long", "done");
    res = h_json_find_str(row, "result", "item", item);
    assert_non_null(res);
    assert_string_equal(h_json_str(res, "outcome"), "signalled");
    h_run_free(&r);
}

/* --------------------------------------------------- terminate-blockers */

static void
wait_lock_age(int pid, double seconds)
{
    char sql[320];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) >= 1 FROM pg_catalog.pg_locks WHERE pid = %d AND NOT granted AND "
             "clock_timestamp() - waitstart > interval '%.3f s'",
             pid, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

static void
test_terminate_blockers_chain(void **state)
{
    HRun r;
    PGconn *root, *mid, *tail;
    PGresult *res;
    int p_root, p_mid, p_tail, n_ok = 0;
    char blocks[64];

    (void)state;
    new_store("blockers");
    assert_int_equal(h_sql(&cl, "CREATE TABLE fix_chain_a (id int PRIMARY KEY, v int);"
                                "CREATE TABLE fix_chain_b (id int);"
                                "INSERT INTO fix_chain_a VALUES (1, 0)"),
                     0);
    /* root: a row lock, idle in transaction; mid: holds fix_chain_b and waits for the
     * row, then commits; tail: waits for fix_chain_b behind mid. */
    root = open_as("chain-app", NULL);
    res = PQexec(root, "BEGIN; UPDATE fix_chain_a SET v = v + 1 WHERE id = 1");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    mid = h_session_send(&cl, "chain-app",
                         "BEGIN; LOCK TABLE fix_chain_b IN ACCESS EXCLUSIVE MODE; "
                         "UPDATE fix_chain_a SET v = v + 1 WHERE id = 1; COMMIT");
    assert_non_null(mid);
    wait_lock_age(PQbackendPID(mid), 0);
    tail = h_session_send(&cl, "chain-app", "SELECT count(*) FROM fix_chain_b");
    assert_non_null(tail);
    p_root = PQbackendPID(root);
    p_mid = PQbackendPID(mid);
    p_tail = PQbackendPID(tail);
    wait_lock_age(p_mid, 1.1);
    wait_lock_age(p_tail, 1.1);

    H_RUN(&r, &cl, "fix", "terminate-blockers", "--lock-wait", "1s", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 1 session");
    assert_lists(&r, p_root);
    assert_not_lists(&r, p_mid);
    assert_not_lists(&r, p_tail);
    H_ASSERT_CONTAINS(r.out, "blocks 2");
    h_run_free(&r);
    assert_alive(p_root);
    wait_lock_age(p_tail, 1.1); /* still waiting */

    H_RUN(&r, &cl, "fix", "terminate-blockers", "--lock-wait", "1s", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    assert_lists(&r, p_root);
    assert_not_lists(&r, p_mid);
    assert_not_lists(&r, p_tail);
    h_run_free(&r);

    /* Only the root ended; the waiters got their locks and finished. */
    assert_gone(p_root);
    while ((res = PQgetResult(mid)) != NULL)
    {
        if (PQresultStatus(res) == PGRES_COMMAND_OK)
            n_ok++;
        else
            fprintf(stderr, "harness: mid: %s\n", PQresultErrorMessage(res));
        PQclear(res);
    }
    assert_int_equal(n_ok, 4); /* BEGIN, LOCK, UPDATE, COMMIT */
    res = PQgetResult(tail);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    assert_null(PQgetResult(tail));
    assert_alive(p_mid);
    assert_alive(p_tail);
    assert_value("SELECT v FROM fix_chain_a WHERE id = 1", "1"); /* root's update rolled back */
    snprintf(blocks, sizeof(blocks), "pid %d", p_root);
    {
        json_t *row = audit_newest(&r, "terminate-blockers", "done");

        assert_non_null(h_json_find_str(row, "result", "item", blocks));
        assert_int_equal(h_json_len(row, "result"), 1);
    }
    h_run_free(&r);
}

/* ------------------------------------------------------ analyze, vacuum */

static void
test_analyze_table(void **state)
{
    HRun r;

    (void)state;
    new_store("analyze");
    assert_int_equal(h_sql(&cl, "CREATE TABLE fix_an (id int, v text) "
                                "WITH (autovacuum_enabled = false);"
                                "INSERT INTO fix_an SELECT g, 'x' FROM generate_series(1, 2000) g"),
                     0);
    wait_true("SELECT n_mod_since_analyze = 2000 FROM pg_stat_user_tables "
              "WHERE relname = 'fix_an'");

    H_RUN(&r, &cl, "fix", "analyze", "public.fix_an", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would run");
    H_ASSERT_CONTAINS(r.out, "ANALYZE \"public\".\"fix_an\";");
    h_run_free(&r);
    assert_value("SELECT last_analyze IS NULL FROM pg_stat_user_tables WHERE relname = 'fix_an'",
                 "t");
    assert_audit_empty();

    H_RUN(&r, &cl, "fix", "analyze", "public.fix_an", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "ANALYZE \"public\".\"fix_an\": done in");
    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
    h_run_free(&r);
    wait_true("SELECT last_analyze IS NOT NULL AND n_mod_since_analyze = 0 "
              "FROM pg_stat_user_tables WHERE relname = 'fix_an'");
    audit_newest(&r, "analyze", "done");
    h_run_free(&r);
}

static void
test_vacuum_table(void **state)
{
    HRun r;

    (void)state;
    new_store("vacuum");
    assert_int_equal(h_sql(&cl, "CREATE TABLE fix_vac (id int, v text) "
                                "WITH (autovacuum_enabled = false);"
                                "INSERT INTO fix_vac SELECT g, 'x' "
                                "FROM generate_series(1, 10000) g"),
                     0);
    assert_int_equal(h_sql(&cl, "DELETE FROM fix_vac WHERE id % 2 = 0"), 0);
    wait_true("SELECT n_dead_tup = 5000 FROM pg_stat_user_tables WHERE relname = 'fix_vac'");

    H_RUN(&r, &cl, "fix", "vacuum", "public.fix_vac", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "VACUUM (ANALYZE) \"public\".\"fix_vac\";");
    H_ASSERT_CONTAINS(r.out, "dry run: nothing was done");
    h_run_free(&r);
    assert_value("SELECT n_dead_tup || ' ' || (last_vacuum IS NULL) FROM pg_stat_user_tables "
                 "WHERE relname = 'fix_vac'",
                 "5000 true");

    H_RUN(&r, &cl, "fix", "vacuum", "public.fix_vac", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "VACUUM (ANALYZE) \"public\".\"fix_vac\": done in");
    h_run_free(&r);
    wait_true("SELECT n_dead_tup = 0 AND last_vacuum IS NOT NULL AND last_analyze IS NOT NULL "
              "FROM pg_stat_user_tables WHERE relname = 'fix_vac'");
    audit_newest(&r, "vacuum", "done");
    h_run_free(&r);
}

/* Without a table, vacuum takes the bloated ones from the snapshot. */
static void
test_vacuum_picks_bloated_table(void **state)
{
    HRun r;

    (void)state;
    new_store("vacuumpick");
    /* 15% dead: past 10%, under the default 20%.  A clean table next to it. */
    assert_int_equal(h_sql(&cl, "CREATE TABLE fix_bloat (id int, v text) "
                                "WITH (autovacuum_enabled = false);"
                                "INSERT INTO fix_bloat SELECT g, 'x' "
                                "FROM generate_series(1, 10000) g;"
                                "CREATE TABLE fix_other (id int) WITH (autovacuum_enabled = false);"
                                "INSERT INTO fix_other SELECT generate_series(1, 5000)"),
                     0);
    assert_int_equal(h_sql(&cl, "DELETE FROM fix_bloat WHERE id <= 1500"), 0);
    wait_true("SELECT n_dead_tup = 1500 AND n_live_tup = 8500 FROM pg_stat_user_tables "
              "WHERE relname = 'fix_bloat'");

    H_RUN(&r, &cl, "fix", "vacuum", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do: no table has dead tuples past dead_tuple_ratio");
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "vacuum", "--set", "dead_tuple_ratio=10%", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "VACUUM (ANALYZE) \"public\".\"fix_bloat\";");
    assert_int_equal(h_count_substr(r.out, "VACUUM"), 1);
    H_ASSERT_NOT_CONTAINS(r.out, "fix_other");
    h_run_free(&r);
    assert_value("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'fix_bloat'",
                 "1500");

    H_RUN(&r, &cl, "fix", "vacuum", "--set", "dead_tuple_ratio=10%", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "VACUUM (ANALYZE) \"public\".\"fix_bloat\": done in");
    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
    h_run_free(&r);
    wait_true("SELECT n_dead_tup = 0 AND last_vacuum IS NOT NULL FROM pg_stat_user_tables "
              "WHERE relname = 'fix_bloat'");
    assert_value("SELECT last_vacuum IS NULL FROM pg_stat_user_tables WHERE relname = 'fix_other'",
                 "t");
}

/* --------------------------------------------------------- create-index */

static const char *const index_valid_sql =
    "SELECT string_agg(i.indisvalid::text, ',') FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = 'idx_orders_customer_id'";

static const char *const index_count_sql =
    "SELECT count(*) FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c "
    "ON c.oid = i.indexrelid WHERE c.relname = 'idx_orders_customer_id'";

static void
make_orders(void)
{
    assert_int_equal(h_sql(&cl, "CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, "
                                "amount numeric) WITH (autovacuum_enabled = false);"
                                "INSERT INTO orders (customer_id, amount) "
                                "SELECT g % 1000, g FROM generate_series(1, 20000) g"),
                     0);
}

static void
test_create_index(void **state)
{
    HRun r;

    (void)state;
    new_store("index");
    make_orders();

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out,
                      "CREATE INDEX CONCURRENTLY \"idx_orders_customer_id\" ON "
                      "\"public\".\"orders\" (\"customer_id\");");
    H_ASSERT_CONTAINS(r.out, "lock_timeout 5.0s");
    h_run_free(&r);
    assert_value(index_count_sql, "0");

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--apply", "--yes",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
    h_run_free(&r);
    assert_value(index_valid_sql, "true");
    assert_value("SELECT indexdef LIKE '%(customer_id)' FROM pg_indexes "
                 "WHERE schemaname = 'public' AND indexname = 'idx_orders_customer_id'",
                 "t");
    audit_newest(&r, "create-index", "done");
    h_run_free(&r);
}

static void
test_create_index_under_writes(void **state)
{
    HRun r;
    PGconn *writer;
    PGcancel *cancel;
    char errbuf[256], *before, *after, *sqlstate;

    (void)state;
    new_store("indexwrites");
    make_orders();
    writer = h_session_send(&cl, "writer",
                            "DO $$ BEGIN LOOP INSERT INTO orders (customer_id, amount) "
                            "VALUES ((random() * 1000)::int, 1); COMMIT; PERFORM pg_sleep(0.001); "
                            "END LOOP; END $$");
    assert_non_null(writer);
    wait_true("SELECT count(*) > 20050 FROM orders");
    before = h_sql_value(&cl, "SELECT count(*) FROM orders");
    assert_non_null(before);

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--apply", "--yes",
          "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "1 done, 0 failed");
    h_run_free(&r);
    assert_value(index_valid_sql, "true");

    /* The writer kept writing during the build. */
    after = h_sql_value(&cl, "SELECT count(*) FROM orders");
    assert_non_null(after);
    assert_true(atol(after) > atol(before));
    free(before);
    free(after);
    cancel = PQgetCancel(writer);
    assert_non_null(cancel);
    assert_int_equal(PQcancel(cancel, errbuf, sizeof(errbuf)), 1);
    PQfreeCancel(cancel);
    sqlstate = next_sqlstate(writer);
    assert_non_null(sqlstate);
    assert_string_equal(sqlstate, "57014");
    free(sqlstate);

    /* Every row, including those written during the build, is in the index. */
    assert_value("SELECT 'ok' FROM (SELECT bt_index_check('idx_orders_customer_id'::regclass, "
                 "true)) s",
                 "ok");
}

/* A lock CREATE INDEX CONCURRENTLY cannot take: the build fails at once, nothing is left. */
static void
test_create_index_lock_conflict(void **state)
{
    HRun r;
    PGconn *holder;
    PGresult *res;
    json_t *row;

    (void)state;
    new_store("indexlock");
    make_orders();
    holder = open_as("holder", NULL);
    res = PQexec(holder, "BEGIN; LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--lock-timeout", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "lock_timeout 1.0s");
    H_ASSERT_CONTAINS(r.out, "failed:");
    H_ASSERT_CONTAINS(r.out, "lock timeout");
    H_ASSERT_CONTAINS(r.out, "0 done, 1 failed");
    H_ASSERT_CONTAINS(r.out, "audit #1: failed");
    h_run_free(&r);
    assert_value(index_count_sql, "0");
    assert_alive(PQbackendPID(holder));
    row = audit_newest(&r, "create-index", "failed");
    assert_int_equal(h_json_len(row, "result"), 1);
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "lock timeout");
    h_run_free(&r);
}

/* The build gets as far as an INVALID index, then times out waiting for an old
 * snapshot: pgmedic drops what it left. */
static void
test_create_index_invalid_dropped(void **state)
{
    HRun r;
    PGconn *old;
    PGresult *res;

    (void)state;
    new_store("indexinvalid");
    make_orders();
    old = open_as("old-snapshot", NULL);
    res = PQexec(old, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--lock-timeout", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "failed:");
    H_ASSERT_CONTAINS(r.out, "the INVALID index it left was dropped");
    H_ASSERT_CONTAINS(r.out, "0 done, 1 failed");
    h_run_free(&r);
    assert_value(index_count_sql, "0");
    assert_alive(PQbackendPID(old));
    audit_newest(&r, "create-index", "failed");
    h_run_free(&r);
}

/* An open write transaction on the table: the build leaves an INVALID index
 * that cannot be dropped either while that transaction is open.  pgmedic must
 * say so rather than claim it was dropped. */
static void
test_create_index_invalid_not_droppable(void **state)
{
    HRun r;
    PGconn *w;
    PGresult *res;

    (void)state;
    new_store("indexstuck");
    make_orders();
    w = open_as("open-writer", NULL);
    res = PQexec(w, "BEGIN; INSERT INTO orders (customer_id, amount) VALUES (1, 1)");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);

    H_RUN(&r, &cl, "fix", "create-index", "public.orders(customer_id)", "--lock-timeout", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "failed:");
    {
        char *valid = h_sql_value(&cl, index_count_sql);

        assert_non_null(valid);
        if (strcmp(valid, "0") == 0)
            H_ASSERT_CONTAINS(r.out, "the INVALID index it left was dropped");
        else
        {
            /* Left behind: said so, and it is the INVALID one. */
            H_ASSERT_CONTAINS(r.out, "NOT dropped: drop it by hand");
            assert_value(index_valid_sql, "false");
        }
        free(valid);
    }
    h_run_free(&r);
    audit_newest(&r, "create-index", "failed");
    h_run_free(&r);
}

/* ------------------------------------------------------------- slow-log */

static void
test_slow_log_on_off(void **state)
{
    HRun r;
    json_t *row;

    (void)state;
    new_store("slowlog");
    assert_int_equal(h_sql(&cl, "ALTER SYSTEM SET log_min_duration_statement = '5s'"), 0);
    assert_int_equal(h_sql(&cl, "SELECT pg_reload_conf()"), 0);
    wait_true("SELECT current_setting('log_min_duration_statement') = '5s'");

    H_RUN(&r, &cl, "fix", "slow-log", "on", "--min-duration", "250ms", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "log_min_duration_statement is 5s now; would run:");
    H_ASSERT_CONTAINS(r.out, "ALTER SYSTEM SET log_min_duration_statement = '250ms'");
    h_run_free(&r);
    assert_value("SHOW log_min_duration_statement", "5s");
    assert_audit_empty();

    H_RUN(&r, &cl, "fix", "slow-log", "on", "--min-duration", "250ms", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: log_min_duration_statement = 250ms (was 5s)");
    h_run_free(&r);
    wait_true("SELECT current_setting('log_min_duration_statement') = '250ms'");
    row = audit_newest(&r, "slow-log on", "done");
    assert_string_equal(h_json_str(row, "plan.previous"), "5s");
    assert_string_equal(h_json_str(row, "plan.new"), "250ms");
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "slow-log", "off", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: log_min_duration_statement = 5s (was 250ms)");
    h_run_free(&r);
    wait_true("SELECT current_setting('log_min_duration_statement') = '5s'");
    audit_newest(&r, "slow-log off", "done");
    h_run_free(&r);

    /* "off" again: pgmedic has nothing on any more, the value it restored stays. */
    H_RUN(&r, &cl, "fix", "slow-log", "off", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_NOT_CONTAINS(r.out, "= -1");
    h_run_free(&r);
    assert_value("SELECT setting FROM pg_catalog.pg_file_settings "
                 "WHERE name = 'log_min_duration_statement' AND applied",
                 "5s");

    assert_int_equal(h_sql(&cl, "ALTER SYSTEM RESET log_min_duration_statement"), 0);
    assert_int_equal(h_sql(&cl, "SELECT pg_reload_conf()"), 0);
    wait_true("SELECT current_setting('log_min_duration_statement') = '-1'");
}

/* "on" twice (a lower threshold while investigating), then "off": back to the
 * value before pgmedic first changed it, not to a value pgmedic itself set. */
static void
test_slow_log_on_twice_then_off(void **state)
{
    HRun r;

    (void)state;
    new_store("slowlog2");
    wait_true("SELECT current_setting('log_min_duration_statement') = '-1'");
    H_RUN(&r, &cl, "fix", "slow-log", "on", "--min-duration", "250ms", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    wait_true("SELECT current_setting('log_min_duration_statement') = '250ms'");
    H_RUN(&r, &cl, "fix", "slow-log", "on", "--min-duration", "100ms", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: log_min_duration_statement = 100ms (was 250ms)");
    h_run_free(&r);
    wait_true("SELECT current_setting('log_min_duration_statement') = '100ms'");

    H_RUN(&r, &cl, "fix", "slow-log", "off", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: log_min_duration_statement = -1 (was 100ms)");
    h_run_free(&r);
    wait_true("SELECT current_setting('log_min_duration_statement') = '-1'");
}

static int
reset_slow_log(void **state)
{
    int ret = cleanup(state);

    if (h_sql(&cl, "ALTER SYSTEM RESET log_min_duration_statement") != 0 ||
        h_sql(&cl, "SELECT pg_reload_conf()") != 0 ||
        !h_wait_sql(&cl, "SELECT current_setting('log_min_duration_statement') = '-1'", 10.0))
        ret = -1;
    return ret;
}

/* ----------------------------------------------------------- filters */

/* --user and --client narrow the selection like --application. */
static void
test_terminate_idle_user_and_client(void **state)
{
    HRun r;
    PGconn *tcp_app, *sock_app, *tcp_pg;
    int p_tcp_app, p_sock_app, p_tcp_pg;

    (void)state;
    new_store("filters");
    tcp_app = h_session_open(&cl, &(HConnOpts){.application_name = "f-app", .user = "appuser",
                                               .tcp = true});
    sock_app = open_as("f-app", "appuser");
    tcp_pg = h_session_open(&cl, &(HConnOpts){.application_name = "f-app", .tcp = true});
    assert_non_null(tcp_app);
    assert_non_null(tcp_pg);
    p_tcp_app = PQbackendPID(tcp_app);
    p_sock_app = PQbackendPID(sock_app);
    p_tcp_pg = PQbackendPID(tcp_pg);
    wait_state_age(p_tcp_app, "idle", 1.1);
    wait_state_age(p_sock_app, "idle", 1.1);
    wait_state_age(p_tcp_pg, "idle", 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--idle-for", "1s", "--user", "appuser", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 2 sessions");
    assert_lists(&r, p_tcp_app);
    assert_lists(&r, p_sock_app);
    assert_not_lists(&r, p_tcp_pg);
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--idle-for", "1s", "--client", "local", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 1 session");
    assert_lists(&r, p_sock_app);
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--idle-for", "1s", "--client", "127.0.0.1", "--user",
          "appuser", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    assert_lists(&r, p_tcp_app);
    h_run_free(&r);
    assert_gone(p_tcp_app);
    assert_alive(p_sock_app);
    assert_alive(p_tcp_pg);
}

/* --------------------------------------------------------------- safety */

/* pgmedic as a non-superuser (pg_monitor + pg_signal_backend): a superuser's
 * session is left alone, with the reason. */
static void
test_safety_superuser_left_alone(void **state)
{
    HRun r;
    PGconn *su, *app;
    int p_su, p_app;
    json_t *row;

    (void)state;
    new_store("superuser");
    su = open_as("mixed-app", NULL);
    app = open_as("mixed-app", "appuser");
    p_su = PQbackendPID(su);
    p_app = PQbackendPID(app);
    wait_state_age(p_su, "idle", 1.1);
    wait_state_age(p_app, "idle", 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "mixed-app", "--idle-for", "1s",
          "-U", "medic", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 1 session");
    H_ASSERT_CONTAINS(r.out, "left alone:");
    H_ASSERT_CONTAINS(r.out, "because: a superuser's session, and pgmedic is not a superuser");
    H_ASSERT_CONTAINS(r.out, "not a superuser's session");
    assert_lists(&r, p_su);
    assert_lists(&r, p_app);
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "mixed-app", "--idle-for", "1s",
          "-U", "medic", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "superuser");
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    h_run_free(&r);
    assert_gone(p_app);
    assert_alive(p_su);
    assert_conn_works(su);

    row = audit_newest(&r, "terminate-idle", "done");
    assert_string_equal(h_json_str(row, "db_role"), "medic");
    assert_int_equal(h_json_len(row, "plan.sessions"), 1);
    assert_non_null(h_json_find_int(row, "plan.sessions", "pid", p_app));
    h_run_free(&r);
}

static void
test_safety_protected(void **state)
{
    HRun r;
    PGconn *keep, *role, *victim;
    int p_keep, p_role, p_victim;

    (void)state;
    new_store("protected");
    keep = open_as("keepme", NULL);
    role = open_as("plain-app", "appuser");
    victim = open_as("plain-app", NULL);
    p_keep = PQbackendPID(keep);
    p_role = PQbackendPID(role);
    p_victim = PQbackendPID(victim);
    wait_state_age(p_keep, "idle", 1.1);
    wait_state_age(p_role, "idle", 1.1);
    wait_state_age(p_victim, "idle", 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--idle-for", "1s", "--set",
          "protect_applications=keepme", "--set", "safety.protect_roles=appuser, nobody", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "would terminate 1 session");
    H_ASSERT_CONTAINS(r.out,
                      "because: protected application \"keepme\" (safety.protect_applications)");
    H_ASSERT_CONTAINS(r.out, "because: protected role \"appuser\" (safety.protect_roles)");
    h_run_free(&r);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--idle-for", "1s", "--set",
          "protect_applications=keepme", "--set", "safety.protect_roles=appuser, nobody", "--apply",
          "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "protected application \"keepme\"");
    H_ASSERT_CONTAINS(r.out, "protected role \"appuser\"");
    H_ASSERT_CONTAINS(r.out, "1 signalled, 0 skipped, 0 failed");
    h_run_free(&r);
    assert_gone(p_victim);
    assert_alive(p_keep);
    assert_alive(p_role);
    assert_conn_works(keep);
    assert_conn_works(role);
}

/* Without pg_signal_backend: nothing is signalled, the failure names the role to grant. */
static void
test_safety_missing_privilege(void **state)
{
    HRun r;
    PGconn *app;
    int pid;

    (void)state;
    new_store("noprivilege");
    assert_int_equal(h_sql(&cl, "DROP ROLE IF EXISTS monitor_only; CREATE ROLE monitor_only LOGIN; "
                                "GRANT pg_monitor TO monitor_only"),
                     0);
    app = open_as("priv-app", "appuser");
    pid = PQbackendPID(app);
    wait_state_age(pid, "idle", 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "priv-app", "--idle-for", "1s", "-U",
          "monitor_only", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "pg_signal_backend");
    H_ASSERT_CONTAINS(r.out, "0 signalled, 0 skipped, 1 failed");
    h_run_free(&r);
    assert_alive(pid);
    audit_newest(&r, "terminate-idle", "failed");
    h_run_free(&r);

    /* The text log shows what was not done, and why. */
    H_RUN(&r, NULL, "audit", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "failed     terminate-idle --application priv-app");
    H_ASSERT_CONTAINS(r.out, "as database role monitor_only");
    H_ASSERT_CONTAINS(r.out, "0 done, 0 skipped, 1 failed");
    {
        char line[64];

        snprintf(line, sizeof(line), "pid %d: failed: ", pid);
        H_ASSERT_CONTAINS(r.out, line);
    }
    h_run_free(&r);
}

/* Budget: more matching sessions than max_terminations → refused, nothing done. */
static void
test_safety_budget_refusal(void **state)
{
    HRun r;
    PGconn *s[5];
    int pids[5], i;

    (void)state;
    new_store("budget");
    for (i = 0; i < 5; i++)
    {
        s[i] = open_as("many-app", NULL);
        pids[i] = PQbackendPID(s[i]);
    }
    for (i = 0; i < 5; i++)
        wait_state_age(pids[i], "idle", 1.1);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "many-app", "--idle-for", "1s",
          "--set", "max_terminations=2", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "max_terminations");
    H_ASSERT_CONTAINS(r.err, "5 sessions match");
    H_ASSERT_NOT_CONTAINS(r.out, "signalled");
    h_run_free(&r);
    for (i = 0; i < 5; i++)
        assert_alive(pids[i]); /* no query: that would end their idle time */
    assert_audit_empty();

    /* Exactly at the budget: allowed. */
    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "many-app", "--idle-for", "1s",
          "--set", "max_terminations=5", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "5 signalled, 0 skipped, 0 failed");
    h_run_free(&r);
    for (i = 0; i < 5; i++)
        assert_gone(pids[i]);
}

/* pgmedic's own backend and autovacuum workers are never targets, whatever the
 * thresholds: on a cluster of its own with a slow autovacuum worker running. */
static HCluster av;

static int
stop_av(void **state)
{
    h_cluster_stop(&av);
    return cleanup(state);
}

static void
test_safety_never_own_or_autovacuum(void **state)
{
    const char *const sets[] = {"autovacuum_naptime=1s", NULL};
    HRun r;
    char *worker, *worker_after, sql[256];

    (void)state;
    new_store("own");
    assert_int_equal(h_cluster_start(&av, sets), 0);
    /* A worker that throttles itself on every page: it runs for minutes. */
    assert_int_equal(h_sql(&av, "CREATE TABLE fix_av (id int, pad text) WITH ("
                                "autovacuum_vacuum_cost_delay = 100, "
                                "autovacuum_vacuum_cost_limit = 1, "
                                "autovacuum_vacuum_threshold = 0, "
                                "autovacuum_vacuum_scale_factor = 0);"
                                "INSERT INTO fix_av SELECT g, repeat('x', 200) "
                                "FROM generate_series(1, 20000) g"),
                     0);
    assert_int_equal(h_sql(&av, "DELETE FROM fix_av WHERE id % 2 = 0"), 0);
    if (!h_wait_sql(&av,
                    "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
                    "WHERE backend_type = 'autovacuum worker' AND query LIKE '%fix_av%'",
                    30.0))
        fail_msg("no autovacuum worker on fix_av");
    worker = h_sql_value(&av, "SELECT pid || ' ' || backend_start FROM pg_catalog.pg_stat_activity "
                              "WHERE backend_type = 'autovacuum worker'");
    assert_non_null(worker);

    /* No client session at all: every threshold at 0, nothing may match. */
    H_RUN(&r, &av, "fix", "cancel-long", "--running-for", "0s", "--terminate", "--grace", "0s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do: no session matches");
    h_run_free(&r);
    H_RUN(&r, &av, "fix", "terminate-idle", "--idle-for", "0s", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do: no session matches");
    h_run_free(&r);
    H_RUN(&r, &av, "fix", "terminate-blockers", "--lock-wait", "0s", "--apply", "--yes", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "nothing to do: no session matches");
    h_run_free(&r);

    worker_after =
        h_sql_value(&av, "SELECT pid || ' ' || backend_start FROM pg_catalog.pg_stat_activity "
                         "WHERE backend_type = 'autovacuum worker'");
    assert_non_null(worker_after);
    assert_string_equal(worker_after, worker); /* the same worker, never signalled */
    free(worker);
    free(worker_after);
    snprintf(sql, sizeof(sql), "SELECT count(*) = 0 FROM pg_catalog.pg_stat_activity "
                               "WHERE backend_type = 'client backend' "
                               "AND pid <> pg_catalog.pg_backend_pid()");
    assert_true(h_wait_sql(&av, sql, 5.0));
}

/* ------------------------------------------- the re-check (act_signal.sql) */

/* Runs sql/act_signal.sql on conn; the outcome (caller frees). */
static char *
act_signal(PGconn *conn, const char *sql, int pid, const char *backend_start, const char *signal,
           const char *mode, const char *age_s, const char *since, const char *may_super)
{
    char pidbuf[16];
    const char *params[7];
    PGresult *res;
    char *out;

    snprintf(pidbuf, sizeof(pidbuf), "%d", pid);
    params[0] = pidbuf;
    params[1] = backend_start;
    params[2] = signal;
    params[3] = mode;
    params[4] = age_s;
    params[5] = since;
    params[6] = may_super;
    res = PQexecParams(conn, sql, 7, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
        fprintf(stderr, "harness: act_signal failed: %s\n", PQerrorMessage(conn));
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

static char *
activity(PGconn *conn, int pid, const char *column)
{
    char sql[200];
    PGresult *res;
    char *v;

    snprintf(sql, sizeof(sql), "SELECT %s::text FROM pg_catalog.pg_stat_activity WHERE pid = %d",
             column, pid);
    res = PQexec(conn, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    v = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return v;
}

#define ASSERT_OUTCOME(got, want)                                                                  \
    do                                                                                             \
    {                                                                                              \
        char *o_ = (got);                                                                          \
        if (strcmp(o_, (want)) != 0)                                                               \
            fprintf(stderr, "harness: outcome \"%s\", want \"%s\"\n", o_, (want));                 \
        assert_string_equal(o_, (want));                                                           \
        free(o_);                                                                                  \
    } while (0)

static void
test_recheck_statement(void **state)
{
    char path[H_PATH_MAX], *sql, *bs_idle, *bs_busy, *qs_busy, *bs_ckpt, *stale, *own_bs;
    PGconn *me, *idle, *busy, *app;
    PGresult *res;
    int p_idle, p_busy, p_ckpt, p_app;

    (void)state;
    snprintf(path, sizeof(path), "%s/sql/act_signal.sql", h_srcdir());
    sql = h_read_file(path, NULL);
    assert_non_null(sql);
    me = open_as("rechecker", NULL);
    idle = open_as("victim", NULL);
    app = open_as("victim", "appuser");
    busy = h_session_send(&cl, "busy", "SELECT pg_sleep(60)");
    assert_non_null(busy);
    p_idle = PQbackendPID(idle);
    p_busy = PQbackendPID(busy);
    p_app = PQbackendPID(app);
    wait_query_age(p_busy, 0.2);
    wait_state_age(p_idle, "idle", 0.2);
    bs_idle = activity(me, p_idle, "backend_start");
    bs_busy = activity(me, p_busy, "backend_start");
    qs_busy = activity(me, p_busy, "query_start");
    own_bs = activity(me, PQbackendPID(me), "backend_start");
    res = PQexec(me, "SELECT pid, backend_start::text FROM pg_catalog.pg_stat_activity "
                     "WHERE backend_type = 'checkpointer'");
    assert_int_equal(PQntuples(res), 1);
    p_ckpt = atoi(PQgetvalue(res, 0, 0));
    bs_ckpt = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    {
        char q[200];

        snprintf(q, sizeof(q),
                 "SELECT (backend_start - interval '1 s')::text FROM pg_catalog.pg_stat_activity "
                 "WHERE pid = %d",
                 p_idle);
        res = PQexec(me, q);
        assert_int_equal(PQntuples(res), 1);
        stale = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
    }

    /* The pid was reused by another session: left alone. */
    ASSERT_OUTCOME(act_signal(me, sql, p_idle, stale, "terminate", "idle", "0", NULL, "true"),
                   "skipped: the pid now belongs to another session");
    /* Planned as idle, but busy now (it ran a query since the dry run). */
    ASSERT_OUTCOME(act_signal(me, sql, p_busy, bs_busy, "terminate", "idle", "0", NULL, "true"),
                   "skipped: no longer idle (now active)");
    ASSERT_OUTCOME(
        act_signal(me, sql, p_idle, bs_idle, "terminate", "idle_in_transaction", "0", NULL, "true"),
        "skipped: no longer idle in transaction (now idle)");
    /* Idle, but not for as long as the plan saw. */
    ASSERT_OUTCOME(act_signal(me, sql, p_idle, bs_idle, "terminate", "idle", "3600", NULL, "true"),
                   "skipped: in this state for less than the threshold");
    /* Another query than the one planned. */
    ASSERT_OUTCOME(act_signal(me, sql, p_busy, bs_busy, "cancel", "active", "0",
                              "2000-01-01 00:00:00+00", "true"),
                   "skipped: that query is no longer running");
    ASSERT_OUTCOME(
        act_signal(me, sql, p_busy, bs_busy, "cancel", "active", "3600", qs_busy, "true"),
        "skipped: running for less than the threshold");
    /* A blocker that blocks nobody. */
    ASSERT_OUTCOME(act_signal(me, sql, p_idle, bs_idle, "terminate", "blocker", "0", NULL, "true"),
                   "skipped: no longer blocks anyone");
    /* A superuser's session when pgmedic is not one. */
    ASSERT_OUTCOME(act_signal(me, sql, p_idle, bs_idle, "terminate", "idle", "0", NULL, "false"),
                   "skipped: a superuser's session (pgmedic is not a superuser)");
    /* Never its own session, nor a non-client backend, nor a pid that does not exist. */
    ASSERT_OUTCOME(act_signal(me, sql, PQbackendPID(me), own_bs, "terminate", "active", "0", NULL,
                              "true"),
                   "skipped: pgmedic's own session");
    ASSERT_OUTCOME(act_signal(me, sql, p_ckpt, bs_ckpt, "terminate", "idle", "0", NULL, "true"),
                   "skipped: not a client backend");
    ASSERT_OUTCOME(act_signal(me, sql, 2000000000, bs_idle, "terminate", "idle", "0", NULL, "true"),
                   "gone: the session has ended");

    /* Nothing above signalled anything. */
    assert_alive(p_idle);
    assert_alive(p_busy);
    assert_alive(p_ckpt);
    assert_conn_works(idle);
    wait_query_age(p_busy, 0.2);

    /* As a non-superuser pgmedic role: the superuser's session is refused, the
     * application role's one is signalled. */
    {
        PGconn *medic = open_as("pgmedic", "medic");
        char *bs_app = activity(me, p_app, "backend_start");

        ASSERT_OUTCOME(act_signal(medic, sql, p_idle, bs_idle, "terminate", "idle", "0", NULL,
                                  "false"),
                       "skipped: a superuser's session (pgmedic is not a superuser)");
        ASSERT_OUTCOME(act_signal(medic, sql, p_app, bs_app, "terminate", "idle", "0", NULL,
                                  "false"),
                       "signalled");
        assert_gone(p_app);
        free(bs_app);
    }

    /* The same statement with everything still true does act. */
    ASSERT_OUTCOME(act_signal(me, sql, p_busy, bs_busy, "cancel", "active", "0", qs_busy, "true"),
                   "signalled");
    ASSERT_OUTCOME(act_signal(me, sql, p_idle, bs_idle, "terminate", "idle", "0", NULL, "true"),
                   "signalled");
    assert_gone(p_idle);
    {
        char *st = next_sqlstate(busy);

        assert_non_null(st);
        assert_string_equal(st, "57014");
        free(st);
    }
    assert_alive(p_busy);

    free(sql);
    free(bs_idle);
    free(bs_busy);
    free(qs_busy);
    free(bs_ckpt);
    free(stale);
    free(own_bs);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_terminate_idle_application, cleanup),
        cmocka_unit_test_teardown(test_terminate_idle_in_transaction, cleanup),
        cmocka_unit_test_teardown(test_cancel_long, cleanup),
        cmocka_unit_test_teardown(test_cancel_long_terminate_not_needed, cleanup),
        cmocka_unit_test_teardown(test_cancel_long_terminate_escalates, cleanup),
        cmocka_unit_test_teardown(test_terminate_blockers_chain, cleanup),
        cmocka_unit_test_teardown(test_analyze_table, cleanup),
        cmocka_unit_test_teardown(test_vacuum_table, cleanup),
        cmocka_unit_test_teardown(test_vacuum_picks_bloated_table, cleanup),
        cmocka_unit_test_teardown(test_create_index, cleanup),
        cmocka_unit_test_teardown(test_create_index_under_writes, cleanup),
        cmocka_unit_test_teardown(test_create_index_lock_conflict, cleanup),
        cmocka_unit_test_teardown(test_create_index_invalid_dropped, cleanup),
        cmocka_unit_test_teardown(test_create_index_invalid_not_droppable, cleanup),
        cmocka_unit_test_teardown(test_slow_log_on_off, reset_slow_log),
        cmocka_unit_test_teardown(test_slow_log_on_twice_then_off, reset_slow_log),
        cmocka_unit_test_teardown(test_terminate_idle_user_and_client, cleanup),
        cmocka_unit_test_teardown(test_safety_superuser_left_alone, cleanup),
        cmocka_unit_test_teardown(test_safety_protected, cleanup),
        cmocka_unit_test_teardown(test_safety_missing_privilege, cleanup),
        cmocka_unit_test_teardown(test_safety_budget_refusal, cleanup),
        cmocka_unit_test_teardown(test_safety_never_own_or_autovacuum, stop_av),
        cmocka_unit_test_teardown(test_recheck_statement, cleanup),
    };

    return cmocka_run_group_tests_name("fix", tests, group_setup, group_teardown);
}
