/*
 * verify_audit_test.c - pgmedic verify (the runbook's §8 checklist), fix
 * restart through a configured restart_command, and pgmedic audit.
 *
 * verify: passes on a quiet server; fails (exit 2, the failing checks named)
 * while a lock chain or a slow query exists; with --wait it passes once the
 * test removes the cause after verify's first failed probe (verify runs in
 * the background, started by this file).  restart: the server is stopped,
 * verify fails, fix restart runs "scripts/tmp-pg ctl DIR restart" and verify
 * passes; a restart_command that fails is reported and audited as failed.
 * audit: the rows of applied actions in JSON and text, and an apply killed
 * with SIGKILL while its restart_command runs, shown UNFINISHED.
 *
 * One cluster for verify and audit; the restart tests each start their own
 * (they stop it).  Each test has a store of its own.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

extern char **environ;

static HCluster cl; /* the shared one */
static HCluster rc; /* a test's own, for restarts */

static char store_set[H_PATH_MAX + 16];

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
cleanup(void **state)
{
    int ret;

    (void)state;
    ret = h_sessions_close(&cl);
    if (h_sql(&cl, "SET client_min_messages = warning; DROP TABLE IF EXISTS va_lock, va_t") != 0)
        ret = -1;
    return ret;
}

/* What a test left running in the background, ended by its id in teardown. */
static pid_t bg_pid = -1, bg_group = -1;

static int
kill_background(void **state)
{
    if (bg_pid > 0)
    {
        kill(-bg_pid, SIGKILL);
        waitpid(bg_pid, NULL, 0);
    }
    if (bg_group > 0)
        kill(-bg_group, SIGKILL);
    bg_pid = bg_group = -1;
    return cleanup(state);
}

static int
stop_own_cluster(void **state)
{
    (void)state;
    h_cluster_stop(&rc);
    return 0;
}

static void
new_store(const char *tag)
{
    static int n;

    snprintf(store_set, sizeof(store_set), "store=%s/store-%s-%d.db", h_tmproot(), tag, ++n);
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
    {
    }
}

/* ------------------------------------------- pgmedic in the background */

typedef struct
{
    pid_t pid;
    char out[H_PATH_MAX];
    char err[H_PATH_MAX];
    double started;
} Async;

/* Starts pgmedic with args (NULL-terminated) against c, like h_run but without
 * waiting: stdout and stderr go to files. */
