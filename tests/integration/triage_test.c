/*
 * triage_test.c - pgmedic triage on real throwaway servers: every finding
 * kind that can be produced there, with the exit code, the alert each
 * finding explains (or null when latent), its key evidence (pids of the
 * sessions made here, counts, applications, tables) and the exact
 * `pgmedic fix` command it proposes, connection options included.
 *
 * Groups:
 *   live     one cluster (pg_stat_statements preloaded, 20 usable slots) for
 *            the session and table causes, host facts, output formats and
 *            replaying a saved snapshot; tables live in a database per test
 *            so each test sees only its own; sessions end in each teardown.
 *   stopped  a cluster per test: server_down (with host facts from the
 *            target's configuration), timeout, shutting_down, wal_growth.
 *   full     10 slots, 3 reserved: too_many_clients, plainly and through a
 *            target's reserved_conninfo.
 *   auth     TCP needs a password: auth_failure, database_missing, and
 *            passwords kept out of the printed commands.
 */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

/* snprintf into an array, asserted not to truncate. */
#define FMT(buf, ...) assert_true(snprintf((buf), sizeof(buf), __VA_ARGS__) < (int) sizeof(buf))

static const char *const dead_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", "PGPORT=55399",
                                       NULL};

/* ================================================================ helpers */

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* s as finding_shell_quote() prints it: bare when plain, else '...'. */
static void
shell_quote(char *buf, size_t size, const char *s)
{
    size_t o = 0;
    bool plain = s[0] != '\0';

    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("_-.,:/@%+=", *p) != NULL))
            plain = false;
    if (plain)
    {
        snprintf(buf, size, "%s", s);
        return;
    }
    buf[o++] = '\'';
    for (const char *p = s; *p && o + 6 < size; p++)
    {
        if (*p == '\'')
        {
            memcpy(buf + o, "'\\''", 4);
            o += 4;
        }
        else
            buf[o++] = *p;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
}

/* " -h HOST -p PORT -U postgres": what triage appends for those options. */
static const char *
cl_suffix(void)
{
    static char buf[H_PATH_MAX + 64];
    char host[H_PATH_MAX + 8];

    shell_quote(host, sizeof(host), cl.host);
    FMT(buf, " -h %s -p %s -U %s", host, cl.port, cl.user);
    return buf;
}

/* Runs pgmedic with args and this cluster's -h -p -U on the command line. */
#define RUN_CL(r, ...) H_RUN((r), &cl, __VA_ARGS__, "-h", cl.host, "-p", cl.port, "-U", cl.user)

/* Runs pgmedic without any PG* variable: only what args say. */
#define RUN_BARE(r, ...)                                                                           \
    do                                                                                             \
    {                                                                                              \
        const char *const bare_args_[] = {__VA_ARGS__, NULL};                                      \
        assert_int_equal(h_run((r), NULL, bare_args_, NULL, 30.0), 0);                             \
    } while (0)

static void
dump_json(const char *what, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

    fprintf(stderr, "harness: %s:\n%s\n", what, text ? text : "(null)");
    free(text);
}

/* Number of findings of this kind. */
static long
count_kind(json_t *root, const char *kind)
{
    json_t *all = h_json_get(root, "findings"), *f;
    size_t i;
    long n = 0;

    json_array_foreach(all, i, f)
    {
        const char *k = h_json_str(f, "kind");

        if (k != NULL && strcmp(k, kind) == 0)
            n++;
    }
    return n;
}

/* The only finding of this kind, asserted present (the run is dumped if not). */
static json_t *
finding_of(HRun *r, const char *kind)
{
    json_t *j = H_JSON(r);
    long n = count_kind(j, kind);

    if (n != 1)
    {
        fprintf(stderr, "harness: %ld findings of kind %s, want 1\n", n, kind);
        h_run_dump(r, "finding");
    }
    assert_int_equal(n, 1);
    return h_json_find_str(j, "findings", "kind", kind);
}

static void
assert_no_finding(HRun *r, const char *kind)
{
    long n = count_kind(H_JSON(r), kind);

    if (n != 0)
    {
        fprintf(stderr, "harness: unexpected finding %s\n", kind);
        h_run_dump(r, "finding");
    }
    assert_int_equal(n, 0);
}

/* The kinds of the findings, in their (ranked) order, are exactly kinds. */
static void
assert_kinds(HRun *r, const char *const *kinds)
{
    json_t *all = h_json_get(H_JSON(r), "findings");
    size_t n = 0;
    bool same = json_is_array(all);

    while (kinds[n] != NULL)
        n++;
    if (same && json_array_size(all) != n)
        same = false;
    for (size_t i = 0; same && i < n; i++)
    {
        const char *k = h_json_str(json_array_get(all, i), "kind");

        same = k != NULL && strcmp(k, kinds[i]) == 0;
    }
    if (!same)
    {
        fprintf(stderr, "harness: expected the findings, in this order:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s", kinds[i]);
        fputc('\n', stderr);
        h_run_dump(r, "kinds");
    }
    assert_true(same);
}

/* The finding explains alert (NULL: latent, "alert": null). */
static void
assert_explains(json_t *f, const char *alert, const char *severity)
{
    bool ok = alert == NULL
                  ? h_json_is_null(f, "alert")
                  : (h_json_str(f, "alert") != NULL && strcmp(h_json_str(f, "alert"), alert) == 0);

    ok =
        ok && h_json_str(f, "severity") != NULL && strcmp(h_json_str(f, "severity"), severity) == 0;
    if (!ok)
    {
        fprintf(stderr, "harness: expected alert %s, severity %s\n", alert ? alert : "null",
                severity);
        dump_json("finding", f);
    }
    assert_true(ok);
    assert_non_null(h_json_str(f, "summary"));
    assert_true(strlen(h_json_str(f, "summary")) > 0);
    assert_true(json_is_object(h_json_get(f, "evidence")));
    assert_true(json_is_array(h_json_get(f, "advice")));
}

/* The finding's actions are exactly the given commands (NULL-terminated). */
static void
assert_actions(json_t *f, const char *const *want)
{
    json_t *acts = h_json_get(f, "actions");
    size_t n = 0;
    bool same = json_is_array(acts);

    while (want[n] != NULL)
        n++;
    if (same && json_array_size(acts) != n)
        same = false;
    for (size_t i = 0; same && i < n; i++)
    {
        const char *a = json_string_value(json_array_get(acts, i));

        same = a != NULL && strcmp(a, want[i]) == 0;
    }
    if (!same)
    {
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "harness: expected action: %s\n", want[i]);
        dump_json("finding", f);
    }
    assert_true(same);
}

/* One action, cmd followed by suffix. */
static void
assert_action1(json_t *f, const char *cmd, const char *suffix)
{
    char want[4 * H_PATH_MAX];
    const char *const list[] = {want, NULL};

    FMT(want, "%s%s", cmd, suffix);
    assert_actions(f, list);
}

static int
int_cmp(const void *pa, const void *pb)
{
    long long a = *(const long long *) pa, b = *(const long long *) pb;

    return a < b ? -1 : a > b;
}

/* The integer array at path holds exactly the pids (any order). */
static void
assert_pid_set(json_t *f, const char *path, const int *pids, size_t n)
{
    long long got[64], want[64];
    long len = h_json_ints(f, path, got, 64);
    bool same = len == (long) n;

    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++)
        want[i] = pids[i];
    if (same)
    {
        qsort(got, n, sizeof(got[0]), int_cmp);
        qsort(want, n, sizeof(want[0]), int_cmp);
        same = memcmp(got, want, n * sizeof(got[0])) == 0;
    }
    if (!same)
    {
        fprintf(stderr, "harness: %s should hold exactly these %zu pids:", path, n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %d", pids[i]);
        fputc('\n', stderr);
        dump_json("finding", f);
    }
    assert_true(same);
}

