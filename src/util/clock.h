/*
 * clock.h - time for the shell around the pure core (the core never reads a
 * clock: it gets times in the snapshot).
 */
#ifndef PGMEDIC_UTIL_CLOCK_H
#define PGMEDIC_UTIL_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic milliseconds, for deadlines and durations. */
int64_t pm_clock_ms(void);

/* Monotonic seconds with sub-millisecond precision. */
double pm_clock_s(void);

/* Unix time in seconds (wall clock), with fractions. */
double pm_wall_time(void);

/* "2026-11-29T15:00:00.123Z"; buf needs 32 bytes. */
void pm_format_iso8601(double unix_time, char *buf, size_t size);

/* The inverse of pm_format_iso8601 (also without fraction); -1 on bad text. */
int pm_parse_iso8601(const char *text, double *unix_time);

#endif
