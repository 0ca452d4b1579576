/*
 * statuspage_test.c - serve's status page (GET /) as a browser shows it:
 * headless Chromium from Debian loads it from a serve watching a throwaway
 * cluster with a seeded incident (a lock chain whose application name is
 * HTML, an alert that fires at once, an incident opened by triage), and the
 * rendered DOM must show the alert, the finding, the incident and the
 * charts, with the application name as text; a screenshot is taken too.
 *
 * Skipped when chromium is not installed (scripts/deps.sh installs it).
 * Everything waits by polling with a deadline; nothing sleeps a fixed time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define CHROMIUM "/usr/bin/chromium"

/* This test's own range of TCP ports for serve. */
#define PORT_FIRST 58500
#define PORT_LAST  58999

/* The lock chain's application: markup that must reach the DOM as text only. */
#define APP "<b>chain</b>&app"

static HCluster a;

static int
setup(void **state)
{
    const char *const sets[] = {"max_connections=30", NULL};

    (void) state;
    return h_cluster_start(&a, sets);
}

static int
teardown(void **state)
{
    (void) state;
    h_cluster_stop(&a);
    return 0;
}

/* A port of PORT_FIRST..PORT_LAST that nothing listens on now (from a start that varies by pid). */
static int
free_port(void)
{
    int span = PORT_LAST - PORT_FIRST + 1, i;

    for (i = 0; i < span; i++)
    {
        int port = PORT_FIRST + (int) ((getpid() + i) % span);
        struct sockaddr_in sa;
        int fd = socket(AF_INET, SOCK_STREAM, 0), ok;

        if (fd < 0)
            return -1;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_port = htons((uint16_t) port);
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ok = bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        close(fd);
        if (ok)
            return port;
    }
    return -1;
}

/* Runs chromium headless on url with extra arguments; the run is asserted to have ended. */
static void
chromium(HRun *r, const char *url, const char *profile, const char *extra1, const char *extra2)
{
    char profile_arg[H_PATH_MAX + 32];
    const char *argv[16];
    size_t n = 0;

    snprintf(profile_arg, sizeof(profile_arg), "--user-data-dir=%s", profile);
    argv[n++] = CHROMIUM;
    argv[n++] = "--headless";
    argv[n++] = "--no-sandbox"; /* as root there is no other way */
    argv[n++] = "--disable-gpu";
    argv[n++] = "--disable-background-networking";
    argv[n++] = "--disable-dev-shm-usage";
    argv[n++] = "--no-first-run";
    argv[n++] = profile_arg;
    argv[n++] = extra1;
    if (extra2 != NULL)
        argv[n++] = extra2;
    argv[n++] = url;
    argv[n] = NULL;
    assert_int_equal(h_exec(r, NULL, argv, NULL, 30.0), 0);
    if (r->timed_out || r->exit_code != 0)
        h_run_dump(r, "chromium");
    assert_false(r->timed_out);
    assert_int_equal(r->exit_code, 0);
}

