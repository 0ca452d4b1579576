/*
 * metrics_test.c - the Prometheus exposition of serve's targets: exact
 * values on known snapshots, label escaping of what the server sends, the
 * top-N bound on applications, a target that is down, one never probed, two
 * in one exposition; the text format's structure (HELP and TYPE once per
 * family, samples together, no duplicate series), `promtool check metrics`
 * on every fixture, and the names the alert rules, their promtool tests and
 * docs/alerts.md use against what metrics_render writes.
 */
#include <glob.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/alertstate.h"
#include "render/metrics.h"
#include "unit.h"
#include "util/arena.h"

/* ------------------------------------------------------------ helpers */

static void
assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("expected to find\n  %s\nin\n%s", needle, haystack);
}

static void
assert_lacks(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) != NULL)
        fail_msg("did not expect\n  %s\nin\n%s", needle, haystack);
}

/* Occurrences of needle in text. */
static size_t
count(const char *text, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    const char *p = text;

    while ((p = strstr(p, needle)) != NULL)
    {
        n++;
        p += len;
    }
    return n;
}

/* A path under the source tree ($PGMEDIC_SRCDIR, default "."). */
static void
src_path(const char *name, char *buf, size_t size)
{
    const char *root = getenv("PGMEDIC_SRCDIR");

    snprintf(buf, size, "%s/%s", root ? root : ".", name);
}

/* A whole file under the source tree, malloc'ed; fails the test when unreadable. */
static char *
read_src(const char *name)
{
    char path[1024];
    FILE *f;
    char *buf;
    long size;

    src_path(name, path, sizeof(path));
    f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t) size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) size, f), (size_t) size);
    buf[size] = '\0';
    fclose(f);
    return buf;
}

static MetricsTarget
target_of(const char *name, const Snapshot *snap, const AlertTracker *alerts)
{
    MetricsTarget t;

    memset(&t, 0, sizeof(t));
    t.target = name;
    t.snap = snap;
    t.alerts = alerts;
    t.probes_total = snap ? 7 : 0;
    t.probe_errors_total = snap && snap->failure != CONN_OK ? 2 : 0;
    t.last_probe_seconds = snap ? 0.004 : 0;
    return t;
}

/* The exposition of targets, malloc'ed. */
static char *
render(const MetricsTarget *targets, size_t n, int top_apps)
{
    Thresholds th = unit_default_thresholds();
    StrBuf out = STRBUF_INIT;
    char *text;

    assert_int_equal(metrics_render(&out, targets, n, &th, top_apps), 0);
    assert_true(strbuf_ok(&out));
    text = strdup(strbuf_str(&out));
    assert_non_null(text);
    strbuf_free(&out);
    return text;
}

/* The sample lines of text (no comments), malloc'ed. */
static char *
samples_of(const char *text)
{
    StrBuf out = STRBUF_INIT;
    const char *p = text;
    char *copy;

    while (*p != '\0')
    {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t) (eol - p) + 1 : strlen(p);

        if (p[0] != '#')
            strbuf_append_len(&out, p, len);
        p += len;
    }
    copy = strdup(strbuf_str(&out));
    assert_non_null(copy);
    strbuf_free(&out);
    return copy;
}

static int
str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * What promtool 2.42 does not check: every family has one HELP then one
 * TYPE (gauge or counter, counters named _total), appears once, and has its
 * samples right after; every sample is a pgmedic_ name with a target label
 * and a number; no series twice.
 */
