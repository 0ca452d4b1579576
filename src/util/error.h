/*
 * error.h - errors travel as values: a failing function returns -1 or NULL
 * and fills the caller's PmError.  Only main() and src/cmd/ print them.
 */
#ifndef PGMEDIC_UTIL_ERROR_H
#define PGMEDIC_UTIL_ERROR_H

#include "util/compiler.h"

typedef struct
{
    char sqlstate[6]; /* "" when the error did not come from the server */
    char message[512];
    char detail[512];
    char hint[512];
} PmError;

/* Clears all fields. */
void pm_error_clear(PmError *err);

/* Sets the primary message (replacing the whole error); err may be NULL. */
void pm_error_set(PmError *err, const char *fmt, ...) PM_PRINTF(2, 3);

/* Sets the detail / hint of an error whose message is already set. */
void pm_error_detail(PmError *err, const char *fmt, ...) PM_PRINTF(2, 3);
void pm_error_hint(PmError *err, const char *fmt, ...) PM_PRINTF(2, 3);

/* Copies at most size-1 bytes of src into dst, dropping trailing newlines. */
void pm_strlcpy_trim(char *dst, const char *src, unsigned long size);

#endif
