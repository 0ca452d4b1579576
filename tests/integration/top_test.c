/*
 * top_test.c - pgmedic top for real, in a terminal: tmux runs it (160x48)
 * against a throwaway cluster, the test reads the screen with
 * `tmux capture-pane -p` and types with `tmux send-keys`, then asserts on
 * the server and the audit log:
 *
 *   - a lock chain (h_lock_chain): the sessions list and the lock tree show
 *     it; K on the selected root terminates it after y, through fix's
 *     audited path; the waiters go on; T on the next tree's root; the audit
 *     log has both actions and the server log the re-checking statement;
 *   - --dry-run: the same keys say what they would do and do nothing; C on
 *     a session with no query, and "n" to the question, do nothing either;
 *   - the server stops and starts while top runs: the screen shows DOWN
 *     and its cause, the keys still work, then it shows the server again;
 *     a hung server (SIGSTOP) shows "timeout" within the timeouts while
 *     the keys keep working.
 *
 * Every tmux server has a socket of its own (tmux -L) and is killed in the
 * teardown of each test, whatever happened.  Nothing sleeps a fixed time:
 * the screen and the server are polled against deadlines.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;

static char tmux_bin[H_PATH_MAX];
static char sock[64]; /* tmux -L: a server of our own */
static char store_set[H_PATH_MAX + 16];
static char exit_file[H_PATH_MAX];
static char err_file[H_PATH_MAX];
static pid_t stopped_backend; /* a backend SIGSTOPped by a test, continued in teardown */

/* ---------------------------------------------------------------- tmux */

static int
find_tmux(void)
{
    const char *path = getenv("PATH");
    char dirs[4096];
    char *dir, *save = NULL;

    snprintf(dirs, sizeof(dirs), "%s", path ? path : "/usr/bin:/bin");
    for (dir = strtok_r(dirs, ":", &save); dir != NULL; dir = strtok_r(NULL, ":", &save))
    {
        snprintf(tmux_bin, sizeof(tmux_bin), "%s/tmux", dir);
        if (access(tmux_bin, X_OK) == 0)
            return 0;
    }
    fprintf(stderr, "harness: tmux is not installed (scripts/deps.sh installs it)\n");
    return -1;
}

