/*
 * parse.h - the one place where text from users becomes numbers.
 *
 * Every parser checks the whole text and the range and, on failure, fills
 * *err with a message naming what was being parsed ("what": an option such
 * as "--jobs" or a key such as "slow_query_warning").
 */
#ifndef PGMEDIC_UTIL_PARSE_H
#define PGMEDIC_UTIL_PARSE_H

#include <stdbool.h>
#include <stdint.h>

#include "util/compiler.h"
#include "util/error.h"

/*
 * Durations: a number with a unit, "500ms", "5s", "1.5s", "5min" (or "5m"),
 * "1h", "2d"; "0" alone is allowed.  Result in milliseconds, 0..max_ms.
 */
int parse_duration_ms(const char *text, const char *what, int64_t max_ms, int64_t *out,
                      PmError *err) PM_MUST_CHECK;

/* Ratios: "80%" or "0.8"; result within [min, max]. */
int parse_ratio(const char *text, const char *what, double min, double max, double *out,
                PmError *err) PM_MUST_CHECK;

/* Whole numbers within [min, max]. */
int parse_int_range(const char *text, const char *what, int64_t min, int64_t max, int64_t *out,
                    PmError *err) PM_MUST_CHECK;

/* on/off, true/false, yes/no, 1/0. */
int parse_bool(const char *text, const char *what, bool *out, PmError *err) PM_MUST_CHECK;

/* Formats a duration in ms compactly ("5s", "5min", "1h", "1.5s", "250ms"). */
void format_duration_ms(int64_t ms, char *buf, unsigned long size);

/* Formats seconds for people: "812ms", "4.2s", "3min 05s", "2h 03min", "3d 04h". */
void format_age(double seconds, char *buf, unsigned long size);

#endif
