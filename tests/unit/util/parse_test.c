/*
 * parse_test.c - durations, ratios, integers, booleans and their messages.
 */
#include "unit.h"
#include "util/parse.h"

static void
test_parse_duration_ms_units(void **state)
{
    static const struct
    {
        const char *text;
        int64_t ms;
    } cases[] = {
        {"500ms", 500},     {"5s", 5000},        {"1.5s", 1500},  {"5min", 300000},
        {"5m", 300000},     {"1h", 3600000},     {"2d", 172800000}, {"0", 0},
        {"0s", 0},          {"10sec", 10000},
    };
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        PmError err;
        int64_t ms = -1;

        assert_int_equal(parse_duration_ms(cases[i].text, "x", INT64_C(1) << 40, &ms, &err), 0);
        assert_int_equal(ms, cases[i].ms);
    }
}

static void
test_parse_duration_ms_rejects(void **state)
{
    static const char *const bad[] = {"", "5", "5parsecs", "-1s", "s", " 5s", "5 s", "1e999s",
                                      "nan s", "5s5"};
    size_t i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        PmError err;
        int64_t ms = 42;

        assert_int_equal(parse_duration_ms(bad[i], "slow_query_warning", 1000000, &ms, &err), -1);
        assert_int_equal(ms, 42);
        assert_non_null(strstr(err.message, "slow_query_warning"));
    }
}

static void
test_parse_duration_ms_message(void **state)
{
    PmError err;
    int64_t ms;

    (void) state;
    assert_int_equal(parse_duration_ms("5parsecs", "slow_query_warning", 1000000, &ms, &err), -1);
    assert_string_equal(err.message, "invalid duration \"5parsecs\" for \"slow_query_warning\"");
    assert_string_equal(err.hint, "Use a number with a unit: 500ms, 5s, 5min, 1h, 1d.");
    assert_int_equal(parse_duration_ms("5", "lock_wait", 1000000, &ms, &err), -1);
    assert_string_equal(err.message, "invalid duration \"5\" for \"lock_wait\": a unit is required");
    assert_int_equal(parse_duration_ms("2h", "x", 3600000, &ms, &err), -1);
    assert_string_equal(err.message, "duration \"2h\" for \"x\" is out of range");
    assert_string_equal(err.detail, "The largest allowed value is 1h.");
}

static void
test_parse_ratio(void **state)
{
    PmError err;
    double r;

    (void) state;
    assert_int_equal(parse_ratio("80%", "x", 0, 1, &r, &err), 0);
    assert_true(r > 0.7999 && r < 0.8001);
    assert_int_equal(parse_ratio("0.9", "x", 0, 1, &r, &err), 0);
    assert_true(r > 0.8999 && r < 0.9001);
    assert_int_equal(parse_ratio("150%", "connections_warning", 0.01, 1, &r, &err), -1);
    assert_string_equal(err.message, "ratio \"150%\" for \"connections_warning\" is out of range");
    assert_int_equal(parse_ratio("eighty", "x", 0, 1, &r, &err), -1);
    assert_string_equal(err.message, "invalid ratio \"eighty\" for \"x\"");
    assert_int_equal(parse_ratio("80%%", "x", 0, 1, &r, &err), -1);
}

static void
test_parse_int_range(void **state)
{
    PmError err;
    int64_t n;

    (void) state;
    assert_int_equal(parse_int_range("50", "max_terminations", 1, 100, &n, &err), 0);
    assert_int_equal(n, 50);
    assert_int_equal(parse_int_range("0", "max_terminations", 1, 100, &n, &err), -1);
    assert_string_equal(err.message, "value \"0\" for \"max_terminations\" is out of range");
    assert_int_equal(parse_int_range("12abc", "x", 1, 100, &n, &err), -1);
    assert_string_equal(err.message, "invalid value \"12abc\" for \"x\"");
    assert_int_equal(parse_int_range("99999999999999999999", "x", 1, 100, &n, &err), -1);
}

static void
test_parse_bool(void **state)
{
    PmError err;
    bool b = false;

    (void) state;
    assert_int_equal(parse_bool("ON", "x", &b, &err), 0);
    assert_true(b);
    assert_int_equal(parse_bool("no", "x", &b, &err), 0);
    assert_false(b);
    assert_int_equal(parse_bool("maybe", "x", &b, &err), -1);
}

static void
test_format_duration_and_age(void **state)
{
    char buf[32];

    (void) state;
    format_duration_ms(300000, buf, sizeof(buf));
    assert_string_equal(buf, "5min");
    format_duration_ms(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1.5s");
    format_duration_ms(250, buf, sizeof(buf));
    assert_string_equal(buf, "250ms");
    format_age(4.25, buf, sizeof(buf));
    assert_string_equal(buf, "4.2s");
    format_age(185, buf, sizeof(buf));
    assert_string_equal(buf, "3min 05s");
    format_age(7380, buf, sizeof(buf));
    assert_string_equal(buf, "2h 03min");
    format_age(-1, buf, sizeof(buf));
    assert_string_equal(buf, "-");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_duration_ms_units),
        cmocka_unit_test(test_parse_duration_ms_rejects),
        cmocka_unit_test(test_parse_duration_ms_message),
        cmocka_unit_test(test_parse_ratio),
        cmocka_unit_test(test_parse_int_range),
        cmocka_unit_test(test_parse_bool),
        cmocka_unit_test(test_format_duration_and_age),
    };

    return cmocka_run_group_tests_name("util/parse", tests, NULL, NULL);
}
