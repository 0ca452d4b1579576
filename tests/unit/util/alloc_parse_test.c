/*
 * alloc_parse_test.c - the number parsers when memory runs out: they
 * allocate nothing (every allocation refused from the first on, and they
 * give the same answers and errors, and ask for no memory at all), so no
 * allocation failure can reach them (tests/unit/fuzz/failalloc.h).
 */
#include <math.h>
#include <stdbool.h>

#include "fuzz/failalloc.h"
#include "unit.h"
#include "util/parse.h"

static const char *const texts[] = {
    "500ms",
    "5s",
    "1.5s",
    "5min",
    "5m",
    "1h",
    "2d",
    "0",
    "80%",
    "0.8",
    "50",
    "-1",
    "9223372036854775807",
    "9223372036854775807ms",
    "on",
    "off",
    "nan",
    "5 s",
    "",
    "1e3ms",
    "5parsecs",
};

typedef struct
{
    int rc[4];
    int64_t ms, n;
    double ratio;
    bool b;
    char messages[4][512];
    char age[32];
    char duration[32];
} Answers;

static void
parse_all(const char *text, Answers *a)
{
    PmError err[4];

    memset(a, 0, sizeof(*a));
    memset(err, 0, sizeof(err));
    a->rc[0] = parse_duration_ms(text, "what", 24LL * 3600 * 1000, &a->ms, &err[0]);
    a->rc[1] = parse_ratio(text, "what", 0, 1, &a->ratio, &err[1]);
    a->rc[2] = parse_int_range(text, "what", 1, 100000, &a->n, &err[2]);
    a->rc[3] = parse_bool(text, "what", &a->b, &err[3]);
    for (int i = 0; i < 4; i++)
        memcpy(a->messages[i], err[i].message, sizeof(a->messages[i]));
    format_age(strtod(text, NULL), a->age, sizeof(a->age));
    format_duration_ms(a->ms, a->duration, sizeof(a->duration));
}

static void
test_parse_allocates_nothing(void **state)
{
    (void) state;
    for (size_t i = 0; i < PM_LENGTHOF(texts); i++)
    {
        Answers want, got;

        parse_all(texts[i], &want);
        failalloc_arm(0, FAIL_FROM_N);
        parse_all(texts[i], &got);
        assert_int_equal(failalloc_calls(), 0);
        failalloc_disarm();
        if (memcmp(&want, &got, sizeof(want)) != 0)
            fail_msg("\"%s\": a different answer without memory", texts[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_allocates_nothing),
    };

    failalloc_jansson();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
