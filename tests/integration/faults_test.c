/*
 * faults_test.c - the fault matrix of issue 8: each fault on a throwaway
 * server, and for each the classification pgmedic gives, its exit code and
 * a bound on how long it took (measured here; the slack is multiplied by
 * h_slowdown(), so valgrind runs keep their meaning).
 *
 * Already covered elsewhere, with classification, exit code and time bound
 * (checked; not repeated here):
 * - server stopped, over the socket: failure_test.c test_server_stopped
 *   (server_down, exit 2, < 5 s).  Its TCP run has no bound: the TCP refusal
 *   is timed here, in test_killed_mid_snapshot.
 * - postmaster SIGSTOPped before connect: failure_test.c
 *   test_server_hung_times_out (timeout, exit 2, <= connect_timeout + 1.5 s,
 *   check and status); also triage_test.c test_timeout, and probe_job_test.c
 *   test_stopped_postmaster_among_live for the library.
 * - serve, a hung target among live ones: serve_test.c test_serve_fleet
 *   (every process of b stopped: /metrics answers at once, a keeps being
 *   probed, at most one backend).
 *
 * Covered elsewhere without a time bound (or, in the library's test, without
 * an exit code), so repeated here with one:
 * - all slots taken, as superuser and not: failure_test.c
 *   test_too_many_clients -> test_slots.
 * - wrong password: failure_test.c test_auth_failure_wrong_password
 *   (scram-sha-256) -> test_wrong_password (the `password` method).
 * - database missing: healthy_test.c test_missing_database, triage_test.c
 *   test_database_missing -> test_database_missing.
 * - shutting down: failure_test.c test_shutting_down -> test_startup_shutdown.
 * - backend SIGSTOPped mid-query: probe_job_test.c
 *   test_stopped_backend_times_out (the library) -> test_backend_stopped.
 *
 * New here: SIGKILL in the middle of a snapshot, reserved-slot refusal with
 * the superuser getting in, starting up (and a standby with hot_standby off),
 * a full tablespace and a full pg_wal (tmpfs; skipped, with a message, where
 * mount(2) is not permitted), a role without pg_monitor, a restart during
 * `fix create-index --apply`, statement_timeout on a catalog too slow to read
 * in time, and serve with the faults on one of two targets.
 *
 * "In the middle of a snapshot" is made reproducible with a lock: the probe's
 * last statement sizes the tables it picked (pg_table_size() locks each), so
 * a session holding one ACCESS EXCLUSIVE keeps pgmedic's backend waiting for
 * lock_timeout (1 s).  The test SIGSTOPs that backend while it waits, then
 * kills the server or lets the deadline pass.
 *
 * PGMEDIC_TORTURE=1 adds the genuinely huge catalog (300,000 tables, about a
 * minute to create) to the statement_timeout case.  PGMEDIC_FAULTS_ONLY=PATTERN
 * runs only the tests whose names match (a cmocka filter, e.g. "test_serve*").
 *
 * Every stopped process is SIGCONTed, every mount unmounted and every
 * background run joined by the teardowns, whatever failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

static HCluster cl;      /* shared by the tests that leave it running */
static HCluster own, b2; /* a test's own clusters (b2: serve's second target) */

/* ---------------------------------------------------------------- timing */

/* The bound on a run's wall time: base plus slack, the slack scaled for slow runs. */
static double
bound(double base_s, double slack_s)
{
    return base_s + slack_s * h_slowdown();
}

#define ASSERT_WITHIN(r, max_s)                                                                    \
    do                                                                                             \
    {                                                                                              \
        double max_ = (max_s);                                                                     \
        if ((r)->wall_s > max_)                                                                    \
        {                                                                                          \
            fprintf(stderr, "faults: took %.3f s, bound %.3f s\n", (r)->wall_s, max_);             \
            h_run_dump((r), "too slow");                                                           \
        }                                                                                          \
        assert_true((r)->wall_s <= max_);                                                          \
    } while (0)

/* A refused login is answered at once: 2 s leaves room for a loaded machine. */
#define QUICK bound(0.0, 2.0)

/* ------------------------------------------------------ stopped processes */

static pid_t stopped[8];

static void
stop_process(pid_t pid)
{
    assert_true(pid > 0);
    for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++)
    {
        if (stopped[i] == 0)
        {
            stopped[i] = pid;
            assert_int_equal(kill(pid, SIGSTOP), 0);
            return;
        }
    }
    fail_msg("too many stopped processes");
}

static void
continue_all(void)
{
    for (size_t i = 0; i < sizeof(stopped) / sizeof(stopped[0]); i++)
    {
        if (stopped[i] > 0)
            kill(stopped[i], SIGCONT);
        stopped[i] = 0;
    }
}

/* ---------------------------------------------------------- background runs */

/* One pgmedic run in a thread, so that the test can act while it runs. */
typedef struct
{
    HRun r;
    const HCluster *c;
    const char *args[32];
    double timeout_s;
    int rc;
    bool running;
    pthread_t thread;
} Bg;

static Bg bg;

static void *
bg_main(void *arg)
{
    Bg *b = arg;

    b->rc = h_run(&b->r, b->c, b->args, NULL, b->timeout_s);
    return NULL;
}

/* Starts pgmedic with the arguments (NULL-terminated) against c. */
static void
bg_start(const HCluster *c, double timeout_s, ...)
{
    va_list ap;
    size_t n = 0;
    const char *a;

    assert_false(bg.running);
    memset(&bg, 0, sizeof(bg));
    bg.c = c;
    bg.timeout_s = timeout_s;
    va_start(ap, timeout_s);
    while ((a = va_arg(ap, const char *)) != NULL && n + 1 < sizeof(bg.args) / sizeof(bg.args[0]))
        bg.args[n++] = a;
    va_end(ap);
    bg.args[n] = NULL;
    assert_int_equal(pthread_create(&bg.thread, NULL, bg_main, &bg), 0);
    bg.running = true;
}

/* Waits for the run to end (h_run's own deadline bounds it); the HRun is the caller's to free. */
static HRun *
bg_join(void)
{
    assert_true(bg.running);
    pthread_join(bg.thread, NULL);
    bg.running = false;
    assert_int_equal(bg.rc, 0);
    return &bg.r;
}

static void
bg_reap(void)
{
    if (bg.running)
    {
        pthread_join(bg.thread, NULL);
        bg.running = false;
        h_run_free(&bg.r);
    }
}

/* ---------------------------------------------------------------- mounts */

static char mounts[2][H_PATH_MAX];

static uid_t pg_uid;
static gid_t pg_gid;

/* The owner of the clusters' files: "postgres" as root (scripts/tmp-pg), ourselves otherwise. */
static void
cluster_owner(void)
{
    struct passwd *pw = geteuid() == 0 ? getpwnam("postgres") : NULL;

    pg_uid = pw ? pw->pw_uid : geteuid();
    pg_gid = pw ? pw->pw_gid : getegid();
}

/*
 * A tmpfs of size_mb at a new directory under the test root, owned by the
 * cluster's user.  Skips the test (cmocka) with a message when mount(2) is
 * not permitted; the path is written to out.
 */