static void
async_start(Async *a, const HCluster *c, const char *const *args)
{
    static int n;
    const char *argv[64];
    char *env[512];
    char host[H_PATH_MAX + 8], port[32], user[80];
    size_t na = 0, ne = 0;

    memset(a, 0, sizeof(*a));
    argv[na++] = h_bin();
    for (size_t i = 0; args[i] != NULL && na < 63; i++)
        argv[na++] = args[i];
    argv[na] = NULL;
    for (char **e = environ; *e != NULL && ne < 500; e++)
        if (strncmp(*e, "PG", 2) != 0 && strncmp(*e, "LC_", 3) != 0 &&
            strncmp(*e, "LANG=", 5) != 0 && strncmp(*e, "LANGUAGE=", 9) != 0)
            env[ne++] = *e;
    snprintf(host, sizeof(host), "PGHOST=%s", c->host);
    snprintf(port, sizeof(port), "PGPORT=%s", c->port);
    snprintf(user, sizeof(user), "PGUSER=%s", c->user);
    env[ne++] = (char *)(uintptr_t) "LC_ALL=C";
    env[ne++] = host;
    env[ne++] = port;
    env[ne++] = user;
    env[ne++] = (char *)(uintptr_t) "PGDATABASE=postgres";
    env[ne] = NULL;
    n++;
    snprintf(a->out, sizeof(a->out), "%s/async-%d.out", h_tmproot(), n);
    snprintf(a->err, sizeof(a->err), "%s/async-%d.err", h_tmproot(), n);
    fflush(NULL);
    a->started = h_now();
    a->pid = fork();
    assert_true(a->pid >= 0);
    if (a->pid == 0)
    {
        int in = open("/dev/null", O_RDONLY);
        int out = open(a->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open(a->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

        setpgid(0, 0);
        if (in < 0 || out < 0 || err < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(err, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execve(argv[0], (char *const *)(uintptr_t)argv, env);
        _exit(127);
    }
    setpgid(a->pid, a->pid);
    bg_pid = a->pid;
}

/* Waits for it (SIGKILL at the deadline) and fills r as h_run would. */
static void
async_wait(Async *a, double timeout_s, HRun *r)
{
    double deadline = h_now() + timeout_s;
    int status = 0;

    memset(r, 0, sizeof(*r));
    r->exit_code = -1;
    for (;;)
    {
        pid_t w = waitpid(a->pid, &status, WNOHANG);

        if (w == a->pid)
            break;
        assert_true(w == 0 || errno == EINTR);
        if (!r->timed_out && h_now() >= deadline)
        {
            kill(-a->pid, SIGKILL);
            r->timed_out = true;
        }
        sleep_ms(10);
    }
    bg_pid = -1;
    r->wall_s = h_now() - a->started;
    if (WIFEXITED(status))
        r->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        r->term_signal = WTERMSIG(status);
    r->out = h_read_file(a->out, &r->out_len);
    r->err = h_read_file(a->err, &r->err_len);
    assert_non_null(r->out);
    assert_non_null(r->err);
}

/* Waits until file contains needle. */
static bool
wait_file_contains(const char *path, const char *needle, double timeout_s)
{
    double deadline = h_now() + timeout_s;

    for (;;)
    {
        char *text = h_read_file(path, NULL);
        bool found = text != NULL && strstr(text, needle) != NULL;

        free(text);
        if (found)
            return true;
        if (h_now() >= deadline)
        {
            fprintf(stderr, "harness: \"%s\" did not appear in %s\n", needle, path);
            return false;
        }
        sleep_ms(20);
    }
}

/* The pid of a child of parent (from /proc), or -1. */
static pid_t
child_of(pid_t parent)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = -1;

    if (d == NULL)
        return -1;
    while (found < 0 && (e = readdir(d)) != NULL)
    {
        char path[300], *text, *close_paren;
        long ppid;

        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        text = h_read_file(path, NULL);
        if (text == NULL)
            continue;
        /* pid (comm) state ppid ...: comm may hold spaces, so from the last ')'. */
        close_paren = strrchr(text, ')');
        if (close_paren != NULL && sscanf(close_paren + 1, " %*c %ld", &ppid) == 1 &&
            ppid == (long)parent)
            found = (pid_t)atol(e->d_name);
        free(text);
    }
    closedir(d);
    return found;
}

/* ------------------------------------------------------------- helpers */

static const char *
my_os_user(void)
{
    struct passwd *pw = getpwuid(geteuid());

    assert_non_null(pw);
    return pw->pw_name;
}

static void
wait_true(HCluster *c, const char *sql)
{
    assert_true(h_wait_sql(c, sql, 15.0));
}

/* The check called name in verify's JSON. */
static json_t *
check_of(HRun *r, const char *name)
{
    json_t *ch = h_json_find_str(H_JSON(r), "checks", "name", name);

    if (ch == NULL)
        h_run_dump(r, "check missing");
    assert_non_null(ch);
    return ch;
}

static void
assert_check(HRun *r, const char *name, bool passed)
{
    json_t *ch = check_of(r, name);

    if (h_json_bool(ch, "passed") != (passed ? 1 : 0))
        h_run_dump(r, "unexpected check result");
    assert_int_equal(h_json_bool(ch, "passed"), passed ? 1 : 0);
    assert_non_null(h_json_str(ch, "detail"));
}

static const char *const check_names[] = {"connections", "slow queries", "blocked sessions",
                                          "alerts", "latency"};

/* The audit log of store_set as JSON. */
static json_t *
audit_json(HRun *r)
{
    H_RUN(r, NULL, "audit", "--format", "json", "--limit", "0", "--set", store_set);
    H_ASSERT_EXIT(r, 0);
    assert_true(json_is_array(H_JSON(r)));
    return H_JSON(r);
}

static void
target_of(const HCluster *c, char *buf, size_t size)
{
    snprintf(buf, size, "postgres@%s:%s", c->host, c->port);
}

/* A config file with one target whose restart_command is command. */
static char *
restart_config(const char *command, const char *timeout)
{
    char text[8 * H_PATH_MAX];
    char *path;

    snprintf(text, sizeof(text),
             "[pgmedic]\nstore = %s\n\n[target tmp]\nrestart_command = %s\nrestart_timeout = %s\n",
             store_set + strlen("store="), command, timeout);
    path = h_write_tmpfile("pgmedic-restart", text);
    assert_non_null(path);
    return path;
}

/* ---------------------------------------------------------------- verify */

static void
test_verify_healthy(void **state)
{
    HRun r;
    size_t i;

    (void)state;
    new_store("healthy");
    H_RUN(&r, &cl, "verify", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_bool(H_JSON(&r), "recovered"), 1);
    assert_int_equal(h_json_int(H_JSON(&r), "attempts"), 1);
    assert_int_equal(h_json_len(H_JSON(&r), "checks"), 5);
    for (i = 0; i < 5; i++)
    {
        assert_string_equal(h_json_str(json_array_get(h_json_get(H_JSON(&r), "checks"), i), "name"),
                            check_names[i]);
        assert_check(&r, check_names[i], true);
    }
    h_run_free(&r);

    H_RUN(&r, &cl, "verify", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, ": recovered (1 probe)");
    assert_int_equal(h_count_substr(r.out, "[pass]"), 5);
    assert_int_equal(h_count_substr(r.out, "[FAIL]"), 0);
    h_run_free(&r);
}

static void
test_verify_fails_on_lock_chain(void **state)
{
    HRun r;
    int pids[3];

    (void)state;
    new_store("vlock");
    assert_int_equal(h_lock_chain(&cl, "chain-app", pids), 0);

    H_RUN(&r, &cl, "verify", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "NOT recovered (1 probe)");
    H_ASSERT_CONTAINS(r.out, "[FAIL] blocked sessions");
    H_ASSERT_CONTAINS(r.out, "2 waiting on a lock");
    H_ASSERT_CONTAINS(r.out, "[pass] connections");
    H_ASSERT_CONTAINS(r.out, "[pass] latency");
    h_run_free(&r);

    H_RUN(&r, &cl, "verify", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    assert_int_equal(h_json_bool(H_JSON(&r), "recovered"), 0);
    assert_int_equal(h_json_len(H_JSON(&r), "checks"), 5);
    assert_check(&r, "blocked sessions", false);
    assert_check(&r, "connections", true);
    assert_check(&r, "latency", true);
    H_ASSERT_CONTAINS(h_json_str(check_of(&r, "blocked sessions"), "detail"), "2 waiting");
    h_run_free(&r);

    /* --wait that runs out: still exit 2, after several probes. */
    H_RUN(&r, &cl, "verify", "--wait", "1s", "--interval", "250ms", "--format", "json", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 2);
    assert_int_equal(h_json_bool(H_JSON(&r), "recovered"), 0);
    assert_true(h_json_int(H_JSON(&r), "attempts") >= 3);
    assert_true(r.wall_s >= 0.7);
    h_run_free(&r);
}

static void
test_verify_fails_on_slow_query(void **state)
{
    HRun r;
    PGconn *slow;
    char sql[256];

    (void)state;
    new_store("vslow");
    slow = h_session_send(&cl, "slowpoke", "SELECT pg_sleep(60)");
    assert_non_null(slow);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND state = 'active' "
             "AND clock_timestamp() - query_start > interval '1.1 s'",
             PQbackendPID(slow));
    wait_true(&cl, sql);

    H_RUN(&r, &cl, "verify", "--set", "slow_query_warning=1s", "--set", store_set);
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "NOT recovered");
    H_ASSERT_CONTAINS(r.out, "[FAIL] slow queries");
    H_ASSERT_CONTAINS(r.out, "[FAIL] alerts");
    H_ASSERT_CONTAINS(r.out, "DatabaseSlowQueries firing");
    H_ASSERT_CONTAINS(r.out, "[pass] blocked sessions");
    h_run_free(&r);

    H_RUN(&r, &cl, "verify", "--format", "json", "--set", "slow_query_warning=1s", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 2);
    assert_int_equal(h_json_bool(H_JSON(&r), "recovered"), 0);
    assert_check(&r, "slow queries", false);
    assert_check(&r, "alerts", false);
    assert_check(&r, "blocked sessions", true);
    h_run_free(&r);

    /* Under the default thresholds (5 s) the same query does not fail it yet. */
    H_RUN(&r, &cl, "verify", "--format", "json", "--set", store_set);
    assert_check(&r, "slow queries", true);
    h_run_free(&r);
}

/* verify --wait: the cause goes away after verify's first failed probe. */
static void
test_verify_wait_recovers(void **state)
{
    HRun r;
    Async a;
    PGconn *blocker, *waiter;
    PGresult *res;
    char sql[256];
    const char *const args[] = {"verify", "--wait",  "20s",     "--interval", "300ms", "-v",
                                "--format", "json", "--set", store_set,     NULL};

    (void)state;
    new_store("vwait");
    assert_int_equal(h_sql(&cl, "CREATE TABLE va_lock (id int)"), 0);
    blocker = h_session_open(&cl, &(HConnOpts){.application_name = "va-blocker"});
    assert_non_null(blocker);
    res = PQexec(blocker, "BEGIN; LOCK TABLE va_lock IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    waiter = h_session_send(&cl, "va-waiter", "SELECT count(*) FROM va_lock");
    assert_non_null(waiter);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND wait_event_type = "
             "'Lock'",
             PQbackendPID(waiter));
    wait_true(&cl, sql);

    async_start(&a, &cl, args);
    if (!wait_file_contains(a.err, "not recovered yet (attempt 1)", 15.0))
    {
        async_wait(&a, 1.0, &r);
        h_run_dump(&r, "verify --wait");
        fail();
    }
    /* Remove the cause: end the blocker; the waiter gets its lock and finishes. */
    snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%d)", PQbackendPID(blocker));
    assert_int_equal(h_sql(&cl, sql), 0);
    res = PQgetResult(waiter);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    async_wait(&a, 30.0, &r);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_bool(H_JSON(&r), "recovered"), 1);
    assert_true(h_json_int(H_JSON(&r), "attempts") >= 2);
    for (size_t i = 0; i < 5; i++)
        assert_check(&r, check_names[i], true);
    assert_true(r.wall_s < 20.0 * h_slowdown());
    h_run_free(&r);
}

