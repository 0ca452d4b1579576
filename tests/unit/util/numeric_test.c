/*
 * numeric_test.c - pm_llround() against libm's llround().
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>

#include "unit.h"
#include "util/numeric.h"

static void
test_llround_halfway_and_limits(void **state)
{
    (void) state;
    assert_int_equal(pm_llround(0.0), 0);
    assert_int_equal(pm_llround(0.5), 1);
    assert_int_equal(pm_llround(-0.5), -1);
    assert_int_equal(pm_llround(2.5), 3);
    assert_int_equal(pm_llround(-2.5), -3);
    /* The largest double below 0.5: x + 0.5 would round up to 1. */
    assert_int_equal(pm_llround(0.49999999999999994), 0);
    assert_int_equal(pm_llround(-0.49999999999999994), 0);
    /* 2^52 + 1 and 2^62: integers, kept exactly. */
    assert_true(pm_llround(4503599627370497.0) == 4503599627370497LL);
    assert_true(pm_llround(4611686018427387904.0) == 4611686018427387904LL);
    /* Out of range, and NaN: the limits. */
    assert_true(pm_llround(9223372036854775808.0) == LLONG_MAX);
    assert_true(pm_llround(1e300) == LLONG_MAX);
    assert_true(pm_llround(-1e300) == LLONG_MIN);
    assert_true(pm_llround(NAN) == LLONG_MIN);
}

static void
test_llround_matches_libm(void **state)
{
    unsigned seed = 12345;

    (void) state;
    for (int i = 0; i < 200000; i++)
    {
        /* Values of every magnitude up to 2^62, halves included. */
        double x = ldexp((double) rand_r(&seed) / RAND_MAX, rand_r(&seed) % 63);

        if (i % 4 == 0)
            x = floor(x) + 0.5;
        if (i % 2 == 1)
            x = -x;
        if (pm_llround(x) != llround(x))
            fail_msg("pm_llround(%.17g) = %lld, llround = %lld", x, pm_llround(x), llround(x));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llround_halfway_and_limits),
        cmocka_unit_test(test_llround_matches_libm),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