static void
mount_tmpfs(const char *tag, int size_mb, char *out, size_t size)
{
    char opts[128];
    size_t slot;

    for (slot = 0; slot < 2 && mounts[slot][0] != '\0'; slot++)
        ;
    assert_true(slot < 2);
    cluster_owner();
    snprintf(out, size, "%s/faults-%s-%d", h_tmproot(), tag, (int) getpid());
    assert_true(mkdir(out, 0700) == 0 || errno == EEXIST);
    snprintf(opts, sizeof(opts), "size=%dm,mode=0700,uid=%d,gid=%d", size_mb, (int) pg_uid,
             (int) pg_gid);
    if (mount("tmpfs", out, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
    {
        int e = errno;

        rmdir(out);
        fprintf(stderr,
                "faults: SKIPPED: cannot mount a tmpfs at %s (%s): this fault needs root "
                "(CAP_SYS_ADMIN) to fill a filesystem without filling the host's\n",
                out, strerror(e));
        skip();
    }
    snprintf(mounts[slot], sizeof(mounts[slot]), "%s", out);
}

/* Unmounts what mount_tmpfs mounted (lazily if still busy). */
static void
unmount_all(void)
{
    for (size_t i = 0; i < 2; i++)
    {
        if (mounts[i][0] == '\0')
            continue;
        if (umount2(mounts[i], 0) != 0 && umount2(mounts[i], MNT_DETACH) != 0)
            fprintf(stderr, "faults: could not unmount %s: %s\n", mounts[i], strerror(errno));
        rmdir(mounts[i]);
        mounts[i][0] = '\0';
    }
}

/* ------------------------------------------------------------- fixtures */

static int
group_setup(void **state)
{
    (void) state;
    return h_cluster_start(&cl, NULL);
}

static int
group_teardown(void **state)
{
    (void) state;
    continue_all();
    bg_reap();
    h_cluster_stop(&cl);
    unmount_all();
    return 0;
}

/* After a test on the shared cluster: nothing stopped, no run left, no session left. */
static int
shared_teardown(void **state)
{
    int rc = 0;

    (void) state;
    continue_all(); /* first: nothing below may wait on a stopped backend */
    bg_reap();
    if (h_sessions_close(&cl) != 0)
        rc = -1;
    unmount_all();
    return rc;
}

/* Forgets a killed cluster's stale postmaster.pid and shared memory (the pid may be reused). */
static void
forget_killed(HCluster *c, pid_t pm)
{
    char path[H_PATH_MAX + 32], *text;

    if (pm <= 0 || !h_wait_pid_gone(pm, 10.0))
        return;
    snprintf(path, sizeof(path), "%s/postmaster.pid", c->data);
    text = h_read_file(path, NULL);
    if (text != NULL)
    {
        /* Line 7: the shared memory key and id ("  5432001     32768"). */
        const char *p = text;
        long key = 0, id = -1;

        for (int line = 1; line < 7 && p != NULL; line++)
            p = (p = strchr(p, '\n')) != NULL ? p + 1 : NULL;
        if (p != NULL && sscanf(p, "%ld %ld", &key, &id) == 2 && id >= 0)
            shmctl((int) id, IPC_RMID, NULL);
        free(text);
        if (h_cluster_pid(c) == pm)
            unlink(path);
    }
    /*
     * The socket and its lock file stay too.  The dead postmaster may linger
     * as a zombie until init reaps it, and a new postmaster takes a zombie's
     * pid in the lock file for a live one.
     */
    snprintf(path, sizeof(path), "%s/.s.PGSQL.%s.lock", c->host, c->port);
    unlink(path);
    snprintf(path, sizeof(path), "%s/.s.PGSQL.%s", c->host, c->port);
    unlink(path);
}

static int
own_teardown(void **state)
{
    (void) state;
    continue_all();
    bg_reap();
    h_cluster_stop(&own);
    h_cluster_stop(&b2);
    unmount_all();
    return 0;
}

/* kill -9 of the whole server: the postmaster first, then every child (stopped ones too). */
static pid_t
kill_cluster(HCluster *c)
{
    pid_t pids[256];
    size_t n = h_cluster_pids(c, pids, 256);

    assert_true(n > 0);
    for (size_t i = 0; i < n; i++)
        kill(pids[i], SIGKILL);
    for (size_t i = 0; i < n; i++)
        assert_true(h_wait_pid_gone(pids[i], 10.0));
    return pids[0];
}

/* ------------------------------------------------------------- helpers */

/* Writes (or appends) text to path, a file then owned by the clusters' user. */
static void
write_file(const char *path, const char *text, bool append)
{
    FILE *f = fopen(path, append ? "a" : "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    cluster_owner();
    if (chown(path, pg_uid, pg_gid) != 0 && geteuid() == 0)
        fail_msg("chown %s: %s", path, strerror(errno));
}

static void
ctl(HCluster *c, const char *const *args)
{
    assert_int_equal(h_cluster_ctl(c, args), 0);
}

static void
stop_fast(HCluster *c)
{
    const char *const args[] = {"stop", "-m", "fast", "-w", "-t", "30", "-s", NULL};

    ctl(c, args);
}

/* pg_ctl start without waiting (-W): for servers that will not accept connections. */
static void
start_nowait(HCluster *c)
{
    const char *const args[] = {"start", "-W", "-s", "-l", c->log, NULL};

    ctl(c, args);
}

static void
start_wait(HCluster *c)
{
    const char *const args[] = {"start", "-w", "-t", "30", "-s", "-l", c->log, NULL};

    ctl(c, args);
}

static void
reload(HCluster *c)
{
    const char *const args[] = {"reload", "-s", NULL};

    ctl(c, args);
}

/*
 * A table the probe will size (it has a modification, so it is picked), and a
 * session of c that holds it ACCESS EXCLUSIVE in an open transaction: the
 * probe's last statement then waits on the lock for lock_timeout.
 */
static PGconn *
hold_table_lock(HCluster *c, const char *dbname, const char *table)
{
    HConnOpts o = {.application_name = "lock-holder", .dbname = dbname};
    char sql[256];
    PGconn *holder;
    PGresult *res;

    holder = h_session_open(c, &o);
    assert_non_null(holder);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s (x int); INSERT INTO %s VALUES (1); "
             "SELECT pg_stat_force_next_flush()",
             table, table);
    res = PQexec(holder, sql);
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
    /* The insert's statistics reach shared memory when this session goes idle. */
    res = PQexec(holder, "SELECT 1");
    PQclear(res);
    snprintf(sql, sizeof(sql), "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table);
    res = PQexec(holder, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("could not lock %s: %s", table, PQerrorMessage(holder));
    PQclear(res);
    return holder;
}

static void
release_lock(PGconn *holder)
{
    PGresult *res = PQexec(holder, "COMMIT");

    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
}

/*
 * The pid of a pgmedic backend of c waiting on a lock, polled every 5 ms
 * until timeout_s; fails the test when none shows up.
 */
static pid_t
wait_pgmedic_lock_waiter(HCluster *c, double timeout_s)
{
    HConnOpts o = {.application_name = "faults-poller"};
    PGconn *poll_conn = h_session_open(c, &o);
    double until = h_now() + timeout_s * h_slowdown();
    pid_t pid = 0;

    assert_non_null(poll_conn);
    while (pid == 0 && h_now() < until)
    {
        PGresult *res = PQexec(poll_conn, "SELECT pid FROM pg_catalog.pg_stat_activity "
                                          "WHERE application_name = 'pgmedic' AND "
                                          "wait_event_type = 'Lock' LIMIT 1");

        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            pid = (pid_t) atol(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (pid == 0)
            usleep(5 * 1000);
    }
    if (pid == 0)
        fail_msg("no pgmedic backend waited on the lock within %.1f s", timeout_s);
    return pid;
}

/* Polls PQping until the server of c accepts connections; false at the deadline. */
static bool
wait_accepting(const HCluster *c, double timeout_s)
{
    const char *const keys[] = {"host", "port", "user", "dbname", NULL};
    const char *const vals[] = {c->host, c->port, c->user, "postgres", NULL};
    double until = h_now() + timeout_s * h_slowdown();

    while (PQpingParams(keys, vals, 0) != PQPING_OK)
    {
        if (h_now() >= until)
            return false;
        usleep(20 * 1000);
    }
    return true;
}

static bool
wait_pgmedic_backends_at_most(HCluster *c, long n, double timeout_s)
{
    char sql[200];

    snprintf(sql, sizeof(sql),
             "SELECT count(*) <= %ld FROM pg_catalog.pg_stat_activity "
             "WHERE application_name = 'pgmedic'",
             n);
    return h_wait_sql(c, sql, timeout_s);
}

/* A snapshot run that could not read the server: exit 2, the failure, one line saying why. */
static json_t *
assert_snapshot_failed(HRun *r, const char *failure)
{
    json_t *j;
    const char *got, *msg;

    H_ASSERT_EXIT(r, 2);
    j = H_JSON(r);
    got = h_json_str(j, "status.failure");
    msg = h_json_str(j, "status.message");
    if (h_json_bool(j, "status.reachable") != 0 || got == NULL || strcmp(got, failure) != 0 ||
        msg == NULL || strchr(msg, '\n') != NULL)
        h_run_dump(r, failure);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_non_null(got);
    assert_string_equal(got, failure);
    assert_non_null(msg);
    assert_true(strlen(msg) > 0);
    assert_null(strchr(msg, '\n'));
    H_ASSERT_NOT_CONTAINS(r->err, "pgmedic: error:");
    return j;
}

/* check --format json unreachable with this failure, within max_s; status agrees. */
static void
assert_check_and_status(HCluster *c, const char *const *env, const char *failure, double max_s,
                        const char *needle)
{
    HRun r;
    json_t *j;

    H_RUN_ENV(&r, c, env, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&r, failure);
    if (needle != NULL)
        H_ASSERT_CONTAINS(h_json_str(j, "status.message"), needle);
    ASSERT_WITHIN(&r, max_s);
    h_run_free(&r);

    H_RUN_ENV(&r, c, env, 30.0, "check", "--format", "nagios");
    H_ASSERT_EXIT(&r, 2);
    h_assert_first_line(&r, "PGMEDIC CRITICAL");
    ASSERT_WITHIN(&r, max_s);
    h_run_free(&r);

    H_RUN_ENV(&r, c, env, 30.0, "status", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 0);
    assert_string_equal(h_json_str(j, "status.failure"), failure);
    ASSERT_WITHIN(&r, max_s);
    h_run_free(&r);
}

/* A target configuration naming the cluster's data directory and log (for the host facts). */
static char *
host_config(const HCluster *c, const char *name)
{
    char text[4 * H_PATH_MAX], *path;

    snprintf(text, sizeof(text),
             "[target %s]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n"
             "data_directory = %s\nlog_file = %s\n",
             name, c->host, c->port, c->data, c->log);
    path = h_write_tmpfile("faults-conf", text);
    assert_non_null(path);
    return path;
}

/* ============================================== SIGKILL mid-snapshot */

static int
start_own(void **state)
{
    (void) state;
    return h_cluster_start(&own, NULL);
}

/*
 * The whole server is killed (SIGKILL, postmaster first) while pgmedic's
 * backend is inside the snapshot: server_down at once, not after
 * query_timeout.  Then the dead server, over the socket and over TCP.
 */
static void
test_killed_mid_snapshot(void **state)
{
    HRun *r, run;
    json_t *j;
    double killed_at;
    pid_t pm;
    const char *const tcp_env[] = {"PGHOST=127.0.0.1", NULL};

    (void) state;
    hold_table_lock(&own, NULL, "faults_locked");
    bg_start(&own, 60.0, "snapshot", "--set", "query_timeout=30s", NULL);
    stop_process(wait_pgmedic_lock_waiter(&own, 10.0));
    killed_at = h_now();
    pm = kill_cluster(&own);
    r = bg_join();
    j = assert_snapshot_failed(r, "server_down");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "connection to server lost");
    /* Returned on the lost connection, not at query_timeout (30 s). */
    if (h_now() - killed_at > bound(0.0, 2.0))
        h_run_dump(r, "slow to notice the kill");
    assert_true(h_now() - killed_at <= bound(0.0, 2.0));
    h_run_free(r);
    forget_killed(&own, pm);

    /* Nothing listens any more: the socket file may remain, and TCP is refused. */
    assert_check_and_status(&own, NULL, "server_down", QUICK, NULL);
    H_RUN_ENV(&run, &own, tcp_env, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&run, "server_down");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "Connection refused");
    ASSERT_WITHIN(&run, QUICK);
    h_run_free(&run);
}

/* ============================================ backend SIGSTOPped mid-query */

/*
 * pgmedic's backend is stopped while it runs the snapshot's statements: the
 * client deadline (query_timeout + 1 s) ends the run with timeout, exit 2.
 * Meanwhile other probes are not held up, and once the backend runs again
 * it goes away: pgmedic closed its connection.
 */
static void
test_backend_stopped(void **state)
{
    HRun *r, run;
    json_t *j;
    PGconn *holder;
    pid_t pid;
    char sql[160];

    (void) state;
    holder = hold_table_lock(&cl, NULL, "faults_stopped");
    bg_start(&cl, 30.0, "snapshot", "--set", "query_timeout=2s", NULL);
    pid = wait_pgmedic_lock_waiter(&cl, 10.0);
    stop_process(pid);

    /* A check does not read that table: it is not held up by the stopped backend. */
    H_RUN(&run, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&run, 0);
    ASSERT_WITHIN(&run, QUICK);
    h_run_free(&run);

    r = bg_join();
    j = assert_snapshot_failed(r, "timeout");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "server did not answer within 2.0s");
    /* query_timeout + 1 s after the connect, give or take. */
    if (r->wall_s < 2.9)
        h_run_dump(r, "gave up before its deadline");
    assert_true(r->wall_s >= 2.9);
    ASSERT_WITHIN(r, bound(3.0, 1.5));
    h_run_free(r);

    /* Released: the backend finds its client gone and exits; nothing leaks. */
    continue_all();
    release_lock(holder);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 0 FROM pg_catalog.pg_stat_activity WHERE pid = %d", (int) pid);
    assert_true(h_wait_sql(&cl, sql, 10.0));

    /* And the server is fine. */
    H_RUN(&run, &cl, "snapshot");
    H_ASSERT_EXIT(&run, 0);
    assert_int_equal(h_json_bool(H_JSON(&run), "status.reachable"), 1);
    ASSERT_WITHIN(&run, QUICK);
    h_run_free(&run);
}

/*
 * A lock alone (nothing stopped) is not an outage: the snapshot is complete
 * but for the table statistics, and says so.  It used to fail as "error".
 */
static void
test_locked_table_is_not_an_outage(void **state)
{
    HRun run;
    json_t *j, *notes;
    bool noted = false;

    (void) state;
    hold_table_lock(&cl, NULL, "faults_locked_only");
    H_RUN(&run, &cl, "snapshot");
    H_ASSERT_EXIT(&run, 0);
    j = H_JSON(&run);
    assert_int_equal(h_json_bool(j, "status.reachable"), 1);
    notes = json_object_get(j, "notes");
    for (size_t i = 0; i < json_array_size(notes); i++)
        noted = noted ||
                strstr(json_string_value(json_array_get(notes, i)),
                       "tables not collected: canceling statement due to lock timeout") != NULL;
    if (!noted)
        h_run_dump(&run, "no note about the locked table");
    assert_true(noted);
    /* What the tables step does not gate is there: WAL from the second batch, the sessions. */
    assert_true(h_json_int(j, "wal.files") >= 1);
    ASSERT_WITHIN(&run, bound(1.0, 2.0)); /* lock_timeout, then the rest */
    h_run_free(&run);

    H_RUN(&run, &cl, "triage", "--format", "json");
    H_ASSERT_EXIT(&run, 0);
    assert_int_equal(h_json_bool(H_JSON(&run), "status.reachable"), 1);
    ASSERT_WITHIN(&run, bound(1.0, 2.0));
    h_run_free(&run);
}

/* ============================================================ slots */

static int
start_slots(void **state)
{
    const char *const sets[] = {"max_connections=6", "superuser_reserved_connections=2", NULL};

    (void) state;
    if (h_cluster_start(&own, sets) != 0)
        return -1;
    return h_sql(&own, "CREATE ROLE faults_mon LOGIN; GRANT pg_monitor TO faults_mon");
}

/*
 * 6 slots, 2 reserved for superusers.  With 4 taken, the non-superuser is
 * refused for the reserved slots while a superuser gets in; with all 6
 * taken, both are refused.
 */
static void
test_slots(void **state)
{
    HRun r;
    json_t *j;
    const char *const mon_env[] = {"PGUSER=faults_mon", NULL};

    (void) state;
    assert_int_equal(h_sessions_open_idle(&own, 4, "filler", false, NULL), 4);
    assert_true(h_wait_clients(&own, 4, 5.0));

    /* Reserved-slot refusal. */
    assert_check_and_status(&own, mon_env, "too_many_clients", QUICK, "reserved");

    /* The superuser takes a reserved slot: reachable, and the server is full. */
    H_RUN(&r, &own, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 2);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 1);
    h_assert_alert(&r, "DatabaseHighConnections", "critical");
    assert_null(h_alert(j, "DatabaseConnectionFailure"));
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    /* Every slot taken (superusers hold the reserved ones): nobody gets in. */
    assert_int_equal(h_sessions_open_idle(&own, 2, "filler-su", false, NULL), 2);
    assert_check_and_status(&own, mon_env, "too_many_clients", QUICK, "too many clients already");
    assert_check_and_status(&own, NULL, "too_many_clients", QUICK, "too many clients already");
}

/* ============================================================ password */

#define RIGHT_PASSWORD "Right-Pass-31"
#define WRONG_PASSWORD "Wrong-Pass-47"

static char *saved_hba;

/* TCP logins of faults_pw need a password sent in clear (`password`); all else stays trust. */
static int
setup_password(void **state)
{
    char path[H_PATH_MAX + 16];
    FILE *f;
    HConnOpts o = {.user = "faults_pw", .tcp = true};

    (void) state;
    if (h_sql(&cl, "DROP ROLE IF EXISTS faults_pw; "
                   "CREATE ROLE faults_pw LOGIN PASSWORD '" RIGHT_PASSWORD "'") != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/pg_hba.conf", cl.data);
    saved_hba = h_read_file(path, NULL);
    if (saved_hba == NULL || (f = fopen(path, "w")) == NULL)
        return -1;
    fputs("local all all trust\n"
          "host all faults_pw 127.0.0.1/32 password\n"
          "host all all 127.0.0.1/32 trust\n",
          f);
    if (fclose(f) != 0 || h_cluster_ctl(&cl, (const char *const[]){"reload", "-s", NULL}) != 0)
        return -1;
    /* A reload is asynchronous: wait until TCP asks faults_pw for a password. */
    return h_wait_conn_error(&cl, &o, "password", 10.0) ? 0 : -1;
}

static int
teardown_password(void **state)
{
    char path[H_PATH_MAX + 16];
    FILE *f;

    if (saved_hba != NULL)
    {
        snprintf(path, sizeof(path), "%s/pg_hba.conf", cl.data);
        f = fopen(path, "w");
        if (f != NULL)
        {
            fputs(saved_hba, f);
            fclose(f);
            h_cluster_ctl(&cl, (const char *const[]){"reload", "-s", NULL});
        }
        free(saved_hba);
        saved_hba = NULL;
    }
    return shared_teardown(state);
}

static void
assert_no_password(HRun *r)
{
    if (strstr(r->out, WRONG_PASSWORD) != NULL || strstr(r->err, WRONG_PASSWORD) != NULL)
        h_run_dump(r, "the password was printed");
    assert_null(strstr(r->out, WRONG_PASSWORD));
    assert_null(strstr(r->err, WRONG_PASSWORD));
}

static void
test_wrong_password(void **state)
{
    HRun r;
    json_t *j;
    const char *const good[] = {"PGHOST=127.0.0.1", "PGUSER=faults_pw",
                                "PGPASSWORD=" RIGHT_PASSWORD, NULL};
    const char *const bad[] = {"PGHOST=127.0.0.1", "PGUSER=faults_pw", "PGPASSWORD=" WRONG_PASSWORD,
                               NULL};
    const char *const none[] = {"PGHOST=127.0.0.1", "PGUSER=faults_pw", "PGPASSFILE=/nonexistent",
                                NULL};

    (void) state;
    H_RUN_ENV(&r, &cl, good, 30.0, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    assert_check_and_status(&cl, bad, "auth_failure", QUICK,
                            "password authentication failed for user \"faults_pw\"");
    H_RUN_ENV(&r, &cl, bad, 30.0, "triage", "--format", "text");
    H_ASSERT_EXIT(&r, 2);
    H_ASSERT_CONTAINS(r.out, "auth_failure");
    assert_no_password(&r);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
    H_RUN_ENV(&r, &cl, bad, 30.0, "check", "-v", "--format", "text");
    H_ASSERT_EXIT(&r, 2);
    assert_no_password(&r);
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, none, 30.0, "check", "--format", "json");
    j = h_assert_unreachable(&r, "auth_failure");
    H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "no password supplied");
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
}

/* ===================================================== database missing */

static void
test_database_missing(void **state)
{
    HRun r;
    const char *const env[] = {"PGDATABASE=faults_no_such_db", NULL};

    (void) state;
    assert_check_and_status(&cl, env, "database_missing", QUICK, "faults_no_such_db");
    H_RUN_ENV(&r, &cl, env, 30.0, "snapshot");
    assert_snapshot_failed(&r, "database_missing");
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
}

/* ============================================== starting up, shutting down */

/*
 * Archive recovery whose restore_command waits for a file: the startup
 * process is held until the test creates it, and the postmaster answers
 * "the database system is starting up" meanwhile.  Bounded (60 s) so that
 * nothing outlives a failed test for long.
 */
static char go_file[H_PATH_MAX + 8];

static void
hold_in_startup(HCluster *c)
{
    char path[H_PATH_MAX + 32], line[3 * H_PATH_MAX];

    snprintf(go_file, sizeof(go_file), "%s/go", c->dir);
    unlink(go_file);
    snprintf(path, sizeof(path), "%s/recovery.signal", c->data);
    write_file(path, "", false);
    snprintf(line, sizeof(line),
             "restore_command = 'for i in $(seq 1 600); do [ -e %s ] && exit 1; sleep 0.1; done; "
             "exit 1'\n",
             go_file);
    snprintf(path, sizeof(path), "%s/postgresql.conf", c->data);
    write_file(path, line, true);
}

static void
release_startup(void)
{
    int fd;

    if (go_file[0] == '\0')
        return;
    fd = open(go_file, O_WRONLY | O_CREAT, 0644);
    if (fd >= 0)
        close(fd);
}

static int
startup_teardown(void **state)
{
    /* A standby refusing logins is stopped first: closing sessions must not wait on it. */
    if (h_cluster_pid(&own) > 0)
        h_cluster_ctl(&own,
                      (const char *const[]){"stop", "-m", "fast", "-w", "-t", "30", "-s", NULL});
    release_startup();
    go_file[0] = '\0';
    return own_teardown(state);
}

static void
test_startup_shutdown(void **state)
{
    HRun r;
    pid_t pm;
    char path[H_PATH_MAX + 32];
    HConnOpts lingering = {.application_name = "lingering"};

    (void) state;
    /* Starting up: held in archive recovery. */
    stop_fast(&own);
    hold_in_startup(&own);
    start_nowait(&own);
    assert_true(h_wait_conn_error(&own, NULL, "starting up", 15.0));
    assert_check_and_status(&own, NULL, "starting_up", QUICK, "starting up");

    /* Released: it finishes recovery and takes logins. */
    release_startup();
    assert_true(wait_accepting(&own, 30.0));
    assert_true(h_wait_sql(&own, "SELECT NOT pg_catalog.pg_is_in_recovery()", 30.0));
    H_RUN(&r, &own, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    /* Shutting down: a smart shutdown waits for this session and refuses new ones. */
    assert_non_null(h_session_open(&own, &lingering));
    pm = h_cluster_pid(&own);
    ctl(&own, (const char *const[]){"stop", "-m", "smart", "-W", "-s", NULL});
    assert_true(h_wait_conn_error(&own, NULL, "shutting down", 10.0));
    assert_check_and_status(&own, NULL, "shutting_down", QUICK, "shutting down");
    h_sessions_close(&own);
    assert_true(h_wait_pid_gone(pm, 20.0));

    /* A standby with hot_standby off refuses logins for as long as it is one. */
    snprintf(path, sizeof(path), "%s/standby.signal", own.data);
    write_file(path, "", false);
    snprintf(path, sizeof(path), "%s/postgresql.conf", own.data);
    write_file(path, "hot_standby = off\n", true);
    start_nowait(&own);
    assert_true(h_wait_conn_error(&own, NULL, "not accepting connections", 15.0));
    assert_check_and_status(&own, NULL, "in_recovery", QUICK, "Hot standby mode is disabled");
}

/* ====================================================== full tablespace */

/*
 * A tablespace on a 1 MB tmpfs, filled until writes fail with 53100: the
 * server is up and answers, so check says so at once (the runbook's alerts do
 * not cover a full tablespace), and the snapshot carries the server log's
 * "No space left on device" for triage.
 */
static void
test_tablespace_full(void **state)
{
    HRun r;
    json_t *j, *lines;
    char dir[H_PATH_MAX], sql[H_PATH_MAX + 128], *conf;
    PGconn *w;
    PGresult *res;
    HConnOpts o = {.application_name = "filler"};
    bool seen = false;

    (void) state;
    mount_tmpfs("tablespace", 1, dir, sizeof(dir));
    snprintf(sql, sizeof(sql), "CREATE TABLESPACE faults_full LOCATION '%s'", dir);
    assert_int_equal(h_sql(&cl, sql), 0);
    assert_int_equal(h_sql(&cl, "CREATE TABLE faults_full_t (x text) TABLESPACE faults_full"), 0);
    w = h_session_open(&cl, &o);
    assert_non_null(w);
    res = PQexec(w, "INSERT INTO faults_full_t SELECT repeat('x', 500) "
                    "FROM generate_series(1, 10000)");
    assert_int_equal(PQresultStatus(res), PGRES_FATAL_ERROR);
    assert_string_equal(PQresultErrorField(res, PG_DIAG_SQLSTATE), "53100");
    PQclear(res);

    H_RUN(&r, &cl, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_bool(H_JSON(&r), "status.reachable"), 1);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    conf = host_config(&cl, "full");
    H_RUN(&r, NULL, "snapshot", "-c", conf);
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_int_equal(h_json_bool(j, "status.reachable"), 1);
    lines = h_json_get(j, "host.log_lines");
    for (size_t i = 0; i < json_array_size(lines); i++)
        seen = seen || strstr(json_string_value(json_array_get(lines, i)),
                              "No space left on device") != NULL;
    if (!seen)
        h_run_dump(&r, "the log line of the full tablespace is missing");
    assert_true(seen);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
    free(conf);

    h_sessions_close(&cl);
    assert_int_equal(h_sql(&cl, "DROP TABLE faults_full_t"), 0);
    assert_int_equal(h_sql(&cl, "DROP TABLESPACE faults_full"), 0);
}

/* ============================================================ full WAL */

/*
 * pg_wal on a 40 MB tmpfs (two 16 MB segments and change): a big write
 * PANICs, crash recovery cannot write its end-of-recovery checkpoint, and the
 * server stops.  check: server_down at once; triage with the data directory
 * known: disk_full on the WAL filesystem explains the failure, with the
 * server log's lines.
 */
static int
start_wal(void **state)
{
    const char *const sets[] = {"max_wal_size=1GB", NULL};

    (void) state;
    return h_cluster_start(&own, sets);
}

static void
test_wal_full(void **state)
{
    HRun r;
    json_t *j, *f;
    char dir[H_PATH_MAX], wal[H_PATH_MAX + 16], from[H_PATH_MAX + 32], *conf;
    PGconn *w;
    PGresult *res;
    pid_t pm;
    HConnOpts o = {.application_name = "wal-writer"};

    (void) state;
    mount_tmpfs("wal", 40, dir, sizeof(dir));
    stop_fast(&own);
    snprintf(wal, sizeof(wal), "%s/pg_wal", own.data);
    snprintf(from, sizeof(from), "%s/.", wal);
    {
        const char *const cp[] = {"/bin/cp", "-a", from, dir, NULL};
        const char *const rm[] = {"/bin/rm", "-rf", wal, NULL};

        assert_int_equal(h_exec(&r, NULL, cp, NULL, 30.0), 0);
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
        assert_int_equal(h_exec(&r, NULL, rm, NULL, 30.0), 0);
        H_ASSERT_EXIT(&r, 0);
        h_run_free(&r);
    }
    assert_int_equal(symlink(dir, wal), 0);
    cluster_owner();
    assert_int_equal(lchown(wal, pg_uid, pg_gid), 0);
    start_wait(&own);
    pm = h_cluster_pid(&own);

    w = h_session_open(&own, &o);
    assert_non_null(w);
    res = PQexec(w, "CREATE TABLE faults_wal AS SELECT repeat('x', 1000) AS x "
                    "FROM generate_series(1, 100000)");
    assert_int_not_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    if (!h_wait_pid_gone(pm, 30.0))
    {
        char *log = h_log_since(&own, 0);

        fprintf(stderr, "faults: the server outlived its full pg_wal:\n%s\n", log);
        free(log);
        fail();
    }

    assert_check_and_status(&own, NULL, "server_down", QUICK, NULL);
    conf = host_config(&own, "walfull");
    H_RUN(&r, NULL, "triage", "-c", conf, "--format", "json");
    j = h_assert_unreachable(&r, "server_down");
    f = h_json_find_str(j, "findings", "kind", "disk_full");
    if (f == NULL)
        h_run_dump(&r, "no disk_full finding");
    assert_non_null(f);
    assert_string_equal(h_json_str(f, "alert"), "DatabaseConnectionFailure");
    H_ASSERT_CONTAINS(h_json_str(f, "summary"), "WAL filesystem");
    H_ASSERT_CONTAINS(h_json_str(f, "evidence.log_lines.0"), "No space left on device");
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
    free(conf);
}

/* ======================================================= no pg_monitor */

/*
 * A role without pg_monitor: the run works, says what it cannot see and
 * names the role and the grant.  Other roles' sessions are either counted,
 * or the output says that they are not: never a silent "0 connections".
 */
static void
test_missing_pg_monitor(void **state)
{
    HRun r;
    json_t *j, *notes;
    const char *note = NULL;
    bool wal_note = false;
    const char *const env[] = {"PGUSER=faults_plain", NULL};

    (void) state;
    assert_int_equal(h_sql(&cl, "DROP ROLE IF EXISTS faults_plain; CREATE ROLE faults_plain LOGIN"),
                     0);
    assert_int_equal(h_sessions_open_idle(&cl, 2, "other-role-app", false, NULL), 2);
    assert_true(h_wait_clients(&cl, 2, 5.0));

    H_RUN_ENV(&r, &cl, env, 30.0, "check", "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_json_bool(H_JSON(&r), "status.reachable"), 1);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, env, 30.0, "check");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "role \"faults_plain\" is not a member of pg_monitor");
    H_ASSERT_CONTAINS(r.out, "GRANT pg_monitor TO faults_plain");
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, env, 30.0, "snapshot");
    H_ASSERT_EXIT(&r, 0);
    j = H_JSON(&r);
    assert_string_equal(h_json_str(j, "server.role"), "faults_plain");
    assert_int_equal(h_json_bool(j, "server.pg_monitor"), 0);
    notes = json_object_get(j, "notes");
    for (size_t i = 0; i < json_array_size(notes); i++)
    {
        const char *n = json_string_value(json_array_get(notes, i));

        if (strstr(n, "faults_plain") != NULL && strstr(n, "pg_monitor") != NULL)
            note = n;
        wal_note = wal_note || strstr(n, "WAL size not collected") != NULL;
    }
    if (note == NULL || !wal_note)
        h_run_dump(&r, "notes missing");
    assert_non_null(note);
    assert_true(wal_note);
    if (h_json_int(j, "connections.clients") != 2 && strstr(note, "not counted") == NULL)
        h_run_dump(&r, "other roles' sessions neither counted nor said to be uncounted");
    assert_true(h_json_int(j, "connections.clients") == 2 || strstr(note, "not counted") != NULL);
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);

    H_RUN_ENV(&r, &cl, env, 30.0, "triage");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "GRANT pg_monitor TO faults_plain");
    ASSERT_WITHIN(&r, QUICK);
    h_run_free(&r);
}