static void
assert_well_formed(const char *text)
{
    char *copy = strdup(text), *line, *save = NULL;
    char *families[64], *series[4096];
    size_t n_families = 0, n_series = 0, i;
    char current[128] = "";
    bool want_type = false;

    assert_non_null(copy);
    for (line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
    {
        if (strncmp(line, "# HELP ", 7) == 0)
        {
            const char *name = line + 7, *sp = strchr(name, ' ');

            if (want_type || sp == NULL || sp - name >= (long) sizeof(current))
                fail_msg("HELP out of place or without text: %s", line);
            snprintf(current, sizeof(current), "%.*s", (int) (sp - name), name);
            for (i = 0; i < n_families; i++)
                if (strcmp(families[i], current) == 0)
                    fail_msg("family %s appears twice", current);
            assert_true(n_families < PM_LENGTHOF(families));
            families[n_families++] = strdup(current);
            if (strncmp(current, "pgmedic_", 8) != 0)
                fail_msg("family %s does not start with pgmedic_", current);
            want_type = true;
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0)
        {
            char expect_gauge[160], expect_counter[160];

            snprintf(expect_gauge, sizeof(expect_gauge), "# TYPE %s gauge", current);
            snprintf(expect_counter, sizeof(expect_counter), "# TYPE %s counter", current);
            if (!want_type ||
                (strcmp(line, expect_gauge) != 0 && strcmp(line, expect_counter) != 0))
                fail_msg("unexpected TYPE line: %s", line);
            if ((strcmp(line, expect_counter) == 0) !=
                (strlen(current) > 6 && strcmp(current + strlen(current) - 6, "_total") == 0))
                fail_msg("counters, and only they, end in _total: %s", line);
            want_type = false;
            continue;
        }
        if (line[0] == '#')
            fail_msg("unexpected comment: %s", line);
        {
            size_t name_len = strlen(current);
            char *sp = strrchr(line, ' '), *end;

            if (want_type || name_len == 0 || strncmp(line, current, name_len) != 0 ||
                strncmp(line + name_len, "{target=\"", 9) != 0)
                fail_msg("sample outside its family %s, or without a target label: %s", current,
                         line);
            if (sp == NULL || sp[-1] != '}')
                fail_msg("sample without a value: %s", line);
            (void) strtod(sp + 1, &end);
            if (end == sp + 1 || *end != '\0')
                fail_msg("value is not a number: %s", line);
            *sp = '\0';
            assert_true(n_series < PM_LENGTHOF(series));
            series[n_series++] = line;
        }
    }
    qsort(series, n_series, sizeof(char *), str_cmp);
    for (i = 1; i < n_series; i++)
        if (strcmp(series[i - 1], series[i]) == 0)
            fail_msg("series twice: %s", series[i]);
    for (i = 0; i < n_families; i++)
        free(families[i]);
    free(copy);
}

/* ------------------------------------------------------------ exact values */

static void
test_metrics_render_healthy_exact(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    MetricsTarget t;
    char *text, *samples;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    t = target_of("db1", &snap, NULL);
    text = render(&t, 1, 10);
    assert_well_formed(text);
    samples = samples_of(text);
    assert_string_equal(samples,
                        "pgmedic_up{target=\"db1\"} 1\n"
                        "pgmedic_probes_total{target=\"db1\"} 7\n"
                        "pgmedic_probe_errors_total{target=\"db1\"} 0\n"
                        "pgmedic_probe_duration_seconds{target=\"db1\"} 0.004\n"
                        "pgmedic_login_refused{target=\"db1\"} 0\n"
                        "pgmedic_connections{target=\"db1\",state=\"active\"} 1\n"
                        "pgmedic_connections{target=\"db1\",state=\"idle\"} 4\n"
                        "pgmedic_connections{target=\"db1\",state=\"idle in transaction\"} 0\n"
                        "pgmedic_connections{target=\"db1\",state=\"other\"} 0\n"
                        "pgmedic_application_connections{target=\"db1\",application=\"api\"} 4\n"
                        "pgmedic_application_connections{target=\"db1\",application=\"other\"} 1\n"
                        "pgmedic_connection_slots_usable{target=\"db1\"} 20\n"
                        "pgmedic_connection_slots_reserved{target=\"db1\"} 3\n"
                        "pgmedic_longest_query_seconds{target=\"db1\"} 0.2\n"
                        "pgmedic_longest_transaction_seconds{target=\"db1\"} 0.2\n"
                        "pgmedic_longest_idle_in_transaction_seconds{target=\"db1\"} 0\n"
                        "pgmedic_longest_idle_seconds{target=\"db1\"} 30\n"
                        "pgmedic_lock_waiting_sessions{target=\"db1\"} 0\n"
                        "pgmedic_longest_lock_wait_seconds{target=\"db1\"} 0\n"
                        "pgmedic_lock_trees{target=\"db1\"} 0\n"
                        "pgmedic_lock_chain_max_depth{target=\"db1\"} 0\n"
                        "pgmedic_dead_tuples{target=\"db1\"} 0\n"
                        "pgmedic_bloated_tables{target=\"db1\"} 0\n"
                        "pgmedic_stale_statistics_tables{target=\"db1\"} 0\n"
                        "pgmedic_wal_bytes{target=\"db1\"} 16777216\n");
    /* HELP and TYPE lines for each family, with the unit in the name. */
    assert_contains(text, "# HELP pgmedic_longest_query_seconds Age of the oldest active query");
    assert_contains(text, "# TYPE pgmedic_probes_total counter\n");
    assert_contains(text, "# TYPE pgmedic_up gauge\n");
    free(samples);
    free(text);
    arena_free(arena);
}

/* The value of one series in text; fails when absent. */
static double
value_of(const char *text, const char *series)
{
    char needle[512];
    const char *p;

    snprintf(needle, sizeof(needle), "\n%s ", series);
    p = strstr(text, needle);
    if (p == NULL)
        fail_msg("no series %s in\n%s", series, text);
    return strtod(p + strlen(needle), NULL);
}

static void
test_metrics_render_lock_trees(void **state)
{
    static const struct
    {
        const char *fixture;
        double waiting, longest_wait, trees, depth;
    } cases[] = {
        /* 300 blocks 301, 302, 306; 302 waits for 301 too; 303 for 302 and 306: 300-301-302-303. */
        {"diagnose/lock_contention.json", 4, 20, 1, 3},
        /* 9999 (not in the snapshot) roots 701 -> 702 and 706; 703 <-> 704 is a cycle. */
        {"diagnose/lock_missing_pid.json", 7, 9, 1, 2},
        /* A cycle alone: sessions wait, but no one is a root. */
        {"diagnose/lock_cycle.json", 2, 8, 0, 0},
        {"diagnose/lock_root_idle_in_xact.json", 2, 30, 1, 1},
        {"snapshots/slow_lock_waiter.json", 1, 12, 1, 1},
        {"snapshots/healthy.json", 0, 0, 0, 0},
    };

    size_t i;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(cases); i++)
    {
        Arena *arena = arena_new();
        Snapshot snap;
        MetricsTarget t;
        char *text;

        unit_load_snapshot(cases[i].fixture, arena, &snap);
        t = target_of("db", &snap, NULL);
        text = render(&t, 1, 10);
        if (value_of(text, "pgmedic_lock_waiting_sessions{target=\"db\"}") != cases[i].waiting ||
            value_of(text, "pgmedic_longest_lock_wait_seconds{target=\"db\"}") !=
                cases[i].longest_wait ||
            value_of(text, "pgmedic_lock_trees{target=\"db\"}") != cases[i].trees ||
            value_of(text, "pgmedic_lock_chain_max_depth{target=\"db\"}") != cases[i].depth)
            fail_msg("%s: want waiting %g, longest wait %g, trees %g, depth %g in\n%s",
                     cases[i].fixture, cases[i].waiting, cases[i].longest_wait, cases[i].trees,
                     cases[i].depth, text);
        free(text);
        arena_free(arena);
    }
}