/* The string array at path holds exactly the strings (any order). */
static void
assert_str_set(json_t *f, const char *path, const char *const *want)
{
    json_t *arr = h_json_get(f, path);
    size_t n = 0;
    bool same = json_is_array(arr);

    while (want[n] != NULL)
        n++;
    same = same && json_array_size(arr) == n;
    for (size_t i = 0; same && i < n; i++)
    {
        bool found = false;

        for (size_t k = 0; k < n && !found; k++)
        {
            const char *s = json_string_value(json_array_get(arr, k));

            found = s != NULL && strcmp(s, want[i]) == 0;
        }
        same = found;
    }
    if (!same)
    {
        fprintf(stderr, "harness: unexpected %s\n", path);
        dump_json("finding", f);
    }
    assert_true(same);
}

/* Some string of the array at path contains needle. */
static bool
strs_contain(json_t *f, const char *path, const char *needle)
{
    json_t *arr = h_json_get(f, path), *v;
    size_t i;

    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);

        if (s != NULL && strstr(s, needle) != NULL)
            return true;
    }
    return false;
}

#define ASSERT_STRS_CONTAIN(f, path, needle)                                                       \
    do                                                                                             \
    {                                                                                              \
        if (!strs_contain((f), (path), (needle)))                                                  \
        {                                                                                          \
            fprintf(stderr, "harness: no %s contains \"%s\"\n", (path), (needle));                 \
            dump_json("finding", (f));                                                             \
        }                                                                                          \
        assert_true(strs_contain((f), (path), (needle)));                                          \
    } while (0)

