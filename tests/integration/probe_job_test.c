/*
 * probe_job_test.c - the non-blocking probe (ProbeJob) driven the way serve
 * drives it: many targets, one thread, one poll() loop.
 *
 * Three clusters: a and b stay healthy, c is the one a test SIGSTOPs.  The
 * loop below steps a job only when its socket is ready or its deadline has
 * come, so a job that asks to wait for the wrong thing stalls until its
 * deadline and fails the timing checks.  Stopped processes are SIGCONTed in
 * every path (the teardown too), so a failed assertion cannot hang the rest.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"
#include "pg/conn.h"
#include "pg/probe.h"
#include "util/arena.h"
#include "util/clock.h"

static HCluster ca, cb, cc;

/* One target as serve holds it: its spec, its connection slot, a snapshot. */
typedef struct
{
    ConnSpec *spec;
    PgConn *slot;
    Arena *arena;
    Snapshot snap;
    ProbeJob *job;
    int st;
    double done_s; /* from the start of the loop; -1 while running */
} Target;

#define MAX_TARGETS 6

static Target targets[MAX_TARGETS];
static pid_t stopped[4]; /* SIGCONTed by the teardown */
static int dead_socket = -1;

static ConnOptions
conn_options(int64_t connect_ms, int64_t query_ms)
{
    ConnOptions o = {connect_ms, query_ms, 0, true};

    return o;
}

static void
target_init(Target *t, const char *host, const char *port)
{
    PmError err;

    memset(t, 0, sizeof(*t));
    t->spec = connspec_new(NULL, "postgres", host, port, "postgres", &err);
    if (t->spec == NULL)
        fail_msg("connspec_new: %s", err.message);
    t->arena = arena_new();
    assert_non_null(t->arena);
    t->done_s = -1;
}

/* Ends the job (freed mid-flight if it still runs) and starts a fresh arena. */
static void
target_reset(Target *t)
{
    probe_job_free(t->job);
    t->job = NULL;
    arena_free(t->arena);
    t->arena = arena_new();
    assert_non_null(t->arena);
    t->done_s = -1;
}

static void
target_free(Target *t)
{
    probe_job_free(t->job);
    pgconn_close(t->slot);
    arena_free(t->arena);
    connspec_free(t->spec);
    memset(t, 0, sizeof(*t));
}

static void
start_job(Target *t, const ConnOptions *co)
{
    ProbeOptions po = probe_options_default();

    po.extras = true;
    t->job = probe_job_start(&t->slot, t->spec, co, &po, t->arena, &t->snap);
    assert_non_null(t->job);
    t->st = -2;
    t->done_s = -1;
}

/*
 * The serve loop: one poll() over every running job's socket, until the
 * nearest deadline; a job is stepped when its socket is ready or its
 * deadline has come.  Fails when the loop outlives limit_s.
 */
static void
drive(Target **ts, int n, double limit_s)
{
    double start = h_now();
    int pending = 0, i;

    for (i = 0; i < n; i++)
    {
        ts[i]->st = probe_job_step(ts[i]->job);
        assert_true(ts[i]->st >= 0);
        if (ts[i]->st == PROBE_DONE)
            ts[i]->done_s = h_now() - start;
        else
            pending++;
    }
    while (pending > 0)
    {
        struct pollfd fds[MAX_TARGETS];
        int at[MAX_TARGETS];
        int nfds = 0, rc;
        int64_t next = INT64_MAX, now, wait_ms;

        for (i = 0; i < n; i++)
        {
            int fd;

            if (ts[i]->st == PROBE_DONE)
                continue;
            if (probe_job_deadline_ms(ts[i]->job) < next)
                next = probe_job_deadline_ms(ts[i]->job);
            at[i] = -1;
            fd = probe_job_fd(ts[i]->job);
            if (fd < 0)
                continue;
            fds[nfds].fd = fd;
            fds[nfds].events = (short) (((ts[i]->st & PROBE_WANT_READ) ? POLLIN : 0) |
                                        ((ts[i]->st & PROBE_WANT_WRITE) ? POLLOUT : 0));
            fds[nfds].revents = 0;
            at[i] = nfds++;
        }
        wait_ms = next - pm_clock_ms();
        if (wait_ms < 0)
            wait_ms = 0;
        rc = poll(fds, (nfds_t) nfds, (int) (wait_ms > 60000 ? 60000 : wait_ms));
        assert_true(rc >= 0 || errno == EINTR);
        now = pm_clock_ms();
        for (i = 0; i < n; i++)
        {
            if (ts[i]->st == PROBE_DONE)
                continue;
            if ((at[i] >= 0 && fds[at[i]].revents != 0) || now >= probe_job_deadline_ms(ts[i]->job))
            {
                ts[i]->st = probe_job_step(ts[i]->job);
                assert_true(ts[i]->st >= 0);
                if (ts[i]->st == PROBE_DONE)
                {
                    ts[i]->done_s = h_now() - start;
                    pending--;
                    /* Finished jobs have no socket to poll. */
                    assert_int_equal(probe_job_fd(ts[i]->job), -1);
                }
            }
        }
        if (h_now() - start > limit_s)
            fail_msg("the poll loop ran for more than %.1f s", limit_s);
    }
}