/* Runs tmux -L sock ARGS...; returns its stdout (caller frees) or NULL when it failed. */
static char *
tmux_run(const char *first, ...)
{
    const char *argv[16];
    size_t n = 0;
    va_list ap;
    HRun r;
    char *out = NULL;

    argv[n++] = tmux_bin;
    argv[n++] = "-L";
    argv[n++] = sock;
    va_start(ap, first);
    for (const char *a = first; a != NULL && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    if (h_exec(&r, NULL, argv, NULL, 10.0) != 0)
        return NULL;
    if (r.exit_code == 0)
    {
        out = r.out;
        r.out = NULL;
    }
    h_run_free(&r);
    return out;
}

/* Kills our tmux server and removes its socket (tmux leaves it behind). */
static void
tmux_kill(void)
{
    const char *dir = getenv("TMUX_TMPDIR");
    char path[H_PATH_MAX];

    free(tmux_run("kill-server", NULL));
    snprintf(path, sizeof(path), "%s/tmux-%d/%s", dir && dir[0] ? dir : "/tmp", (int) getuid(),
             sock);
    unlink(path);
}

/* The screen as text, one line per row. */
static char *
screen(void)
{
    char *s = tmux_run("capture-pane", "-p", "-t", "top", NULL);

    return s ? s : strdup("");
}

/* Types keys: each argument is typed literally (-l), so "K" is K. */
static void
keys(const char *text)
{
    char *out = tmux_run("send-keys", "-t", "top", "-l", text, NULL);

    assert_non_null(out);
    free(out);
}

/* A named key: "Home", "Down", "Escape". */
static void
key_named(const char *name)
{
    char *out = tmux_run("send-keys", "-t", "top", name, NULL);

    assert_non_null(out);
    free(out);
}

/*
 * Polls the screen until it contains every needle (NULL-terminated) and none
 * of avoid (may be NULL), or fails the test showing the last screen.
 * Returns the screen (caller frees).
 */
static char *
wait_screen_v(double timeout_s, const char *avoid, const char *const *needles)
{
    double deadline = h_now() + timeout_s * h_slowdown();
    char *s = NULL;

    for (;;)
    {
        bool all = true;
        struct timespec ts = {0, 50 * 1000 * 1000};

        free(s);
        s = screen();
        for (size_t i = 0; needles[i] != NULL && all; i++)
            all = strstr(s, needles[i]) != NULL;
        if (all && (avoid == NULL || strstr(s, avoid) == NULL))
            return s;
        if (h_now() > deadline)
            break;
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "harness: the screen never showed:");
    for (size_t i = 0; needles[i] != NULL; i++)
        fprintf(stderr, " \"%s\"", needles[i]);
    if (avoid != NULL)
        fprintf(stderr, " (without \"%s\")", avoid);
    fprintf(stderr, "\nlast screen:\n%s\n", s);
    {
        char *err = h_read_file(err_file, NULL);

        fprintf(stderr, "pgmedic's stderr so far:\n%s\n", err ? err : "(none)");
        free(err);
    }
    free(s);
    fail();
    return NULL;
}

#define WAIT_SCREEN(timeout_s, ...)                                                                \
    wait_screen_v((timeout_s), NULL, (const char *const[]){__VA_ARGS__, NULL})
#define WAIT_SCREEN_WITHOUT(timeout_s, avoid, ...)                                                 \
    wait_screen_v((timeout_s), (avoid), (const char *const[]){__VA_ARGS__, NULL})

/* The screen line that contains needle (a copy; caller frees), or NULL. */
static char *
line_with(const char *s, const char *needle)
{
    const char *hit = strstr(s, needle), *start, *end;

    if (hit == NULL)
        return NULL;
    for (start = hit; start > s && start[-1] != '\n'; start--)
        ;
    end = strchr(hit, '\n');
    return strndup(start, end ? (size_t) (end - start) : strlen(start));
}

/*
 * Starts pgmedic top in a detached tmux session "top" of 160x48, on the
 * cluster, refreshing every 300ms, with extra arguments (may be "").  Its
 * stderr goes to err_file and its exit status to exit_file.
 */
static void
start_top(const char *extra)
{
    char cmd[8 * H_PATH_MAX];
    char *out;

    unlink(exit_file);
    snprintf(cmd, sizeof(cmd),
             "env PGHOST='%s' PGPORT='%s' PGUSER='%s' PGDATABASE=postgres LC_ALL=C.UTF-8 "
             "'%s' top --interval 300ms --set '%s' %s 2>'%s'; echo \"EXIT=$?\" > '%s'",
             cl.host, cl.port, cl.user, h_bin(), store_set, extra, err_file, exit_file);
    out = tmux_run("new-session", "-d", "-s", "top", "-x", "160", "-y", "48", cmd, NULL);
    assert_non_null(out);
    free(out);
}

/* q, and top exits 0. */
static void
quit_top(void)
{
    double deadline;
    char *status = NULL;

    keys("q");
    deadline = h_now() + 10.0 * h_slowdown();
    while (h_now() < deadline)
    {
        struct timespec ts = {0, 50 * 1000 * 1000};

        status = h_read_file(exit_file, NULL);
        if (status != NULL && strchr(status, '\n') != NULL)
            break;
        free(status);
        status = NULL;
        nanosleep(&ts, NULL);
    }
    if (status == NULL)
    {
        char *s = screen();

        fprintf(stderr, "harness: top did not exit after q; screen:\n%s\n", s);
        free(s);
    }
    assert_non_null(status);
    assert_string_equal(status, "EXIT=0\n");
    free(status);
    /* It gave the terminal back: nothing it logged needed the screen. */
    {
        char *err = h_read_file(err_file, NULL);

        assert_non_null(err);
        if (err[0] != '\0')
            fprintf(stderr, "harness: pgmedic top wrote on stderr:\n%s\n", err);
        assert_string_equal(err, "");
        free(err);
    }
}

/* ------------------------------------------------------------- fixtures */

static int
group_setup(void **state)
{
    (void) state;
    if (find_tmux() != 0)
        return -1;
    snprintf(sock, sizeof(sock), "pgmedic-top-%d", (int) getpid());
    snprintf(exit_file, sizeof(exit_file), "%s/top-exit", h_tmproot());
    snprintf(err_file, sizeof(err_file), "%s/top-stderr", h_tmproot());
    return h_cluster_start(&cl, NULL);
}

static int
group_teardown(void **state)
{
    (void) state;
    tmux_kill();
    h_cluster_stop(&cl);
    return 0;
}

static int
test_setup(void **state)
{
    static int n;

    (void) state;
    snprintf(store_set, sizeof(store_set), "store=%s/top-store-%d.db", h_tmproot(), ++n);
    return 0;
}

/* Whatever happened: no tmux left, nothing stopped, the test's sessions gone. */
static int
test_teardown(void **state)
{
    pid_t pm = h_cluster_pid(&cl);

    (void) state;
    tmux_kill();
    if (pm > 0)
        kill(pm, SIGCONT);
    if (stopped_backend > 0)
        kill(stopped_backend, SIGCONT);
    stopped_backend = 0;
    if (h_cluster_pid(&cl) <= 0)
    {
        const char *const start[] = {"start", "-w", "-s", "-l", cl.log, NULL};

        h_cluster_ctl(&cl, start);
    }
    return h_sessions_close(&cl);
}

/* The audit log of the test's store, as JSON (caller frees the run). */
static json_t *
audit_json(HRun *r)
{
    H_RUN(r, NULL, "audit", "--format", "json", "--limit", "0", "--set", store_set);
    H_ASSERT_EXIT(r, 0);
    assert_true(json_is_array(H_JSON(r)));
    return H_JSON(r);
}

static bool
backend_alive(int pid)
{
    char sql[160];
    char *v;
    bool alive;

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_catalog.pg_stat_activity WHERE pid = %d",
             pid);
    v = h_sql_value(&cl, sql);
    assert_non_null(v);
    alive = strcmp(v, "1") == 0;
    free(v);
    return alive;
}

