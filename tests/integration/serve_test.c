/*
 * serve_test.c - pgmedic serve against real peers on 127.0.0.1: two
 * throwaway clusters and an address where nothing listens; a real
 * Alertmanager whose webhook reaches serve; a real Prometheus that scrapes
 * it and evaluates `pgmedic rules`.
 *
 * Everything waits by polling with a deadline; nothing sleeps a fixed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static HCluster a, b;
static char token_path[H_PATH_MAX];
static const char *const token = "s3cret-token-for-the-serve-test";

static int
setup(void **state)
{
    const char *const sets[] = {"max_connections=30", NULL};
    char *path;

    (void) state;
    if (h_cluster_start(&a, sets) != 0 || h_cluster_start(&b, sets) != 0)
        return -1;
    path = h_write_tmpfile("token", token);
    if (path == NULL)
        return -1;
    chmod(path, 0600);
    snprintf(token_path, sizeof(token_path), "%s", path);
    free(path);
    return 0;
}

static int
teardown(void **state)
{
    (void) state;
    h_cluster_stop(&a);
    h_cluster_stop(&b);
    return 0;
}

static int
close_sessions(void **state)
{
    (void) state;
    h_sessions_close(&a);
    h_sessions_close(&b);
    return 0;
}

/* The value of the sample of name whose labels include every "k=\"v\"" given; NAN when absent. */
static double
metric(const char *body, const char *name, ...)
{
    size_t len = strlen(name);
    const char *line;

    for (line = body; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
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
        for (const char *lab = va_arg(ap, const char *); lab != NULL; lab = va_arg(ap, const char *))
        {
            char want[256];

            snprintf(want, sizeof(want), "%s", lab);
            if (strstr(buf, want) == NULL)
                all = false;
        }
        va_end(ap);
        if (all)
            return strtod(brace + 1, NULL);
    }
    return NAN;
}

/* Writes the configuration to path (overwriting it); path for convenience. */
static const char *
write_config(const char *path, const char *extra, int dead_port, bool with_b)
{
    char text[8192];
    FILE *f;

    snprintf(text, sizeof(text),
             "[pgmedic]\n"
             "store = %s/serve-%d.db\n"
             "interval = 500ms\n"
             "connect_timeout = 2s\n"
             "query_timeout = 2s\n"
             "[serve]\n"
             "token_file = %s\n"
             "[target a]\n"
             "conninfo = host=%s port=%s user=postgres dbname=postgres\n"
             "%s%s%s%s%s"
             "[target gone]\n"
             "conninfo = host=127.0.0.1 port=%d user=postgres dbname=postgres\n"
             "%s",
             h_tmproot(), (int) getpid(), token_path, a.host, a.port,
             with_b ? "[target b]\nconninfo = host=" : "", with_b ? b.host : "",
             with_b ? " port=" : "", with_b ? b.port : "",
             with_b ? " user=postgres dbname=postgres\n" : "", dead_port, extra ? extra : "");
    f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        return NULL;
    return path;
}

static void
start_serve(HDaemon *d, const char *conf, int port, const char *const *more_env)
{
    char listen[64], url[128];
    const char *argv[] = {h_bin(), "serve", "-c", conf, "--listen", listen, NULL};
    char *log;

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_int_equal(h_daemon_start(d, NULL, argv, more_env), 0);
    snprintf(url, sizeof(url), "http://%s/healthz", listen);
    if (!h_wait_http(url, "ok", 15.0))
    {
        log = h_daemon_log(d);
        fprintf(stderr, "serve did not come up:\n%s\n", log);
        free(log);
        fail();
    }
}

static void
signal_cluster(const HCluster *c, int sig)
{
    pid_t pids[256];
    size_t n = h_cluster_pids(c, pids, 256), i;

    for (i = 0; i < n; i++)
        kill(pids[i], sig);
}