static void
drive_one(Target *t, double limit_s)
{
    Target *ts[1] = {t};

    drive(ts, 1, limit_s);
}

static void
assert_failure(const Target *t, ConnFailure want, const char *needle)
{
    if (t->snap.failure != want)
        fail_msg("failure %s (%s), expected %s", snapshot_failure_name(t->snap.failure),
                 t->snap.failure_message ? t->snap.failure_message : "",
                 snapshot_failure_name(want));
    if (needle != NULL)
        H_ASSERT_CONTAINS(t->snap.failure_message, needle);
}

static void
assert_ok(const Target *t)
{
    assert_failure(t, CONN_OK, NULL);
    assert_non_null(t->snap.version);
    assert_true(t->snap.version_num >= 150000);
    assert_true(t->snap.own_pid > 0);
    assert_true(t->snap.n_settings > 0);
    assert_true(t->snap.is_superuser); /* the clusters' user is postgres */
    assert_true(t->snap.probe_s > 0);
}

/* The count of the group (state, application), 0 when absent. */
static int64_t
group_count(const Snapshot *snap, const char *state, const char *application, const char *client)
{
    size_t i;

    for (i = 0; i < snap->n_groups; i++)
    {
        const BackendGroup *g = &snap->groups[i];

        if (g->state && strcmp(g->state, state) == 0 && g->application &&
            strcmp(g->application, application) == 0 && g->client && strcmp(g->client, client) == 0)
            return g->count;
    }
    return 0;
}

/* "count:pid" of pgmedic's backends (pid 0 when none). */
static char *
pgmedic_backends(HCluster *c)
{
    char *v = h_sql_value(c, "SELECT count(*)::text || ':' || COALESCE(min(pid), 0)::text "
                             "FROM pg_stat_activity WHERE application_name = 'pgmedic'");

    assert_non_null(v);
    return v;
}

static void
assert_backends(HCluster *c, long count, int32_t pid)
{
    char want[64];
    char *got = pgmedic_backends(c);

    snprintf(want, sizeof(want), "%ld:%ld", count, (long) pid);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "harness: pgmedic backends %s, expected %s\n", got, want);
    assert_string_equal(got, want);
    free(got);
}

static bool
wait_no_pgmedic_backend(HCluster *c)
{
    return h_wait_sql(c,
                      "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity "
                      "WHERE application_name = 'pgmedic')",
                      10.0);
}

static void
stop_process(pid_t pid)
{
    size_t i;

    assert_true(pid > 0);
    for (i = 0; i < PM_LENGTHOF(stopped); i++)
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
    size_t i;

    for (i = 0; i < PM_LENGTHOF(stopped); i++)
    {
        if (stopped[i] > 0)
            kill(stopped[i], SIGCONT);
        stopped[i] = 0;
    }
}

/* A TCP port on 127.0.0.1 that is bound but not listening: connects are refused. */
static int
refusing_port(char *port, size_t size)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);

    dead_socket = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(dead_socket >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    assert_int_equal(bind(dead_socket, (struct sockaddr *) &addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(dead_socket, (struct sockaddr *) &addr, &len), 0);
    snprintf(port, size, "%u", (unsigned) ntohs(addr.sin_port));
    return 0;
}

/* ------------------------------------------------------------- fixtures */

static int
group_setup(void **state)
{
    (void) state;
    if (h_cluster_start(&ca, NULL) != 0 || h_cluster_start(&cb, NULL) != 0 ||
        h_cluster_start(&cc, NULL) != 0)
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void) state;
    continue_all();
    h_cluster_stop(&ca);
    h_cluster_stop(&cb);
    h_cluster_stop(&cc);
    return 0;
}