/* ---------------------------------------------------------------- tests */

static void
test_top_lock_chain_terminate_root(void **state)
{
    int pids[3];
    char root[16], mid[16], tail[16], want[256], sql[320];
    char *s, *line;
    size_t log_at;
    HRun r;
    json_t *audit, *row;

    (void) state;
    assert_int_equal(h_lock_chain(&cl, "chain-app", pids), 0);
    snprintf(root, sizeof(root), "%d", pids[0]);
    snprintf(mid, sizeof(mid), "%d", pids[1]);
    snprintf(tail, sizeof(tail), "%d", pids[2]);
    log_at = h_log_size(&cl);
    start_top("");

    /* The sessions: the root blocks 2, each waiter names who it waits for. */
    snprintf(want, sizeof(want), "waits %s", root);
    s = WAIT_SCREEN(15.0, "pgmedic top  postgres@", "[1 sessions 3]", "blocks 2", want);
    line = line_with(s, "blocks 2");
    H_ASSERT_CONTAINS(line, root);
    H_ASSERT_CONTAINS(line, "idle in transaction");
    H_ASSERT_CONTAINS(line, "chain-app");
    free(line);
    snprintf(want, sizeof(want), "waits %s", mid);
    H_ASSERT_CONTAINS(s, want);
    H_ASSERT_CONTAINS(s, "2 active, 0 idle, 1 idle in transaction, 2 waiting on a lock");
    free(s);

    /* The lock view: the root, its waiter indented, and the waiter behind that one. */
    keys("l");
    snprintf(want, sizeof(want),
             "1 lock tree, 2 sessions waiting; first root pid %s blocks 2 "
             "(depth 2",
             root);
    {
        char row1[64], row2[64];

        /* The header and the tree's rows may be drawn in different refreshes: wait for all. */
        snprintf(row1, sizeof(row1), "\n  \\_ %s ", mid);
        snprintf(row2, sizeof(row2), "\n     \\_ %s ", tail);
        s = WAIT_SCREEN(5.0, want, "[2 locks 2 waiting]", row1, row2);
        H_ASSERT_CONTAINS(s, row1);
        H_ASSERT_CONTAINS(s, row2);
        free(s);
    }

    /* Select the root (the first line of the tree) and terminate it. */
    key_named("Home");
    snprintf(want, sizeof(want), "\n> %s ", root);
    free(WAIT_SCREEN(5.0, want));
    keys("K");
    snprintf(want, sizeof(want), "\nterminate pid %s (root blocker, idle in transaction", root);
    snprintf(sql, sizeof(sql), "\nTerminate pid %s? [y/N]", root);
    s = WAIT_SCREEN(5.0, want, "application \"chain-app\"", "blocks 2) on postgres@", sql);
    free(s);
    assert_true(backend_alive(pids[0])); /* nothing before the answer */
    keys("y");
    snprintf(want, sizeof(want), "pid %s: signalled (terminate-blockers, audit #1: done)", root);
    free(WAIT_SCREEN(10.0, want));

    /* On the server: the root is gone, its waiter got the row and holds its table lock... */
    snprintf(sql, sizeof(sql),
             "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = %d)",
             pids[0]);
    assert_true(h_wait_sql(&cl, sql, 10.0));
    snprintf(sql, sizeof(sql),
             "SELECT state = 'idle in transaction' AND wait_event_type IS DISTINCT FROM 'Lock' "
             "FROM pg_catalog.pg_stat_activity WHERE pid = %d",
             pids[1]);
    assert_true(h_wait_sql(&cl, sql, 10.0));
    /* ...so the last one now waits for it: a new tree, which top shows. */
    snprintf(sql, sizeof(sql), "SELECT pg_catalog.pg_blocking_pids(%d) = ARRAY[%d]", pids[2],
             pids[1]);
    assert_true(h_wait_sql(&cl, sql, 10.0));
    snprintf(want, sizeof(want), "first root pid %s blocks 1 (depth 1", mid);
    s = WAIT_SCREEN(10.0, want, "[2 locks 1 waiting]");
    free(s);

    /* T: the root of the selected session's tree, here the new root itself. */
    keys("T");
    snprintf(want, sizeof(want), "\nterminate pid %s (root blocker, idle in transaction", mid);
    free(WAIT_SCREEN(5.0, want, "blocks 1) on postgres@", "? [y/N]"));
    keys("y");
    snprintf(want, sizeof(want), "pid %s: signalled (terminate-blockers, audit #2: done)", mid);
    free(WAIT_SCREEN(10.0, want));
    snprintf(sql, sizeof(sql),
             "SELECT state = 'idle' FROM pg_catalog.pg_stat_activity WHERE pid = %d", pids[2]);
    assert_true(h_wait_sql(&cl, sql, 10.0)); /* the last waiter read its table and finished */
    free(WAIT_SCREEN(10.0, "no session waits on a lock: no lock tree", "[2 locks 0 waiting]"));
    quit_top();

    /* The audit log: both, newest first, each with the session it was about. */
    audit = audit_json(&r);
    assert_int_equal(json_array_size(audit), 2);
    row = json_array_get(audit, 1);
    assert_string_equal(h_json_str(row, "action"), "terminate-blockers");
    assert_string_equal(h_json_str(row, "status"), "done");
    snprintf(want, sizeof(want), "--pid %s (pgmedic top)", root);
    assert_string_equal(h_json_str(row, "options"), want);
    assert_string_equal(h_json_str(row, "db_role"), cl.user);
    assert_int_equal(h_json_int(row, "plan.sessions.0.pid"), pids[0]);
    assert_string_equal(h_json_str(row, "plan.signal"), "terminate");
    snprintf(want, sizeof(want), "pid %s", root);
    assert_string_equal(h_json_str(row, "result.0.item"), want);
    assert_string_equal(h_json_str(row, "result.0.outcome"), "signalled");
    row = json_array_get(audit, 0);
    assert_string_equal(h_json_str(row, "action"), "terminate-blockers");
    assert_int_equal(h_json_int(row, "plan.sessions.0.pid"), pids[1]);
    assert_string_equal(h_json_str(row, "result.0.outcome"), "signalled");
    h_run_free(&r);

    /* The server ran the statement that re-checks before it signals. */
    {
        char *log = h_log_since(&cl, log_at);

        H_ASSERT_CONTAINS(log, "WHEN $4 = 'blocker' AND a.xact_start IS DISTINCT FROM");
        H_ASSERT_CONTAINS(log, "pg_catalog.pg_terminate_backend(a.pid)");
        free(log);
    }
}