/* A chain of 20,000 waiters: no recursion to overflow, and depth counts every edge. */
static void
test_metrics_render_long_lock_chain(void **state)
{
    enum
    {
        N = 20000
    };

    Arena *arena = arena_new();
    Snapshot snap;
    Session *sessions = arena_array(arena, N, sizeof(Session));
    int32_t *blockers = arena_array(arena, N, sizeof(int32_t));
    MetricsTarget t;
    char *text;
    size_t i;

    (void) state;
    assert_non_null(sessions);
    assert_non_null(blockers);
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    /* Listed from the end of the chain, so the sort matters. */
    for (i = 0; i < N; i++)
    {
        Session *s = &sessions[i];

        s->pid = (int32_t) (N - i);
        s->state = "active";
        s->lock_wait_s = s->pid == 1 ? -1 : (double) s->pid;
        blockers[i] = s->pid - 1;
        s->blocked_by = s->pid == 1 ? NULL : &blockers[i];
        s->n_blocked_by = s->pid == 1 ? 0 : 1;
    }
    snap.sessions = sessions;
    snap.n_sessions = N;
    t = target_of("db", &snap, NULL);
    text = render(&t, 1, 10);
    assert_contains(text, "\npgmedic_lock_trees{target=\"db\"} 1\n");
    assert_contains(text, "\npgmedic_lock_chain_max_depth{target=\"db\"} 19999\n");
    assert_contains(text, "\npgmedic_longest_lock_wait_seconds{target=\"db\"} 20000\n");
    free(text);
    arena_free(arena);
}