static int
test_teardown(void **state)
{
    size_t i;
    int rc = 0;

    (void) state;
    continue_all(); /* first: nothing below may wait on a stopped server */
    for (i = 0; i < MAX_TARGETS; i++)
        target_free(&targets[i]);
    if (dead_socket >= 0)
        close(dead_socket);
    dead_socket = -1;
    if (h_sessions_close(&ca) != 0 || h_sessions_close(&cb) != 0 || h_sessions_close(&cc) != 0)
        rc = -1;
    return rc;
}

/* ---------------------------------------------------------------- tests */

/* Two live servers and three that cannot be reached, all in one loop. */
static void
test_many_targets_one_loop(void **state)
{
    ConnOptions co = conn_options(5000, 5000);
    Target *a = &targets[0], *b = &targets[1], *refused = &targets[2], *nosock = &targets[3],
           *invalid = &targets[4];
    Target *all[] = {a, b, refused, nosock, invalid};
    char port[16], dir[H_PATH_MAX];
    size_t i;

    (void) state;
    assert_int_equal(h_sessions_open_idle(&ca, 3, "seed_a", false, NULL), 3);
    assert_int_equal(h_sessions_open_idle(&cb, 5, "seed_b", true, NULL), 5);
    refusing_port(port, sizeof(port));
    snprintf(dir, sizeof(dir), "%s/probe-job-nosock", h_tmproot());
    assert_true(mkdir(dir, 0755) == 0 || errno == EEXIST);

    target_init(a, ca.host, ca.port);
    target_init(b, "127.0.0.1", cb.port); /* over TCP: SSL and GSS negotiation too */
    target_init(refused, "127.0.0.1", port);
    target_init(nosock, dir, "5432");
    target_init(invalid, ca.host, ca.port);
    {
        /* An option libpq refuses: nothing is tried, and there is no socket. */
        PmError err;

        connspec_free(invalid->spec);
        invalid->spec =
            connspec_new("sslmode=sometimes", "postgres", ca.host, ca.port, "postgres", &err);
        assert_non_null(invalid->spec);
    }
    for (i = 0; i < PM_LENGTHOF(all); i++)
        start_job(all[i], &co);
    drive(all, (int) PM_LENGTHOF(all), 20.0);

    assert_ok(a);
    assert_int_equal(group_count(&a->snap, "idle", "seed_a", "local"), 3);
    assert_true(a->snap.n_idle >= 3);
    assert_true(a->snap.n_clients >= 3);
    assert_true(a->snap.connect_s > 0);
    H_ASSERT_CONTAINS(a->snap.target, ca.port);
    assert_non_null(a->slot); /* kept for the next probe */

    assert_ok(b);
    assert_int_equal(group_count(&b->snap, "idle", "seed_b", "127.0.0.1"), 5);
    assert_int_equal(group_count(&b->snap, "idle", "seed_a", "local"), 0);
    assert_true(b->snap.n_idle >= 5);
    H_ASSERT_CONTAINS(b->snap.target, "@127.0.0.1:");
    assert_non_null(b->slot);

    assert_failure(refused, CONN_SERVER_DOWN, "Connection refused");
    assert_true(refused->done_s < 1.0);
    assert_null(refused->slot);
    assert_failure(nosock, CONN_SERVER_DOWN, "No such file or directory");
    assert_true(nosock->done_s < 1.0);
    assert_null(nosock->slot);
    assert_failure(invalid, CONN_NO_ATTEMPT, "sslmode");
    assert_null(invalid->slot);
    assert_non_null(invalid->snap.target);
    for (i = 0; i < PM_LENGTHOF(all); i++)
    {
        assert_non_null(all[i]->snap.target);
        assert_true(all[i]->snap.taken_at > 0);
    }
}

