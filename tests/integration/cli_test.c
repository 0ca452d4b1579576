/*
 * cli_test.c - the command line without a server: --help, --version, usage
 * errors, configuration errors, malformed conninfo, unreadable --from files.
 *
 * Every run points PGHOST at a directory that does not exist: an error that
 * should be found before connecting but is not shows up as exit 2 instead of 3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after setjmp.h, stdarg.h, stddef.h, stdint.h */

#include "harness.h"

/* No server anywhere: a connection attempt fails fast with server_down. */
static const char *const dead_env[] = {"PGHOST=/nonexistent/pgmedic-no-server", "PGPORT=55399",
                                       "PGUSER=postgres", "PGDATABASE=postgres", NULL};

#define RUN(r, ...) H_RUN_ENV((r), NULL, dead_env, 30.0, __VA_ARGS__)

/* ------------------------------------------------------ help and version */

static void
assert_help(HRun *r, const char *const *needles)
{
    H_ASSERT_EXIT(r, 0);
    if (r->err_len != 0)
        h_run_dump(r, "--help wrote to stderr");
    assert_int_equal(r->err_len, 0);
    assert_true(r->out_len > 100);
    for (size_t i = 0; needles[i] != NULL; i++)
        H_ASSERT_CONTAINS(r->out, needles[i]);
}

static void
test_help_top_level(void **state)
{
    HRun r;
    const char *const want[] = {"pgmedic", "status",    "check", "snapshot",
                                "--help",  "--version", NULL};

    (void)state;
    RUN(&r, "--help");
    assert_help(&r, want);
    h_run_free(&r);
}

static void
test_help_status(void **state)
{
    HRun r;
    const char *const want[] = {"status", "--format", "-h", "-p", "-U", "-d", NULL};

    (void)state;
    RUN(&r, "status", "--help");
    assert_help(&r, want);
    h_run_free(&r);
}

static void
test_help_check(void **state)
{
    HRun r;
    const char *const want[] = {"check", "--format", "nagios", "--from", "--set", "-c", NULL};

    (void)state;
    RUN(&r, "check", "--help");
    assert_help(&r, want);
    h_run_free(&r);
}

static void
test_help_snapshot(void **state)
{
    HRun r;
    const char *const want[] = {"snapshot", "-h", "-p", "-U", "-d", NULL};

    (void)state;
    RUN(&r, "snapshot", "--help");
    assert_help(&r, want);
    h_run_free(&r);
}

static void
assert_version(HRun *r)
{
    H_ASSERT_EXIT(r, 0);
    assert_int_equal(r->err_len, 0);
    h_assert_first_line(r, "pgmedic ");
    assert_true(r->out[8] >= '0' && r->out[8] <= '9');
    assert_int_equal(h_count_lines(r->out), 1);
}

static void
test_version_everywhere_the_same(void **state)
{
    const char *const cmds[] = {"status", "check", "snapshot"};
    HRun top, r;

    (void)state;
    RUN(&top, "--version");
    assert_version(&top);
    for (size_t i = 0; i < 3; i++)
    {
        RUN(&r, cmds[i], "--version");
        assert_version(&r);
        assert_string_equal(r.out, top.out);
        h_run_free(&r);
    }
    h_run_free(&top);
}

/* ---------------------------------------------------------- usage errors */

static void
test_check_unrecognized_option(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--bogus");
    h_assert_usage_error(&r, "--bogus");
    assert_true(strstr(r.err, "pgmedic: error: unrecognized option") != NULL ||
                strstr(r.err, "unrecognized option '--bogus'") != NULL);
    h_assert_usage_hint(&r);
    h_run_free(&r);
}

static void
test_status_unrecognized_short_option(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "status", "-Z");
    h_assert_usage_error(&r, NULL);
    h_assert_usage_hint(&r);
    h_run_free(&r);
}

static void
test_unrecognized_command(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "frobnicate");
    h_assert_usage_error(&r, "frobnicate");
    h_assert_usage_hint(&r);
    h_run_free(&r);
}

static void
test_check_missing_option_argument(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--format");
    h_assert_usage_error(&r, NULL);
    h_assert_usage_hint(&r);
    h_run_free(&r);
}

static void
test_check_unrecognized_format(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--format", "xml");
    h_assert_usage_error(&r, "\"xml\"");
    h_run_free(&r);
}