static void
test_metrics_render_tables_and_wal(void **state)
{
    static const struct
    {
        const char *fixture;
        const char *expect[4];
    } cases[] = {
        /* 9 tables: 8 with n_mod_since_analyze >= 50 and past 10% (t3 never analyzed). */
        {"diagnose/stale_statistics.json",
         {"pgmedic_stale_statistics_tables{target=\"db\"} 8\n",
          "pgmedic_bloated_tables{target=\"db\"} 0\n", "pgmedic_dead_tuples{target=\"db\"} 0\n",
          NULL}},
        /* b1..b6 past 20% dead; "small" has fewer than 1000 dead tuples. */
        {"diagnose/table_bloat.json",
         {"pgmedic_bloated_tables{target=\"db\"} 6\n", "pgmedic_dead_tuples{target=\"db\"} 34900\n",
          "pgmedic_stale_statistics_tables{target=\"db\"} 0\n", NULL}},
        {"diagnose/wal_growth.json",
         {"pgmedic_wal_bytes{target=\"db\"} 5368709120\n",
          "pgmedic_max_wal_size_bytes{target=\"db\"} 1073741824\n", NULL}},
        /* 2 + 1 idle in transaction, the oldest 900 s (a group and a session say so). */
        {"diagnose/idle_in_transaction.json",
         {"pgmedic_connections{target=\"db\",state=\"idle in transaction\"} 3\n",
          "pgmedic_longest_idle_in_transaction_seconds{target=\"db\"} 900\n",
          "pgmedic_longest_idle_seconds{target=\"db\"} 30\n", NULL}},
        /* Seen through a reserved slot: up, with the refusal as its own gauge. */
        {"diagnose/full_and_leaking.json",
         {"pgmedic_up{target=\"db\"} 1\n", "pgmedic_login_refused{target=\"db\"} 1\n", NULL}},
    };

    size_t i, j;

    (void) state;
    for (i = 0; i < PM_LENGTHOF(cases); i++)
    {
        Arena *arena = arena_new();
        Snapshot snap;
        MetricsTarget t;
        char *text;

        unit_load_snapshot(cases[i].fixture, arena, &snap);
        t = target_of("db", &snap, NULL);
        text = render(&t, 1, 10);
        for (j = 0; cases[i].expect[j] != NULL; j++)
            assert_contains(text, cases[i].expect[j]);
        free(text);
        arena_free(arena);
    }
}

/* ------------------------------------------------------------ labels */

/* Application names a server may send; the last one tries to forge a sample. */
static const BackendGroup hostile_groups[] = {
    {"idle", "quote\"d", "local", "app", 6, 1.0},
    {"idle", "back\\slash", "local", "app", 5, 1.0},
    {"idle", "new\nline", "local", "app", 4, 1.0},
    {"idle",
     "\xff\xfe"
     "bad",
     "local", "app", 3, 1.0},
    {"idle", "caf\xc3\xa9", "local", "app", 2, 1.0},
    {"idle", "x\"} 1\npgmedic_up{target=\"forged\"} 0", "local", "app", 1, 1.0},
};

static void
test_metrics_render_escapes_hostile_names(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    MetricsTarget t;
    char *text;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    snap.groups = (BackendGroup *) (uintptr_t) hostile_groups;
    snap.n_groups = PM_LENGTHOF(hostile_groups);
    snap.n_clients = 21;
    t = target_of("db\"1\\\n", &snap, NULL);
    text = render(&t, 1, 10);
    assert_well_formed(text);
    assert_contains(text, "pgmedic_up{target=\"db\\\"1\\\\\\n\"} 1\n");
#define APP(label, n)                                                                              \
    "pgmedic_application_connections{target=\"db\\\"1\\\\\\n\",application=\"" label "\"} " #n "\n"
    assert_contains(text, APP("quote\\\"d", 6) APP("back\\\\slash", 5) APP("new\\nline", 4)
                              APP("\xef\xbf\xbd\xef\xbf\xbd"
                                  "bad",
                                  3) APP("caf\xc3\xa9", 2)
                                  APP("x\\\"} 1\\npgmedic_up{target=\\\"forged\\\"} 0", 1)
                                      APP("other", 0));
#undef APP
    assert_lacks(text, "\npgmedic_up{target=\"forged\"}");
    free(text);
    arena_free(arena);
}