/* A hung postmaster costs its own deadline and nothing else. */
static void
test_stopped_postmaster_among_live(void **state)
{
    ConnOptions co = conn_options(2000, 1000);
    Target *a = &targets[0], *b = &targets[1], *c = &targets[2];
    Target *all[] = {c, a, b};
    int64_t before_ms, after_ms;

    (void) state;
    target_init(a, ca.host, ca.port);
    target_init(b, cb.host, cb.port);
    target_init(c, cc.host, cc.port);
    stop_process(h_cluster_pid(&cc));

    /*
     * The job's clock starts inside probe_job_start(), somewhere between
     * these two readings (which a loaded machine may set milliseconds apart).
     */
    before_ms = pm_clock_ms();
    start_job(c, &co);
    after_ms = pm_clock_ms();
    start_job(a, &co);
    start_job(b, &co);
    /* While connecting, the deadline is connect_timeout's. */
    assert_true(probe_job_deadline_ms(c->job) - after_ms <= 2000);
    assert_true(probe_job_deadline_ms(c->job) - before_ms >= 2000);
    drive(all, 3, 15.0);

    assert_ok(a);
    assert_ok(b);
    if (a->done_s > 1.0 || b->done_s > 1.0)
        fprintf(stderr, "harness: live probes took %.3f s and %.3f s\n", a->done_s, b->done_s);
    assert_true(a->done_s < 1.0);
    assert_true(b->done_s < 1.0);

    assert_failure(c, CONN_TIMEOUT, "server did not respond within 2.0s");
    if (c->done_s < 1.9 || c->done_s > 2.8)
        fprintf(stderr, "harness: the hung probe ended after %.3f s\n", c->done_s);
    assert_true(c->done_s >= 1.9);
    assert_true(c->done_s <= 2.8);
    assert_null(c->slot);
    H_ASSERT_CONTAINS(c->snap.target, cc.port);
    continue_all();
}

/* A hung backend on a reused connection: the queries' deadline, then the slot is empty. */
static void
test_stopped_backend_times_out(void **state)
{
    ConnOptions co = conn_options(2000, 1000);
    Target *a = &targets[0];
    int32_t pid;
    char sql[160];

    (void) state;
    target_init(a, ca.host, ca.port);
    start_job(a, &co);
    drive_one(a, 10.0);
    assert_ok(a);
    assert_non_null(a->slot);
    pid = a->snap.own_pid;

    stop_process((pid_t) pid);
    target_reset(a);
    start_job(a, &co);
    assert_null(a->slot); /* the running job holds the connection */
    drive_one(a, 10.0);
    /* query_timeout + 1 s from the start: no connect to wait for. */
    assert_failure(a, CONN_TIMEOUT, "server did not answer within 1.0s");
    if (a->done_s < 1.9 || a->done_s > 2.8)
        fprintf(stderr, "harness: the hung probe ended after %.3f s\n", a->done_s);
    assert_true(a->done_s >= 1.9);
    assert_true(a->done_s <= 2.8);
    assert_null(a->slot);
    assert_true(a->snap.is_superuser);

    /* Its connection was closed: once the backend runs again it ends. */
    continue_all();
    snprintf(sql, sizeof(sql), "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %d)",
             (int) pid);
    assert_true(h_wait_sql(&ca, sql, 10.0));
}