/* --------------------------------------------------------------- restart */

static void
test_restart_recovers(void **state)
{
    HRun r;
    char command[3 * H_PATH_MAX], target[H_PATH_MAX + 80], *conf;
    const char *const stop[] = {"stop", "-m", "fast", "-w", "-s", NULL};
    const char *p;
    double took;
    pid_t before;
    json_t *row;

    (void)state;
    new_store("restart");
    assert_int_equal(h_cluster_start(&rc, NULL), 0);
    snprintf(command, sizeof(command), "%s/scripts/tmp-pg ctl %s restart -w -m fast -s -l %s",
             h_srcdir(), rc.dir, rc.log);
    conf = restart_config(command, "30s");
    target_of(&rc, target, sizeof(target));

    assert_int_equal(h_cluster_ctl(&rc, stop), 0);
    assert_true(h_cluster_pid(&rc) <= 0);

    /* Down: verify fails, every check says why. */
    H_RUN(&r, &rc, "verify", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "NOT recovered");
    assert_int_equal(h_count_substr(r.out, "[FAIL]"), 5);
    H_ASSERT_CONTAINS(r.out, "server unreachable");
    h_run_free(&r);

    /* Dry run: says what it would run, runs nothing. */
    H_RUN(&r, &rc, "fix", "restart", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "(dry run)");
    H_ASSERT_CONTAINS(r.out, command);
    H_ASSERT_CONTAINS(r.out, "wait up to 30s");
    h_run_free(&r);
    assert_true(h_cluster_pid(&rc) <= 0);

    H_RUN_ENV(&r, &rc, NULL, 60.0, "fix", "restart", "--apply", "--yes", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: accepting connections after ");
    p = strstr(r.out, "accepting connections after ");
    took = atof(p + strlen("accepting connections after "));
    assert_true(took > 0.0 && took < 30.0);
    H_ASSERT_CONTAINS(r.out, "audit #1: done");
    h_run_free(&r);
    assert_true(h_cluster_pid(&rc) > 0);

    H_RUN(&r, &rc, "verify", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "recovered (1 probe)");
    h_run_free(&r);

    /* A running server: really restarted (a new postmaster). */
    before = h_cluster_pid(&rc);
    H_RUN_ENV(&r, &rc, NULL, 60.0, "fix", "restart", "--apply", "--yes", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "done: accepting connections after ");
    h_run_free(&r);
    assert_true(h_cluster_pid(&rc) > 0);
    assert_true(h_cluster_pid(&rc) != before);
    assert_true(h_wait_pid_gone(before, 5.0));

    row = json_array_get(audit_json(&r), 1); /* the first restart */
    assert_non_null(row);
    assert_string_equal(h_json_str(row, "action"), "restart");
    assert_string_equal(h_json_str(row, "status"), "done");
    assert_string_equal(h_json_str(row, "target"), target);
    assert_string_equal(h_json_str(row, "plan.command"), command);
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "done: accepting connections after");
    assert_int_equal(h_json_bool(row, "unfinished"), 0);
    h_run_free(&r);
    free(conf);
}

