/*
 * parse.c - durations, ratios, integers and booleans from text.
 */
#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/numeric.h"

static const struct
{
    const char *name;
    double ms;
} units[] = {
    {"ms", 1.0},         {"s", 1000.0},      {"sec", 1000.0},     {"min", 60000.0},
    {"m", 60000.0},      {"h", 3600000.0},   {"d", 86400000.0},
};

int
parse_duration_ms(const char *text, const char *what, int64_t max_ms, int64_t *out, PmError *err)
{
    char *end;
    double value, ms = -1;
    size_t i;

    errno = 0;
    value = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(value) || value < 0 || isspace((unsigned char) *text))
        goto invalid;
    if (*end == '\0')
    {
        if (value != 0)
        {
            pm_error_set(err, "invalid duration \"%s\" for \"%s\": a unit is required", text,
                         what);
            pm_error_hint(err, "Use a number with a unit: 500ms, 5s, 5min, 1h, 1d.");
            return -1;
        }
        *out = 0;
        return 0;
    }
    for (i = 0; i < PM_LENGTHOF(units); i++)
    {
        if (strcmp(end, units[i].name) == 0)
        {
            ms = value * units[i].ms;
            break;
        }
    }
    if (ms < 0)
        goto invalid;
    /*
     * (double) max_ms can round up past max_ms, up to 2^63 for INT64_MAX,
     * where pm_llround() has no int64_t to give ("9223372036854775807ms" was
     * read as a negative duration): check the rounded result as well.
     */
    if (ms > (double) max_ms || ms >= 0x1p63 || pm_llround(ms) > max_ms)
    {
        char limit[32];

        format_duration_ms(max_ms, limit, sizeof(limit));
        pm_error_set(err, "duration \"%s\" for \"%s\" is out of range", text, what);
        pm_error_detail(err, "The largest allowed value is %s.", limit);
        return -1;
    }
    *out = (int64_t) pm_llround(ms);
    return 0;

invalid:
    pm_error_set(err, "invalid duration \"%s\" for \"%s\"", text, what);
    pm_error_hint(err, "Use a number with a unit: 500ms, 5s, 5min, 1h, 1d.");
    return -1;
}

int
parse_ratio(const char *text, const char *what, double min, double max, double *out, PmError *err)
{
    char *end;
    double value;

    errno = 0;
    value = strtod(text, &end);
    if (end == text || errno != 0 || !isfinite(value) || isspace((unsigned char) *text))
        goto invalid;
    if (strcmp(end, "%") == 0)
        value /= 100.0;
    else if (*end != '\0')
        goto invalid;
    if (value < min || value > max)
    {
        pm_error_set(err, "ratio \"%s\" for \"%s\" is out of range", text, what);
        pm_error_detail(err, "Allowed values are %g%% to %g%%.", min * 100, max * 100);
        return -1;
    }
    *out = value;
    return 0;

invalid:
    pm_error_set(err, "invalid ratio \"%s\" for \"%s\"", text, what);
    pm_error_hint(err, "Use a percentage such as 80%% or a fraction such as 0.8.");
    return -1;
}

int
parse_int_range(const char *text, const char *what, int64_t min, int64_t max, int64_t *out,
                PmError *err)
{
    char *end;
    long long value;

    errno = 0;
    value = strtoll(text, &end, 10);
    if (end == text || *end != '\0' || isspace((unsigned char) *text))
    {
        pm_error_set(err, "invalid value \"%s\" for \"%s\"", text, what);
        pm_error_hint(err, "A whole number is expected.");
        return -1;
    }
    if (errno == ERANGE || value < min || value > max)
    {
        pm_error_set(err, "value \"%s\" for \"%s\" is out of range", text, what);
        pm_error_detail(err, "Allowed values are %lld to %lld.", (long long) min,
                        (long long) max);
        return -1;
    }
    *out = value;
    return 0;
}

int
parse_bool(const char *text, const char *what, bool *out, PmError *err)
{
    static const char *const yes[] = {"on", "true", "yes", "1"};
    static const char *const no[] = {"off", "false", "no", "0"};
    size_t i;

    for (i = 0; i < PM_LENGTHOF(yes); i++)
    {
        if (strcasecmp(text, yes[i]) == 0)
        {
            *out = true;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0)
        {
            *out = false;
            return 0;
        }
    }
    pm_error_set(err, "invalid boolean \"%s\" for \"%s\"", text, what);
    pm_error_hint(err, "Use on or off.");
    return -1;
}

void
format_duration_ms(int64_t ms, char *buf, unsigned long size)
{
    if (ms != 0 && ms % 86400000 == 0)
        snprintf(buf, size, "%lldd", (long long) (ms / 86400000));
    else if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, size, "%lldh", (long long) (ms / 3600000));
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, size, "%lldmin", (long long) (ms / 60000));
    else if (ms != 0 && ms % 1000 == 0)
        snprintf(buf, size, "%llds", (long long) (ms / 1000));
    else if (ms >= 1000)
        snprintf(buf, size, "%.3gs", (double) ms / 1000.0);
    else
        snprintf(buf, size, "%lldms", (long long) ms);
}

void
format_age(double seconds, char *buf, unsigned long size)
{
    long long s;

    if (seconds < 0 || !isfinite(seconds))
        snprintf(buf, size, "-");
    else if (seconds < 1)
        snprintf(buf, size, "%.0fms", seconds * 1000);
    else if (seconds < 60)
        snprintf(buf, size, "%.1fs", seconds);
    else if (seconds >= 1e15)
        /* Past any real age, and past long long from 2^63 (fuzzing: undefined cast). */
        snprintf(buf, size, "%.3gd", seconds / 86400);
    else if ((s = (long long) seconds) < 3600)
        snprintf(buf, size, "%lldmin %02llds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%lldh %02lldmin", s / 3600, (s % 3600) / 60);
    else
        snprintf(buf, size, "%lldd %02lldh", s / 86400, (s % 86400) / 3600);
}