static void
test_status_rejects_nagios_format(void **state)
{
    HRun r;

    (void)state;
    /* status speaks text and json only (issue 2). */
    RUN(&r, "status", "--format", "nagios");
    h_assert_usage_error(&r, "nagios");
    h_run_free(&r);
}

static void
test_set_bad_duration(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--set", "slow_query_warning=5parsecs");
    h_assert_usage_error(&r, "5parsecs");
    H_ASSERT_CONTAINS(r.err, "slow_query_warning");
    h_run_free(&r);
}

static void
test_set_bad_percentage(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--set", "thresholds.connections_warning=eighty%");
    h_assert_usage_error(&r, "eighty%");
    H_ASSERT_CONTAINS(r.err, "connections_warning");
    h_run_free(&r);
}

static void
test_set_unrecognized_key(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--set", "bogus_key=1");
    h_assert_usage_error(&r, "bogus_key");
    h_run_free(&r);
}

static void
test_set_without_value(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--set", "slow_query_warning");
    h_assert_usage_error(&r, "slow_query_warning");
    h_run_free(&r);
}

/* -------------------------------------------------------- configuration */

static void
run_config(HRun *r, const char *text, char **path)
{
    *path = h_write_tmpfile("pgmedic-conf", text);
    assert_non_null(*path);
    RUN(r, "check", "-c", *path);
}

static void
test_config_unrecognized_key_names_file_and_line(void **state)
{
    HRun r;
    char *path, where[H_PATH_MAX + 8];

    (void)state;
    run_config(&r, "[thresholds]\nbogus = 1\n", &path);
    snprintf(where, sizeof(where), "%s:2", path);
    h_assert_usage_error(&r, where);
    H_ASSERT_CONTAINS(r.err, "bogus");
    h_run_free(&r);
    free(path);
}

static void
test_config_malformed_line_names_file_and_line(void **state)
{
    HRun r;
    char *path, where[H_PATH_MAX + 8];

    (void)state;
    run_config(&r, "[thresholds]\nslow_query_warning = 5s\nthis line is not ini\n", &path);
    snprintf(where, sizeof(where), "%s:3", path);
    h_assert_usage_error(&r, where);
    h_run_free(&r);
    free(path);
}

static void
test_config_bad_value_names_file_and_line(void **state)
{
    HRun r;
    char *path, where[H_PATH_MAX + 8];

    (void)state;
    run_config(&r, "; comment\n[thresholds]\nslow_query_warning = 5parsecs\n", &path);
    snprintf(where, sizeof(where), "%s:3", path);
    h_assert_usage_error(&r, where);
    H_ASSERT_CONTAINS(r.err, "5parsecs");
    h_run_free(&r);
    free(path);
}

static void
test_config_missing_file(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "-c", "/nonexistent/pgmedic-test.ini");
    h_assert_usage_error(&r, "/nonexistent/pgmedic-test.ini");
    h_run_free(&r);
}

static void
test_config_unknown_target(void **state)
{
    HRun r;
    char *path;

    (void)state;
    path = h_write_tmpfile("pgmedic-conf",
                           "[target db1]\nconninfo = host=/nonexistent dbname=postgres\n");
    assert_non_null(path);
    RUN(&r, "check", "-c", path, "-t", "nosuchtarget");
    h_assert_usage_error(&r, "nosuchtarget");
    h_run_free(&r);
    RUN(&r, "check", "-c", path, "--target", "nosuchtarget");
    h_assert_usage_error(&r, "nosuchtarget");
    h_run_free(&r);
    free(path);
}

/* -------------------------------------------------- malformed conninfo */

/* Exit 3 with one error, or exit 2 reported as a connection failure;
 * never a crash, never both. */
static void
assert_one_clean_error(HRun *r)
{
    if (r->timed_out || r->term_signal != 0 || (r->exit_code != 2 && r->exit_code != 3))
        h_run_dump(r, "malformed conninfo");
    assert_false(r->timed_out);
    assert_int_equal(r->term_signal, 0);
    assert_true(r->exit_code == 2 || r->exit_code == 3);
    if (r->exit_code == 3)
    {
        h_assert_usage_error(r, NULL);
        return;
    }
    {
        json_t *j = H_JSON(r);

        assert_int_equal(h_json_bool(j, "status.reachable"), 0);
        assert_non_null(h_json_str(j, "status.message"));
        assert_int_equal(h_json_len(j, "alerts"), 1);
        assert_string_equal(h_json_str(j, "alerts.0.name"), "DatabaseConnectionFailure");
        H_ASSERT_NOT_CONTAINS(r->err, "pgmedic: error:");
    }
}