/* ===================================================== statement_timeout */

/* Creates n tables in database db through a session (in batches of 1000 per transaction). */
static void
create_tables(HCluster *c, const char *db, const char *prefix, long n)
{
    HConnOpts o = {.application_name = "faults-ddl", .dbname = db};
    PGconn *s = h_session_open(c, &o);
    PGresult *res;
    char sql[512];

    assert_non_null(s);
    snprintf(sql, sizeof(sql),
             "CREATE PROCEDURE faults_mk(n int) LANGUAGE plpgsql AS $$ BEGIN "
             "FOR i IN 1..n LOOP EXECUTE pg_catalog.format('CREATE TABLE %s_%%s (id int)', i); "
             "IF i %% 1000 = 0 THEN COMMIT; END IF; END LOOP; END $$",
             prefix);
    res = PQexec(s, sql);
    assert_int_equal(PQresultStatus(res), PGRES_COMMAND_OK);
    PQclear(res);
    snprintf(sql, sizeof(sql), "CALL faults_mk(%ld)", n);
    res = PQexec(s, sql);
    if (PQresultStatus(res) != PGRES_COMMAND_OK)
        fail_msg("creating %ld tables: %s", n, PQerrorMessage(s));
    PQclear(res);
}

static void
assert_statement_timeout(const char *db)
{
    HRun r;
    json_t *j;
    char dbarg[128];

    snprintf(dbarg, sizeof(dbarg), "%s", db);
    for (int triage = 0; triage < 2; triage++)
    {
        if (triage)
            H_RUN(&r, &cl, "triage", "-d", dbarg, "--format", "json", "--set",
                  "query_timeout=100ms");
        else
            H_RUN(&r, &cl, "snapshot", "-d", dbarg, "--set", "query_timeout=100ms");
        j = assert_snapshot_failed(&r, "timeout");
        /*
         * The server cancels the statement at query_timeout, or, when its
         * cancel comes late (a JIT compilation is not interruptible), the
         * client gives up at query_timeout + 1 s: a timeout either way.
         */
        if (strstr(h_json_str(j, "status.message"), "statement timeout") == NULL)
            H_ASSERT_CONTAINS(h_json_str(j, "status.message"), "server did not answer within 0.1s");
        ASSERT_WITHIN(&r, bound(1.1, 2.0));
        h_run_free(&r);
    }
}

