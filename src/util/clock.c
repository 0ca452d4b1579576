/*
 * clock.c - monotonic and wall clocks, ISO 8601 in UTC.
 */
#include "util/clock.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/numeric.h"

int64_t
pm_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
pm_clock_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

double
pm_wall_time(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

void
pm_format_iso8601(double unix_time, char *buf, size_t size)
{
    /* Round to the millisecond once, so that parse(format(t)) is stable. */
    long long total_ms = pm_llround(unix_time * 1000.0);
    long long whole = total_ms / 1000, frac = total_ms % 1000;
    time_t secs;
    int ms;
    struct tm tm;

    if (frac < 0)
    {
        /* Before 1970: C's division rounds toward zero; the fraction must not be negative. */
        frac += 1000;
        whole -= 1;
    }
    secs = (time_t) whole;
    ms = (int) frac;

    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

int
pm_parse_iso8601(const char *text, double *unix_time)
{
    struct tm tm;
    int ms = 0, n = 0;
    char tail[8] = "";

    memset(&tm, 0, sizeof(tm));
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    text += n;
    if (*text == '.')
    {
        if (sscanf(text, ".%3d%n", &ms, &n) != 1)
            return -1;
        text += n;
    }
    if (strlen(text) >= sizeof(tail))
        return -1;
    memcpy(tail, text, strlen(text) + 1);
    if (strcmp(tail, "Z") != 0)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *unix_time = (double) timegm(&tm) + ms / 1000.0;
    return 0;
}