/* Polls /metrics until name{labels} == value. */
static bool
wait_metric(const char *url, double want, double timeout_s, const char *name, const char *l1,
            const char *l2)
{
    double until = h_now() + timeout_s;

    for (;;)
    {
        char *body = NULL;
        double v;

        h_http("GET", url, NULL, NULL, &body);
        v = metric(body ? body : "", name, l1, l2, NULL);
        if (v == want)
        {
            free(body);
            return true;
        }
        if (h_now() >= until)
        {
            const char *line;

            fprintf(stderr, "serve_test: %s{%s,%s} is %g, not %g; the target's series:\n", name,
                    l1, l2 ? l2 : "", v, want);
            for (line = body; line != NULL && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                if (strncmp(line, "pgmedic_", 8) == 0 && strstr(line, l1) != NULL &&
                    strstr(line, l1) < strchr(line, '\n'))
                    fprintf(stderr, "  %.*s\n", (int) strcspn(line, "\n"), line);
            free(body);
            return false;
        }
        free(body);
        usleep(50 * 1000);
    }
}

static void
test_serve_fleet(void **state)
{
    HDaemon d;
    int port = h_free_port(), dead = h_free_port();
    char conf[H_PATH_MAX], *body = NULL, metrics_url[128], url[160], auth[128];
    double t0, probes_a;
    long status, most_a = 0, most_b = 0;
    int i;

    (void) state;
    assert_true(port > 0 && dead > 0 && port != dead);
    assert_int_equal(h_sessions_open_idle(&a, 3, "fleet-app", false, NULL), 3);
    snprintf(conf, sizeof(conf), "%s/serve-fleet.ini", h_tmproot());
    assert_non_null(write_config(conf, NULL, dead, true));
    start_serve(&d, conf, port, NULL);
    snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%d/metrics", port);

    /* Both live targets up with their numbers, the dead one down. */
    assert_true(wait_metric(metrics_url, 1, 15, "pgmedic_up", "target=\"a\"", NULL));
    assert_true(wait_metric(metrics_url, 1, 15, "pgmedic_up", "target=\"b\"", NULL));
    assert_true(wait_metric(metrics_url, 0, 15, "pgmedic_up", "target=\"gone\"", NULL));
    assert_true(wait_metric(metrics_url, 3, 15, "pgmedic_application_connections",
                            "target=\"a\"", "application=\"fleet-app\""));
    status = h_http("GET", metrics_url, NULL, NULL, &body);
    assert_int_equal(status, 200);
    H_ASSERT_CONTAINS(body, "# TYPE pgmedic_up gauge");
    H_ASSERT_NOT_CONTAINS(body, "target=\"b\",application=\"fleet-app\"");
    free(body);

    /* One connection per target, never more, across many probes. */
    for (i = 0; i < 20; i++)
    {
        long na = h_pgmedic_backends(&a), nb = h_pgmedic_backends(&b);

        most_a = na > most_a ? na : most_a;
        most_b = nb > most_b ? nb : most_b;
        usleep(50 * 1000);
    }
    assert_true(most_a <= 1 && most_b <= 1);
    assert_int_equal(most_a, 1); /* and it is kept between probes */

    /* b hangs (every process stopped): /metrics keeps answering at once, a keeps being probed. */
    body = NULL;
    h_http("GET", metrics_url, NULL, NULL, &body);
    probes_a = metric(body, "pgmedic_probes_total", "target=\"a\"", NULL);
    free(body);
    signal_cluster(&b, SIGSTOP);
    for (i = 0; i < 10; i++)
    {
        t0 = h_now();
        body = NULL;
        status = h_http("GET", metrics_url, NULL, NULL, &body);
        assert_int_equal(status, 200);
        assert_true(h_now() - t0 < 1.0);
        free(body);
        usleep(200 * 1000);
    }
    body = NULL;
    h_http("GET", metrics_url, NULL, NULL, &body);
    assert_true(metric(body, "pgmedic_probes_total", "target=\"a\"", NULL) > probes_a + 2);
    free(body);
    /* Its probe times out (connect 2 s + query 2 s + 1 s): down. */
    assert_true(wait_metric(metrics_url, 0, 15, "pgmedic_up", "target=\"b\"", NULL));
    signal_cluster(&b, SIGCONT);
    assert_true(wait_metric(metrics_url, 1, 20, "pgmedic_up", "target=\"b\"", NULL));
    assert_true(h_pgmedic_backends(&b) <= 1);

    /* /probe: one target, probed on demand; unknown ones are 404. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?target=a", port);
    body = NULL;
    assert_int_equal(h_http("GET", url, NULL, NULL, &body), 200);
    assert_true(metric(body, "pgmedic_up", "target=\"a\"", NULL) == 1);
    H_ASSERT_NOT_CONTAINS(body, "target=\"b\"");
    free(body);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/probe?target=nope", port);
    assert_int_equal(h_http("GET", url, NULL, NULL, NULL), 404);

    /* The JSON status and incidents. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/status", port);
    body = NULL;
    assert_int_equal(h_http("GET", url, NULL, NULL, &body), 200);
    H_ASSERT_CONTAINS(body, "\"name\":\"gone\"");
    H_ASSERT_CONTAINS(body, "\"alert_states\"");
    free(body);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/incidents", port);
    assert_int_equal(h_http("GET", url, NULL, NULL, NULL), 200);

    /* Bad HTTP input: clean 4xx, and the daemon keeps serving. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/alertmanager", port);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    {
        const char *const good[] = {auth, "Content-Type: application/json", NULL};
        const char *const bad[] = {"Authorization: Bearer wrong-token-0123456789", NULL};
        char *big = malloc(2 * 1024 * 1024 + 1);

        assert_int_equal(h_http("POST", url, NULL, "{}", NULL), 401);
        assert_int_equal(h_http("POST", url, bad, "{}", NULL), 401);
        body = NULL;
        assert_int_equal(h_http("POST", url, good, "{not json", &body), 400);
        H_ASSERT_CONTAINS(body, "\"error\"");
        free(body);
        body = NULL;
        assert_int_equal(h_http("POST", url, good,
                                "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"r\","
                                "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":"
                                "\"DatabaseSlowQueries\",\"target\":\"nope\"}}]}",
                                &body),
                         202);
        H_ASSERT_CONTAINS(body, "not a configured target");
        free(body);
        assert_int_equal(h_http("GET", url, good, NULL, NULL), 405);
        assert_non_null(big);
        memset(big, 'x', 2 * 1024 * 1024);
        big[2 * 1024 * 1024] = '\0';
        assert_int_equal(h_http("POST", url, good, big, NULL), 413);
        free(big);
        snprintf(url, sizeof(url), "http://127.0.0.1:%d/nowhere", port);
        assert_int_equal(h_http("GET", url, NULL, NULL, NULL), 404);
    }
    assert_int_equal(h_http("GET", metrics_url, NULL, NULL, NULL), 200);

    /* SIGHUP adds a target without dropping the others. */
    {
        char extra[H_PATH_MAX + 128];

        snprintf(extra, sizeof(extra), "[target a2]\nconninfo = host=%s port=%s user=postgres "
                                       "dbname=template1\n", a.host, a.port);
        assert_non_null(write_config(conf, extra, dead, true));
    }
    kill(d.pid, SIGHUP);
    assert_true(wait_metric(metrics_url, 1, 15, "pgmedic_up", "target=\"a2\"", NULL));
    assert_true(wait_metric(metrics_url, 1, 5, "pgmedic_up", "target=\"a\"", NULL));

    /* SIGTERM: a clean exit, and its connections closed. */
    kill(d.pid, SIGTERM);
    assert_true(h_daemon_wait(&d, 15.0));
    assert_int_equal(d.status, 0);
    {
        char *log = h_daemon_log(&d);

        H_ASSERT_CONTAINS(log, "event=stopped");
        H_ASSERT_CONTAINS(log, "target=\"gone\" event=probe_failed");
        H_ASSERT_NOT_CONTAINS(log, token);
        free(log);
    }
    assert_true(h_wait_sql(&a, "SELECT count(*) = 0 FROM pg_stat_activity "
                               "WHERE application_name = 'pgmedic' AND pid <> pg_backend_pid()",
                           10.0));
}

static void
test_serve_refuses_bad_config(void **state)
{
    HRun r;
    char *conf = h_write_tmpfile("bad.ini", "[pgmedic]\ninterval = 1s\n");

    (void) state;
    assert_non_null(conf);
    H_RUN(&r, NULL, "serve", "-c", conf);
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "no [target NAME] section");
    h_run_free(&r);
    H_RUN(&r, NULL, "serve");
    H_ASSERT_EXIT(&r, 3);
    H_ASSERT_CONTAINS(r.err, "-c FILE");
    h_run_free(&r);
    free(conf);
}