static void
test_restart_command_fails(void **state)
{
    HRun r;
    char *conf, *bare;
    json_t *row;

    (void)state;
    new_store("restartfail");
    assert_int_equal(h_cluster_start(&rc, NULL), 0);
    conf = restart_config("echo trying; exit 1", "10s");

    H_RUN(&r, &rc, "fix", "restart", "--apply", "--yes", "-c", conf, "-t", "tmp");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "failed: the command exited with status 1");
    H_ASSERT_CONTAINS(r.out, "audit #1: failed");
    h_run_free(&r);

    row = json_array_get(audit_json(&r), 0);
    assert_non_null(row);
    assert_string_equal(h_json_str(row, "action"), "restart");
    assert_string_equal(h_json_str(row, "status"), "failed");
    assert_int_equal(h_json_bool(row, "unfinished"), 0);
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "exited with status 1");
    h_run_free(&r);

    /* The command succeeds but the server never answers: failed after restart_timeout. */
    free(conf);
    conf = restart_config("true", "2s");
    H_RUN_ENV(&r, &rc, NULL, 30.0, "fix", "restart", "--apply", "--yes", "-c", conf, "-t", "tmp",
              "-h", "/nonexistent/pgmedic-no-server", "-p", "55399");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "failed: still not accepting connections after 2s");
    H_ASSERT_CONTAINS(r.out, "audit #2: failed");
    assert_true(r.wall_s >= 1.9);
    h_run_free(&r);
    row = json_array_get(audit_json(&r), 0);
    assert_string_equal(h_json_str(row, "status"), "failed");
    h_run_free(&r);

    /* No restart_command at all: a usage-level refusal, nothing audited. */
    bare = h_write_tmpfile("pgmedic-norestart", "[target tmp]\nrestart_timeout = 10s\n");
    assert_non_null(bare);
    H_RUN(&r, &rc, "fix", "restart", "--apply", "--yes", "-c", bare, "-t", "tmp", "--set",
          store_set);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "no restart_command configured");
    h_run_free(&r);
    assert_int_equal(json_array_size(audit_json(&r)), 2);
    h_run_free(&r);
    free(bare);
    free(conf);
}