static void
test_metrics_render_top_applications(void **state)
{
    /* "a" is split over two groups; "c" and "d" tie; a real application is called "other". */
    static const BackendGroup groups[] = {
        {"idle", "a", "local", "app", 6, 1.0},     {"idle", "b", "local", "app", 9, 1.0},
        {"idle", "d", "local", "app", 8, 1.0},     {"idle", "c", "local", "app", 8, 1.0},
        {"active", "a", "local", "app", 4, 1.0},   {"idle", "e", "local", "app", 1, 1.0},
        {"idle", "other", "local", "app", 5, 1.0}, {"idle", "", "local", "app", 2, 1.0},
    };

    static const struct
    {
        int top;
        const char *want;
    } cases[] = {
        {3, "pgmedic_application_connections{target=\"db\",application=\"a\"} 10\n"
            "pgmedic_application_connections{target=\"db\",application=\"b\"} 9\n"
            "pgmedic_application_connections{target=\"db\",application=\"c\"} 8\n"
            "pgmedic_application_connections{target=\"db\",application=\"other\"} 23\n"},
        {0, "pgmedic_application_connections{target=\"db\",application=\"other\"} 50\n"},
        {-1, "pgmedic_application_connections{target=\"db\",application=\"other\"} 50\n"},
        {100, "pgmedic_application_connections{target=\"db\",application=\"a\"} 10\n"
              "pgmedic_application_connections{target=\"db\",application=\"b\"} 9\n"
              "pgmedic_application_connections{target=\"db\",application=\"c\"} 8\n"
              "pgmedic_application_connections{target=\"db\",application=\"d\"} 8\n"
              "pgmedic_application_connections{target=\"db\",application=\"\"} 2\n"
              "pgmedic_application_connections{target=\"db\",application=\"e\"} 1\n"
              "pgmedic_application_connections{target=\"db\",application=\"other\"} 12\n"},
    };

    Arena *arena = arena_new();
    Snapshot snap;
    MetricsTarget t;
    size_t i;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    snap.groups = (BackendGroup *) (uintptr_t) groups;
    snap.n_groups = PM_LENGTHOF(groups);
    /* More clients than the groups hold: the probe caps its groups; the rest is "other". */
    snap.n_clients = 50;
    t = target_of("db", &snap, NULL);
    for (i = 0; i < PM_LENGTHOF(cases); i++)
    {
        char *text = render(&t, 1, cases[i].top);

        assert_well_formed(text);
        assert_contains(text, cases[i].want);
        assert_int_equal(count(text, "\npgmedic_application_connections{"),
                         count(cases[i].want, "pgmedic_application_connections{"));
        free(text);
    }
    arena_free(arena);
}

/* ------------------------------------------------------------ target states */

static void
test_metrics_render_down_target(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertTracker alerts;
    MetricsTarget t;
    char *text, *samples;

    (void) state;
    unit_load_snapshot("snapshots/server_down.json", arena, &snap);
    alerttrack_init(&alerts);
    alerts.alerts[0].phase = PHASE_FIRING;
    alerts.alerts[0].severity = SEV_CRITICAL;
    t = target_of("db1", &snap, &alerts);
    t.last_probe_seconds = 0.0025;
    text = render(&t, 1, 10);
    assert_well_formed(text);
    samples = samples_of(text);
    /* The probe's own numbers and the alert state; no server number at all. */
    assert_string_equal(
        samples, "pgmedic_up{target=\"db1\"} 0\n"
                 "pgmedic_probe_failure_info{target=\"db1\",reason=\"server_down\"} 1\n"
                 "pgmedic_probes_total{target=\"db1\"} 7\n"
                 "pgmedic_probe_errors_total{target=\"db1\"} 2\n"
                 "pgmedic_probe_duration_seconds{target=\"db1\"} 0.0025\n"
                 "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseConnectionFailure\"} 1\n"
                 "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseHighConnections\"} 0\n"
                 "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseSlowQueries\"} 0\n");
    free(samples);
    free(text);
    arena_free(arena);
}