/*
 * The snapshot's statements take longer than query_timeout (its
 * statement_timeout): timeout, exit 2, within query_timeout + 1 s.  A huge
 * catalog is what makes them slow in production, where its size pushes the
 * planner's cost estimates past jit_above_cost and every probe statement is
 * JIT-compiled (some 300 ms each here); a catalog of 2,000 tables with the
 * JIT thresholds at 0 gives the same plans in a second.  PGMEDIC_TORTURE=1
 * adds 300,000 tables without JIT.
 */
static void
test_statement_timeout(void **state)
{
    HRun r;
    char *jit;

    (void) state;
    jit = h_sql_value(&cl, "SELECT pg_catalog.pg_jit_available()");
    assert_non_null(jit);
    if (strcmp(jit, "t") != 0 && getenv("PGMEDIC_TORTURE") == NULL)
    {
        free(jit);
        fprintf(stderr, "faults: SKIPPED: JIT is not available in this PostgreSQL (llvmjit); "
                        "PGMEDIC_TORTURE=1 runs the huge-catalog variant instead\n");
        skip();
    }
    if (strcmp(jit, "t") == 0)
    {
        assert_int_equal(h_sql(&cl, "CREATE DATABASE faults_jitcat"), 0);
        assert_int_equal(h_sql(&cl, "ALTER DATABASE faults_jitcat SET jit = on; "
                                    "ALTER DATABASE faults_jitcat SET jit_above_cost = 0; "
                                    "ALTER DATABASE faults_jitcat SET jit_inline_above_cost = -1; "
                                    "ALTER DATABASE faults_jitcat SET jit_optimize_above_cost = 0"),
                         0);
        create_tables(&cl, "faults_jitcat", "cat", 2000);
        h_sessions_close(&cl);
        assert_statement_timeout("faults_jitcat");

        /* The server is only slow: with the default query_timeout it answers. */
        H_RUN(&r, &cl, "check", "-d", "faults_jitcat", "--format", "json");
        H_ASSERT_EXIT(&r, 0);
        ASSERT_WITHIN(&r, bound(0.0, 5.0));
        h_run_free(&r);
    }
    free(jit);

    if (getenv("PGMEDIC_TORTURE") != NULL)
    {
        assert_int_equal(h_sql(&cl, "CREATE DATABASE faults_hugecat"), 0);
        create_tables(&cl, "faults_hugecat", "huge", 300000);
        h_sessions_close(&cl);
        assert_statement_timeout("faults_hugecat");
    }
}