/* The width and height of a PNG from its IHDR chunk; false when it is not a PNG. */
static bool
png_size(const unsigned char *p, size_t len, unsigned *w, unsigned *h)
{
    if (len < 24 || memcmp(p, "\x89PNG\r\n\x1a\n", 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
        return false;
    *w = (unsigned) p[16] << 24 | (unsigned) p[17] << 16 | (unsigned) p[18] << 8 | p[19];
    *h = (unsigned) p[20] << 24 | (unsigned) p[21] << 16 | (unsigned) p[22] << 8 | p[23];
    return true;
}

static void
test_status_page_in_chromium(void **state)
{
    HDaemon serve;
    HRun r;
    int pids[3], port;
    char conf[H_PATH_MAX], url[128], text[4096], sql[512], profile[H_PATH_MAX], shot[H_PATH_MAX],
        shot_arg[H_PATH_MAX + 16];
    const char *argv[8];
    char listen[64], *body = NULL, *png;
    size_t png_len;
    unsigned w, h;
    FILE *f;

    (void) state;
    if (access(CHROMIUM, X_OK) != 0)
    {
        print_message("chromium is not installed (apt-get install --no-install-recommends "
                      "chromium): the status page is not tested in a browser\n");
        skip();
    }

    /* The seeded incident: a lock chain, past lock_wait at once. */
    assert_int_equal(h_lock_chain(&a, APP, pids), 0);
    snprintf(sql, sizeof(sql),
             "SELECT count(*) = 2 FROM pg_locks WHERE NOT granted AND pid IN (%d, %d) "
             "AND clock_timestamp() - waitstart > interval '1.2 s'",
             pids[1], pids[2]);
    assert_true(h_wait_sql(&a, sql, 10.0));

    snprintf(conf, sizeof(conf), "%s/statuspage.ini", h_tmproot());
    snprintf(text, sizeof(text),
             "[pgmedic]\n"
             "store = %s/statuspage-%d.db\n"
             "interval = 500ms\n"
             "connect_timeout = 2s\n"
             "query_timeout = 2s\n"
             "[thresholds]\n"
             "lock_wait = 1s\n"
             "slow_query_warning = 1s\n"
             "[alerts]\n"
             "slow_queries_for = 0s\n"
             "[target a]\n"
             "conninfo = host=%s port=%s user=postgres dbname=postgres\n",
             h_tmproot(), (int) getpid(), a.host, a.port);
    f = fopen(conf, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);

    /* The incident, opened by triage in the store serve reads. */
    H_RUN(&r, NULL, "triage", "-c", conf, "--target", "a", "--open-incident");
    H_ASSERT_EXIT(&r, 1);
    H_ASSERT_CONTAINS(r.out, "lock_contention");
    h_run_free(&r);

    port = free_port();
    assert_true(port > 0);
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    argv[0] = h_bin();
    argv[1] = "serve";
    argv[2] = "-c";
    argv[3] = conf;
    argv[4] = "--listen";
    argv[5] = listen;
    argv[6] = NULL;
    assert_int_equal(h_daemon_start(&serve, NULL, argv, NULL), 0);

    /* The page, once the alert fires and the finding is there. */
    snprintf(url, sizeof(url), "http://%s/", listen);
    if (!h_wait_http(url, "data-alert=\"DatabaseSlowQueries\" data-state=\"firing\"", 30.0))
    {
        char *log = h_daemon_log(&serve);

        fprintf(stderr, "serve:\n%s\n", log);
        free(log);
        fail();
    }
    assert_int_equal(h_http("GET", url, NULL, NULL, &body), 200);
    H_ASSERT_CONTAINS(body, "<!DOCTYPE html>");
    H_ASSERT_CONTAINS(body, "data-kind=\"lock_contention\"");
    H_ASSERT_CONTAINS(body, "&lt;b&gt;chain&lt;/b&gt;&amp;app");
    H_ASSERT_NOT_CONTAINS(body, APP);
    free(body);
    {
        const char *const curl[] = {"/usr/bin/curl", "-s", "-o", "/dev/null", "-D", "-", url, NULL};

        assert_int_equal(h_exec(&r, NULL, curl, NULL, 20.0), 0);
        H_ASSERT_CONTAINS(r.out, "text/html; charset=utf-8");
        h_run_free(&r);
    }

    /* The DOM as Chromium built it. */
    snprintf(profile, sizeof(profile), "%s/chromium-profile", h_tmproot());
    chromium(&r, url, profile, "--dump-dom", NULL);
    H_ASSERT_CONTAINS(r.out, "<title>pgmedic: 1 warning</title>");
    H_ASSERT_CONTAINS(r.out, "data-alert=\"DatabaseSlowQueries\" data-state=\"firing\"");
    H_ASSERT_CONTAINS(r.out, "<td>DatabaseSlowQueries</td>");
    H_ASSERT_CONTAINS(r.out, "<li class=\"finding\" data-kind=\"lock_contention\">");
    H_ASSERT_CONTAINS(r.out, "<span class=\"kind\">lock_contention</span>");
    H_ASSERT_CONTAINS(r.out, "explains DatabaseSlowQueries");
    H_ASSERT_CONTAINS(r.out, "<code>pgmedic fix terminate-blockers");
    /* The incident triage opened, in the page's table and the target's. */
    assert_int_equal(h_count_substr(r.out, "<tr data-incident=\"1\">"), 2);
    H_ASSERT_CONTAINS(r.out, "incident 1 opened</text>");
    /* The chart, drawn from the samples serve stored. */
    assert_int_equal(h_count_substr(r.out, "<svg xmlns=\"http://www.w3.org/2000/svg\""), 1);
    H_ASSERT_CONTAINS(r.out, "a: connections by state and longest query</title>");
    H_ASSERT_CONTAINS(r.out, "<polyline ");
    H_ASSERT_CONTAINS(r.out, "<circle ");
    H_ASSERT_NOT_CONTAINS(r.out, "no samples in the last");
    /* The application's markup is text in the DOM, not an element. */
    H_ASSERT_CONTAINS(r.out, "&lt;b&gt;chain&lt;/b&gt;&amp;app");
    H_ASSERT_NOT_CONTAINS(r.out, "<b>");
    h_run_free(&r);

    /* A screenshot of the page as it renders. */
    snprintf(shot, sizeof(shot), "%s/statuspage.png", h_tmproot());
    snprintf(shot_arg, sizeof(shot_arg), "--screenshot=%s", shot);
    unlink(shot);
    chromium(&r, url, profile, shot_arg, "--window-size=1280,2000");
    h_run_free(&r);
    png = h_read_file(shot, &png_len);
    assert_non_null(png);
    assert_true(png_size((const unsigned char *) png, png_len, &w, &h));
    assert_int_equal(w, 1280);
    assert_int_equal(h, 2000);
    /* A blank page of that size compresses to a few kB; this one has text, tables and a chart. */
    if (png_len < 40 * 1024)
        fprintf(stderr, "screenshot %s: only %zu bytes\n", shot, png_len);
    assert_true(png_len >= 40 * 1024);
    free(png);

    h_daemon_stop(&serve);
    assert_int_equal(serve.status, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_page_in_chromium),
    };

    return cmocka_run_group_tests_name("statuspage", tests, setup, teardown);
}