static void
test_metrics_render_pending_alert_is_not_firing(void **state)
{
    Arena *arena = arena_new();
    Snapshot snap;
    AlertTracker alerts;
    MetricsTarget t;
    char *text;

    (void) state;
    unit_load_snapshot("snapshots/connections_85.json", arena, &snap);
    alerttrack_init(&alerts);
    alerts.alerts[1].phase = PHASE_PENDING;
    alerts.alerts[2].phase = PHASE_FIRING;
    t = target_of("db1", &snap, &alerts);
    text = render(&t, 1, 10);
    assert_contains(
        text, "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseConnectionFailure\"} 0\n"
              "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseHighConnections\"} 0\n"
              "pgmedic_alert_firing{target=\"db1\",alertname=\"DatabaseSlowQueries\"} 1\n");
    free(text);
    arena_free(arena);
}

static void
test_metrics_render_before_first_probe(void **state)
{
    MetricsTarget t = target_of("new", NULL, NULL);
    char *text, *samples;

    (void) state;
    text = render(&t, 1, 10);
    assert_well_formed(text);
    samples = samples_of(text);
    assert_string_equal(samples, "pgmedic_probes_total{target=\"new\"} 0\n"
                                 "pgmedic_probe_errors_total{target=\"new\"} 0\n");
    /* No family without a sample. */
    assert_int_equal(count(text, "# HELP "), 2);
    free(samples);
    free(text);
}

static void
test_metrics_render_two_targets(void **state)
{
    Arena *arena = arena_new();
    Snapshot a, b;
    MetricsTarget t[3];
    char *text;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &a);
    unit_load_snapshot("snapshots/slow_warning.json", arena, &b);
    t[0] = target_of("db1", &a, NULL);
    t[1] = target_of("db2", &b, NULL);
    text = render(t, 2, 10);
    assert_well_formed(text); /* includes: each family's HELP and TYPE once, samples together */
    assert_int_equal(count(text, "# HELP pgmedic_up "), 1);
    assert_int_equal(count(text, "# TYPE pgmedic_longest_query_seconds gauge\n"), 1);
    assert_contains(text, "pgmedic_up{target=\"db1\"} 1\npgmedic_up{target=\"db2\"} 1\n");
    assert_contains(text, "pgmedic_longest_query_seconds{target=\"db1\"} 0.2\n"
                          "pgmedic_longest_query_seconds{target=\"db2\"} 7\n");
    /* Every family but failure_info, alert_firing (no tracker) and max_wal_size (not collected). */
    assert_int_equal(count(text, "# HELP "), 21);
    free(text);

    /* A down target between two up ones: the up ones' families stay whole. */
    unit_load_snapshot("snapshots/server_down.json", arena, &b);
    t[1] = target_of("down", &b, NULL);
    t[2] = target_of("db3", &a, NULL);
    text = render(t, 3, 10);
    assert_well_formed(text);
    assert_contains(text, "pgmedic_connection_slots_usable{target=\"db1\"} 20\n"
                          "pgmedic_connection_slots_usable{target=\"db3\"} 20\n");
    assert_lacks(text, "pgmedic_connections{target=\"down\"");
    free(text);
    arena_free(arena);
}

static void
test_metrics_render_buffer_cap(void **state)
{
    Arena *arena = arena_new();
    Thresholds th = unit_default_thresholds();
    Snapshot snap;
    MetricsTarget t;
    StrBuf out = STRBUF_INIT;

    (void) state;
    unit_load_snapshot("snapshots/healthy.json", arena, &snap);
    t = target_of("db1", &snap, NULL);
    out.max = 200; /* too small for the exposition */
    assert_int_equal(metrics_render(&out, &t, 1, &th, 10), -1);
    strbuf_free(&out);
    /* No target: nothing to write, and that is fine. */
    assert_int_equal(metrics_render(&out, NULL, 0, &th, 10), 0);
    assert_string_equal(strbuf_str(&out), "");
    strbuf_free(&out);
    arena_free(arena);
}

/* ------------------------------------------------------------ every fixture */

/*
 * One exposition of every fixture snapshot (up, down, through a reserved
 * slot, odd application names), plus a target never probed, each with an
 * alert tracker: every family appears in it.
 */