/* ======================================================== fix + restart */

static char store_set[H_PATH_MAX + 16];

/* The audit log as JSON (newest first); the HRun is the caller's to free. */
static json_t *
audit_rows(HRun *r)
{
    H_RUN(r, NULL, "audit", "--format", "json", "--limit", "0", "--set", store_set);
    H_ASSERT_EXIT(r, 0);
    assert_true(json_is_array(H_JSON(r)));
    return H_JSON(r);
}

static void
assert_index(const char *want)
{
    char *v = h_sql_value(
        &cl, "SELECT count(*)::text || ':' || "
             "COALESCE(pg_catalog.string_agg(i.indisvalid::text, ','), '') "
             "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c "
             "ON c.oid = i.indexrelid WHERE c.relname = 'idx_faults_orders_customer_id'");

    assert_non_null(v);
    if (strcmp(v, want) != 0)
        fprintf(stderr, "faults: index state %s, expected %s\n", v, want);
    assert_string_equal(v, want);
    free(v);
}

#define FIX_INDEX(r, lock_timeout)                                                                 \
    H_RUN((r), &cl, "fix", "create-index", "public.faults_orders(customer_id)", "--lock-timeout",  \
          (lock_timeout), "--apply", "--yes", "--set", store_set)

/*
 * The server restarts while `fix create-index --apply` builds: the run fails
 * at once with the audit row completed as failed (not left unfinished) and
 * the possible INVALID leftover named; the next run does not build a second
 * index over it, and once the leftover is gone one build happens, after
 * which further runs do nothing.
 */