/*
 * All ordinary slots taken: the target's role is refused, and serve looks
 * inside through reserved_conninfo (a superuser) on a connection it closes
 * after each probe.
 */
static void
test_serve_full_server_through_reserved_slot(void **state)
{
    HDaemon d;
    int port = h_free_port(), dead = h_free_port();
    char conf[H_PATH_MAX], metrics_url[128], extra[3 * H_PATH_MAX];
    const char *const plain[] = {"CREATE ROLE plain LOGIN", NULL};
    char *body = NULL;

    (void) state;
    assert_int_equal(h_sql(&b, plain[0]), 0);
    /* 30 max_connections - 3 reserved = 27 ordinary slots. */
    assert_int_equal(h_sessions_open_idle(&b, 27, "filler", false, NULL), 27);
    snprintf(extra, sizeof(extra),
             "[target full]\nconninfo = host=%s port=%s user=plain dbname=postgres\n"
             "reserved_conninfo = host=%s port=%s user=postgres dbname=postgres\n",
             b.host, b.port, b.host, b.port);
    snprintf(conf, sizeof(conf), "%s/serve-full.ini", h_tmproot());
    assert_non_null(write_config(conf, extra, dead, false));
    start_serve(&d, conf, port, NULL);
    snprintf(metrics_url, sizeof(metrics_url), "http://127.0.0.1:%d/metrics", port);
    assert_true(wait_metric(metrics_url, 1, 15, "pgmedic_login_refused", "target=\"full\"", NULL));
    h_http("GET", metrics_url, NULL, NULL, &body);
    /* The inside view: the 27 fillers are there. */
    assert_true(metric(body, "pgmedic_application_connections", "target=\"full\"",
                       "application=\"filler\"", NULL) == 27);
    free(body);
    h_daemon_stop(&d);
    assert_int_equal(d.status, 0);
    /* The reserved connection is not kept between probes. */
    assert_true(h_wait_sql(&b, "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name "
                               "= 'pgmedic' AND pid <> pg_backend_pid()", 10.0));
    (void) plain;
}

