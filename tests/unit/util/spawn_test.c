/*
 * spawn_test.c - children under a deadline: output, status, input, timeout, truncation.
 */
#include <string.h>

#include "unit.h"
#include "util/clock.h"
#include "util/spawn.h"

static void
test_spawn_output_status_input(void **state)
{
    const char *argv[] = {"/bin/sh", "-c", "cat; echo out; echo err >&2; exit 7", NULL};
    SpawnOptions so = {.input = "in\n", .input_len = 3, .merge_stderr = true, .timeout_ms = 5000};
    StrBuf out = STRBUF_INIT;
    SpawnResult res;

    (void) state;
    assert_int_equal(spawn_run(argv, NULL, &so, &out, &res), 0);
    assert_int_equal(res.status, 7);
    assert_false(res.timed_out);
    assert_string_equal(strbuf_str(&out), "in\nout\nerr\n");
    strbuf_free(&out);
}

static void
test_spawn_timeout_kills_the_group(void **state)
{
    SpawnOptions so = {.merge_stderr = true, .timeout_ms = 300};
    StrBuf out = STRBUF_INIT;
    SpawnResult res;
    double t0 = pm_clock_s();

    (void) state;
    /* The grandchild holds the pipe too: it must die with the group. */
    assert_int_equal(spawn_run(NULL, "sleep 30 & sleep 30; echo never", &so, &out, &res), 0);
    assert_true(res.timed_out);
    assert_int_equal(res.status, -1);
    assert_true(pm_clock_s() - t0 < 5.0);
    assert_null(strstr(strbuf_str(&out), "never"));
    strbuf_free(&out);
}

static void
test_spawn_truncates_and_reports_missing_program(void **state)
{
    const char *missing[] = {"/nonexistent/pgmedic-x", NULL};
    SpawnOptions so = {.max_output = 1000, .timeout_ms = 5000};
    StrBuf out = STRBUF_INIT;
    SpawnResult res;

    (void) state;
    assert_int_equal(spawn_run(NULL, "head -c 100000 /dev/zero | tr '\\0' x", &so, &out, &res), 0);
    assert_int_equal(res.status, 0);
    assert_true(res.truncated);
    assert_int_equal(out.len, 1000);
    strbuf_reset(&out);
    assert_int_equal(spawn_run(missing, NULL, &so, &out, &res), 0);
    assert_int_equal(res.status, 127);
    strbuf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spawn_output_status_input),
        cmocka_unit_test(test_spawn_timeout_kills_the_group),
        cmocka_unit_test(test_spawn_truncates_and_reports_missing_program),
    };

    return cmocka_run_group_tests_name("util/spawn", tests, NULL, NULL);
}
