/*
 * snapshot_load_test.c - the snapshot of a known load is that load, exactly
 * (issue 3: the snapshot must stay correct while it is tuned; bench/run.sh
 * runs the same checks, bench/gate.jq, on its small and large scenarios).
 *
 * One cluster, one load built once in the group setup:
 *   30 idle sessions over 3 applications: web 12 on the socket and 6 over
 *      TCP, worker 9 on the socket, cron 3 over TCP;
 *   4 sessions idle in transaction (worker);
 *   3 lock chains of depth 4 on pgmedic_load_chain: a root (chain-root) that
 *      updated row 4c and sits idle in transaction; waiter 1 (chain-wait)
 *      updated row 4c+1 and waits for row 4c; waiter 2 updated 4c+2 and waits
 *      for 4c+1; waiter 3 waits for 4c+2: each waiter queued behind the
 *      previous one, so pg_blocking_pids() gives exactly that one;
 *   2 active pg_sleep sessions (sleeper).
 * 48 client sessions.  Every test takes its own snapshot (after waiting for
 * exactly those 48 clients, so a harness connection on its way out is not
 * counted) and compares it with the pids the load holds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

enum
{
    N_IDLE_WEB_LOCAL = 12,
    N_IDLE_WEB_TCP = 6,
    N_IDLE_WORKER = 9,
    N_IDLE_CRON_TCP = 3,
    N_IDLE = N_IDLE_WEB_LOCAL + N_IDLE_WEB_TCP + N_IDLE_WORKER + N_IDLE_CRON_TCP,
    N_IDLE_TX = 4,
    N_CHAINS = 3,
    CHAIN_DEPTH = 4, /* the root and 3 waiters */
    N_WAITERS = N_CHAINS * (CHAIN_DEPTH - 1),
    N_SLEEP = 2,
    N_CLIENTS = N_IDLE + N_IDLE_TX + N_CHAINS * CHAIN_DEPTH + N_SLEEP,
    /* Listed in "sessions": idle in transaction, chains, and the sleepers
     * once past slow_query_warning (lowered to 1 s for the snapshot). */
    N_LISTED = N_IDLE_TX + N_CHAINS * CHAIN_DEPTH + N_SLEEP,
};

static HCluster cl;
static int idle_tx_pids[N_IDLE_TX];
static int chain_pids[N_CHAINS][CHAIN_DEPTH]; /* [c][0] the root, [c][1..3] the waiters */
static int sleep_pids[N_SLEEP];

/* ------------------------------------------------------------ the load */

static bool
exec_ok(PGconn *conn, const char *sql)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);

    PQclear(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return true;
    fprintf(stderr, "harness: \"%s\" failed: %s", sql, PQerrorMessage(conn));
    return false;
}

static bool
wait_lock(int pid)
{
    char sql[256];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
             "WHERE pid = %d AND wait_event_type = 'Lock'",
             pid);
    return h_wait_sql(&cl, sql, 10.0);
}

/* One level of every chain: level 0 the roots, 1-3 the waiters (3 waits
 * without holding a row of its own).  Level by level, so each waiter queues
 * behind a session that is already waiting. */
static int
chain_level(int level)
{
    HConnOpts o = {.application_name = level == 0 ? "chain-root" : "chain-wait"};
    char sql[160];

    for (int c = 0; c < N_CHAINS; c++)
    {
        int row = CHAIN_DEPTH * c + level;
        PGconn *conn = h_session_open(&cl, &o);

        if (conn == NULL)
            return -1;
        if (level < CHAIN_DEPTH - 1)
            snprintf(sql, sizeof(sql),
                     "BEGIN; UPDATE pgmedic_load_chain SET v = v + 1 WHERE id = %d", row);
        else
            snprintf(sql, sizeof(sql), "BEGIN");
        if (!exec_ok(conn, sql))
            return -1;
        chain_pids[c][level] = PQbackendPID(conn);
        if (level == 0)
            continue;
        snprintf(sql, sizeof(sql), "UPDATE pgmedic_load_chain SET v = v + 1 WHERE id = %d",
                 row - 1);
        if (!PQsendQuery(conn, sql))
        {
            fprintf(stderr, "harness: could not send \"%s\": %s", sql, PQerrorMessage(conn));
            return -1;
        }
    }
    for (int c = 0; level > 0 && c < N_CHAINS; c++)
        if (!wait_lock(chain_pids[c][level]))
        {
            fprintf(stderr, "harness: chain %d waiter %d (pid %d) does not wait on a lock\n", c,
                    level, chain_pids[c][level]);
            return -1;
        }
    return 0;
}