static char *
render_all_fixtures(Arena *arena)
{
    static const char *const patterns[] = {"tests/fixtures/snapshots/*.json",
                                           "tests/fixtures/diagnose/*.json"};
    MetricsTarget *targets;
    Snapshot *snaps;
    AlertTracker *alerts;
    glob_t g[2];
    size_t n = 0, total = 0, i, k;
    char *text;

    for (k = 0; k < 2; k++)
    {
        char pattern[1024];

        src_path(patterns[k], pattern, sizeof(pattern));
        assert_int_equal(glob(pattern, 0, NULL, &g[k]), 0);
        total += g[k].gl_pathc;
    }
    targets = arena_array(arena, total + 2, sizeof(MetricsTarget));
    snaps = arena_array(arena, total + 1, sizeof(Snapshot));
    alerts = arena_array(arena, total + 1, sizeof(AlertTracker));
    assert_non_null(targets);
    assert_non_null(snaps);
    assert_non_null(alerts);
    for (k = 0; k < 2; k++)
        for (i = 0; i < g[k].gl_pathc; i++)
        {
            const char *name = strstr(g[k].gl_pathv[i], "tests/fixtures/") + 15;

            unit_load_snapshot(name, arena, &snaps[n]);
            alerttrack_init(&alerts[n]);
            targets[n] = target_of(arena_strdup(arena, name), &snaps[n], &alerts[n]);
            n++;
        }
    /* What the server may send, and a target name with every character to escape. */
    unit_load_snapshot("snapshots/healthy.json", arena, &snaps[n]);
    snaps[n].groups = (BackendGroup *) (uintptr_t) hostile_groups;
    snaps[n].n_groups = PM_LENGTHOF(hostile_groups);
    snaps[n].n_clients = 21;
    targets[n] = target_of("hostile \"\\\n\xff", &snaps[n], NULL);
    n++;
    targets[n++] = target_of("never-probed", NULL, NULL);
    text = render(targets, n, 3);
    for (k = 0; k < 2; k++)
        globfree(&g[k]);
    return text;
}

static void
test_metrics_promtool_check_metrics(void **state)
{
    Arena *arena = arena_new();
    char *text = render_all_fixtures(arena);
    const char *promtool = getenv("PROMTOOL");
    char path[] = "/tmp/pgmedic-metrics-XXXXXX", cmd[1200], buf[512];
    StrBuf output = STRBUF_INIT;
    FILE *f, *p;
    int fd, status;

    (void) state;
    assert_well_formed(text);
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);

    snprintf(cmd, sizeof(cmd), "'%s' check metrics < '%s' 2>&1", promtool ? promtool : "promtool",
             path);
    p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(buf, sizeof(buf), p) != NULL)
        strbuf_append(&output, buf);
    status = pclose(p);
    unlink(path);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) == 127)
        fail_msg("could not run promtool (Debian package \"prometheus\"; or set PROMTOOL): %s",
                 strbuf_str(&output));
    if (WEXITSTATUS(status) != 0 || output.len != 0)
        fail_msg("promtool check metrics: exit %d\n%s", WEXITSTATUS(status), strbuf_str(&output));
    strbuf_free(&output);
    free(text);
    arena_free(arena);
}

/*
 * Every pgmedic_ name in text (the rules, their promtool tests) is a family
 * of the exposition, and every `label="value"` matcher after it (other than
 * target, instance and job, which are anyone's) is a label of that family
 * with that value in some sample.
 */