/*
 * A full server: every ordinary slot taken by an application, so top's own
 * login is refused.  With the target's reserved_conninfo top looks through a
 * reserved slot, shows who fills the server, and K terminates through the
 * same login (the audit row names its role).
 */
static void
test_top_full_server_through_reserved_slot(void **state)
{
    const char *const sets[] = {"max_connections=8", "superuser_reserved_connections=3", NULL};
    HCluster full;
    char text[4 * H_PATH_MAX], extra[2 * H_PATH_MAX], want[128], *conf, *s;
    int pids[5], victim = 0;
    HRun r;
    json_t *audit, *row;

    (void) state;
    memset(&full, 0, sizeof(full));
    assert_int_equal(h_cluster_start(&full, sets), 0);
    assert_int_equal(h_sql(&full, "CREATE ROLE app_user LOGIN"), 0);
    for (int i = 0; i < 5; i++)
    {
        HConnOpts o = {.application_name = "filler-app", .user = "app_user"};
        PGconn *conn = h_session_open(&full, &o);

        assert_non_null(conn);
        pids[i] = PQbackendPID(conn);
    }
    {
        HConnOpts o = {.user = "app_user"};

        assert_true(h_wait_conn_error(&full, &o, "reserved", 10.0));
    }
    snprintf(text, sizeof(text),
             "[target t]\nconninfo = host=%s port=%s user=app_user dbname=postgres\n"
             "reserved_conninfo = host=%s port=%s user=postgres dbname=postgres\n",
             full.host, full.port, full.host, full.port);
    conf = h_write_tmpfile("top-reserved", text);
    assert_non_null(conf);
    snprintf(extra, sizeof(extra), "-c '%s' -t t", conf);
    start_top(extra);

    s = WAIT_SCREEN(15.0, "seen through a reserved slot", "filler-app");
    free(s);
    key_named("Home");
    s = WAIT_SCREEN(5.0, "\n> ");
    for (int i = 0; i < 5; i++)
    {
        char pid[24];

        snprintf(pid, sizeof(pid), "\n> %d ", pids[i]);
        if (strstr(s, pid) != NULL)
            victim = pids[i];
    }
    if (victim == 0)
        fprintf(stderr, "harness: the selected row is none of the application's:\n%s\n", s);
    free(s);
    assert_int_not_equal(victim, 0); /* the selected row is one of the application's */
    keys("K");
    snprintf(want, sizeof(want), "Terminate pid %d? [y/N]", victim);
    free(WAIT_SCREEN(5.0, want));
    keys("y");
    snprintf(want, sizeof(want), "pid %d: signalled", victim);
    free(WAIT_SCREEN(10.0, want));
    assert_true(h_wait_pid_gone(victim, 10.0));
    quit_top();

    audit = audit_json(&r);
    assert_int_equal(json_array_size(audit), 1);
    row = json_array_get(audit, 0);
    assert_string_equal(h_json_str(row, "status"), "done");
    assert_string_equal(h_json_str(row, "db_role"), "postgres"); /* the reserved login acted */
    assert_string_equal(h_json_str(row, "result.0.outcome"), "signalled");
    h_run_free(&r);
    free(conf);
    h_cluster_stop(&full);
}