/* ----------------------------------------------------------------- audit */

static void
test_audit_after_actions(void **state)
{
    HRun r;
    PGconn *victim;
    int pid;
    char sql[256], item[32], target[H_PATH_MAX + 80], line[H_PATH_MAX + 200];
    json_t *j, *row;

    (void)state;
    new_store("audit");
    target_of(&cl, target, sizeof(target));

    H_RUN(&r, NULL, "audit", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "is empty");
    h_run_free(&r);

    victim = h_session_open(&cl, &(HConnOpts){.application_name = "audit-victim"});
    assert_non_null(victim);
    pid = PQbackendPID(victim);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 1 FROM pg_stat_activity WHERE pid = %d AND state = 'idle' "
             "AND clock_timestamp() - state_change > interval '1.1 s'",
             pid);
    wait_true(&cl, sql);
    assert_int_equal(h_sql(&cl, "CREATE TABLE va_t (id int)"), 0);

    H_RUN(&r, &cl, "fix", "terminate-idle", "--application", "audit-victim", "--idle-for", "1s",
          "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    H_RUN(&r, &cl, "fix", "analyze", "public.va_t", "--apply", "--yes", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);
    /* A dry run is not audited. */
    H_RUN(&r, &cl, "fix", "analyze", "public.va_t", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    h_run_free(&r);

    j = audit_json(&r);
    assert_int_equal(json_array_size(j), 2);
    /* Newest first. */
    row = json_array_get(j, 0);
    assert_int_equal(h_json_int(row, "id"), 2);
    assert_string_equal(h_json_str(row, "action"), "analyze");
    assert_string_equal(h_json_str(row, "options"), "public.va_t");
    assert_string_equal(h_json_str(row, "status"), "done");
    assert_true(json_is_array(h_json_get(row, "plan")));
    H_ASSERT_CONTAINS(h_json_str(row, "plan.0"), "ANALYZE");
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "done in");

    row = json_array_get(j, 1);
    assert_int_equal(h_json_int(row, "id"), 1);
    assert_string_equal(h_json_str(row, "action"), "terminate-idle");
    assert_string_equal(h_json_str(row, "status"), "done");
    assert_string_equal(h_json_str(row, "target"), target);
    assert_string_equal(h_json_str(row, "os_user"), my_os_user());
    assert_string_equal(h_json_str(row, "db_role"), "postgres");
    assert_string_equal(h_json_str(row, "options"), "--application audit-victim");
    assert_int_equal(h_json_bool(row, "unfinished"), 0);
    assert_non_null(h_json_str(row, "started_at"));
    assert_non_null(h_json_str(row, "finished_at"));
    assert_true(h_json_is_null(row, "error"));
    /* The plan: the sessions with their identity, and the statement that acts. */
    assert_int_equal(h_json_len(row, "plan.sessions"), 1);
    assert_int_equal(h_json_int(row, "plan.sessions.0.pid"), pid);
    assert_non_null(h_json_str(row, "plan.sessions.0.backend_start"));
    assert_string_equal(h_json_str(row, "plan.sessions.0.application"), "audit-victim");
    H_ASSERT_CONTAINS(h_json_str(row, "plan.sql"), "pg_terminate_backend");
    H_ASSERT_NEAR(h_json_num(row, "plan.threshold_s"), 1.0, 1e-9);
    /* The result: one outcome per session. */
    snprintf(item, sizeof(item), "pid %d", pid);
    assert_int_equal(h_json_len(row, "result"), 1);
    assert_string_equal(h_json_str(row, "result.0.item"), item);
    assert_string_equal(h_json_str(row, "result.0.outcome"), "signalled");
    h_run_free(&r);

    H_RUN(&r, NULL, "audit", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "#2");
    H_ASSERT_CONTAINS(r.out, "analyze public.va_t");
    H_ASSERT_CONTAINS(r.out, "terminate-idle --application audit-victim");
    snprintf(line, sizeof(line), "on %s, by %s as database role postgres", target, my_os_user());
    H_ASSERT_CONTAINS(r.out, line);
    assert_int_equal(h_count_substr(r.out, "1 done, 0 skipped, 0 failed"), 2);
    H_ASSERT_NOT_CONTAINS(r.out, "UNFINISHED");
    assert_true(strstr(r.out, "#2") < strstr(r.out, "#1")); /* newest first */
    h_run_free(&r);

    H_RUN(&r, NULL, "audit", "--limit", "1", "--format", "json", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(json_array_size(H_JSON(&r)), 1);
    assert_string_equal(h_json_str(json_array_get(H_JSON(&r), 0), "action"), "analyze");
    h_run_free(&r);
}

/* An apply killed with SIGKILL while its restart_command runs: UNFINISHED. */
static void
test_audit_unfinished_after_sigkill(void **state)
{
    HRun r;
    Async a;
    char *conf;
    json_t *row;
    pid_t child = -1;
    double deadline;
    const char *args[12];

    (void)state;
    new_store("killed");
    conf = restart_config("sleep 30", "60s");
    /* Create the store first: the polling below must not race its creation
     * (see test_audit_concurrent_first_open). */
    assert_int_equal(json_array_size(audit_json(&r)), 0);
    h_run_free(&r);
    args[0] = "fix";
    args[1] = "restart";
    args[2] = "--apply";
    args[3] = "--yes";
    args[4] = "-c";
    args[5] = conf;
    args[6] = "-t";
    args[7] = "tmp";
    args[8] = NULL;
    async_start(&a, &cl, args);

    /* The audit row is written before the command runs. */
    deadline = h_now() + 15.0;
    for (;;)
    {
        size_t n = json_array_size(audit_json(&r));

        h_run_free(&r);
        if (n == 1)
            break;
        if (h_now() >= deadline)
        {
            async_wait(&a, 1.0, &r);
            h_run_dump(&r, "fix restart in the background");
            fail_msg("no audit row");
        }
        sleep_ms(50);
    }
    row = json_array_get(audit_json(&r), 0);
    assert_int_equal(h_json_bool(row, "unfinished"), 1);
    h_run_free(&r);
    /* The command runs (its own process group: killed below by that id). */
    deadline = h_now() + 10.0;
    while ((child = child_of(a.pid)) < 0)
    {
        assert_true(h_now() < deadline);
        sleep_ms(20);
    }
    bg_group = child;

    assert_int_equal(kill(a.pid, SIGKILL), 0);
    async_wait(&a, 10.0, &r);
    assert_int_equal(r.term_signal, SIGKILL);
    H_ASSERT_CONTAINS(r.out, "will run: sleep 30");
    h_run_free(&r);
    kill(-child, SIGKILL); /* the orphaned "sleep 30" */
    assert_true(h_wait_pid_gone(child, 5.0));
    bg_group = -1;

    row = json_array_get(audit_json(&r), 0);
    assert_non_null(row);
    assert_string_equal(h_json_str(row, "action"), "restart");
    assert_int_equal(h_json_bool(row, "unfinished"), 1);
    assert_string_equal(h_json_str(row, "status"), "unfinished");
    assert_true(h_json_is_null(row, "finished_at"));
    assert_true(h_json_is_null(row, "result"));
    assert_string_equal(h_json_str(row, "plan.command"), "sleep 30");
    h_run_free(&r);

    H_RUN(&r, NULL, "audit", "--set", store_set);
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "UNFINISHED");
    H_ASSERT_CONTAINS(r.out, "restart");
    H_ASSERT_CONTAINS(r.out, "started and never completed");
    h_run_free(&r);
    free(conf);
}