/* A [maintenance] window that is open now: serve runs maintain --apply on each target. */
static void
test_serve_maintenance_window(void **state)
{
    HDaemon d;
    int port = h_free_port(), dead = h_free_port();
    char conf[H_PATH_MAX];
    double until;
    bool done = false;
    HRun r;

    (void) state;
    /* A table with dead tuples and autovacuum off: work for maintain. */
    assert_int_equal(h_sql(&a, "DROP TABLE IF EXISTS maint_t; "
                               "CREATE TABLE maint_t (id int) WITH (autovacuum_enabled = off); "
                               "INSERT INTO maint_t SELECT generate_series(1, 20000); "
                               "DELETE FROM maint_t WHERE id % 2 = 0"), 0);
    snprintf(conf, sizeof(conf), "%s/serve-maint.ini", h_tmproot());
    {
        /* A window open from an hour ago to two hours from now (local time). */
        time_t from = time(NULL) - 3600, to = time(NULL) + 7200;
        struct tm a_tm, b_tm;
        char extra[128];

        localtime_r(&from, &a_tm);
        localtime_r(&to, &b_tm);
        snprintf(extra, sizeof(extra), "[maintenance]\nwindow = daily %02d:%02d-%02d:%02d\n",
                 a_tm.tm_hour, a_tm.tm_min, b_tm.tm_hour, b_tm.tm_min);
        assert_non_null(write_config(conf, extra, dead, false));
    }
    start_serve(&d, conf, port, NULL);
    until = h_now() + 60;
    while (!done && h_now() < until)
    {
        char *log = h_daemon_log(&d);

        done = strstr(log, "target=\"a\" event=maintenance msg=\"maintain --apply done") != NULL;
        free(log);
        if (!done)
            usleep(100 * 1000);
    }
    if (!done)
    {
        char *log = h_daemon_log(&d);

        fprintf(stderr, "serve:\n%s\n", log);
        free(log);
    }
    assert_true(done);
    h_daemon_stop(&d);
    assert_int_equal(d.status, 0);
    /* The vacuum is in the audit log, and the dead tuples are gone. */
    H_RUN(&r, NULL, "audit", "-c", conf, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "maint_t");
    h_run_free(&r);
    assert_true(h_wait_sql(&a, "SELECT n_dead_tup = 0 FROM pg_stat_user_tables WHERE relname = 'maint_t'",
                           10.0));
}