/* A connection of the cluster's superuser to dbname, not tracked. */
static PGconn *
db_connect(HCluster *c, const char *dbname)
{
    char conninfo[H_PATH_MAX + 256];
    PGconn *conn;

    FMT(conninfo, "host=%s port=%s user=%s dbname=%s application_name=triage-setup", c->host,
        c->port, c->user, dbname);
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK)
    {
        fprintf(stderr, "harness: connect to %s: %s", dbname, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/* Closes conn and waits until its backend is gone (its statistics flushed). */
static bool
db_close(PGconn *conn)
{
    pid_t pid = PQbackendPID(conn);

    PQfinish(conn);
    return h_wait_pid_gone(pid, 10.0);
}

/* Runs sql in dbname on a connection of its own, closed before returning. */
static int
db_sql(const char *dbname, const char *sql)
{
    PGconn *conn = db_connect(&cl, dbname);
    PGresult *res;
    ExecStatusType st;

    if (conn == NULL)
        return -1;
    res = PQexec(conn, sql);
    st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        fprintf(stderr, "harness: in %s: %s: %s", dbname, sql, PQerrorMessage(conn));
    PQclear(res);
    if (!db_close(conn))
        return -1;
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
}

/* Polls sql (one boolean) in dbname until true or the deadline. */
static bool
db_wait(const char *dbname, const char *sql, double timeout_s)
{
    PGconn *conn = db_connect(&cl, dbname);
    double deadline = h_now() + timeout_s;
    bool ok = false;

    if (conn == NULL)
        return false;
    for (;;)
    {
        PGresult *res = PQexec(conn, sql);

        ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
             strcmp(PQgetvalue(res, 0, 0), "t") == 0;
        if (PQresultStatus(res) != PGRES_TUPLES_OK)
            fprintf(stderr, "harness: %s: %s", sql, PQerrorMessage(conn));
        PQclear(res);
        if (ok || h_now() >= deadline)
            break;
        sleep_ms(20);
    }
    if (!db_close(conn))
        return false;
    return ok;
}

/* Creates database name (dropping an old one). */
static void
fresh_database(const char *name)
{
    char sql[256];

    FMT(sql, "DROP DATABASE IF EXISTS %s", name);
    assert_int_equal(h_sql(&cl, sql), 0);
    FMT(sql, "CREATE DATABASE %s", name);
    assert_int_equal(h_sql(&cl, sql), 0);
}

/* Waits until the sessions of application app, count of them, have been in
 * state (LIKE pattern) for more than seconds. */
static void
wait_state_age(const char *app, const char *state, int count, double seconds)
{
    char sql[512];

    FMT(sql,
        "SELECT count(*) = %d FROM pg_stat_activity WHERE application_name = '%s' "
        "AND state LIKE '%s' AND clock_timestamp() - state_change > interval '%.3f s'",
        count, app, state, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

/* Waits until pid's query has been active for more than seconds. */
static void
wait_query_age(int pid, double seconds)
{
    char sql[256];

    FMT(sql,
        "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND state = 'active' "
        "AND clock_timestamp() - query_start > interval '%.3f s'",
        pid, seconds);
    assert_true(h_wait_sql(&cl, sql, seconds + 10.0));
}

/* Opens n idle sessions of app (the first n_local over the socket, the rest
 * over TCP); their backend pids into pids. */
static void
open_idle(const char *app, int n, int n_local, int *pids)
{
    for (int i = 0; i < n; i++)
    {
        HConnOpts o = {.application_name = app, .tcp = i >= n_local};
        PGconn *conn = h_session_open(&cl, &o);

        assert_non_null(conn);
        pids[i] = PQbackendPID(conn);
    }
}

/* Provokes a FATAL in the server log: a login to a database that does not
 * exist; waits until the log has it. */
static void
provoke_fatal(HCluster *c, const char *dbname)
{
    char conninfo[H_PATH_MAX + 128], needle[160];
    PGconn *conn;
    double deadline = h_now() + 10.0;
    bool logged = false;

    FMT(conninfo, "host=%s port=%s user=%s dbname=%s", c->host, c->port, c->user, dbname);
    conn = PQconnectdb(conninfo);
    assert_int_not_equal(PQstatus(conn), CONNECTION_OK);
    PQfinish(conn);
    FMT(needle, "FATAL:  database \"%s\" does not exist", dbname);
    while (!logged && h_now() < deadline)
    {
        char *log = h_log_since(c, 0);

        logged = strstr(log, needle) != NULL;
        free(log);
        if (!logged)
            sleep_ms(20);
    }
    assert_true(logged);
}

/* ============================================================ live group */

static int
live_setup(void **state)
{
    const char *const sets[] = {"max_connections=23", "superuser_reserved_connections=3",
                                "shared_preload_libraries='pg_stat_statements'", NULL};

    (void) state;
    return h_cluster_start(&cl, sets);
}

static int
live_teardown(void **state)
{
    (void) state;
    h_cluster_stop(&cl);
    return 0;
}

static int
close_sessions(void **state)
{
    (void) state;
    return h_sessions_close(&cl);
}

/* ---------------------------------------------------------- connection_leak */

static void
test_connection_leak(void **state)
{
    HRun r;
    json_t *j, *f, *a;
    int pids[8];
    char cmd[128];
    const char *const clients[] = {"local", "127.0.0.1", NULL};
    const char *const users[] = {"postgres", NULL};

    (void) state;
    open_idle("leaky-app", 8, 5, pids);
    wait_state_age("leaky-app", "idle", 8, 1.2);

    /* Under the default idle_connection (1h) they are no leak: the alert
     * that fires stays unexplained. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "connections_warning=30%");
    H_ASSERT_EXIT(&r, 1);
    a = h_assert_alert(&r, "DatabaseHighConnections", "warning");
    H_ASSERT_NEAR(h_json_num(a, "value"), 8.0 / 20.0, 1e-9);
    assert_no_finding(&r, "connection_leak");
    f = finding_of(&r, "unexplained");
    assert_explains(f, "DatabaseHighConnections", "warning");
    assert_int_equal(h_json_len(f, "actions"), 0);
    h_run_free(&r);

    /* Latent below the connection thresholds. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_connection=1s");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_len(H_JSON(&r), "alerts"), 0);
    {
        const char *const kinds[] = {"connection_leak", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "connection_leak");
    assert_explains(f, NULL, "warning");
    h_run_free(&r);

    /* The cause of DatabaseHighConnections once it fires. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_connection=1s", "--set",
           "connections_warning=30%");
    H_ASSERT_EXIT(&r, 1);
    j = H_JSON(&r);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_int_equal(h_json_len(j, "alerts"), 1);
    h_assert_alert(&r, "DatabaseHighConnections", "warning");
    {
        const char *const kinds[] = {"connection_leak", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "connection_leak");
    assert_explains(f, "DatabaseHighConnections", "warning");
    assert_string_equal(h_json_str(f, "evidence.application"), "leaky-app");
    assert_int_equal(h_json_int(f, "evidence.idle_sessions"), 8);
    assert_pid_set(f, "evidence.pids", pids, 8);
    assert_str_set(f, "evidence.client_addresses", clients);
    assert_str_set(f, "evidence.users", users);
    assert_string_equal(h_json_str(f, "evidence.idle_connection"), "1s");
    assert_true(h_json_num(f, "evidence.oldest_idle_s") >= 1.2);
    assert_true(h_json_num(f, "evidence.oldest_idle_s") < 60);
    assert_int_equal(h_json_int(f, "evidence.connections"), 8);
    assert_int_equal(h_json_int(f, "evidence.usable_slots"), 20);
    assert_int_equal(h_json_int(f, "evidence.headroom"), 12);
    assert_true(h_json_num(f, "impact") >= 8 * 1.2);
    FMT(cmd, "pgmedic fix terminate-idle --application leaky-app --idle-for 1s");
    assert_action1(f, cmd, cl_suffix());
    assert_true(h_json_len(f, "advice") >= 1);
    {
        char want[4 * H_PATH_MAX];

        FMT(want, "%s%s", cmd, cl_suffix());
        assert_string_equal(h_json_str(j, "treat_first"), want);
    }
    assert_int_equal(r.err_len, 0);
    h_run_free(&r);

    /* Without -h -p -U (PG* variables only) the command has no options:
     * the same variables make `pgmedic fix` act on the same server. */
    H_RUN(&r, &cl, "triage", "--format", "json", "--set", "idle_connection=1s");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "connection_leak");
    assert_action1(f, cmd, "");
    h_run_free(&r);

    /* Four idle sessions of an application are not a leak (it takes 5). */
    h_sessions_close(&cl);
    open_idle("few-app", 4, 4, pids);
    wait_state_age("few-app", "idle", 4, 1.2);
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_connection=1s");
    H_ASSERT_EXIT(&r, 0);
    assert_no_finding(&r, "connection_leak");
    h_run_free(&r);
}

/* The default command is triage: `pgmedic -h ... -p ...`. */
static void
test_default_command_is_triage(void **state)
{
    HRun r;
    json_t *f;
    int pids[6];

    (void) state;
    open_idle("default-app", 6, 6, pids);
    wait_state_age("default-app", "idle", 6, 1.2);
    RUN_CL(&r, "--format", "json", "--set", "idle_connection=1s");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "connection_leak");
    assert_pid_set(f, "evidence.pids", pids, 6);
    assert_action1(f, "pgmedic fix terminate-idle --application default-app --idle-for 1s",
                   cl_suffix());
    h_run_free(&r);

    /* -d alone (a database name) is passed on too. */
    H_RUN(&r, &cl, "-d", "postgres", "--format", "json", "--set", "idle_connection=1s");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "connection_leak");
    assert_action1(f, "pgmedic fix terminate-idle --application default-app --idle-for 1s",
                   " -d postgres");
    h_run_free(&r);

    /* Triage has no nagios format: a usage error. */
    H_RUN(&r, &cl, "triage", "--format", "nagios");
    h_assert_usage_error(&r, "nagios");
    h_run_free(&r);
}

/* ------------------------------------------------------ idle_in_transaction */

static void
test_idle_in_transaction(void **state)
{
    HRun r;
    json_t *f;
    PGconn *plain, *aborted;
    int pids[2];
    const char *const apps[] = {"iit-app", NULL};

    (void) state;
    plain = h_session_idle_in_transaction(&cl, "iit-app", false);
    aborted = h_session_idle_in_transaction(&cl, "iit-app", true);
    assert_non_null(plain);
    assert_non_null(aborted);
    pids[0] = PQbackendPID(plain);
    pids[1] = PQbackendPID(aborted);
    wait_state_age("iit-app", "idle in transaction%", 2, 1.2);

    /* The default threshold (5min): nothing. */
    RUN_CL(&r, "triage", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_no_finding(&r, "idle_in_transaction");
    h_run_free(&r);

    /* Latent: no alert fires. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_in_transaction=1s");
    H_ASSERT_EXIT(&r, 0);
    {
        const char *const kinds[] = {"idle_in_transaction", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "idle_in_transaction");
    assert_explains(f, NULL, "warning");
    assert_int_equal(h_json_int(f, "evidence.sessions"), 2);
    assert_pid_set(f, "evidence.pids", pids, 2);
    assert_int_equal(h_json_int(f, "evidence.aborted"), 1);
    assert_str_set(f, "evidence.applications", apps);
    assert_true(h_json_int(f, "evidence.oldest_pid") == pids[0] ||
                h_json_int(f, "evidence.oldest_pid") == pids[1]);
    assert_true(h_json_num(f, "evidence.oldest_idle_in_transaction_s") >= 1.2);
    assert_true(h_json_num(f, "evidence.longest_xact_s") >= 1.2);
    assert_string_equal(h_json_str(f, "evidence.idle_in_transaction_session_timeout"),
                        "0 (disabled)");
    assert_action1(f, "pgmedic fix terminate-idle-in-transaction --idle-for 1s", cl_suffix());
    ASSERT_STRS_CONTAIN(f, "advice", "idle_in_transaction_session_timeout");
    h_run_free(&r);

    /* 2 of 2 clients: they explain DatabaseHighConnections when it fires. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_in_transaction=1s", "--set",
           "connections_warning=5%");
    H_ASSERT_EXIT(&r, 1);
    h_assert_alert(&r, "DatabaseHighConnections", "warning");
    {
        const char *const kinds[] = {"idle_in_transaction", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "idle_in_transaction");
    assert_explains(f, "DatabaseHighConnections", "warning");
    h_run_free(&r);
}

/* ---------------------------------------------------------- lock_contention */

static void
test_lock_contention(void **state)
{
    HRun r, snap, from;
    json_t *f, *lf;
    int pids[3];
    char sql[256];
    char *path;
    PGconn *slow;
    int slow_pid;

    (void) state;
    assert_int_equal(h_lock_chain(&cl, "chain-app", pids), 0);
    FMT(sql,
        "SELECT count(*) = 2 FROM pg_locks WHERE NOT granted AND pid IN (%d, %d) "
        "AND clock_timestamp() - waitstart > interval '1.2 s'",
        pids[1], pids[2]);
    assert_true(h_wait_sql(&cl, sql, 10.0));

    /* Saved now, replayed below (case: triage --from). */
    H_RUN(&snap, &cl, "snapshot");
    H_ASSERT_EXIT(&snap, 0);

    RUN_CL(&r, "triage", "--format", "json", "--set", "lock_wait=1s", "--set",
           "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    h_assert_alert(&r, "DatabaseSlowQueries", "warning");
    {
        const char *const kinds[] = {"lock_contention", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "lock_contention");
    assert_explains(f, "DatabaseSlowQueries", "warning");
    assert_pid_set(f, "evidence.root_pids", &pids[0], 1);
    assert_pid_set(f, "evidence.blocked_pids", &pids[1], 2);
    assert_int_equal(h_json_int(f, "evidence.blocked_sessions"), 2);
    /* depth: the longest chain of waiters below the root, in edges. */
    assert_int_equal(h_json_int(f, "evidence.depth"), 2);
    assert_true(h_json_num(f, "evidence.longest_lock_wait_s") >= 1.2);
    assert_true(h_json_int(f, "evidence.longest_waiter_pid") == pids[1] ||
                h_json_int(f, "evidence.longest_waiter_pid") == pids[2]);
    assert_string_equal(h_json_str(f, "evidence.lock_wait"), "1s");
    ASSERT_STRS_CONTAIN(f, "evidence.roots", "idle in transaction");
    ASSERT_STRS_CONTAIN(f, "evidence.roots", "chain-app");
    H_ASSERT_CONTAINS(h_json_str(f, "summary"), "idle in transaction");
    assert_action1(f, "pgmedic fix terminate-blockers --lock-wait 1s", cl_suffix());
    /* The waiters are active past slow_query_warning, but waiting on a lock
     * is not a long-running query. */
    assert_no_finding(&r, "long_running_query");
    h_run_free(&r);

    /* Replayed from the saved snapshot, without a server: the same causes,
     * the command without connection options. */
    path = h_write_tmpfile("triage-lock-snap", snap.out);
    assert_non_null(path);
    H_RUN_ENV(&from, NULL, dead_env, 30.0, "triage", "--from", path, "--format", "json", "--set",
              "lock_wait=1s", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(&from, 1);
    {
        const char *const kinds[] = {"lock_contention", NULL};
        assert_kinds(&from, kinds);
    }
    lf = finding_of(&from, "lock_contention");
    assert_explains(lf, "DatabaseSlowQueries", "warning");
    assert_pid_set(lf, "evidence.root_pids", &pids[0], 1);
    assert_pid_set(lf, "evidence.blocked_pids", &pids[1], 2);
    assert_int_equal(h_json_int(lf, "evidence.depth"), 2);
    assert_action1(lf, "pgmedic fix terminate-blockers --lock-wait 1s", "");
    assert_string_equal(h_json_str(H_JSON(&from), "taken_at"),
                        h_json_str(H_JSON(&snap), "taken_at"));
    h_run_free(&from);
    free(path);
    h_run_free(&snap);

    /* A real long query next to the chain: only it is long_running_query. */
    slow = h_session_send(&cl, "slowpoke", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    slow_pid = PQbackendPID(slow);
    wait_query_age(slow_pid, 1.2);
    RUN_CL(&r, "triage", "--format", "json", "--set", "lock_wait=1s", "--set",
           "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    f = finding_of(&r, "long_running_query");
    assert_explains(f, "DatabaseSlowQueries", "warning");
    assert_pid_set(f, "evidence.pids", &slow_pid, 1);
    assert_int_equal(h_json_int(f, "evidence.queries"), 1);
    f = finding_of(&r, "lock_contention");
    assert_pid_set(f, "evidence.blocked_pids", &pids[1], 2);
    h_run_free(&r);
}

/* ------------------------------------------------------- long_running_query */

static void
test_long_running_query(void **state)
{
    HRun r;
    json_t *f, *a;
    PGconn *slow;
    int pid;
    const char *const apps[] = {"slowpoke", NULL};
    const char *const none[] = {NULL};

    (void) state;
    slow = h_session_send(&cl, "slowpoke", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    pid = PQbackendPID(slow);
    wait_query_age(pid, 1.2);

    RUN_CL(&r, "triage", "--format", "json", "--set", "slow_query_warning=1s");
    H_ASSERT_EXIT(&r, 1);
    a = h_assert_alert(&r, "DatabaseSlowQueries", "warning");
    assert_true(h_json_num(a, "value") >= 1.2);
    {
        const char *const kinds[] = {"long_running_query", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "long_running_query");
    assert_explains(f, "DatabaseSlowQueries", "warning");
    assert_int_equal(h_json_int(f, "evidence.queries"), 1);
    assert_pid_set(f, "evidence.pids", &pid, 1);
    assert_int_equal(h_json_int(f, "evidence.longest_pid"), pid);
    assert_true(h_json_num(f, "evidence.longest_s") >= 1.2);
    assert_str_set(f, "evidence.applications", apps);
    assert_string_equal(h_json_str(f, "evidence.user"), "postgres");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.query"), "pg_sleep(60)");
    assert_int_equal(h_json_int(f, "evidence.past_critical"), 0);
    /* Below slow_query_critical: advice, no cancel. */
    assert_actions(f, none);
    assert_true(h_json_len(f, "advice") >= 1);
    assert_true(h_json_is_null(H_JSON(&r), "treat_first"));
    h_run_free(&r);

    /* Past slow_query_critical: critical, and cancel-long. */
    wait_query_age(pid, 2.2);
    RUN_CL(&r, "triage", "--format", "json", "--set", "slow_query_warning=1s", "--set",
           "slow_query_critical=2s");
    H_ASSERT_EXIT(&r, 2);
    h_assert_alert(&r, "DatabaseSlowQueries", "critical");
    f = finding_of(&r, "long_running_query");
    assert_explains(f, "DatabaseSlowQueries", "critical");
    assert_int_equal(h_json_int(f, "evidence.past_critical"), 1);
    assert_string_equal(h_json_str(f, "evidence.slow_query_critical"), "2s");
    assert_action1(f, "pgmedic fix cancel-long --running-for 2s", cl_suffix());
    h_run_free(&r);
}

/* --------------------------------------------------------- connection_surge */

static void
test_connection_surge(void **state)
{
    HRun r;
    json_t *f;
    const char *const none[] = {NULL};

    (void) state;
    for (int i = 0; i < 6; i++)
        assert_non_null(h_session_send(&cl, "busy-app", "SELECT pg_sleep(60)"));
    assert_true(h_wait_sql(&cl,
                           "SELECT count(*) = 6 FROM pg_stat_activity WHERE application_name = "
                           "'busy-app' AND wait_event = 'PgSleep'",
                           10.0));
    /* 6 of 20 slots, all active: real load. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "connections_warning=25%");
    H_ASSERT_EXIT(&r, 1);
    h_assert_alert(&r, "DatabaseHighConnections", "warning");
    {
        const char *const kinds[] = {"connection_surge", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "connection_surge");
    assert_explains(f, "DatabaseHighConnections", "warning");
    assert_int_equal(h_json_int(f, "evidence.active"), 6);
    assert_int_equal(h_json_int(f, "evidence.idle"), 0);
    ASSERT_STRS_CONTAIN(f, "evidence.active_by_application", "busy-app: 6 active");
    assert_actions(f, none); /* never kill real work */
    h_run_free(&r);
}

/* ------------------------------------------------------------ missing_index */

static void
test_missing_index(void **state)
{
    HRun r;
    json_t *f;
    PGconn *conn;
    char suffix[H_PATH_MAX + 80];
    const char *const cols[] = {"customer_id", NULL};

    (void) state;
    fresh_database("shop");
    assert_int_equal(db_sql("shop", "CREATE EXTENSION pg_stat_statements;"
                                    "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int, "
                                    "amount numeric);"
                                    "INSERT INTO orders SELECT g, g % 5000, g % 977 "
                                    "FROM generate_series(1, 200000) g"),
                     0);
    /* Analyzed after the load committed: not stale. */
    assert_int_equal(db_sql("shop", "ANALYZE orders; SELECT pg_stat_statements_reset()"), 0);
    conn = db_connect(&cl, "shop");
    assert_non_null(conn);
    for (int i = 0; i < 25; i++)
    {
        char value[16];
        const char *params[1] = {value};
        PGresult *res;

        FMT(value, "%d", 17 * i);
        res = PQexecParams(conn, "SELECT count(*) FROM orders WHERE customer_id = $1", 1, NULL,
                           params, NULL, NULL, 0);
        assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
        PQclear(res);
    }
    assert_true(db_close(conn));
    assert_true(db_wait("shop",
                        "SELECT seq_scan >= 25 AND n_live_tup = 200000 FROM pg_stat_user_tables "
                        "WHERE relname = 'orders'",
                        10.0));

    RUN_CL(&r, "triage", "-d", "shop", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_true(h_json_bool(H_JSON(&r), "status.reachable") == 1);
    {
        const char *const kinds[] = {"missing_index", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "missing_index");
    assert_explains(f, NULL, "warning");
    assert_string_equal(h_json_str(f, "evidence.table"), "public.orders");
    assert_int_equal(h_json_int(f, "evidence.n_live_tup"), 200000);
    assert_true(h_json_int(f, "evidence.seq_scan") >= 25);
    assert_true(h_json_int(f, "evidence.seq_tup_read") >= 25LL * 200000);
    assert_true(h_json_int(f, "evidence.size_bytes") > 0);
    assert_str_set(f, "evidence.columns", cols);
    assert_string_equal(h_json_str(f, "evidence.index_name"), "idx_orders_customer_id");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.statement"), "WHERE customer_id = $1");
    assert_int_equal(h_json_int(f, "evidence.calls"), 25);
    assert_int_equal(h_json_int(f, "evidence.matching_statements"), 1);
    H_ASSERT_CONTAINS(h_json_str(f, "summary"), "customer_id");
    FMT(suffix, "%s -d shop", cl_suffix());
    assert_action1(f, "pgmedic fix create-index 'public.orders(customer_id)'", suffix);
    h_run_free(&r);
}

/* --------------------------------------------------------- stale_statistics */

static void
test_stale_statistics(void **state)
{
    HRun r;
    json_t *f;
    char suffix[H_PATH_MAX + 80];

    (void) state;
    fresh_database("stale");
    assert_int_equal(db_sql("stale", "CREATE TABLE events (id int, payload text) "
                                     "WITH (autovacuum_enabled = false);"
                                     "INSERT INTO events SELECT g, 'e' || g "
                                     "FROM generate_series(1, 5000) g"),
                     0);
    assert_true(db_wait("stale",
                        "SELECT n_mod_since_analyze = 5000 FROM pg_stat_user_tables "
                        "WHERE relname = 'events'",
                        10.0));
    RUN_CL(&r, "triage", "-d", "stale", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    {
        const char *const kinds[] = {"stale_statistics", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "stale_statistics");
    assert_explains(f, NULL, "warning");
    assert_int_equal(h_json_int(f, "evidence.n_tables"), 1);
    assert_int_equal(h_json_len(f, "evidence.tables"), 1);
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "public.events");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "5,000 rows modified");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "never analyzed");
    FMT(suffix, "%s -d stale", cl_suffix());
    assert_action1(f, "pgmedic fix analyze public.events", suffix);
    h_run_free(&r);

    /* Analyzed: gone. */
    assert_int_equal(db_sql("stale", "ANALYZE events"), 0);
    assert_true(db_wait("stale",
                        "SELECT n_mod_since_analyze = 0 FROM pg_stat_user_tables "
                        "WHERE relname = 'events'",
                        10.0));
    RUN_CL(&r, "triage", "-d", "stale", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_no_finding(&r, "stale_statistics");
    h_run_free(&r);
}

/* -------------------------------------------------------------- table_bloat */

static void
test_table_bloat(void **state)
{
    HRun r;
    json_t *f;
    char suffix[H_PATH_MAX + 80];
    const char *const off[] = {"public.churn", NULL};

    (void) state;
    fresh_database("bloat");
    assert_int_equal(db_sql("bloat",
                            "CREATE TABLE churn (id int, v int) "
                            "WITH (autovacuum_enabled = false);"
                            "INSERT INTO churn SELECT g, 0 FROM generate_series(1, 20000) g"),
                     0);
    /* Analyzed after the load committed, so only what follows counts as modified. */
    assert_int_equal(db_sql("bloat", "ANALYZE churn"), 0);
    assert_int_equal(db_sql("bloat", "UPDATE churn SET v = 1; DELETE FROM churn WHERE id <= 5000"),
                     0);
    assert_true(db_wait("bloat",
                        "SELECT n_dead_tup = 25000 FROM pg_stat_user_tables "
                        "WHERE relname = 'churn'",
                        10.0));
    RUN_CL(&r, "triage", "-d", "bloat", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "table_bloat");
    assert_explains(f, NULL, "warning");
    assert_int_equal(h_json_int(f, "evidence.n_tables"), 1);
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "public.churn: 25,000 dead rows");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "autovacuum disabled");
    assert_str_set(f, "evidence.autovacuum_disabled", off);
    ASSERT_STRS_CONTAIN(f, "advice", "autovacuum is disabled on public.churn");
    FMT(suffix, "%s -d bloat", cl_suffix());
    assert_action1(f, "pgmedic fix vacuum public.churn", suffix);
    /* 20,000 rows changed since the ANALYZE: stale as well, treated by analyze. */
    f = finding_of(&r, "stale_statistics");
    assert_action1(f, "pgmedic fix analyze public.churn", suffix);
    h_run_free(&r);
}

/* autovacuum_enabled = off (or 0, no) is stored as written in reloptions:
 * disabled all the same. */
static void
test_table_bloat_autovacuum_off(void **state)
{
    HRun r;
    json_t *f;
    const char *const off[] = {"public.churn_off", NULL};

    (void) state;
    fresh_database("bloatoff");
    assert_int_equal(db_sql("bloatoff", "CREATE TABLE churn_off (id int, v int) "
                                        "WITH (autovacuum_enabled = off);"
                                        "INSERT INTO churn_off SELECT g, 0 "
                                        "FROM generate_series(1, 20000) g"),
                     0);
    assert_int_equal(db_sql("bloatoff", "UPDATE churn_off SET v = 1"), 0);
    assert_true(db_wait("bloatoff",
                        "SELECT n_dead_tup = 20000 FROM pg_stat_user_tables "
                        "WHERE relname = 'churn_off'",
                        10.0));
    RUN_CL(&r, "triage", "-d", "bloatoff", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "table_bloat");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "public.churn_off");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.tables.0"), "autovacuum disabled");
    assert_str_set(f, "evidence.autovacuum_disabled", off);
    ASSERT_STRS_CONTAIN(f, "advice", "autovacuum is disabled on public.churn_off");
    h_run_free(&r);
}

/* --------------------------------------------------------------- host facts */

static int64_t
wal_files_bytes(const char *data)
{
    char cmd[H_PATH_MAX + 64];
    FILE *p;
    long long v = -1;

    /* Regular files only, as pg_wal holds them (archive_status is a directory). */
    FMT(cmd,
        "find '%s/pg_wal' -maxdepth 1 -type f -printf '%%s\\n' | "
        "awk '{s += $1} END {print s + 0}'",
        data);
    p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    if (fscanf(p, "%lld", &v) != 1)
        v = -1;
    pclose(p);
    return (int64_t) v;
}

static void
test_host_facts(void **state)
{
    HRun r;
    json_t *j;
    struct statvfs st;
    double free_bytes, got_free;
    int64_t wal;

    (void) state;
    provoke_fatal(&cl, "pgmedic_no_such_db");
    H_RUN(&r, &cl, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "host.available"), 1);
    assert_string_equal(h_json_str(j, "host.data_directory"), cl.data);
    wal = wal_files_bytes(cl.data);
    assert_true(wal > 0);
    assert_true(h_json_int(j, "host.wal_dir_bytes") > 0);
    H_ASSERT_NEAR((double) h_json_int(j, "host.wal_dir_bytes"), (double) wal, 16.0 * 1024 * 1024);
    assert_int_equal(statvfs(cl.data, &st), 0);
    free_bytes = (double) st.f_bavail * (double) st.f_frsize;
    got_free = (double) h_json_int(j, "host.data_fs_free_bytes");
    H_ASSERT_NEAR(got_free, free_bytes, 0.05 * free_bytes);
    H_ASSERT_NEAR((double) h_json_int(j, "host.data_fs_total_bytes"),
                  (double) st.f_blocks * (double) st.f_frsize, 0.01 * (double) st.f_blocks);
    assert_string_equal(h_json_str(j, "host.log_file"), cl.log);
    if (!strs_contain(j, "host.log_lines",
                      "FATAL:  database \"pgmedic_no_such_db\" does not exist"))
        h_run_dump(&r, "log lines");
    assert_true(strs_contain(j, "host.log_lines",
                             "FATAL:  database \"pgmedic_no_such_db\" does not exist"));
    /* pg_ls_waldir() agrees with the directory. */
    H_ASSERT_NEAR((double) h_json_int(j, "wal.bytes"), (double) wal, 16.0 * 1024 * 1024);
    h_run_free(&r);
}

/* ----------------------------------------------------------------- formats */

static void
test_formats(void **state)
{
    HRun r;
    int pids[6];
    char want[4 * H_PATH_MAX], cmd[4 * H_PATH_MAX];
    const char *const no_color[] = {"NO_COLOR=1", NULL};

    (void) state;
    open_idle("fmt-app", 6, 6, pids);
    wait_state_age("fmt-app", "idle", 6, 1.2);
    FMT(want, "pgmedic fix terminate-idle --application fmt-app --idle-for 1s%s", cl_suffix());

    /* JSON parses and has the contract's keys. */
    RUN_CL(&r, "triage", "--format", "json", "--set", "idle_connection=1s", "--set",
           "connections_warning=25%");
    H_ASSERT_EXIT(&r, 1);
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_true(json_is_array(h_json_get(H_JSON(&r), "alerts")));
    assert_true(json_is_array(h_json_get(H_JSON(&r), "findings")));
    assert_true(json_is_array(h_json_get(H_JSON(&r), "notes")));
    assert_string_equal(h_json_str(H_JSON(&r), "treat_first"), want);
    h_run_free(&r);

    /* Markdown: the alert table, the findings, the commands in code blocks. */
    RUN_CL(&r, "triage", "--format", "markdown", "--set", "idle_connection=1s", "--set",
           "connections_warning=25%");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "# Triage of postgres@");
    H_ASSERT_CONTAINS(r.out, "## Alerts");
    H_ASSERT_CONTAINS(r.out, "| DatabaseHighConnections | warning |");
    H_ASSERT_CONTAINS(r.out, "## Findings");
    H_ASSERT_CONTAINS(r.out,
                      "### 1. connection\\_leak (warning, explains DatabaseHighConnections)");
    H_ASSERT_CONTAINS(r.out, "**Evidence**");
    FMT(cmd, "```sh\n%s\n```", want);
    H_ASSERT_CONTAINS(r.out, cmd);
    H_ASSERT_CONTAINS(r.out, "## Treat first");
    H_ASSERT_NOT_CONTAINS(r.out, "\033");
    h_run_free(&r);

    /* Text, piped: no escape codes. */
    RUN_CL(&r, "triage", "--set", "idle_connection=1s", "--set", "connections_warning=25%");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "DatabaseHighConnections");
    H_ASSERT_CONTAINS(r.out, "connection_leak (explains DatabaseHighConnections)");
    FMT(cmd, "$ %s", want);
    H_ASSERT_CONTAINS(r.out, cmd);
    FMT(cmd, "treat first: %s", want);
    H_ASSERT_CONTAINS(r.out, cmd);
    H_ASSERT_NOT_CONTAINS(r.out, "\033");
    h_run_free(&r);

    /* On a terminal: colour, unless NO_COLOR. */
    {
        char line[2 * H_PATH_MAX];
        const char *const argv[] = {"/usr/bin/script", "-qec", line, "/dev/null", NULL};

        FMT(line, "%s triage --set idle_connection=1s", h_bin());
        assert_int_equal(h_exec(&r, &cl, argv, NULL, 30.0), 0);
        H_ASSERT_EXIT(&r, 0);
        H_ASSERT_CONTAINS(r.out, "connection_leak");
        H_ASSERT_CONTAINS(r.out, "\033[");
        h_run_free(&r);

        assert_int_equal(h_exec(&r, &cl, argv, no_color, 30.0), 0);
        H_ASSERT_EXIT(&r, 0);
        H_ASSERT_CONTAINS(r.out, "connection_leak");
        H_ASSERT_NOT_CONTAINS(r.out, "\033");
        h_run_free(&r);
    }
}

/* ========================================================= stopped group */

static int
start_plain(void **state)
{
    (void) state;
    return h_cluster_start(&cl, NULL);
}

static int
start_small_wal(void **state)
{
    const char *const sets[] = {"max_wal_size=32MB", "min_wal_size=32MB", NULL};

    (void) state;
    return h_cluster_start(&cl, sets);
}

static int
stop_cluster(void **state)
{
    pid_t pid = h_cluster_pid(&cl);

    (void) state;
    if (pid > 0)
        kill(pid, SIGCONT); /* before anything else: a hung test must not hang teardown */
    h_cluster_stop(&cl);
    return 0;
}

static void
stop_server(void)
{
    const char *const stop[] = {"stop", "-m", "fast", "-w", "-s", NULL};

    assert_int_equal(h_cluster_ctl(&cl, stop), 0);
    assert_true(h_cluster_pid(&cl) <= 0);
}

/* A config file with target NAME for this cluster, its data directory and log. */
static char *
target_conf(const char *name)
{
    char text[4 * H_PATH_MAX];

    FMT(text,
        "[target %s]\nconninfo = host=%s port=%s user=%s dbname=postgres\n"
        "data_directory = %s\nlog_file = %s\nrestart_command = %s/scripts/tmp-pg ctl %s start\n",
        name, cl.host, cl.port, cl.user, cl.data, cl.log, h_srcdir(), cl.dir);
    return h_write_tmpfile("triage-conf", text);
}

static void
test_server_down(void **state)
{
    HRun r;
    json_t *j, *f;
    char *conf;
    char suffix[2 * H_PATH_MAX];
    const char *const kinds[] = {"server_down", NULL};

    (void) state;
    provoke_fatal(&cl, "pgmedic_gone_db");
    conf = target_conf("down");
    assert_non_null(conf);
    stop_server();

    RUN_CL(&r, "triage", "--format", "json");
    j = h_assert_unreachable(&r, "server_down");
    h_assert_header(&r, "postgres", cl.host, cl.port);
    assert_kinds(&r, kinds);
    f = finding_of(&r, "server_down");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.message"), "No such file or directory");
    /* No target with a restart_command: "pgmedic fix restart" could not run,
     * so triage says how to configure it instead of printing it. */
    assert_int_equal(h_json_len(f, "actions"), 0);
    assert_true(h_json_len(f, "advice") >= 2);
    {
        json_t *advice = json_object_get(f, "advice");
        bool says_how = false;

        for (size_t k = 0; k < json_array_size(advice); k++)
            says_how = says_how ||
                       strstr(json_string_value(json_array_get(advice, k)), "restart_command");
        assert_true(says_how);
    }
    assert_null(h_json_str(j, "treat_first"));
    h_run_free(&r);

    /* Through a target whose data directory is on this host: the log's
     * FATAL lines become evidence; the command names the target. */
    RUN_BARE(&r, "triage", "-c", conf, "-t", "down", "--format", "json");
    h_assert_unreachable(&r, "server_down");
    f = finding_of(&r, "server_down");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    assert_string_equal(h_json_str(f, "evidence.log_file"), cl.log);
    ASSERT_STRS_CONTAIN(f, "evidence.log_lines",
                        "FATAL:  database \"pgmedic_gone_db\" does not exist");
    {
        char q[2 * H_PATH_MAX];

        shell_quote(q, sizeof(q), conf);
        FMT(suffix, " -c %s -t down", q);
    }
    assert_action1(f, "pgmedic fix restart", suffix);
    h_run_free(&r);

    RUN_BARE(&r, "triage", "-c", conf, "-t", "down");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "server_down (explains DatabaseConnectionFailure)");
    H_ASSERT_CONTAINS(r.out, "$ pgmedic fix restart");
    H_ASSERT_NOT_CONTAINS(r.err, "pgmedic: error:");
    h_run_free(&r);
    free(conf);
}

static void
test_timeout(void **state)
{
    HRun r;
    json_t *f;
    pid_t pid = h_cluster_pid(&cl);

    (void) state;
    assert_true(pid > 0);
    assert_int_equal(kill(pid, SIGSTOP), 0);
    H_RUN_ENV(&r, &cl, NULL, 15.0, "triage", "--format", "json", "--set", "connect_timeout=1s",
              "-h", cl.host, "-p", cl.port, "-U", cl.user);
    kill(pid, SIGCONT);
    assert_false(r.timed_out);
    assert_true(r.wall_s < 1.0 + 2.0 * h_slowdown());
    h_assert_unreachable(&r, "timeout");
    f = finding_of(&r, "timeout");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    assert_true(h_json_num(f, "evidence.connect_s") >= 0.9);
    /* Without a configured restart_command: advice, not an unrunnable command. */
    assert_int_equal(h_json_len(f, "actions"), 0);
    h_run_free(&r);
}

static void
test_shutting_down(void **state)
{
    HRun r;
    json_t *f;
    const char *const stop[] = {"stop", "-m", "smart", "-W", "-s", NULL};
    const char *const none[] = {NULL};

    (void) state;
    assert_int_equal(h_sessions_open_idle(&cl, 1, "lingering", false, NULL), 1);
    assert_int_equal(h_cluster_ctl(&cl, stop), 0);
    assert_true(h_wait_conn_error(&cl, NULL, "shutting down", 10.0));
    RUN_CL(&r, "triage", "--format", "json");
    h_assert_unreachable(&r, "shutting_down");
    f = finding_of(&r, "shutting_down");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    assert_actions(f, none); /* wait and re-probe: nothing to run */
    assert_true(h_json_len(f, "advice") >= 1);
    h_run_free(&r);
}

static void
test_wal_growth(void **state)
{
    HRun r;
    json_t *f;
    const char *const none[] = {NULL};
    int64_t wal;

    (void) state;
    /* An inactive slot keeps every segment: six switches past max_wal_size. */
    assert_int_equal(
        h_sql(&cl, "SELECT pg_create_physical_replication_slot('pgmedic_stuck', true)"), 0);
    for (int i = 0; i < 6; i++)
        assert_int_equal(h_sql(&cl, "SELECT pg_logical_emit_message(false, 'pgmedic', 'x');"
                                    "SELECT pg_switch_wal()"),
                         0);
    wal = wal_files_bytes(cl.data);
    assert_true(wal > 2LL * 32 * 1024 * 1024);

    RUN_CL(&r, "triage", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "wal_growth");
    assert_explains(f, NULL, "warning");
    assert_int_equal(h_json_int(f, "evidence.max_wal_size_bytes"), 32LL * 1024 * 1024);
    assert_int_equal(h_json_bool(f, "evidence.max_wal_size_known"), 1);
    assert_string_equal(h_json_str(f, "evidence.wal_source"), "pg_wal on the host");
    H_ASSERT_NEAR((double) h_json_int(f, "evidence.wal_bytes"), (double) wal, 16.0 * 1024 * 1024);
    assert_actions(f, none);
    ASSERT_STRS_CONTAIN(f, "advice", "replication slot");
    h_run_free(&r);
}

/* ============================================================ full group */

static int
full_setup(void **state)
{
    const char *const sets[] = {"max_connections=10", "superuser_reserved_connections=3", NULL};

    (void) state;
    if (h_cluster_start(&cl, sets) != 0)
        return -1;
    return h_sql(&cl, "CREATE ROLE app_user LOGIN");
}

static void
test_too_many_clients_all_slots(void **state)
{
    HRun r;
    json_t *f;
    const char *const none[] = {NULL};
    const char *const kinds[] = {"too_many_clients", NULL};

    (void) state;
    assert_int_equal(h_sessions_open_idle(&cl, 10, "hog", false, NULL), 10);
    assert_true(h_wait_conn_error(&cl, NULL, "too many clients", 10.0));
    RUN_CL(&r, "triage", "--format", "json");
    h_assert_unreachable(&r, "too_many_clients");
    assert_kinds(&r, kinds);
    f = finding_of(&r, "too_many_clients");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.message"), "too many clients");
    assert_actions(f, none);
    ASSERT_STRS_CONTAIN(f, "advice", "reserved_conninfo");
    h_run_free(&r);
}

static void
test_too_many_clients_through_reserved_slot(void **state)
{
    HRun r;
    json_t *j, *f;
    int pids[7];
    char text[4 * H_PATH_MAX], suffix[2 * H_PATH_MAX], q[2 * H_PATH_MAX];
    char *conf;
    const char *const users[] = {"app_user", NULL};

    (void) state;
    /* The 7 ordinary slots, all app_user's: app_user is refused now. */
    for (int i = 0; i < 7; i++)
    {
        HConnOpts o = {.application_name = "filler-app", .user = "app_user"};
        PGconn *conn = h_session_open(&cl, &o);

        assert_non_null(conn);
        pids[i] = PQbackendPID(conn);
    }
    {
        HConnOpts o = {.user = "app_user"};

        assert_true(h_wait_conn_error(&cl, &o, "reserved", 10.0));
    }
    wait_state_age("filler-app", "idle", 7, 1.2);

    FMT(text,
        "[target t]\nconninfo = host=%s port=%s user=app_user dbname=postgres\n"
        "reserved_conninfo = host=%s port=%s user=postgres dbname=postgres\n",
        cl.host, cl.port, cl.host, cl.port);
    conf = h_write_tmpfile("triage-reserved", text);
    assert_non_null(conf);
    shell_quote(q, sizeof(q), conf);
    FMT(suffix, " -c %s -t t", q);

    RUN_BARE(&r, "triage", "-c", conf, "-t", "t", "--format", "json", "--set",
             "idle_connection=1s");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 1);
    assert_int_equal(h_json_bool(j, "status.via_reserved_slot"), 1);
    H_ASSERT_CONTAINS(h_json_str(j, "status.refused_message"), "reserved");
    H_ASSERT_CONTAINS(h_json_str(j, "target"), "postgres@");
    h_assert_alert(&r, "DatabaseConnectionFailure", "critical");
    h_assert_alert(&r, "DatabaseHighConnections", "critical");
    {
        const char *const kinds[] = {"too_many_clients", "connection_leak", NULL};
        assert_kinds(&r, kinds);
    }
    f = finding_of(&r, "too_many_clients");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    assert_int_equal(h_json_int(f, "evidence.connections"), 7);
    assert_int_equal(h_json_int(f, "evidence.usable_slots"), 7);
    assert_int_equal(h_json_int(f, "evidence.headroom"), 0);
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.refused_message"), "reserved");
    /* ... and inside, who holds the slots. */
    f = finding_of(&r, "connection_leak");
    assert_explains(f, "DatabaseHighConnections", "critical");
    assert_string_equal(h_json_str(f, "evidence.application"), "filler-app");
    assert_pid_set(f, "evidence.pids", pids, 7);
    assert_str_set(f, "evidence.users", users);
    assert_action1(f, "pgmedic fix terminate-idle --application filler-app --idle-for 1s", suffix);
    assert_string_equal(h_json_str(j, "treat_first"),
                        h_json_str(f, "actions.0")); /* the first with a command */
    h_run_free(&r);

    /*
     * The command triage gave works on the full server: fix acts through the
     * reserved slot it looked through (its normal login is refused too), and
     * the slots come free.
     */
    RUN_BARE(&r, "fix", "terminate-idle", "--application", "filler-app", "--idle-for", "1s", "-c",
             conf, "-t", "t", "--apply");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "reserved");
    h_run_free(&r);
    for (int i = 0; i < 7; i++)
        assert_true(h_wait_pid_gone(pids[i], 10.0));
    {
        HConnOpts o = {.user = "app_user"};
        PGconn *conn = h_session_open(&cl, &o);

        assert_non_null(conn); /* app_user gets in again */
    }

    /* Full again, then the reserved slots taken as well: nothing gets in. */
    for (int i = 0; i < 6; i++)
    {
        HConnOpts o = {.application_name = "filler-app", .user = "app_user"};

        assert_non_null(h_session_open(&cl, &o));
    }
    {
        HConnOpts o = {.user = "app_user"};

        assert_true(h_wait_conn_error(&cl, &o, "reserved", 10.0));
    }
    assert_int_equal(h_sessions_open_idle(&cl, 3, "su-filler", false, NULL), 3);
    assert_true(h_wait_conn_error(&cl, NULL, "too many clients", 10.0));
    RUN_BARE(&r, "triage", "-c", conf, "-t", "t", "--format", "json");
    h_assert_unreachable(&r, "too_many_clients");
    f = finding_of(&r, "too_many_clients");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    H_ASSERT_CONTAINS(r.err, "reserved_conninfo");
    h_run_free(&r);
    free(conf);
}

/* ============================================================ auth group */

#define GOOD_PASSWORD "Correct-Horse-42"
#define BAD_PASSWORD  "Wrong-Secret-77"

/* TCP logins need a password (scram); the socket stays trust. */
static int
start_auth(void **state)
{
    char path[H_PATH_MAX + 16];
    FILE *f;
    const char *const reload[] = {"reload", "-s", NULL};
    HConnOpts o = {.user = "medic_pw", .tcp = true};

    (void) state;
    if (h_cluster_start(&cl, NULL) != 0)
        return -1;
    if (h_sql(&cl, "CREATE ROLE medic_pw LOGIN PASSWORD '" GOOD_PASSWORD "';"
                   "GRANT pg_monitor TO medic_pw") != 0)
        return -1;
    FMT(path, "%s/pg_hba.conf", cl.data);
    f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n", f);
    if (fclose(f) != 0)
        return -1;
    if (h_cluster_ctl(&cl, reload) != 0)
        return -1;
    return h_wait_conn_error(&cl, &o, "password", 10.0) ? 0 : -1;
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
test_auth_failure(void **state)
{
    HRun r;
    json_t *f;
    const char *const env[] = {"PGHOST=127.0.0.1", "PGUSER=medic_pw", "PGPASSWORD=" BAD_PASSWORD,
                               NULL};
    const char *const none[] = {NULL};
    const char *const kinds[] = {"auth_failure", NULL};
    const char *const formats[] = {"json", "text", "markdown"};
    char conninfo[256];

    (void) state;
    H_RUN_ENV(&r, &cl, env, 30.0, "triage", "--format", "json");
    h_assert_unreachable(&r, "auth_failure");
    assert_kinds(&r, kinds);
    f = finding_of(&r, "auth_failure");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.message"), "password authentication failed");
    assert_actions(f, none);
    assert_true(h_json_len(f, "advice") >= 1);
    ASSERT_STRS_CONTAIN(f, "advice", "do not restart");
    assert_true(h_json_is_null(H_JSON(&r), "treat_first"));
    assert_no_password(&r, BAD_PASSWORD);
    h_run_free(&r);

    FMT(conninfo, "host=127.0.0.1 port=%s user=medic_pw dbname=postgres password=%s", cl.port,
        BAD_PASSWORD);
    for (size_t i = 0; i < 3; i++)
    {
        H_RUN(&r, &cl, "triage", "-v", "-d", conninfo, "--format", formats[i]);
        H_ASSERT_EXIT(&r, 2);
        H_ASSERT_CONTAINS(r.out, "auth_failure");
        assert_no_password(&r, BAD_PASSWORD);
        h_run_free(&r);
    }
}

static void
test_database_missing(void **state)
{
    HRun r;
    json_t *f;
    const char *const none[] = {NULL};
    const char *const kinds[] = {"database_missing", NULL};

    (void) state;
    RUN_CL(&r, "triage", "-d", "pgmedic_nosuchdb", "--format", "json");
    h_assert_unreachable(&r, "database_missing");
    h_assert_header(&r, "pgmedic_nosuchdb", cl.host, cl.port);
    assert_kinds(&r, kinds);
    f = finding_of(&r, "database_missing");
    assert_explains(f, "DatabaseConnectionFailure", "critical");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.message"), "does not exist");
    assert_actions(f, none);
    ASSERT_STRS_CONTAIN(f, "advice", "psql -l");
    ASSERT_STRS_CONTAIN(f, "advice", "do not restart");
    h_run_free(&r);
}

/* The shell word after " -d " in cmd, unquoted, with the single quotes of
 * conninfo values dropped as well ("host=h port=p ..."). */
static void
dbname_arg(const char *cmd, char *out, size_t size)
{
    const char *p = cmd ? strstr(cmd, " -d ") : NULL;
    size_t o = 0;
    bool quoted = false;

    out[0] = '\0';
    if (p == NULL)
        return;
    for (p += 4; *p && o + 1 < size; p++)
    {
        if (*p == '\'')
            quoted = !quoted;
        else if (*p == '\\' && !quoted && p[1] != '\0')
            p++; /* the quote of '\'' is the next character: dropped as well */
        else if (*p == ' ' && !quoted)
            break;
        else
            out[o++] = *p;
    }
    out[o] = '\0';
}

/* The -d of a printed command names the same server, without its password. */
static void
assert_dbname_arg(json_t *f, const char *const *parts)
{
    char arg[1024];

    dbname_arg(h_json_str(f, "actions.0"), arg, sizeof(arg));
    for (size_t i = 0; parts[i] != NULL; i++)
    {
        if (strstr(arg, parts[i]) == NULL)
            dump_json("finding", f);
        H_ASSERT_CONTAINS(arg, parts[i]);
    }
    H_ASSERT_NOT_CONTAINS(arg, "password");
}

/* A password given in -d never reaches the printed commands. */
static void
test_password_not_in_actions(void **state)
{
    HRun r;
    json_t *f;
    PGconn *iit;
    char conninfo[256], uri[256], port[32];
    const char *const parts[] = {"host=127.0.0.1", port, "user=medic_pw", "dbname=postgres", NULL};

    (void) state;
    iit = h_session_idle_in_transaction(&cl, "iit-pw", false);
    assert_non_null(iit);
    wait_state_age("iit-pw", "idle in transaction", 1, 1.2);
    FMT(port, "port=%s", cl.port);

    FMT(conninfo, "host=127.0.0.1 port=%s user=medic_pw dbname=postgres password=%s", cl.port,
        GOOD_PASSWORD);
    H_RUN(&r, &cl, "triage", "-d", conninfo, "--format", "json", "--set", "idle_in_transaction=1s");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "idle_in_transaction");
    H_ASSERT_CONTAINS(h_json_str(f, "actions.0"),
                      "pgmedic fix terminate-idle-in-transaction --idle-for 1s -d ");
    assert_dbname_arg(f, parts);
    assert_no_password(&r, GOOD_PASSWORD);
    h_run_free(&r);

    FMT(uri, "postgresql://medic_pw:%s@127.0.0.1:%s/postgres", GOOD_PASSWORD, cl.port);
    H_RUN(&r, &cl, "triage", "-d", uri, "--format", "json", "--set", "idle_in_transaction=1s");
    H_ASSERT_EXIT(&r, 0);
    f = finding_of(&r, "idle_in_transaction");
    H_ASSERT_CONTAINS(h_json_str(f, "actions.0"),
                      "pgmedic fix terminate-idle-in-transaction --idle-for 1s -d ");
    assert_dbname_arg(f, parts);
    assert_no_password(&r, GOOD_PASSWORD);
    h_run_free(&r);
}

/* ================================================================== main */

int
main(void)
{
    const struct CMUnitTest live[] = {
        cmocka_unit_test_teardown(test_connection_leak, close_sessions),
        cmocka_unit_test_teardown(test_default_command_is_triage, close_sessions),
        cmocka_unit_test_teardown(test_idle_in_transaction, close_sessions),
        cmocka_unit_test_teardown(test_lock_contention, close_sessions),
        cmocka_unit_test_teardown(test_long_running_query, close_sessions),
        cmocka_unit_test_teardown(test_connection_surge, close_sessions),
        cmocka_unit_test_teardown(test_missing_index, close_sessions),
        cmocka_unit_test_teardown(test_stale_statistics, close_sessions),
        cmocka_unit_test_teardown(test_table_bloat, close_sessions),
        cmocka_unit_test_teardown(test_table_bloat_autovacuum_off, close_sessions),
        cmocka_unit_test_teardown(test_host_facts, close_sessions),
        cmocka_unit_test_teardown(test_formats, close_sessions),
    };
    const struct CMUnitTest stopped[] = {
        cmocka_unit_test_setup_teardown(test_server_down, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_timeout, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_shutting_down, start_plain, stop_cluster),
        cmocka_unit_test_setup_teardown(test_wal_growth, start_small_wal, stop_cluster),
    };
    const struct CMUnitTest full[] = {
        cmocka_unit_test_teardown(test_too_many_clients_all_slots, close_sessions),
        cmocka_unit_test_teardown(test_too_many_clients_through_reserved_slot, close_sessions),
    };
    const struct CMUnitTest auth[] = {
        cmocka_unit_test(test_auth_failure),
        cmocka_unit_test(test_database_missing),
        cmocka_unit_test_teardown(test_password_not_in_actions, close_sessions),
    };
    int failed = 0;

    failed += cmocka_run_group_tests_name("triage-live", live, live_setup, live_teardown);
    failed += cmocka_run_group_tests_name("triage-stopped", stopped, NULL, NULL);
    failed += cmocka_run_group_tests_name("triage-full", full, full_setup, live_teardown);
    failed += cmocka_run_group_tests_name("triage-auth", auth, start_auth, live_teardown);
    return failed;
}
