/*
 * parse_fuzz.c - durations, ratios, integers and booleans (src/util/parse.c)
 * on the input as text, with the limits the configuration and the commands
 * use and the extremes.
 *
 * Properties: no crash; a failure has a message naming what was parsed; a
 * result is within the limits asked for; a duration formatted back with
 * format_duration_ms() parses again to (nearly) the same value.
 */
#include <math.h>
#include <stdbool.h>

#include "fuzz.h"
#include "util/parse.h"

#define DAY_MS (24LL * 3600 * 1000)

static void
check_error(const PmError *err)
{
    FUZZ_CHECK(err->message[0] != '\0');
    /* It names what was parsed, unless a long text filled the message. */
    FUZZ_CHECK(strstr(err->message, "\"fuzz\"") != NULL ||
               strlen(err->message) == sizeof(err->message) - 1);
}

static void
check_duration(const char *text)
{
    static const int64_t maxes[] = {
        0, 1000, 3600 * 1000, DAY_MS, 30 * DAY_MS, INT64_MAX / 1024, INT64_MAX};
    size_t i;

    for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++)
    {
        int64_t ms = -1, back = -1;
        PmError err;
        char formatted[64];

        if (parse_duration_ms(text, "fuzz", maxes[i], &ms, &err) != 0)
        {
            check_error(&err);
            continue;
        }
        FUZZ_CHECK(ms >= 0 && ms <= maxes[i]);
        format_duration_ms(ms, formatted, sizeof(formatted));
        FUZZ_CHECK(parse_duration_ms(formatted, "fuzz", INT64_MAX, &back, &err) == 0);
        /* "%.3gs" keeps three digits: within 0.5 % (and 1 ms of rounding). */
        FUZZ_CHECK(fabs((double) back - (double) ms) <= (double) ms * 0.005 + 1.0);
    }
}

static void
check_ratio(const char *text)
{
    static const double limits[][2] = {{0, 1}, {0.01, 1}, {-1e308, 1e308}};
    size_t i;

    for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
    {
        double r = NAN;
        PmError err;

        if (parse_ratio(text, "fuzz", limits[i][0], limits[i][1], &r, &err) != 0)
            check_error(&err);
        else
            FUZZ_CHECK(isfinite(r) && r >= limits[i][0] && r <= limits[i][1]);
    }
}

static void
check_int(const char *text)
{
    static const int64_t limits[][2] = {{1, 100000}, {1, INT64_MAX}, {INT64_MIN, INT64_MAX}};
    size_t i;

    for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
    {
        int64_t n = 0;
        PmError err;

        if (parse_int_range(text, "fuzz", limits[i][0], limits[i][1], &n, &err) != 0)
            check_error(&err);
        else
            FUZZ_CHECK(n >= limits[i][0] && n <= limits[i][1]);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_string(data, size);
    char age[64];
    bool b;
    PmError err;

    check_duration(text);
    check_ratio(text);
    check_int(text);
    if (parse_bool(text, "fuzz", &b, &err) != 0)
        check_error(&err);
    format_age(strtod(text, NULL), age, sizeof(age));
    FUZZ_CHECK(age[0] != '\0');
    free(text);
    return 0;
}
