/*
 * numeric.h - rounding without libm.
 *
 * libm is loaded on its first call (src/util/lazylib.h) so that serve, which
 * never needs it in its loop, does not map it (0.3 MB of RSS).  The few
 * roundings serve does all the time (timestamps, durations in the
 * configuration) use this instead of llround(); the rest of pgmedic calls
 * libm as usual.
 */
#ifndef PGMEDIC_UTIL_NUMERIC_H
#define PGMEDIC_UTIL_NUMERIC_H

#include <limits.h>

/*
 * llround(): x rounded to the nearest integer, halfway cases away from
 * zero.  Outside the range of long long (and for NaN) the nearest limit
 * (LLONG_MIN for NaN), where llround()'s result is unspecified.
 */
static inline long long
pm_llround(double x)
{
    const double two63 = 9223372036854775808.0; /* 2^63 */
    long long t;
    double frac;

    if (!(x > -two63 && x < two63))
        return x > 0 ? LLONG_MAX : LLONG_MIN;
    /*
     * Below 2^52 in magnitude t and x - t are exact; above, a double has no
     * fraction and x - t is 0.
     */
    t = (long long) x;
    frac = x - (double) t;
    if (frac >= 0.5)
        t++;
    else if (frac <= -0.5)
        t--;
    return t;
}

#endif
