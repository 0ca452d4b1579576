/*
 * rules_test.c - pgmedic rules: it prints rules/pgmedic.rules.yml as built
 * in, `promtool check rules` accepts it (with the default runbook links and
 * with --runbook-url), the rules' own unit tests (`promtool test rules
 * tests/promtool/NAME.yml`) pass, and fail once a rule is broken; --help and
 * usage errors.  No server is needed.
 *
 * promtool comes from $PROMTOOL, else the PATH (Debian package "prometheus").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include <glob.h>
#include <unistd.h>

#include "harness.h"

/* The alert rules in rules/pgmedic.rules.yml (warning and critical count apart). */
#define N_RULES 10

static const char *const no_server_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", NULL};

#define RUN(r, ...) H_RUN_ENV((r), NULL, no_server_env, 30.0, __VA_ARGS__)

/* The promtool to run: $PROMTOOL, or the first one on the PATH; fails the test when none. */
static const char *
promtool(void)
{
    static char found[H_PATH_MAX];
    const char *env = getenv("PROMTOOL"), *path = getenv("PATH"), *p;

    if (env != NULL && env[0] != '\0')
        return env;
    if (found[0] != '\0')
        return found;
    for (p = path ? path : "/usr/bin:/bin"; *p != '\0';)
    {
        size_t len = strcspn(p, ":");

        snprintf(found, sizeof(found), "%.*s/promtool", (int)len, p);
        if (len > 0 && access(found, X_OK) == 0)
            return found;
        p += len + (p[len] == ':');
    }
    found[0] = '\0';
    fail_msg("promtool not found: install the Debian package \"prometheus\" or set PROMTOOL");
    return NULL;
}

/* Runs promtool with args (NULL-terminated, after argv[0]). */
static void
run_promtool(HRun *r, const char *const *args)
{
    const char *argv[16];
    size_t n = 0;

    argv[n++] = promtool();
    while (*args != NULL && n < 15)
        argv[n++] = *args++;
    argv[n] = NULL;
    assert_int_equal(h_exec(r, NULL, argv, NULL, 60.0), 0);
}

static char *
read_src(const char *name)
{
    char path[H_PATH_MAX];
    char *text;

    snprintf(path, sizeof(path), "%s/%s", h_srcdir(), name);
    text = h_read_file(path, NULL);
    if (text == NULL)
        fail_msg("cannot read %s", path);
    return text;
}

/* `promtool check rules` of text; asserts success and the number of rules. */
static void
assert_promtool_accepts(const char *text)
{
    char *path = h_write_tmpfile("rules", text);
    char want[64];
    HRun r;

    assert_non_null(path);
    {
        const char *const args[] = {"check", "rules", path, NULL};

        run_promtool(&r, args);
    }
    snprintf(want, sizeof(want), "SUCCESS: %d rules found", N_RULES);
    if (r.exit_code != 0 || strstr(r.out, want) == NULL)
        h_run_dump(&r, "promtool check rules");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, want);
    h_run_free(&r);
    unlink(path);
    free(path);
}

/* ------------------------------------------------------------ output */

static void
test_rules_prints_the_shipped_file(void **state)
{
    char *file = read_src("rules/pgmedic.rules.yml");
    HRun r;

    (void)state;
    RUN(&r, "rules");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(r.err_len, 0);
    /* Byte for byte: what promtool tests in the repository is what users get. */
    assert_string_equal(r.out, file);
    assert_int_equal(h_count_substr(r.out, "\n      - alert: "), N_RULES);
    assert_int_equal(h_count_substr(r.out, "runbook_url: \"docs/alerts.md#"), N_RULES);
    assert_promtool_accepts(r.out);
    h_run_free(&r);
    free(file);
}

static void
test_rules_runbook_url(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "rules", "--runbook-url", "https://wiki.example.com/pgmedic/alerts");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(
        h_count_substr(r.out, "runbook_url: \"https://wiki.example.com/pgmedic/alerts#"), N_RULES);
    H_ASSERT_CONTAINS(r.out, "runbook_url: \"https://wiki.example.com/pgmedic/alerts"
                             "#databasehighconnections\"\n");
    H_ASSERT_NOT_CONTAINS(r.out, "docs/alerts.md#");
    assert_promtool_accepts(r.out);
    h_run_free(&r);

    /* --runbook-url=URL, with the characters a URL may have. */
    RUN(&r, "rules", "--runbook-url=http://h:8080/a/b.html?x=1&y=%20z");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_count_substr(r.out, "\"http://h:8080/a/b.html?x=1&y=%20z#"), N_RULES);
    assert_promtool_accepts(r.out);
    h_run_free(&r);
}

/* ------------------------------------------------------------ promtool tests */

/* The rules' unit tests, tests/promtool/NAME.yml, as absolute paths (rule_files is relative). */
static void
promtool_tests(glob_t *g)
{
    char pattern[H_PATH_MAX];

    snprintf(pattern, sizeof(pattern), "%s/tests/promtool/*.yml", h_srcdir());
    assert_int_equal(glob(pattern, 0, NULL, g), 0);
    assert_true(g->gl_pathc >= 4);
    assert_true(g->gl_pathc <= 12);
}