/* Several pgmedic processes opening a new store at once (a cron'd verify, a
 * fix, serve): each must get a usable store, none may fail its migration. */
static void
test_audit_concurrent_first_open(void **state)
{
    enum
    {
        N = 8
    };
    Async a[N];
    HRun r;
    int round, i, failures = 0;

    (void)state;
    for (round = 0; round < 3; round++)
    {
        new_store("concurrent");
        for (i = 0; i < N; i++)
        {
            const char *const args[] = {"audit", "--format", "json", "--set", store_set, NULL};

            async_start(&a[i], &cl, args);
        }
        for (i = 0; i < N; i++)
        {
            async_wait(&a[i], 30.0, &r);
            if (r.exit_code != 0 && failures++ == 0)
                h_run_dump(&r, "audit on a new store, concurrently (the first failure)");
            h_run_free(&r);
        }
    }
    if (failures > 0)
        fprintf(stderr, "harness: %d of %d runs failed\n", failures, 3 * N);
    assert_int_equal(failures, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_verify_healthy, cleanup),
        cmocka_unit_test_teardown(test_verify_fails_on_lock_chain, cleanup),
        cmocka_unit_test_teardown(test_verify_fails_on_slow_query, cleanup),
        cmocka_unit_test_teardown(test_verify_wait_recovers, kill_background),
        cmocka_unit_test_teardown(test_restart_recovers, stop_own_cluster),
        cmocka_unit_test_teardown(test_restart_command_fails, stop_own_cluster),
        cmocka_unit_test_teardown(test_audit_after_actions, cleanup),
        cmocka_unit_test_teardown(test_audit_unfinished_after_sigkill, kill_background),
        cmocka_unit_test_teardown(test_audit_concurrent_first_open, kill_background),
    };

    return cmocka_run_group_tests_name("verify_audit", tests, group_setup, group_teardown);
}