static void
test_malformed_conninfo_port(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--format", "json", "-d", "host=/tmp port=notanumber");
    assert_one_clean_error(&r);
    h_run_free(&r);
}

static void
test_malformed_conninfo_missing_equals(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--format", "json", "-d", "host=/tmp port");
    assert_one_clean_error(&r);
    H_ASSERT_CONTAINS(r.exit_code == 3 ? r.err : r.out, "port");
    h_run_free(&r);
}

static void
test_malformed_conninfo_uri(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "snapshot", "-d", "postgresql://[::1");
    assert_one_clean_error(&r);
    h_run_free(&r);
}

static void
test_malformed_conninfo_unknown_keyword(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "status", "--format", "json", "-d", "host=/tmp frobnicate=1");
    assert_one_clean_error(&r);
    H_ASSERT_CONTAINS(r.exit_code == 3 ? r.err : r.out, "frobnicate");
    h_run_free(&r);
}

static void
test_conninfo_plain_word_is_a_dbname(void **state)
{
    HRun r;

    (void)state;
    /* Not malformed for libpq: a database name; with no server, down. */
    RUN(&r, "check", "--format", "json", "-d", "nonsense");
    assert_one_clean_error(&r);
    h_run_free(&r);
}

/* ------------------------------------------------------ --from problems */

static void
test_from_nonexistent_file(void **state)
{
    HRun r;

    (void)state;
    RUN(&r, "check", "--from", "/nonexistent/pgmedic-snapshot.json");
    h_assert_usage_error(&r, "/nonexistent/pgmedic-snapshot.json");
    h_run_free(&r);
}

static void
test_from_not_json(void **state)
{
    HRun r;
    char *path;

    (void)state;
    path = h_write_tmpfile("pgmedic-snap", "{\"pgmedic\": 1, not json\n");
    assert_non_null(path);
    RUN(&r, "check", "--from", path);
    h_assert_usage_error(&r, path);
    h_run_free(&r);
    free(path);
}

static void
test_from_json_without_snapshot(void **state)
{
    HRun r;
    char *path;

    (void)state;
    path = h_write_tmpfile("pgmedic-snap", "[1, 2, 3]\n");
    assert_non_null(path);
    RUN(&r, "check", "--format", "json", "--from", path);
    h_assert_usage_error(&r, path);
    h_run_free(&r);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help_top_level),
        cmocka_unit_test(test_help_status),
        cmocka_unit_test(test_help_check),
        cmocka_unit_test(test_help_snapshot),
        cmocka_unit_test(test_version_everywhere_the_same),
        cmocka_unit_test(test_check_unrecognized_option),
        cmocka_unit_test(test_status_unrecognized_short_option),
        cmocka_unit_test(test_unrecognized_command),
        cmocka_unit_test(test_check_missing_option_argument),
        cmocka_unit_test(test_check_unrecognized_format),
        cmocka_unit_test(test_status_rejects_nagios_format),
        cmocka_unit_test(test_set_bad_duration),
        cmocka_unit_test(test_set_bad_percentage),
        cmocka_unit_test(test_set_unrecognized_key),
        cmocka_unit_test(test_set_without_value),
        cmocka_unit_test(test_config_unrecognized_key_names_file_and_line),
        cmocka_unit_test(test_config_malformed_line_names_file_and_line),
        cmocka_unit_test(test_config_bad_value_names_file_and_line),
        cmocka_unit_test(test_config_missing_file),
        cmocka_unit_test(test_config_unknown_target),
        cmocka_unit_test(test_malformed_conninfo_port),
        cmocka_unit_test(test_malformed_conninfo_missing_equals),
        cmocka_unit_test(test_malformed_conninfo_uri),
        cmocka_unit_test(test_malformed_conninfo_unknown_keyword),
        cmocka_unit_test(test_conninfo_plain_word_is_a_dbname),
        cmocka_unit_test(test_from_nonexistent_file),
        cmocka_unit_test(test_from_not_json),
        cmocka_unit_test(test_from_json_without_snapshot),
    };

    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