static void
test_restart_during_fix(void **state)
{
    HRun *r, run;
    json_t *rows, *row;
    PGconn *old;
    PGresult *res;
    double restarted_at;
    HConnOpts o = {.application_name = "old-snapshot"};

    (void) state;
    snprintf(store_set, sizeof(store_set), "store=%s/faults-fix-%d.db", h_tmproot(),
             (int) getpid());
    assert_int_equal(h_sql(&cl, "CREATE TABLE faults_orders (id bigserial PRIMARY KEY, "
                                "customer_id int); INSERT INTO faults_orders (customer_id) "
                                "SELECT g % 1000 FROM generate_series(1, 20000) g"),
                     0);
    /* An old snapshot: the concurrent build waits for it after its first phase. */
    old = h_session_open(&cl, &o);
    assert_non_null(old);
    res = PQexec(old, "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM pg_class");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);

    bg_start(&cl, 90.0, "fix", "create-index", "public.faults_orders(customer_id)",
             "--lock-timeout", "60s", "--apply", "--yes", "--set", store_set, NULL);
    assert_true(h_wait_sql(&cl,
                           "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index "
                           "WHERE phase = 'waiting for old snapshots')",
                           15.0));
    restarted_at = h_now();
    ctl(&cl,
        (const char *const[]){"restart", "-m", "fast", "-w", "-t", "30", "-s", "-l", cl.log, NULL});
    r = bg_join();
    H_ASSERT_EXIT(r, 2);
    H_ASSERT_CONTAINS(r->out, "failed: connection to server lost");
    H_ASSERT_CONTAINS(r->out, "an INVALID index \"public\".\"idx_faults_orders_customer_id\" may "
                              "be left");
    H_ASSERT_CONTAINS(r->out, "audit #1: failed");
    if (h_now() - restarted_at > bound(2.0, 3.0))
        h_run_dump(r, "slow to notice the restart");
    assert_true(h_now() - restarted_at <= bound(2.0, 3.0));
    h_run_free(r);

    rows = audit_rows(&run);
    assert_int_equal(json_array_size(rows), 1);
    row = json_array_get(rows, 0);
    assert_string_equal(h_json_str(row, "status"), "failed");
    assert_int_equal(h_json_bool(row, "unfinished"), 0);
    assert_non_null(h_json_str(row, "finished_at"));
    H_ASSERT_CONTAINS(h_json_str(row, "result.0.outcome"), "connection to server lost");
    assert_null(strchr(h_json_str(row, "result.0.outcome"), '\n'));
    h_run_free(&run);
    assert_index("1:false"); /* the build's first transaction committed the INVALID index */

    /* Again: nothing is built over the leftover, and the way out is named. */
    FIX_INDEX(&run, "5s");
    H_ASSERT_EXIT(&run, 2);
    H_ASSERT_CONTAINS(run.out,
                      "failed: an INVALID index \"public\".\"idx_faults_orders_customer_id\" "
                      "exists");
    H_ASSERT_CONTAINS(run.out,
                      "DROP INDEX CONCURRENTLY \"public\".\"idx_faults_orders_customer_id\"");
    ASSERT_WITHIN(&run, QUICK);
    h_run_free(&run);
    assert_index("1:false");

    /* The leftover dropped: one build; after it, nothing is done twice. */
    assert_int_equal(h_sql(&cl, "DROP INDEX CONCURRENTLY public.idx_faults_orders_customer_id"), 0);
    FIX_INDEX(&run, "5s");
    H_ASSERT_EXIT(&run, 0);
    H_ASSERT_CONTAINS(run.out, "1 done, 0 failed");
    h_run_free(&run);
    assert_index("1:true");
    FIX_INDEX(&run, "5s");
    H_ASSERT_EXIT(&run, 0);
    H_ASSERT_CONTAINS(run.out,
                      "skipped: an index named \"public\".\"idx_faults_orders_customer_id\" "
                      "already exists and is valid");
    h_run_free(&run);
    assert_index("1:true");

    rows = audit_rows(&run);
    assert_int_equal(json_array_size(rows), 4);
    {
        const char *const want[] = {"done", "done", "failed", "failed"};

        for (size_t i = 0; i < 4; i++)
        {
            row = json_array_get(rows, i);
            assert_string_equal(h_json_str(row, "status"), want[i]);
            assert_int_equal(h_json_bool(row, "unfinished"), 0);
        }
    }
    h_run_free(&run);
    h_sessions_close(&cl);
    assert_int_equal(h_sql(&cl, "DROP TABLE faults_orders"), 0);
}

