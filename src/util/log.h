/*
 * log.h - messages for people, on stderr, in PostgreSQL's client style:
 *   pgmedic: error: could not connect to server: Connection refused
 *   pgmedic: hint: Is the server running?
 * Results never go through here: they go to stdout.
 */
#ifndef PGMEDIC_UTIL_LOG_H
#define PGMEDIC_UTIL_LOG_H

#include "util/compiler.h"
#include "util/error.h"

typedef enum
{
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARNING,
    LOG_LEVEL_INFO,
    LOG_LEVEL_DEBUG
} LogLevel;

/* Messages above level are dropped; the default is LOG_LEVEL_WARNING. */
void pm_log_set_level(LogLevel level);
LogLevel pm_log_get_level(void);

void pm_log_error(const char *fmt, ...) PM_PRINTF(1, 2);
void pm_log_warning(const char *fmt, ...) PM_PRINTF(1, 2);
void pm_log_info(const char *fmt, ...) PM_PRINTF(1, 2);
void pm_log_debug(const char *fmt, ...) PM_PRINTF(1, 2);
/* Detail and hint lines follow the message they belong to, at its level. */
void pm_log_detail(const char *fmt, ...) PM_PRINTF(1, 2);
void pm_log_hint(const char *fmt, ...) PM_PRINTF(1, 2);

/* Prints an error with its detail and hint lines. */
void pm_log_pm_error(const PmError *err);

#endif