/* Percent-encodes s for a query string. */
static void
urlencode(const char *s, char *out, size_t size)
{
    size_t n = 0;

    for (; *s && n + 4 < size; s++)
    {
        unsigned char c = (unsigned char) *s;

        if (isalnum(c) || strchr("-_.~", c) != NULL)
            out[n++] = (char) c;
        else
            n += (size_t) snprintf(out + n, size - n, "%%%02X", c);
    }
    out[n] = '\0';
}

static void
start_tool(HDaemon *d, const char *const *argv, const char *ready_url)
{
    if (h_daemon_start(d, NULL, argv, NULL) != 0 || !h_wait_http(ready_url, "", 30.0))
    {
        char *log = h_daemon_log(d);

        fprintf(stderr, "%s did not come up:\n%s\n", argv[0], log);
        free(log);
        fail();
    }
}

/*
 * A real Alertmanager routes an alert to serve's webhook (with the bearer
 * token from a credentials file); serve triages, opens an incident, applies
 * the terminate-idle that [policy] auto_fix allows, and verifies.  Without
 * the token nothing runs.
 */
static void
test_alertmanager_webhook_auto_fix(void **state)
{
    HDaemon serve, am;
    int port = h_free_port(), dead = h_free_port(), am_port = h_free_port();
    char conf[H_PATH_MAX], amconf[H_PATH_MAX], amdir[H_PATH_MAX], url[256], text[2048];
    char listen_arg[64], config_arg[H_PATH_MAX + 20], storage_arg[H_PATH_MAX + 20], extra[512];
    char *body = NULL, *log;
    const char *alert = "[{\"labels\":{\"alertname\":\"DatabaseHighConnections\",\"target\":\"a\","
                        "\"severity\":\"warning\"},\"annotations\":{\"summary\":\"leak test\"}}]";
    const char *const json[] = {"Content-Type: application/json", NULL};
    FILE *f;
    HRun r;

    (void) state;
    assert_true(port > 0 && dead > 0 && am_port > 0);
    assert_int_equal(h_sessions_open_idle(&a, 8, "leaky-app", false, NULL), 8);
    assert_true(h_wait_sql(&a, "SELECT count(*) = 8 FROM pg_stat_activity WHERE application_name "
                               "= 'leaky-app' AND state = 'idle' AND now() - state_change > "
                               "interval '1.2 s'", 10.0));

    /* Alertmanager with a webhook receiver pointing at serve. */
    snprintf(amconf, sizeof(amconf), "%s/alertmanager.yml", h_tmproot());
    snprintf(amdir, sizeof(amdir), "%s/alertmanager-data", h_tmproot());
    mkdir(amdir, 0700);
    f = fopen(amconf, "w");
    assert_non_null(f);
    fprintf(f,
            "route:\n"
            "  receiver: pgmedic\n"
            "  group_by: [alertname, target]\n"
            "  group_wait: 1s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            "  - name: pgmedic\n"
            "    webhook_configs:\n"
            "      - url: http://127.0.0.1:%d/api/v1/alertmanager\n"
            "        send_resolved: true\n"
            "        http_config:\n"
            "          authorization:\n"
            "            type: Bearer\n"
            "            credentials_file: %s\n",
            port, token_path);
    fclose(f);
    snprintf(config_arg, sizeof(config_arg), "--config.file=%s", amconf);
    snprintf(storage_arg, sizeof(storage_arg), "--storage.path=%s", amdir);
    snprintf(listen_arg, sizeof(listen_arg), "--web.listen-address=127.0.0.1:%d", am_port);
    {
        const char *const argv[] = {"/usr/bin/prometheus-alertmanager", config_arg, storage_arg,
                                    listen_arg, "--cluster.listen-address=", NULL};

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", am_port);
        start_tool(&am, argv, url);
    }

    /* serve pushes its own alerts there too: "gone" fires at once. */
    snprintf(conf, sizeof(conf), "%s/serve-am.ini", h_tmproot());
    snprintf(extra, sizeof(extra),
             "[thresholds]\nidle_connection = 1s\n"
             "[policy]\nauto_fix = terminate-idle\n"
             "[serve]\nalertmanager_url = http://127.0.0.1:%d\n"
             "[alerts]\nconnection_failure_for = 0s\n", am_port);
    assert_non_null(write_config(conf, extra, dead, false));
    start_serve(&serve, conf, port, NULL);

    /* Without the token: 401, and nothing is done. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/alertmanager", port);
    snprintf(text, sizeof(text), "{\"version\":\"4\",\"status\":\"firing\",\"receiver\":\"x\","
                                 "\"alerts\":%s}", alert);
    assert_int_equal(h_http("POST", url, json, text, NULL), 401);
    assert_true(h_wait_sql(&a, "SELECT count(*) = 8 FROM pg_stat_activity WHERE application_name "
                               "= 'leaky-app'", 5.0));

    /* serve's own alert reached Alertmanager. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v2/alerts", am_port);
    {
        double until = h_now() + 30;
        bool pushed = false;

        while (!pushed && h_now() < until)
        {
            body = NULL;
            h_http("GET", url, NULL, NULL, &body);
            pushed = body != NULL && strstr(body, "\"alertname\":\"DatabaseConnectionFailure\"") &&
                     strstr(body, "\"target\":\"gone\"");
            free(body);
            if (!pushed)
                usleep(100 * 1000);
        }
        assert_true(pushed);
    }

    /* An alert posted to Alertmanager reaches serve through the webhook. */
    assert_int_equal(h_http("POST", url, json, alert, NULL), 200);

    /* The leak is cleared by the auto-fix, and verify passes. */
    if (!h_wait_sql(&a, "SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = "
                        "'leaky-app'", 60.0))
    {
        log = h_daemon_log(&serve);
        fprintf(stderr, "serve:\n%s\n", log);
        free(log);
        fail();
    }
    {
        double until = h_now() + 60;
        bool verified = false;

        while (!verified && h_now() < until)
        {
            log = h_daemon_log(&serve);
            verified = strstr(log, "verify after auto-fix: recovered") != NULL;
            free(log);
            if (!verified)
                usleep(100 * 1000);
        }
        log = h_daemon_log(&serve);
        if (!verified)
            fprintf(stderr, "serve:\n%s\n", log);
        assert_true(verified);
        H_ASSERT_CONTAINS(log, "event=webhook");
        H_ASSERT_CONTAINS(log, "event=auto_fix");
        H_ASSERT_NOT_CONTAINS(log, token);
        free(log);
    }
    /* The incident and its timeline: Alertmanager, the fix, the verify. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/incidents", port);
    assert_int_equal(h_http("GET", url, NULL, NULL, &body), 200);
    H_ASSERT_CONTAINS(body, "DatabaseHighConnections");
    free(body);
    H_RUN(&r, NULL, "audit", "-c", conf, "--format", "json");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "terminate-idle");
    h_run_free(&r);

    h_daemon_stop(&am);
    h_daemon_stop(&serve);
    assert_int_equal(serve.status, 0);
}

/*
 * A real Prometheus scrapes serve and evaluates `pgmedic rules`: with the
 * connections seeded past 80 % of the usable slots, the alert expression
 * returns the target's series and the alert is pending.
 */
static void
test_prometheus_scrapes_and_evaluates_rules(void **state)
{
    HDaemon serve, prom;
    int port = h_free_port(), dead = h_free_port(), prom_port = h_free_port();
    char conf[H_PATH_MAX], rules[H_PATH_MAX], promconf[H_PATH_MAX], promdir[H_PATH_MAX];
    char url[1024], q[768], config_arg[H_PATH_MAX + 20], storage_arg[H_PATH_MAX + 30];
    char listen_arg[64];
    double until;
    bool seen = false;
    FILE *f;
    HRun r;

    (void) state;
    assert_true(port > 0 && dead > 0 && prom_port > 0);
    /* 30 max_connections - 3 reserved = 27 usable; 23 clients = 85 %. */
    assert_int_equal(h_sessions_open_idle(&a, 23, "busy-app", false, NULL), 23);
    snprintf(conf, sizeof(conf), "%s/serve-prom.ini", h_tmproot());
    assert_non_null(write_config(conf, NULL, dead, false));
    start_serve(&serve, conf, port, NULL);

    H_RUN(&r, NULL, "rules");
    H_ASSERT_EXIT(&r, 0);
    snprintf(rules, sizeof(rules), "%s/pgmedic.rules.yml", h_tmproot());
    f = fopen(rules, "w");
    assert_non_null(f);
    fputs(r.out, f);
    fclose(f);
    h_run_free(&r);

    snprintf(promconf, sizeof(promconf), "%s/prometheus.yml", h_tmproot());
    snprintf(promdir, sizeof(promdir), "%s/prometheus-data", h_tmproot());
    f = fopen(promconf, "w");
    assert_non_null(f);
    fprintf(f,
            "global:\n"
            "  scrape_interval: 1s\n"
            "  evaluation_interval: 1s\n"
            "rule_files: [%s]\n"
            "scrape_configs:\n"
            "  - job_name: pgmedic\n"
            "    static_configs:\n"
            "      - targets: ['127.0.0.1:%d']\n",
            rules, port);
    fclose(f);
    snprintf(config_arg, sizeof(config_arg), "--config.file=%s", promconf);
    snprintf(storage_arg, sizeof(storage_arg), "--storage.tsdb.path=%s", promdir);
    snprintf(listen_arg, sizeof(listen_arg), "--web.listen-address=127.0.0.1:%d", prom_port);
    {
        const char *const argv[] = {"/usr/bin/prometheus", config_arg, storage_arg, listen_arg,
                                    NULL};

        snprintf(url, sizeof(url), "http://127.0.0.1:%d/-/ready", prom_port);
        start_tool(&prom, argv, url);
    }

    /* The alert's expression, as `pgmedic rules` wrote it, over the scraped series. */
    urlencode("sum without (state) (pgmedic_connections) / pgmedic_connection_slots_usable >= 0.8",
              q, sizeof(q));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", prom_port, q);
    until = h_now() + 60;
    while (!seen && h_now() < until)
    {
        char *body = NULL;

        h_http("GET", url, NULL, NULL, &body);
        seen = body != NULL && strstr(body, "\"target\":\"a\"") != NULL;
        if (seen)
            H_ASSERT_NOT_CONTAINS(body, "\"target\":\"gone\"");
        free(body);
        if (!seen)
            usleep(200 * 1000);
    }
    assert_true(seen);
    /* And Prometheus holds the alert pending (for: 5m). */
    urlencode("ALERTS{alertname=\"DatabaseHighConnections\",target=\"a\",severity=\"warning\"}",
              q, sizeof(q));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/query?query=%s", prom_port, q);
    seen = false;
    until = h_now() + 30;
    while (!seen && h_now() < until)
    {
        char *body = NULL;

        h_http("GET", url, NULL, NULL, &body);
        seen = body != NULL && strstr(body, "\"alertstate\":\"pending\"") != NULL;
        free(body);
        if (!seen)
            usleep(200 * 1000);
    }
    assert_true(seen);
    h_daemon_stop(&prom);
    h_daemon_stop(&serve);
    assert_int_equal(serve.status, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_serve_refuses_bad_config),
        cmocka_unit_test_teardown(test_serve_fleet, close_sessions),
        cmocka_unit_test_teardown(test_serve_full_server_through_reserved_slot, close_sessions),
        cmocka_unit_test_teardown(test_serve_maintenance_window, close_sessions),
        cmocka_unit_test_teardown(test_alertmanager_webhook_auto_fix, close_sessions),
        cmocka_unit_test_teardown(test_prometheus_scrapes_and_evaluates_rules, close_sessions),
    };

    return cmocka_run_group_tests_name("serve", tests, setup, teardown);
}