static void
test_top_dry_run_does_nothing(void **state)
{
    int pids[3];
    char root[16], want[256], sql[256];
    HRun r;

    (void) state;
    assert_int_equal(h_lock_chain(&cl, "dry-app", pids), 0);
    snprintf(root, sizeof(root), "%d", pids[0]);
    start_top("--dry-run --view locks");
    snprintf(want, sizeof(want), "first root pid %s blocks 2", root);
    free(WAIT_SCREEN(15.0, want, "DRY RUN: nothing is signalled", "[DRY RUN]"));
    snprintf(want, sizeof(want), "\n> %s ", root);
    free(WAIT_SCREEN(5.0, want));

    /* K, y: said, not done. */
    keys("K");
    snprintf(want, sizeof(want), "\nwould terminate pid %s (root blocker", root);
    snprintf(sql, sizeof(sql), "\nDRY RUN: nothing will be done. Terminate pid %s? [y/N]", root);
    free(WAIT_SCREEN(5.0, want, sql));
    keys("y");
    snprintf(want, sizeof(want), "dry run: nothing was done (would terminate pid %s", root);
    free(WAIT_SCREEN(5.0, want));

    /* C on a session without a query: refused.  K then n: not confirmed. */
    keys("C");
    snprintf(want, sizeof(want),
             "refused: pid %s is idle in transaction: it runs no query to cancel", root);
    free(WAIT_SCREEN(5.0, want));
    keys("K");
    free(WAIT_SCREEN(5.0, "[y/N]"));
    keys("n");
    free(WAIT_SCREEN(5.0, "not confirmed: nothing was done"));

    /* Help, any key closes it; pause and resume; the sort order. */
    keys("?");
    free(WAIT_SCREEN(5.0, "\nKeys:", "K           terminate the selected session"));
    keys("x");
    free(WAIT_SCREEN_WITHOUT(5.0, "\nKeys:", "PID (TREE)"));
    keys("p");
    free(WAIT_SCREEN(5.0, "PAUSED (p resumes)", "paused: r takes one snapshot, p resumes"));
    keys("p");
    free(WAIT_SCREEN_WITHOUT(5.0, "PAUSED", "refreshing again"));
    keys("o");
    free(WAIT_SCREEN(5.0, "sort: state", "sorted by state"));

    /* A smaller terminal: everything is laid out again to its width. */
    free(tmux_run("resize-window", "-t", "top", "-x", "100", "-y", "30", NULL));
    {
        char *s, *line;

        snprintf(want, sizeof(want), "\n> %s ", root);
        s = WAIT_SCREEN(5.0, want,
                        "\nq quit  1/2/3 views  arrows select  o sort  a/d filter  K "
                        "terminate  T terminate root  C cancel  p p\n");
        line = line_with(s, "q quit  1/2/3 views");
        assert_non_null(line);
        assert_int_equal(strlen(line), 100);
        free(line);
        free(s);
    }

    /* A filter that matches nothing hides the tree; clearing it shows it again. */
    keys("a");
    free(WAIT_SCREEN(5.0, "filter by application (Enter applies"));
    keys("nobody");
    key_named("Enter");
    free(WAIT_SCREEN(5.0, "no lock tree matches the filter", "filter: application=nobody"));
    keys("a");
    free(WAIT_SCREEN(5.0, "filter by application (Enter applies, empty: all, Esc cancels): "
                          "nobody_"));
    for (int i = 0; i < 6; i++)
        key_named("BSpace");
    key_named("Enter");
    snprintf(want, sizeof(want), "first root pid %s blocks 2", root);
    free(WAIT_SCREEN_WITHOUT(5.0, "filter: application", want, "application filter cleared"));
    quit_top();

    /* Nothing happened on the server, and nothing is in the audit log. */
    assert_true(backend_alive(pids[0]));
    snprintf(sql, sizeof(sql),
             "SELECT wait_event_type = 'Lock' FROM pg_catalog.pg_stat_activity WHERE pid = %d",
             pids[2]);
    assert_true(h_wait_sql(&cl, sql, 5.0));
    assert_int_equal(json_array_size(audit_json(&r)), 0);
    h_run_free(&r);
}