static int
open_idle(int n, const char *app, bool tcp)
{
    if (h_sessions_open_idle(&cl, n, app, tcp, NULL) == n)
        return 0;
    fprintf(stderr, "harness: could not open %d idle sessions of %s\n", n, app);
    return -1;
}

static int
group_setup(void **state)
{
    char sql[256];

    (void) state;
    if (h_cluster_start(&cl, NULL) != 0)
        return -1;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE pgmedic_load_chain (id int PRIMARY KEY, v int NOT NULL DEFAULT 0);"
             "INSERT INTO pgmedic_load_chain (id) SELECT generate_series(0, %d)",
             N_CHAINS * CHAIN_DEPTH - 1);
    if (h_sql(&cl, sql) != 0)
        return -1;

    /* The sleepers first: they age while the rest is built. */
    for (int i = 0; i < N_SLEEP; i++)
    {
        PGconn *conn = h_session_send(&cl, "sleeper", "SELECT pg_sleep(600)");

        if (conn == NULL)
            return -1;
        sleep_pids[i] = PQbackendPID(conn);
    }
    if (open_idle(N_IDLE_WEB_LOCAL, "web", false) != 0 ||
        open_idle(N_IDLE_WEB_TCP, "web", true) != 0 ||
        open_idle(N_IDLE_WORKER, "worker", false) != 0 ||
        open_idle(N_IDLE_CRON_TCP, "cron", true) != 0)
        return -1;
    for (int i = 0; i < N_IDLE_TX; i++)
    {
        PGconn *conn = h_session_idle_in_transaction(&cl, "worker", false);

        if (conn == NULL)
            return -1;
        idle_tx_pids[i] = PQbackendPID(conn);
    }
    for (int level = 0; level < CHAIN_DEPTH; level++)
        if (chain_level(level) != 0)
            return -1;

    /* Past the 1 s slow_query_warning the snapshots use. */
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = %d FROM pg_catalog.pg_stat_activity "
             "WHERE application_name = 'sleeper' AND state = 'active' "
             "AND clock_timestamp() - query_start > interval '1.2 s'",
             N_SLEEP);
    if (!h_wait_sql(&cl, sql, 15.0))
    {
        fprintf(stderr, "harness: the sleepers are not active past 1.2 s\n");
        return -1;
    }
    if (!h_wait_clients(&cl, N_CLIENTS, 10.0))
    {
        fprintf(stderr, "harness: the server does not hold the %d sessions of the load\n",
                N_CLIENTS);
        return -1;
    }
    return 0;
}

static int
group_teardown(void **state)
{
    (void) state;
    h_cluster_stop(&cl);
    return 0;
}

/* -------------------------------------------------------------- helpers */

/* A snapshot of the load: exactly its clients on the server first. */
static json_t *
snapshot(HRun *r)
{
    assert_true(h_wait_clients(&cl, N_CLIENTS, 10.0));
    H_RUN(r, &cl, "snapshot", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(r, 0);
    assert_int_equal(h_json_bool(H_JSON(r), "status.reachable"), 1);
    return H_JSON(r);
}

static void
dump(const char *what, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2));

    fprintf(stderr, "harness: %s:\n%s\n", what, text ? text : "?");
    free(text);
}

/* The session of pid, asserted listed. */
static json_t *
session_of(json_t *snap, int pid)
{
    json_t *s = h_json_find_int(snap, "sessions", "pid", pid);

    if (s == NULL)
    {
        fprintf(stderr, "harness: no session with pid %d\n", pid);
        dump("sessions", h_json_get(snap, "sessions"));
    }
    assert_non_null(s);
    return s;
}

/* blocked_by of s is exactly {pid} (pid 0: empty). */
static void
assert_blocked_by(json_t *s, int pid)
{
    long long got[8];
    long len = h_json_ints(s, "blocked_by", got, 8);
    long want = pid != 0 ? 1 : 0;

    if (len != want || (want == 1 && got[0] != pid))
    {
        if (want == 1)
            fprintf(stderr, "harness: want blocked_by [%d] in:\n", pid);
        else
            fprintf(stderr, "harness: want an empty blocked_by in:\n");
        dump("session", s);
    }
    assert_int_equal(len, want);
    if (want == 1)
        assert_int_equal(got[0], pid);
}

static bool
is_waiter(long long pid)
{
    for (int c = 0; c < N_CHAINS; c++)
        for (int l = 1; l < CHAIN_DEPTH; l++)
            if (chain_pids[c][l] == pid)
                return true;
    return false;
}