/* The slot keeps one connection; a restart costs one failed probe, not two. */
static void
test_reuse_and_restart(void **state)
{
    ConnOptions co = conn_options(5000, 5000);
    Target *a = &targets[0];
    PgConn *kept;
    int32_t pid;
    char *target;
    const char *const restart[] = {"restart", "-m", "fast", "-w",   "-t",
                                   "30",      "-s", "-l",   ca.log, NULL};

    (void) state;
    assert_true(wait_no_pgmedic_backend(&ca));
    target_init(a, ca.host, ca.port);

    start_job(a, &co);
    drive_one(a, 10.0);
    assert_ok(a);
    assert_true(a->snap.connect_s > 0);
    assert_non_null(a->slot);
    kept = a->slot;
    pid = a->snap.own_pid;
    target = strdup(a->snap.target);
    assert_non_null(target);
    assert_backends(&ca, 1, pid);

    /* Again on the same connection: same backend, and the same facts about it. */
    target_reset(a);
    start_job(a, &co);
    drive_one(a, 10.0);
    assert_ok(a);
    assert_ptr_equal(a->slot, kept);
    assert_int_equal(a->snap.own_pid, pid);
    assert_true(a->snap.connect_s == 0.0);
    assert_string_equal(a->snap.target, target);
    assert_int_equal(group_count(&a->snap, "idle", "pgmedic", "local"), 0); /* not itself */
    assert_backends(&ca, 1, pid);
    free(target);

    /* The server restarts under the idle connection: the next probe fails... */
    assert_int_equal(h_cluster_ctl(&ca, restart), 0);
    target_reset(a);
    start_job(a, &co);
    drive_one(a, 10.0);
    assert_failure(a, CONN_SERVER_DOWN, "connection to server lost");
    /* The FATAL the server sent before closing says why, as one line. */
    H_ASSERT_CONTAINS(a->snap.failure_message, "terminating connection due to administrator");
    H_ASSERT_NOT_CONTAINS(a->snap.failure_message, "\n");
    assert_true(a->done_s < 1.0);
    assert_null(a->slot);
    assert_non_null(a->snap.target);

    /* ...and the one after it connects again. */
    target_reset(a);
    start_job(a, &co);
    drive_one(a, 10.0);
    assert_ok(a);
    assert_non_null(a->slot);
    assert_true(a->snap.own_pid != pid);
    assert_true(a->snap.connect_s > 0);
    assert_backends(&ca, 1, a->snap.own_pid);

    pgconn_close(a->slot);
    a->slot = NULL;
    assert_true(wait_no_pgmedic_backend(&ca));
}

/* A job freed before it finished closes its connection, whichever phase it was in. */
static void
test_free_mid_flight(void **state)
{
    ConnOptions co = conn_options(5000, 5000);
    Target *a = &targets[0];
    int st;
    char sql[160];
    int32_t pid;

    (void) state;
    assert_true(wait_no_pgmedic_backend(&ca));
    target_init(a, ca.host, ca.port);

    /* Connecting (or just connected): the backend exists, the job has not finished. */
    start_job(a, &co);
    st = probe_job_step(a->job);
    assert_true(st > 0);
    assert_true(h_wait_sql(&ca,
                           "SELECT EXISTS (SELECT 1 FROM pg_stat_activity "
                           "WHERE application_name = 'pgmedic')",
                           10.0));
    probe_job_free(a->job);
    a->job = NULL;
    assert_null(a->slot);
    assert_true(wait_no_pgmedic_backend(&ca));

    /* A reused connection with batch 1 sent and its answers unread. */
    target_reset(a);
    start_job(a, &co);
    drive_one(a, 10.0);
    assert_ok(a);
    assert_non_null(a->slot);
    pid = a->snap.own_pid;
    target_reset(a);
    start_job(a, &co);
    st = probe_job_step(a->job);
    assert_true(st & PROBE_WANT_READ);
    probe_job_free(a->job);
    a->job = NULL;
    assert_null(a->slot);
    snprintf(sql, sizeof(sql), "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = %d)",
             (int) pid);
    assert_true(h_wait_sql(&ca, sql, 10.0));
    assert_true(wait_no_pgmedic_backend(&ca));
}

/* The blocking entry point is the same machine: one connection, closed after. */
static void
test_probe_snapshot_closes(void **state)
{
    ConnOptions co = conn_options(5000, 5000);
    ProbeOptions po = probe_options_default();
    Target *a = &targets[0];
    PmError err;

    (void) state;
    target_init(a, ca.host, ca.port);
    assert_int_equal(h_sessions_open_idle(&ca, 2, "seed_snap", false, NULL), 2);
    assert_int_equal(probe_snapshot(a->spec, &co, &po, a->arena, &a->snap, &err), 0);
    assert_ok(a);
    assert_int_equal(group_count(&a->snap, "idle", "seed_snap", "local"), 2);
    assert_true(a->snap.connect_s > 0);
    assert_true(wait_no_pgmedic_backend(&ca));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_many_targets_one_loop, test_teardown),
        cmocka_unit_test_teardown(test_stopped_postmaster_among_live, test_teardown),
        cmocka_unit_test_teardown(test_stopped_backend_times_out, test_teardown),
        cmocka_unit_test_teardown(test_reuse_and_restart, test_teardown),
        cmocka_unit_test_teardown(test_free_mid_flight, test_teardown),
        cmocka_unit_test_teardown(test_probe_snapshot_closes, test_teardown),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