static void
test_top_server_down_and_back(void **state)
{
    const char *const stop[] = {"stop", "-m", "fast", "-w", "-s", NULL};
    const char *const start[] = {"start", "-w", "-s", "-l", cl.log, NULL};
    char *own;

    (void) state;
    start_top("--set connect_timeout=1s --set query_timeout=1s");
    free(WAIT_SCREEN(15.0, "PostgreSQL 15", "no alert firing"));
    /* One connection between refreshes, and only one. */
    assert_true(h_wait_sql(&cl,
                           "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
                           "WHERE application_name = 'pgmedic'",
                           10.0));

    /* Stopped: DOWN, the cause, the alert; the keys still work. */
    assert_int_equal(h_cluster_ctl(&cl, stop), 0);
    free(WAIT_SCREEN(
        10.0, "DOWN since", "retrying every 300ms",
        "cause: server_down (nothing listens: the server is down): ", "No such file or directory",
        "CRITICAL  DatabaseConnectionFailure: cannot reach postgres@"));
    keys("2");
    free(WAIT_SCREEN(5.0, "[2 locks 0 waiting]",
                     "no lock trees: the server could not be reached (server_down)"));
    keys("f");
    free(WAIT_SCREEN(5.0, "[3 findings", "server_down (explains DatabaseConnectionFailure)"));

    /* Started again: shown again, without a key pressed. */
    assert_int_equal(h_cluster_ctl(&cl, start), 0);
    keys("1");
    free(
        WAIT_SCREEN_WITHOUT(15.0, "DOWN since", "PostgreSQL 15", "no alert firing", "[1 sessions"));

    /*
     * Hung (SIGSTOP of the postmaster and of top's own backend): within the
     * timeouts (1 s each) the screen says "timeout", and keys are answered
     * meanwhile, not after the probe gives up.
     */
    assert_true(h_wait_sql(&cl,
                           "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
                           "WHERE application_name = 'pgmedic'",
                           10.0));
    own = h_sql_value(&cl, "SELECT pid FROM pg_catalog.pg_stat_activity "
                           "WHERE application_name = 'pgmedic'");
    assert_non_null(own);
    stopped_backend = (pid_t) strtol(own, NULL, 10);
    free(own);
    assert_true(stopped_backend > 0);
    assert_int_equal(kill(h_cluster_pid(&cl), SIGSTOP), 0);
    assert_int_equal(kill(stopped_backend, SIGSTOP), 0);
    free(WAIT_SCREEN(10.0, "cause: timeout (no answer in time: the server or the network hangs)"));
    /*
     * Each probe now waits up to 1 s for the hung server, most of the time:
     * every key is still answered at once, not when the probe gives up.
     */
    for (int i = 0; i < 6; i++)
    {
        double t0 = h_now();

        keys(i % 2 == 0 ? "2" : "1");
        free(WAIT_SCREEN(5.0, i % 2 == 0 ? "[2 locks" : "[1 sessions"));
        if (h_now() - t0 > 0.7 * h_slowdown())
            fail_msg("key %d took %.2fs to show while the server hangs", i, h_now() - t0);
    }
    keys("1");
    free(WAIT_SCREEN(5.0, "[1 sessions", "cause: timeout"));
    assert_int_equal(kill(h_cluster_pid(&cl), SIGCONT), 0);
    assert_int_equal(kill(stopped_backend, SIGCONT), 0);
    stopped_backend = 0;
    free(WAIT_SCREEN_WITHOUT(15.0, "DOWN since", "PostgreSQL 15", "no alert firing"));
    quit_top();
}