static bool
is_root(long long pid)
{
    for (int c = 0; c < N_CHAINS; c++)
        if (chain_pids[c][0] == pid)
            return true;
    return false;
}

static bool
is_load_listed(long long pid)
{
    for (int i = 0; i < N_IDLE_TX; i++)
        if (idle_tx_pids[i] == pid)
            return true;
    for (int i = 0; i < N_SLEEP; i++)
        if (sleep_pids[i] == pid)
            return true;
    return is_root(pid) || is_waiter(pid);
}

/* Sum of the groups' counts for this state, application and client (over
 * roles; there is one role here). */
static long long
group_count(json_t *snap, const char *state, const char *app, const char *client)
{
    json_t *groups = h_json_get(snap, "groups"), *g;
    size_t i;
    long long n = 0;

    assert_true(json_is_array(groups));
    json_array_foreach(groups, i, g)
    {
        const char *gs = h_json_str(g, "state"), *ga = h_json_str(g, "application"),
                   *gc = h_json_str(g, "client");

        assert_non_null(gs);
        assert_non_null(ga);
        assert_non_null(gc);
        if (strcmp(gs, state) == 0 && strcmp(ga, app) == 0 && strcmp(gc, client) == 0)
            n += h_json_int(g, "count");
    }
    return n;
}

#define ASSERT_COUNT(snap, path, want)                                                             \
    do                                                                                             \
    {                                                                                              \
        long long got_ = h_json_int((snap), (path));                                               \
        if (got_ != (want))                                                                        \
            fprintf(stderr, "harness: %s is %lld, the load has %lld\n", (path), got_,              \
                    (long long) (want));                                                           \
        assert_int_equal(got_, (want));                                                            \
    } while (0)

#define ASSERT_GROUP(snap, state, app, client, want)                                               \
    do                                                                                             \
    {                                                                                              \
        long long got_ = group_count((snap), (state), (app), (client));                            \
        if (got_ != (want))                                                                        \
        {                                                                                          \
            fprintf(stderr, "harness: group %s/%s/%s has %lld, the load %d\n", (state), (app),     \
                    (client), got_, (want));                                                       \
            dump("groups", h_json_get((snap), "groups"));                                          \
        }                                                                                          \
        assert_int_equal(got_, (want));                                                            \
    } while (0)

/* ---------------------------------------------------------------- tests */

static void
test_connection_counts(void **state)
{
    HRun r;
    json_t *j;

    (void) state;
    j = snapshot(&r);
    ASSERT_COUNT(j, "connections.clients", N_CLIENTS); /* pgmedic's own is not one */
    ASSERT_COUNT(j, "connections.idle", N_IDLE);
    ASSERT_COUNT(j, "connections.idle_in_transaction", N_IDLE_TX + N_CHAINS);
    ASSERT_COUNT(j, "connections.active", N_SLEEP + N_WAITERS);
    ASSERT_COUNT(j, "connections.waiting_lock", N_WAITERS);
    h_run_free(&r);
}

static void
test_groups_per_application(void **state)
{
    HRun r;
    json_t *j, *g;
    size_t i;
    long long sum = 0;

    (void) state;
    j = snapshot(&r);
    ASSERT_GROUP(j, "idle", "web", "local", N_IDLE_WEB_LOCAL);
    ASSERT_GROUP(j, "idle", "web", "127.0.0.1", N_IDLE_WEB_TCP);
    ASSERT_GROUP(j, "idle", "worker", "local", N_IDLE_WORKER);
    ASSERT_GROUP(j, "idle", "cron", "127.0.0.1", N_IDLE_CRON_TCP);
    ASSERT_GROUP(j, "idle in transaction", "worker", "local", N_IDLE_TX);
    ASSERT_GROUP(j, "idle in transaction", "chain-root", "local", N_CHAINS);
    ASSERT_GROUP(j, "active", "chain-wait", "local", N_WAITERS);
    ASSERT_GROUP(j, "active", "sleeper", "local", N_SLEEP);
    /* Nothing else: every client is in those groups, and there are 8 (one
     * role, so no group is split). */
    json_array_foreach(h_json_get(j, "groups"), i, g)
    {
        assert_string_equal(h_json_str(g, "user"), "postgres");
        sum += h_json_int(g, "count");
    }
    if (sum != N_CLIENTS || h_json_len(j, "groups") != 8)
        dump("groups", h_json_get(j, "groups"));
    assert_int_equal(sum, N_CLIENTS);
    assert_int_equal(h_json_len(j, "groups"), 8);
    h_run_free(&r);
}