static void
assert_names_exported(const char *what, const char *text, const char *exposition)
{
    const char *p = text;
    size_t n_names = 0;

    while ((p = strstr(p, "pgmedic_")) != NULL)
    {
        char name[128], type_line[160];
        size_t len = 0;

        while ((p[len] >= 'a' && p[len] <= 'z') || p[len] == '_')
            len++;
        assert_true(len < sizeof(name));
        snprintf(name, sizeof(name), "%.*s", (int) len, p);
        p += len;
        n_names++;
        snprintf(type_line, sizeof(type_line), "# TYPE %s ", name);
        if (strstr(exposition, type_line) == NULL)
            fail_msg("%s uses %s, which metrics_render does not write", what, name);
        if (*p != '{')
            continue;
        for (p++; *p != '\0' && *p != '}';)
        {
            char key[64], value[256], sample[512];
            size_t klen = 0, vlen = 0;

            while (*p == ' ' || *p == ',')
                p++;
            while ((p[klen] >= 'a' && p[klen] <= 'z') || p[klen] == '_')
                klen++;
            if (klen == 0 || klen >= sizeof(key) || p[klen] != '=' || p[klen + 1] != '"')
            {
                p += klen > 0 ? klen : 1; /* not a plain matcher (a template's %q): skip */
                continue;
            }
            snprintf(key, sizeof(key), "%.*s", (int) klen, p);
            p += klen + 2;
            while (p[vlen] != '\0' && p[vlen] != '"')
                vlen++;
            assert_true(vlen < sizeof(value));
            snprintf(value, sizeof(value), "%.*s", (int) vlen, p);
            p += vlen + (p[vlen] == '"');
            if (strcmp(key, "target") == 0 || strcmp(key, "instance") == 0 ||
                strcmp(key, "job") == 0)
                continue;
            snprintf(sample, sizeof(sample), ",%s=\"%s\"}", key, value);
            {
                /* A sample of this family with that label and value. */
                char prefix[160];
                const char *s = exposition;
                bool found = false;

                snprintf(prefix, sizeof(prefix), "\n%s{", name);
                while (!found && (s = strstr(s, prefix)) != NULL)
                {
                    const char *eol = strchr(s + 1, '\n');
                    const char *hit = strstr(s, sample);

                    found = hit != NULL && (eol == NULL || hit < eol);
                    s += strlen(prefix);
                }
                if (!found)
                    fail_msg("%s uses %s{%s=\"%s\"}, which metrics_render does not write", what,
                             name, key, value);
            }
        }
    }
    if (n_names == 0)
        fail_msg("%s names no pgmedic_ metric", what);
}

static void
test_metrics_rules_use_exported_names(void **state)
{
    Arena *arena = arena_new();
    char *exposition = render_all_fixtures(arena), *rules, pattern[1024];
    glob_t g;
    size_t i;

    (void) state;
    rules = read_src("rules/pgmedic.rules.yml");
    assert_names_exported("rules/pgmedic.rules.yml", rules, exposition);
    free(rules);

    src_path("tests/promtool/*.yml", pattern, sizeof(pattern));
    assert_int_equal(glob(pattern, 0, NULL, &g), 0);
    assert_true(g.gl_pathc >= 1);
    for (i = 0; i < g.gl_pathc; i++)
    {
        const char *name = strstr(g.gl_pathv[i], "tests/promtool/");
        char *text = read_src(name);

        assert_names_exported(name, text, exposition);
        free(text);
    }
    globfree(&g);
    free(exposition);
    arena_free(arena);
}

/* docs/alerts.md's table lists every family with its type, and nothing else. */
static void
test_metrics_docs_list_every_family(void **state)
{
    Arena *arena = arena_new();
    char *exposition = render_all_fixtures(arena), *docs = read_src("docs/alerts.md");
    const char *p = exposition;
    size_t n = 0;

    (void) state;
    while ((p = strstr(p, "# TYPE ")) != NULL)
    {
        char name[128], type[16], row[200];

        assert_int_equal(sscanf(p, "# TYPE %127s %15s", name, type), 2);
        snprintf(row, sizeof(row), "| `%s` | %s |", name, type);
        if (strstr(docs, row) == NULL)
            fail_msg("docs/alerts.md has no row starting \"%s\"", row);
        p += 7;
        n++;
    }
    assert_int_equal(n, 24);
    assert_int_equal(count(docs, "` | gauge | ") + count(docs, "` | counter | "), n);
    free(docs);
    free(exposition);
    arena_free(arena);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_render_healthy_exact),
        cmocka_unit_test(test_metrics_render_lock_trees),
        cmocka_unit_test(test_metrics_render_long_lock_chain),
        cmocka_unit_test(test_metrics_render_tables_and_wal),
        cmocka_unit_test(test_metrics_render_escapes_hostile_names),
        cmocka_unit_test(test_metrics_render_top_applications),
        cmocka_unit_test(test_metrics_render_down_target),
        cmocka_unit_test(test_metrics_render_pending_alert_is_not_firing),
        cmocka_unit_test(test_metrics_render_before_first_probe),
        cmocka_unit_test(test_metrics_render_two_targets),
        cmocka_unit_test(test_metrics_render_buffer_cap),
        cmocka_unit_test(test_metrics_promtool_check_metrics),
        cmocka_unit_test(test_metrics_rules_use_exported_names),
        cmocka_unit_test(test_metrics_docs_list_every_family),
    };

    return cmocka_run_group_tests_name("render/metrics", tests, NULL, NULL);
}