/* ================================================================ serve */

/* The value of name{...} whose labels include each "k=\"v\"" given (NULL-terminated); NAN if
 * absent. */
static double
metric(const char *body, const char *name, ...)
{
    size_t len = strlen(name);
    const char *line;

    for (line = body; line != NULL && *line;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
    {
        const char *end = strchr(line, '\n'), *brace;
        char buf[2048];
        bool all = true;
        va_list ap;

        if (strncmp(line, name, len) != 0 || line[len] != '{')
            continue;
        snprintf(buf, sizeof(buf), "%.*s", end ? (int) (end - line) : (int) strlen(line), line);
        brace = strrchr(buf, '}');
        if (brace == NULL)
            continue;
        va_start(ap, name);
        for (const char *lab = va_arg(ap, const char *); lab != NULL;
             lab = va_arg(ap, const char *))
            if (strstr(buf, lab) == NULL)
                all = false;
        va_end(ap);
        if (all)
            return strtod(brace + 1, NULL);
    }
    return (double) NAN;
}

static char metrics_url[128];

/* One scrape, with a's series checked on the way: it stays up, whatever b does. */
static char *
scrape(int *a_down)
{
    char *body = NULL;

    assert_int_equal(h_http("GET", metrics_url, NULL, NULL, &body), 200);
    if (metric(body, "pgmedic_up", "target=\"a\"", NULL) != 1.0)
        (*a_down)++;
    return body;
}

/*
 * Polls until b's last probe failed with reason, or (reason NULL) until a
 * probe that finished after the call found b up; false at the deadline.
 */
static bool
wait_b(const char *reason, double timeout_s, int *a_down)
{
    double until = h_now() + timeout_s * h_slowdown();
    double probes = -1;
    char want[64];

    if (reason != NULL)
        snprintf(want, sizeof(want), "reason=\"%s\"", reason);
    for (;;)
    {
        char *body = scrape(a_down);
        double n = metric(body, "pgmedic_probes_total", "target=\"b\"", NULL);
        bool ok;

        if (probes < 0)
            probes = isnan(n) ? 0 : n;
        ok = reason != NULL
                 ? metric(body, "pgmedic_probe_failure_info", "target=\"b\"", want, NULL) == 1.0
                 : metric(body, "pgmedic_up", "target=\"b\"", NULL) == 1.0 && n >= probes + 2;

        if (ok || h_now() >= until)
        {
            if (!ok)
            {
                const char *line;

                fprintf(stderr, "faults: b never reached %s; its series:\n", reason ? want : "up");
                for (line = body; line && *line;
                     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                    if (strncmp(line, "pgmedic_", 8) == 0 && strstr(line, "target=\"b\"") != NULL &&
                        strstr(line, "target=\"b\"") < strchr(line, '\n'))
                        fprintf(stderr, "  %.*s\n", (int) strcspn(line, "\n"), line);
            }
            free(body);
            return ok;
        }
        free(body);
        usleep(50 * 1000);
    }
}

static double
probes_of(const char *target)
{
    char *body = NULL, label[64];
    double v;

    snprintf(label, sizeof(label), "target=\"%s\"", target);
    assert_int_equal(h_http("GET", metrics_url, NULL, NULL, &body), 200);
    v = metric(body, "pgmedic_probes_total", label, NULL);
    free(body);
    return v;
}

/* After a fault on b: a was never down and kept being probed; each cluster has <= 1 pgmedic
 * backend. */
static void
after_fault(const char *what, int a_down, double a_probes_before, HCluster *a, HCluster *b)
{
    if (a_down != 0 || probes_of("a") < a_probes_before + 1)
        fprintf(stderr, "faults: %s on b: a down in %d scrapes, %g probes of a (%g before)\n", what,
                a_down, probes_of("a"), a_probes_before);
    assert_int_equal(a_down, 0);
    assert_true(probes_of("a") >= a_probes_before + 1);
    assert_true(h_pgmedic_backends(a) <= 1);
    if (!wait_pgmedic_backends_at_most(b, 1, 10.0))
        fail_msg("%s on b: more than one pgmedic backend stays on b", what);
}

static int
start_serve_clusters(void **state)
{
    /* b: 8 slots, 3 reserved: 5 ordinary ones for serve's non-superuser role. */
    const char *const sets_b[] = {"max_connections=8", "superuser_reserved_connections=3", NULL};

    (void) state;
    if (h_cluster_start(&own, NULL) != 0 || h_cluster_start(&b2, sets_b) != 0)
        return -1;
    if (h_sql(&b2, "CREATE ROLE faults_medic LOGIN; GRANT pg_monitor TO faults_medic") != 0)
        return -1;
    return h_sql(&b2, "CREATE DATABASE faults_db");
}

/* Ends serve's backend on c (the connection it keeps between probes). */
static void
drop_serve_connection(HCluster *c)
{
    assert_int_equal(h_sql(c,
                           "SELECT pg_catalog.pg_terminate_backend(pid) "
                           "FROM pg_catalog.pg_stat_activity WHERE application_name = 'pgmedic'"),
                     0);
}

/*
 * serve with two targets, a (own) and b (b2, as a non-superuser on database
 * faults_db): each fault on b shows as b's failure reason, while a stays up
 * and keeps being probed, and neither server ever holds more than one
 * pgmedic backend once the fault has passed.
 */
static void
test_serve_faults(void **state)
{
    HDaemon d;
    int port = h_free_port(), a_down = 0;
    char conf[H_PATH_MAX], text[4 * H_PATH_MAX], hba[H_PATH_MAX + 16], *saved, url[128];
    double before;
    pid_t pm;
    PGconn *holder;

    (void) state;
    assert_true(port > 0);
    snprintf(text, sizeof(text),
             "[pgmedic]\nstore = %s/faults-serve-%d.db\ninterval = 200ms\n"
             "connect_timeout = 1s\nquery_timeout = 2s\n"
             "[target a]\nconninfo = host=%s port=%s user=postgres dbname=postgres\n"
             "[target b]\nconninfo = host=%s port=%s user=faults_medic dbname=faults_db\n",
             h_tmproot(), (int) getpid(), own.host, own.port, b2.host, b2.port);
    snprintf(conf, sizeof(conf), "%s/faults-serve.ini", h_tmproot());
    write_file(conf, text, false);
    {
        char listen[64];
        const char *argv[] = {h_bin(), "serve", "-c", conf, "--listen", listen, NULL};

        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        assert_int_equal(h_daemon_start(&d, NULL, argv, NULL), 0);
    }
    snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%d/metrics", port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/healthz", port);
    assert_true(h_wait_http(url, "ok", 15.0));
    assert_true(h_wait_http(metrics_url, "pgmedic_up{target=\"a\"} 1", 15.0));
    assert_true(wait_b(NULL, 15.0, &a_down));

    /* Database missing: dropped under serve's connection, then back. */
    before = probes_of("a");
    assert_int_equal(h_sql(&b2, "DROP DATABASE faults_db WITH (FORCE)"), 0);
    assert_true(wait_b("database_missing", 10.0, &a_down));
    assert_int_equal(h_sql(&b2, "CREATE DATABASE faults_db"), 0);
    assert_true(wait_b(NULL, 10.0, &a_down));
    after_fault("database missing", a_down, before, &own, &b2);

    /* Login refused by pg_hba.conf, then allowed again. */
    before = probes_of("a");
    snprintf(hba, sizeof(hba), "%s/pg_hba.conf", b2.data);
    saved = h_read_file(hba, NULL);
    assert_non_null(saved);
    write_file(hba,
               "local all faults_medic reject\nlocal all all trust\n"
               "host all all 127.0.0.1/32 trust\n",
               false);
    reload(&b2);
    {
        HConnOpts o = {.user = "faults_medic", .dbname = "faults_db"};

        assert_true(h_wait_conn_error(&b2, &o, "rejects", 10.0));
    }
    drop_serve_connection(&b2);
    assert_true(wait_b("auth_failure", 10.0, &a_down));
    write_file(hba, saved, false);
    free(saved);
    reload(&b2);
    assert_true(wait_b(NULL, 10.0, &a_down));
    after_fault("auth failure", a_down, before, &own, &b2);

    /* Every ordinary slot taken by superusers; serve's role is refused the reserved ones. */
    before = probes_of("a");
    assert_int_equal(h_sessions_open_idle(&b2, 5, "filler", false, NULL), 5);
    drop_serve_connection(&b2);
    assert_true(wait_b("too_many_clients", 10.0, &a_down));
    assert_int_equal(h_sessions_close(&b2), 0);
    assert_true(wait_b(NULL, 10.0, &a_down));
    after_fault("slots taken", a_down, before, &own, &b2);

    /* serve's backend stopped in the middle of a probe: timeout, then back. */
    before = probes_of("a");
    holder = hold_table_lock(&b2, "faults_db", "faults_locked");
    stop_process(wait_pgmedic_lock_waiter(&b2, 10.0));
    assert_true(wait_b("timeout", 10.0, &a_down));
    continue_all();
    release_lock(holder);
    assert_true(wait_b(NULL, 10.0, &a_down));
    assert_int_equal(h_sessions_close(&b2), 0);
    assert_true(wait_b(NULL, 10.0, &a_down));
    after_fault("backend stopped", a_down, before, &own, &b2);

    /* A restart under the kept connection: one failed probe, then a new connection. */
    before = probes_of("a");
    assert_true(h_wait_sql(&b2,
                           "SELECT count(*) = 1 FROM pg_catalog.pg_stat_activity "
                           "WHERE application_name = 'pgmedic'",
                           10.0));
    {
        char *body = NULL;
        double errors;

        assert_int_equal(h_http("GET", metrics_url, NULL, NULL, &body), 200);
        errors = metric(body, "pgmedic_probe_errors_total", "target=\"b\"", NULL);
        free(body);
        ctl(&b2, (const char *const[]){"restart", "-m", "fast", "-w", "-t", "30", "-s", "-l",
                                       b2.log, NULL});
        /* The probe on the dead connection fails (its reason may be replaced before a scrape). */
        for (double until = h_now() + 10.0 * h_slowdown();;)
        {
            bool failed;

            body = scrape(&a_down);
            failed = metric(body, "pgmedic_probe_errors_total", "target=\"b\"", NULL) >= errors + 1;
            free(body);
            if (failed)
                break;
            if (h_now() >= until)
            {
                char *log = h_daemon_log(&d);

                fprintf(stderr,
                        "faults: no failed probe of b after its restart (%g errors before); "
                        "serve's log:\n%s\n",
                        errors, log);
                free(log);
                fail();
            }
            usleep(50 * 1000);
        }
        assert_true(wait_b(NULL, 10.0, &a_down));
    }
    after_fault("restart", a_down, before, &own, &b2);

    /* The whole of b killed mid-probe, then started again held in recovery: down, starting up, up.
     */
    before = probes_of("a");
    holder = hold_table_lock(&b2, "faults_db", "faults_locked");
    stop_process(wait_pgmedic_lock_waiter(&b2, 10.0));
    pm = kill_cluster(&b2);
    continue_all();
    assert_true(wait_b("server_down", 10.0, &a_down));
    forget_killed(&b2, pm);
    h_sessions_close(&b2);
    hold_in_startup(&b2);
    start_nowait(&b2);
    if (!wait_b("starting_up", 15.0, &a_down))
    {
        char *log = h_log_since(&b2, 0);
        size_t len = strlen(log);

        fprintf(stderr, "faults: b's log ends with:\n%s\n", log + (len > 3000 ? len - 3000 : 0));
        free(log);
        fail();
    }
    release_startup();
    assert_true(wait_b(NULL, 30.0, &a_down));
    after_fault("kill and recovery", a_down, before, &own, &b2);
    (void) holder;

    h_daemon_stop(&d);
    assert_int_equal(d.status, 0);
    assert_true(wait_pgmedic_backends_at_most(&own, 0, 10.0));
    assert_true(wait_pgmedic_backends_at_most(&b2, 0, 10.0));
}

static int
serve_teardown(void **state)
{
    release_startup();
    go_file[0] = '\0';
    return own_teardown(state);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_mid_snapshot, start_own, own_teardown),
        cmocka_unit_test_teardown(test_backend_stopped, shared_teardown),
        cmocka_unit_test_teardown(test_locked_table_is_not_an_outage, shared_teardown),
        cmocka_unit_test_setup_teardown(test_slots, start_slots, own_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_password, setup_password, teardown_password),
        cmocka_unit_test_teardown(test_database_missing, shared_teardown),
        cmocka_unit_test_setup_teardown(test_startup_shutdown, start_own, startup_teardown),
        cmocka_unit_test_teardown(test_tablespace_full, shared_teardown),
        cmocka_unit_test_setup_teardown(test_wal_full, start_wal, own_teardown),
        cmocka_unit_test_teardown(test_missing_pg_monitor, shared_teardown),
        cmocka_unit_test_teardown(test_statement_timeout, shared_teardown),
        cmocka_unit_test_teardown(test_restart_during_fix, shared_teardown),
        cmocka_unit_test_setup_teardown(test_serve_faults, start_serve_clusters, serve_teardown),
    };

    /* PGMEDIC_FAULTS_ONLY=test_slots (a cmocka pattern) runs a part of the matrix. */
    if (getenv("PGMEDIC_FAULTS_ONLY") != NULL)
        cmocka_set_test_filter(getenv("PGMEDIC_FAULTS_ONLY"));
    return cmocka_run_group_tests_name("faults", tests, group_setup, group_teardown);
}