static void
test_top_needs_a_terminal(void **state)
{
    HRun r;

    (void) state;
    /* The harness runs it with stdin from /dev/null. */
    H_RUN(&r, &cl, "top");
    h_assert_usage_error(&r, "pgmedic top needs a terminal");
    h_run_free(&r);
    H_RUN(&r, &cl, "top", "--interval", "10ms");
    h_assert_usage_error(&r, "--interval must be at least 100ms");
    h_run_free(&r);
    H_RUN(&r, &cl, "top", "--sort", "size");
    h_assert_usage_error(&r, "unrecognized sort order \"size\"");
    h_run_free(&r);
    H_RUN(&r, &cl, "top", "--help");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "pgmedic top - a live full-screen view");
    H_ASSERT_CONTAINS(r.out, "--interval=DURATION");
    H_ASSERT_CONTAINS(r.out, "--dry-run");
    H_ASSERT_CONTAINS(r.out, "K terminate the selected session, T terminate the root blocker");
    h_run_free(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_top_lock_chain_terminate_root, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_top_dry_run_does_nothing, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_top_full_server_through_reserved_slot, test_setup,
                                        test_teardown),
        cmocka_unit_test_setup_teardown(test_top_server_down_and_back, test_setup, test_teardown),
        cmocka_unit_test_setup_teardown(test_top_needs_a_terminal, test_setup, test_teardown),
    };

    return cmocka_run_group_tests_name("top", tests, group_setup, group_teardown);
}