static void
test_rules_promtool_unit_tests_pass(void **state)
{
    const char *args[16] = {"test", "rules"};
    size_t i, n = 2;
    glob_t g;
    HRun r;

    (void)state;
    promtool_tests(&g);
    for (i = 0; i < g.gl_pathc; i++)
        args[n++] = g.gl_pathv[i];
    args[n] = NULL;
    run_promtool(&r, args);
    if (r.exit_code != 0)
        h_run_dump(&r, "promtool test rules");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(h_count_substr(r.out, "SUCCESS"), g.gl_pathc);
    H_ASSERT_NOT_CONTAINS(r.out, "FAILED");
    h_run_free(&r);
    globfree(&g);
}

/*
 * The same tests against rules with one threshold moved (80% -> 85%) must
 * fail: they test the rules, not only that promtool runs.
 */
static void
test_rules_promtool_unit_tests_catch_a_broken_rule(void **state)
{
    char *rules = read_src("rules/pgmedic.rules.yml"), *broken, *rules_path;
    const char *args[16] = {"test", "rules"};
    char *copies[16];
    size_t i, n = 2;
    glob_t g;
    HRun r;

    (void)state;
    assert_int_equal(h_count_substr(rules, "pgmedic_connection_slots_usable >= 0.8\n"), 1);
    broken = h_replace_all(rules, "pgmedic_connection_slots_usable >= 0.8\n",
                         "pgmedic_connection_slots_usable >= 0.85\n");
    rules_path = h_write_tmpfile("broken-rules", broken);
    assert_non_null(rules_path);
    promtool_tests(&g);
    for (i = 0; i < g.gl_pathc; i++)
    {
        char *test = h_read_file(g.gl_pathv[i], NULL), *moved;

        assert_non_null(test);
        assert_int_equal(h_count_substr(test, "../../rules/pgmedic.rules.yml"), 1);
        moved = h_replace_all(test, "../../rules/pgmedic.rules.yml", rules_path);
        copies[i] = h_write_tmpfile("promtool-test", moved);
        assert_non_null(copies[i]);
        args[n++] = copies[i];
        free(moved);
        free(test);
    }
    args[n] = NULL;
    run_promtool(&r, args);
    if (r.exit_code == 0)
        h_run_dump(&r, "promtool test rules passed on a broken rule");
    assert_int_not_equal(r.exit_code, 0);
    H_ASSERT_CONTAINS(r.err, "alertname: DatabaseHighConnections"); /* promtool: on stderr */
    h_run_free(&r);
    for (i = 0; i < g.gl_pathc; i++)
    {
        unlink(copies[i]);
        free(copies[i]);
    }
    globfree(&g);
    unlink(rules_path);
    free(rules_path);
    free(broken);
    free(rules);
}

/* ------------------------------------------------------------ command line */

static void
test_rules_help(void **state)
{
    static const char *const want[] = {"pgmedic rules", "--runbook-url=URL", "promtool check rules",
                                       "DatabaseConnectionFailure", "DatabaseHighConnections",
                                       "DatabaseSlowQueries", "PgmedicProbesStalled",
                                       "docs/alerts.md", "pgmedic triage --target NAME", NULL};
    HRun r;
    size_t i;

    (void)state;
    RUN(&r, "rules", "--help");
    H_ASSERT_EXIT(&r, 0);
    assert_int_equal(r.err_len, 0);
    for (i = 0; want[i] != NULL; i++)
        H_ASSERT_CONTAINS(r.out, want[i]);
    h_run_free(&r);

    RUN(&r, "--help");
    H_ASSERT_EXIT(&r, 0);
    H_ASSERT_CONTAINS(r.out, "\n  rules      ");
    h_run_free(&r);
}

static void
test_rules_usage_errors(void **state)
{
    static const struct
    {
        const char *args[4];
        const char *needle;
    } cases[] = {
        {{"rules", "--runbook-url", "https://wiki example/x", NULL}, "it contains a space"},
        {{"rules", "--runbook-url", "https://wiki/x#alerts", NULL}, "it has a #fragment"},
        {{"rules", "--runbook-url", "https://wiki/{{ x }}", NULL}, "it contains a brace"},
        {{"rules", "--runbook-url", "https://wiki/\"x", NULL}, "a double quote"},
        {{"rules", "--runbook-url", "", NULL}, "it is empty"},
        {{"rules", "--runbook-url", "https://wiki/\nx", NULL}, "a control character"},
        {{"rules", "--runbook-url", NULL, NULL}, "requires a value"},
        {{"rules", "-d", "pivotal_flow", NULL}, "takes no connection options"},
        {{"rules", "--format", "json", NULL}, "has no --format option"},
        {{"rules", "extra", NULL, NULL}, "too many command-line arguments"},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        HRun r;

        assert_int_equal(h_run(&r, NULL, cases[i].args, no_server_env, 30.0), 0);
        h_assert_usage_error(&r, cases[i].needle);
        h_assert_usage_hint(&r);
        /* A control character is named, never echoed. */
        H_ASSERT_NOT_CONTAINS(r.err, "wiki/\nx");
        h_run_free(&r);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_prints_the_shipped_file),
        cmocka_unit_test(test_rules_runbook_url),
        cmocka_unit_test(test_rules_promtool_unit_tests_pass),
        cmocka_unit_test(test_rules_promtool_unit_tests_catch_a_broken_rule),
        cmocka_unit_test(test_rules_help),
        cmocka_unit_test(test_rules_usage_errors),
    };

    return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