static void
test_lock_chains_as_built(void **state)
{
    HRun r;
    json_t *j, *s;

    (void) state;
    j = snapshot(&r);
    for (int c = 0; c < N_CHAINS; c++)
    {
        /* The root: idle in transaction, waiting for nobody. */
        s = session_of(j, chain_pids[c][0]);
        assert_string_equal(h_json_str(s, "state"), "idle in transaction");
        assert_string_equal(h_json_str(s, "application"), "chain-root");
        assert_blocked_by(s, 0);
        /* Each waiter behind the previous one, and only that one. */
        for (int l = 1; l < CHAIN_DEPTH; l++)
        {
            s = session_of(j, chain_pids[c][l]);
            assert_string_equal(h_json_str(s, "state"), "active");
            assert_string_equal(h_json_str(s, "application"), "chain-wait");
            assert_string_equal(h_json_str(s, "wait_event_type"), "Lock");
            assert_string_equal(h_json_str(s, "wait_event"), "transactionid");
            assert_blocked_by(s, chain_pids[c][l - 1]);
        }
    }
    h_run_free(&r);
}

static void
test_waiters_and_roots(void **state)
{
    HRun r;
    json_t *j, *s;
    size_t i;
    int waiters = 0, roots = 0;
    long long blockers[N_WAITERS];
    int nblockers = 0;

    (void) state;
    j = snapshot(&r);
    /* Every lock waiter in the snapshot: one of the load's, with exactly one
     * pid in blocked_by; collect the distinct blockers. */
    json_array_foreach(h_json_get(j, "sessions"), i, s)
    {
        long long got[8];
        long len;
        bool seen = false;

        if (h_json_str(s, "wait_event_type") == NULL ||
            strcmp(h_json_str(s, "wait_event_type"), "Lock") != 0)
            continue;
        waiters++;
        if (waiters > N_WAITERS)
            dump("one lock waiter too many", s);
        assert_true(waiters <= N_WAITERS); /* also bounds blockers[] */
        if (!is_waiter(h_json_int(s, "pid")))
            dump("a lock waiter the load did not make", s);
        assert_true(is_waiter(h_json_int(s, "pid")));
        len = h_json_ints(s, "blocked_by", got, 8);
        if (len != 1)
            dump("a lock waiter without exactly one blocker", s);
        assert_int_equal(len, 1);
        for (int k = 0; k < nblockers; k++)
            seen = seen || blockers[k] == got[0];
        if (!seen)
            blockers[nblockers++] = got[0];
    }
    assert_int_equal(waiters, N_WAITERS);
    /* Roots: blockers that wait for nobody.  One per chain, the load's. */
    for (int k = 0; k < nblockers; k++)
    {
        s = session_of(j, (int) blockers[k]);
        if (h_json_len(s, "blocked_by") != 0)
            continue;
        roots++;
        if (!is_root(blockers[k]))
            dump("a root the load did not make", s);
        assert_true(is_root(blockers[k]));
    }
    assert_int_equal(roots, N_CHAINS);
    h_run_free(&r);
}

static void
test_sessions_listed(void **state)
{
    HRun r;
    json_t *j, *s;
    size_t i;

    (void) state;
    j = snapshot(&r);
    for (int k = 0; k < N_IDLE_TX; k++)
    {
        s = session_of(j, idle_tx_pids[k]);
        assert_string_equal(h_json_str(s, "state"), "idle in transaction");
        assert_string_equal(h_json_str(s, "application"), "worker");
        assert_blocked_by(s, 0);
    }
    for (int k = 0; k < N_SLEEP; k++)
    {
        s = session_of(j, sleep_pids[k]);
        assert_string_equal(h_json_str(s, "state"), "active");
        assert_string_equal(h_json_str(s, "wait_event"), "PgSleep");
        assert_blocked_by(s, 0);
    }
    /* Only those: no idle session (the leak threshold is 1 h), no stranger. */
    json_array_foreach(h_json_get(j, "sessions"), i, s)
    {
        if (!is_load_listed(h_json_int(s, "pid")))
            dump("a session the load does not list", s);
        assert_true(is_load_listed(h_json_int(s, "pid")));
    }
    if (h_json_len(j, "sessions") != N_LISTED)
        dump("sessions", h_json_get(j, "sessions"));
    assert_int_equal(h_json_len(j, "sessions"), N_LISTED);
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connection_counts),    cmocka_unit_test(test_groups_per_application),
        cmocka_unit_test(test_lock_chains_as_built), cmocka_unit_test(test_waiters_and_roots),
        cmocka_unit_test(test_sessions_listed),
    };

    return cmocka_run_group_tests_name("snapshot_load", tests, group_setup, group_teardown);
}
